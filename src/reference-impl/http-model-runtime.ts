/**
 * The reference gateway's agent loop over an OpenAI-compatible chat
 * completions model, with two transports:
 *
 * - `ModelLoopRuntime` (an AgentRuntime) is the loop itself and talks to the
 *   model only through a `ModelClient` (one streamed completion per call);
 * - `HttpModelClient` is that client over real HTTP: `POST
 *   /v1/chat/completions` with `stream: true` (the fake model server, or any
 *   real one), the way OpenClaw does; `HttpModelRuntime` is the loop over it;
 * - the conformance harness plays the same scripts in-process with its own
 *   client (src/conformance/scripted-model.ts) under fake timers.
 *
 * One run:
 *   messages = [system?, user(run.prompt)]
 *   loop:
 *     take steers -> user messages
 *     complete(the conversation, tools offered with their JSON schemas);
 *     text pieces -> io.delta (io.setStreaming(true) while text streams)
 *     no tool calls -> (steers taken meanwhile? answer them: another round) io.finish(all text)
 *     tool calls (accumulated by index) -> one tool message each:
 *       sessions_send {targetSessionKey, message} -> io.callNested(...), its text is the result
 *       otherwise io.toolCall(...):
 *         {delivered:true, ok:true}   "executed" (a stub result: this is a simulator)
 *         {delivered:true, ok:false}  the TOOL-1 error text (the model can retry)
 *         {delivered:false}           empty content: the model hears nothing (today's baseline)
 *   more than maxToolRounds tool rounds -> io.fail
 *
 * Abort (io.onAbort) cancels the in-flight completion (its AbortSignal) and
 * settles the run at once with io.finish(). A client's ModelError (HTTP,
 * network and stream errors: status and body excerpt / cause) settles it
 * with io.fail(<its message>). start() never throws.
 */
import type { AgentRuntime, RunIO } from './gateway.ts';
import { BUILTIN_TOOLS, type JSONSchema, type ToolDefinition, type ToolRegistry } from './tool-validator.ts';

export interface ModelLoopOptions {
  /** Model id sent for runs whose agent has no entry in agentModels. Default `fake-model`. */
  model?: string;
  /** agentId -> model id (the agentId is the run's, else derived from `agent:<id>:...` session keys). */
  agentModels?: Readonly<Record<string, string>>;
  /** The tools offered to the model and validated by the gateway (io.toolCall). */
  tools: ToolRegistry;
  /**
   * JSON schemas of the registry's tools (the registry does not expose them).
   * Default: the built-in definitions; a registered tool with none is offered as `{type:"object"}`.
   */
  toolDefinitions?: readonly ToolDefinition[];
  systemPrompt?: string;
  /** Rounds of tool calls per run before the run fails. Default 8. */
  maxToolRounds?: number;
  /**
   * The agent-to-agent tool, turned into io.callNested. Default `sessions_send`;
   * null: none. Offered to the model (unless the registry has it, it is not validated by the gateway).
   */
  nestedTool?: string | null;
}

export interface ModelLoopRuntimeOptions extends ModelLoopOptions {
  client: ModelClient;
}

export interface HttpModelRuntimeOptions extends ModelLoopOptions {
  /** `http://127.0.0.1:PORT`, `.../v1`, or the full `.../v1/chat/completions` URL. */
  baseUrl: string;
  fetchImpl?: typeof fetch;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
}

/** An OpenAI chat message as this runtime sends it. */
export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: WireToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface WireToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ToolSpec {
  type: 'function';
  function: { name: string; description?: string; parameters: JSONSchema };
}

export const NESTED_TOOL_DEFINITION: ToolDefinition = Object.freeze({
  name: 'sessions_send',
  description: 'Send a message to another agent session and wait for its reply.',
  parameters: Object.freeze({
    type: 'object',
    properties: { targetSessionKey: { type: 'string' }, message: { type: 'string' } },
    required: ['targetSessionKey', 'message'],
  }),
});

// ------------------------------------------------------------------ model client

/** The body of one `POST /v1/chat/completions` (always streamed). */
export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  stream: true;
  stream_options: { include_usage: true };
  tools?: ToolSpec[];
  tool_choice?: 'auto';
}

/**
 * A piece of a tool call in OpenAI's streaming shape: calls are told apart by
 * `index`; the first piece of a call usually carries `id` and `name`, the
 * following ones pieces of the raw `arguments` text (concatenated in order).
 */
export interface ToolCallDelta {
  index: number;
  id?: string;
  name?: string;
  arguments?: string;
}

export interface ModelUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface ModelStreamHandlers {
  /** A piece of the assistant's text, in order. */
  onText(text: string): void;
  onToolCallDelta(delta: ToolCallDelta): void;
  onUsage?(usage: ModelUsage): void;
}

export interface ModelCompletion {
  /** `stop`, `tool_calls`, ... or null when the model did not say. */
  finishReason: string | null;
}

/** A completion that failed (HTTP error, network, stream cut): `message` is what the run fails with. */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

/**
 * One model transport. `complete` streams one completion through `handlers`
 * and resolves when the model finished (`[DONE]` / finish_reason), or
 * rejects with a ModelError. Once `signal` aborts it calls no handler again
 * and settles soon (how it settles is ignored: the run has already ended).
 */
export interface ModelClient {
  complete(request: ChatCompletionRequest, handlers: ModelStreamHandlers, signal: AbortSignal): Promise<ModelCompletion>;
}

// ------------------------------------------------------------------ SSE

export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

/**
 * A Server-Sent Events parser (WHATWG rules): lines end in \n, \r\n or \r
 * (also when split across network chunks), `:` lines are comments, `data:`
 * lines of one event are joined with \n, a blank line dispatches. At end()
 * an unterminated last event is still dispatched (lenient).
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | null = null;

  push(text: string): SseEvent[] {
    this.buffer += text;
    const out: SseEvent[] = [];
    let start = 0;
    const buf = this.buffer;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 13 && i === buf.length - 1) break; // a \r at the end: maybe \r\n split across chunks
      this.line(buf.slice(start, i), out);
      if (c === 13 && buf.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.buffer = buf.slice(start);
    return out;
  }

  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.buffer !== '') {
      const rest = this.buffer.replace(/\r$/, '');
      this.buffer = '';
      if (rest !== '') this.line(rest, out);
    }
    this.line('', out);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push({ event: this.event === '' ? 'message' : this.event, data: this.data.join('\n'), id: this.id });
      this.data = [];
      this.event = '';
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' comment / keepalive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\u0000')) this.id = value;
    // retry and unknown fields: ignored
  }
}

// ------------------------------------------------------------------ runtime

/** `agent:coder:main` -> `coder`; anything else -> null. */
export function agentIdFromSessionKey(sessionKey: string): string | null {
  const m = /^agent:([^:]+):/.exec(sessionKey);
  return m === null ? null : m[1]!;
}

/** The chat completions URL for a base URL in any of the usual forms. */
export function completionsUrl(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  if (base.endsWith('/chat/completions')) return base;
  if (/\/v\d+$/.test(base)) return `${base}/chat/completions`;
  return `${base}/v1/chat/completions`;
}

const EXCERPT = 300;

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT ? `${flat.slice(0, EXCERPT)}…` : flat;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const causeText = cause instanceof Error ? `${(cause as { code?: string }).code ?? cause.name}: ${cause.message}` : cause === undefined ? '' : String(cause);
  return causeText === '' || causeText === err.message ? err.message : `${err.message} (${causeText})`;
}

// ------------------------------------------------------------------ HTTP client

const abortedError = (): Error => new ModelError('model request aborted');

/** The ModelClient over HTTP + SSE (any OpenAI-compatible endpoint). */
export class HttpModelClient implements ModelClient {
  readonly url: string;
  private readonly fetchImpl: typeof fetch;
  private readonly apiKey: string | null;

  constructor(options: { baseUrl: string; fetchImpl?: typeof fetch; apiKey?: string }) {
    this.url = completionsUrl(options.baseUrl);
    this.fetchImpl = options.fetchImpl ?? fetch;
    this.apiKey = options.apiKey ?? null;
  }

  async complete(request: ChatCompletionRequest, handlers: ModelStreamHandlers, signal: AbortSignal): Promise<ModelCompletion> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (this.apiKey !== null) headers['authorization'] = `Bearer ${this.apiKey}`;
    let res: Response;
    try {
      res = await this.fetchImpl(this.url, { method: 'POST', headers, body: JSON.stringify(request), signal });
    } catch (err) {
      if (signal.aborted) throw abortedError();
      throw new ModelError(`model request failed: POST ${this.url}: ${describe(err)}`);
    }
    if (signal.aborted) {
      void res.body?.cancel().catch(() => {});
      throw abortedError();
    }
    if (!res.ok) {
      let text = '';
      try {
        text = await res.text();
      } catch {
        // body unreadable: the status says enough
      }
      throw new ModelError(`model HTTP ${res.status}${res.statusText === '' ? '' : ` ${res.statusText}`} from POST ${this.url}: ${excerpt(text) || '(empty body)'}`);
    }
    const contentType = res.headers.get('content-type') ?? '';
    if (contentType.includes('application/json')) return this.jsonCompletion(res, handlers, signal);
    if (res.body === null) throw new ModelError(`model response from POST ${this.url} has no body`);
    if (!contentType.includes('text/event-stream')) {
      void res.body.cancel().catch(() => {});
      throw new ModelError(`model response from POST ${this.url} is not an SSE stream (content-type ${JSON.stringify(contentType)})`);
    }

    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    let finishReason: string | null = null;
    let done = false;
    let failure: string | null = null;

    const onData = (data: string): void => {
      if (data === '[DONE]') {
        done = true;
        return;
      }
      let chunk: unknown;
      try {
        chunk = JSON.parse(data);
      } catch {
        failure = `model stream: invalid JSON in SSE data: ${excerpt(data)}`;
        return;
      }
      if (chunk === null || typeof chunk !== 'object') return;
      const error = (chunk as { error?: { message?: unknown; code?: unknown } }).error;
      if (error !== undefined && error !== null) {
        const message = typeof error === 'object' && typeof error.message === 'string' ? error.message : JSON.stringify(error);
        const code = typeof error === 'object' && typeof error.code === 'string' ? ` (${error.code})` : '';
        failure = `model stream error${code}: ${message}`;
        return;
      }
      const usage = (chunk as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null }).usage;
      if (usage !== undefined && usage !== null && typeof usage === 'object' && handlers.onUsage !== undefined) {
        handlers.onUsage({
          promptTokens: typeof usage.prompt_tokens === 'number' ? usage.prompt_tokens : 0,
          completionTokens: typeof usage.completion_tokens === 'number' ? usage.completion_tokens : 0,
        });
      }
      const choices = (chunk as { choices?: unknown }).choices;
      if (!Array.isArray(choices)) return;
      for (const choice of choices) {
        if (signal.aborted) return;
        if (choice === null || typeof choice !== 'object') continue;
        const { delta, finish_reason: finish } = choice as { delta?: Record<string, unknown>; finish_reason?: unknown };
        if (delta !== undefined && delta !== null) {
          const content = delta['content'];
          if (typeof content === 'string' && content !== '') handlers.onText(content);
          const toolCalls = delta['tool_calls'];
          if (Array.isArray(toolCalls)) {
            toolCalls.forEach((tc: unknown, position: number) => {
              if (signal.aborted || tc === null || typeof tc !== 'object') return;
              const t = tc as { index?: unknown; id?: unknown; function?: { name?: unknown; arguments?: unknown } };
              const piece: ToolCallDelta = { index: typeof t.index === 'number' ? t.index : position };
              if (typeof t.id === 'string' && t.id !== '') piece.id = t.id;
              const fn = t.function;
              if (fn !== undefined && fn !== null) {
                if (typeof fn.name === 'string') piece.name = fn.name;
                if (typeof fn.arguments === 'string') piece.arguments = fn.arguments;
              }
              handlers.onToolCallDelta(piece);
            });
          }
        }
        if (typeof finish === 'string') finishReason = finish;
      }
    };

    try {
      while (!done && failure === null) {
        const { done: eof, value } = await reader.read();
        if (signal.aborted) throw abortedError();
        const events = eof ? [...parser.push(decoder.decode()), ...parser.end()] : parser.push(decoder.decode(value, { stream: true }));
        for (const ev of events) {
          if (ev.event !== 'message' && ev.event !== 'error') continue;
          onData(ev.data);
          if (signal.aborted) throw abortedError();
          if (done || failure !== null) break;
        }
        if (eof) break;
      }
    } catch (err) {
      if (signal.aborted || err instanceof ModelError) throw err instanceof ModelError ? err : abortedError();
      throw new ModelError(`model stream failed: ${describe(err)}`);
    }
    if (failure !== null) throw new ModelError(failure);
    if (!done) {
      if (finishReason === null) throw new ModelError(`model stream from POST ${this.url} ended before [DONE] (no finish_reason)`);
      // A finish_reason without [DONE]: accepted.
    } else void reader.cancel().catch(() => {});
    return { finishReason };
  }

  /** A server that answered stream:true with one JSON completion. */
  private async jsonCompletion(res: Response, handlers: ModelStreamHandlers, signal: AbortSignal): Promise<ModelCompletion> {
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      if (signal.aborted) throw abortedError();
      throw new ModelError(`model response from POST ${this.url} is not valid JSON: ${describe(err)}`);
    }
    if (signal.aborted) throw abortedError();
    const choice = (body as { choices?: { message?: { content?: unknown; tool_calls?: unknown }; finish_reason?: unknown }[] } | null)?.choices?.[0];
    if (choice === undefined) throw new ModelError(`model response from POST ${this.url} has no choices: ${excerpt(JSON.stringify(body))}`);
    const content = typeof choice.message?.content === 'string' ? choice.message.content : '';
    if (content !== '') handlers.onText(content);
    const raw = choice.message?.tool_calls;
    if (Array.isArray(raw)) {
      raw.forEach((tc: { id?: unknown; function?: { name?: unknown; arguments?: unknown } } | null, i: number) => {
        if (signal.aborted) return;
        const fn = tc?.function;
        handlers.onToolCallDelta({
          index: i,
          ...(typeof tc?.id === 'string' ? { id: tc.id } : {}),
          name: typeof fn?.name === 'string' ? fn.name : '',
          arguments: typeof fn?.arguments === 'string' ? fn.arguments : '',
        });
      });
    }
    return { finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null };
  }
}

// ------------------------------------------------------------------ the loop

interface RoundResult {
  text: string;
  toolCalls: WireToolCall[];
  finishReason: string | null;
}

/** One run's state. Everything that settles goes through finish/fail (once). */
class RunCtx {
  settled = false;
  controller: AbortController | null = null;
  text = '';
  streaming = false;
  constructor(readonly io: RunIO) {}

  setStreaming(on: boolean): void {
    if (this.streaming === on || this.settled) return;
    this.streaming = on;
    this.io.setStreaming(on);
  }

  finish(text?: string): null {
    if (this.settled) return null;
    this.stopStreaming();
    if (text === undefined) this.io.finish();
    else this.io.finish(text);
    this.cancelRequest();
    return null;
  }

  fail(message: string): null {
    if (this.settled) return null;
    this.stopStreaming();
    this.io.fail(message);
    this.cancelRequest();
    return null;
  }

  private stopStreaming(): void {
    this.settled = true;
    if (this.streaming) {
      this.streaming = false;
      this.io.setStreaming(false);
    }
  }

  /** After the run settled (so settling never waits on the client's abort work). */
  private cancelRequest(): void {
    const controller = this.controller;
    this.controller = null;
    controller?.abort();
  }
}

/** The agent loop (see the top of this file) over any ModelClient. */
export class ModelLoopRuntime implements AgentRuntime {
  readonly client: ModelClient;
  private readonly model: string;
  private readonly agentModels: Readonly<Record<string, string>>;
  private readonly tools: ToolRegistry;
  private readonly definitions: ReadonlyMap<string, ToolDefinition>;
  private readonly systemPrompt: string;
  private readonly maxToolRounds: number;
  private readonly nestedTool: string | null;

  constructor(options: ModelLoopRuntimeOptions) {
    this.client = options.client;
    this.model = options.model ?? 'fake-model';
    this.agentModels = options.agentModels ?? {};
    this.tools = options.tools;
    const defs = new Map<string, ToolDefinition>();
    for (const d of BUILTIN_TOOLS) defs.set(d.name, d);
    defs.set(NESTED_TOOL_DEFINITION.name, NESTED_TOOL_DEFINITION);
    for (const d of options.toolDefinitions ?? []) defs.set(d.name, d);
    this.definitions = defs;
    this.systemPrompt = options.systemPrompt ?? '';
    this.maxToolRounds = options.maxToolRounds ?? 8;
    this.nestedTool = options.nestedTool === undefined ? 'sessions_send' : options.nestedTool;
  }

  start(io: RunIO): void {
    const ctx = new RunCtx(io);
    try {
      io.onAbort(() => ctx.finish());
      if (ctx.settled) return;
      this.drive(ctx).catch((err: unknown) => ctx.fail(`model runtime error: ${describe(err)}`));
    } catch (err) {
      ctx.fail(`model runtime error: ${describe(err)}`);
    }
  }

  /** The model id for a run. */
  modelFor(io: RunIO): string {
    const run = io.run;
    const agentId = run.agentId ?? agentIdFromSessionKey(run.sessionKey);
    return (agentId !== null ? this.agentModels[agentId] : undefined) ?? this.model;
  }

  /** The `tools` array sent to the model. */
  toolSpecs(): ToolSpec[] {
    const specs: ToolSpec[] = [];
    const infos = this.tools.list();
    const names = new Set(infos.map((t) => t.name));
    for (const info of infos) {
      const def = this.definitions.get(info.name);
      const description = info.description ?? def?.description;
      specs.push({
        type: 'function',
        function: { name: info.name, ...(description !== undefined ? { description } : {}), parameters: def?.parameters ?? { type: 'object' } },
      });
    }
    if (this.nestedTool !== null && !names.has(this.nestedTool)) {
      const def = this.definitions.get(this.nestedTool) ?? { ...NESTED_TOOL_DEFINITION, name: this.nestedTool };
      specs.push({ type: 'function', function: { name: def.name, ...(def.description !== undefined ? { description: def.description } : {}), parameters: def.parameters } });
    }
    return specs;
  }

  private async drive(ctx: RunCtx): Promise<void> {
    const io = ctx.io;
    const model = this.modelFor(io);
    const messages: ChatMessage[] = [];
    if (this.systemPrompt !== '') messages.push({ role: 'system', content: this.systemPrompt });
    messages.push({ role: 'user', content: io.run.prompt });
    const takeSteers = (): number => {
      const steers = io.takeSteers();
      for (const s of steers) messages.push({ role: 'user', content: s.text });
      return steers.length;
    };
    let toolRounds = 0;
    for (;;) {
      takeSteers();
      const round = await this.round(ctx, model, messages);
      if (round === null || ctx.settled) return;
      const calls = round.toolCalls;
      messages.push(calls.length > 0
        ? { role: 'assistant', content: round.text === '' ? null : round.text, tool_calls: calls }
        : { role: 'assistant', content: round.text });
      if (calls.length === 0) {
        // Messages steered in while the last round streamed are answered by one more round.
        if (takeSteers() > 0) continue;
        ctx.finish(ctx.text);
        return;
      }
      if (++toolRounds > this.maxToolRounds) {
        ctx.fail(`model kept calling tools: more than ${this.maxToolRounds} tool rounds (maxToolRounds)`);
        return;
      }
      for (const call of calls) {
        const content = await this.runTool(ctx, call);
        if (ctx.settled) return;
        messages.push({ role: 'tool', tool_call_id: call.id, content });
      }
    }
  }

  private async runTool(ctx: RunCtx, call: WireToolCall): Promise<string> {
    const io = ctx.io;
    const name = call.function.name;
    if (name === this.nestedTool && !this.tools.has(name)) return this.nested(ctx, call, null);
    const outcome = io.toolCall({ id: call.id, name, arguments: call.function.arguments });
    // Today's baseline: the error reached only a log; the model gets an empty result.
    if (!outcome.delivered) return '';
    // TOOL-1: the error tool_result goes back to the model, which may retry.
    if (!outcome.ok) return outcome.result.content;
    if (name === this.nestedTool) return this.nested(ctx, call, outcome.args);
    io.toolResult(call.id, name, true);
    return stubResult(name, outcome.args);
  }

  private async nested(ctx: RunCtx, call: WireToolCall, validated: Record<string, unknown> | null): Promise<string> {
    const io = ctx.io;
    const name = call.function.name;
    let args: Record<string, unknown> | null = validated;
    if (args === null) {
      try {
        const parsed: unknown = JSON.parse(call.function.arguments.trim() === '' ? '{}' : call.function.arguments);
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) args = parsed as Record<string, unknown>;
      } catch {
        args = null;
      }
    }
    const target = args?.['targetSessionKey'] ?? args?.['sessionKey'];
    const message = args?.['message'];
    if (typeof target !== 'string' || target.trim() === '' || typeof message !== 'string') {
      io.toolResult(call.id, name, false);
      return `Error: ${name} tool requires 'targetSessionKey' and 'message' (strings). Received: ${excerpt(call.function.arguments)}`;
    }
    ctx.setStreaming(false);
    const result = await new Promise<{ outcome: string; text: string }>((resolve) => {
      io.callNested({ targetSessionKey: target, agentId: agentIdFromSessionKey(target), prompt: message }, (outcome, text) => resolve({ outcome, text }));
    });
    if (ctx.settled) return '';
    const ok = result.outcome === 'ok';
    io.toolResult(call.id, name, ok);
    return ok ? result.text : `Error: the run in ${target} ended ${result.outcome}${result.text === '' ? '' : `: ${result.text}`}`;
  }

  /** One model call. null when the run settled meanwhile (aborted, failed). */
  private async round(ctx: RunCtx, model: string, messages: readonly ChatMessage[]): Promise<RoundResult | null> {
    const io = ctx.io;
    const tools = this.toolSpecs();
    // A snapshot: the client may read the request after the loop appended more messages.
    const request: ChatCompletionRequest = {
      model,
      messages: messages.slice(),
      stream: true,
      stream_options: { include_usage: true },
      ...(tools.length > 0 ? { tools, tool_choice: 'auto' as const } : {}),
    };
    const controller = new AbortController();
    ctx.controller = controller;
    const calls: { id: string; name: string; arguments: string }[] = [];
    let text = '';
    let finishReason: string | null;
    try {
      const result = await this.client.complete(request, {
        onText: (piece) => {
          if (ctx.settled || piece === '') return;
          ctx.setStreaming(true);
          text += piece;
          ctx.text += piece;
          io.delta(piece);
        },
        onToolCallDelta: (d) => {
          if (ctx.settled) return;
          const acc = (calls[d.index] ??= { id: '', name: '', arguments: '' });
          if (d.id !== undefined && d.id !== '') acc.id = d.id;
          // A name is sent once, or in pieces; a repeat of the whole name is not appended.
          if (d.name !== undefined && d.name !== acc.name) acc.name += d.name;
          if (d.arguments !== undefined) acc.arguments += d.arguments;
        },
      }, controller.signal);
      finishReason = result.finishReason;
    } catch (err) {
      if (ctx.settled) return null;
      return ctx.fail(err instanceof ModelError ? err.message : `model runtime error: ${describe(err)}`);
    } finally {
      ctx.setStreaming(false);
    }
    if (ctx.settled) return null;
    const toolCalls: WireToolCall[] = [];
    calls.forEach((c, i) => {
      if (c === undefined) return;
      toolCalls.push({ id: c.id === '' ? `call_${io.run.runId}_${i}` : c.id, type: 'function', function: { name: c.name, arguments: c.arguments } });
    });
    return { text, toolCalls, finishReason };
  }
}

/** The agent loop over HTTP: what `lanesim serve --model-url` runs. */
export class HttpModelRuntime extends ModelLoopRuntime {
  readonly url: string;

  constructor(options: HttpModelRuntimeOptions) {
    const client = new HttpModelClient({
      baseUrl: options.baseUrl,
      ...(options.fetchImpl !== undefined ? { fetchImpl: options.fetchImpl } : {}),
      ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
    });
    super({ ...options, client });
    this.url = client.url;
  }
}

/** What a validated tool call "returns" in the simulator. */
function stubResult(name: string, args: Record<string, unknown>): string {
  const path = typeof args['path'] === 'string' ? args['path'] : '';
  switch (name) {
    case 'read':
      return `// ${path}\nexport function loadConfig(path: string) {\n  return parse(readFileSync(path, 'utf8'));\n}\n`;
    case 'write':
      return `ok: wrote ${typeof args['content'] === 'string' ? args['content'].length : 0} characters to ${path}`;
    case 'edit':
      return `ok: edited ${path}`;
    case 'exec':
      return `$ ${typeof args['command'] === 'string' ? args['command'] : ''}\nexit code 0`;
    default:
      return 'ok';
  }
}
