/**
 * HttpModelRuntime driven by a recording RunIO against the real fake model
 * server on 127.0.0.1: streaming deltas, the malformed-read / fail-fast /
 * retry loop, the logged-only baseline, sessions_send as a nested call,
 * steers, abort, and HTTP / network / stream errors.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { fakeModelPerTest } from '../support/fake-model-fixture.ts';
import { startFakeModel, type FakeModelServer } from '../../src/fake-model/server.ts';
import { CASCADE_MARKER, CASCADE_READ_PATH, type FakeModelScript } from '../../src/fake-model/script.ts';
import type { NestedRequest, RunIO, ToolCallOutcome } from '../../src/reference-impl/gateway.ts';
import { HttpModelRuntime, SseParser, agentIdFromSessionKey, completionsUrl, type HttpModelRuntimeOptions } from '../../src/reference-impl/http-model-runtime.ts';
import { Run, type InboundMessage } from '../../src/reference-impl/run.ts';
import type { TaskOutcome } from '../../src/reference-impl/task.ts';
import { ToolRegistry, type ToolCallInput } from '../../src/reference-impl/tool-validator.ts';

const start = fakeModelPerTest();

type Settled = { kind: 'finish'; text: string | undefined; at: number } | { kind: 'fail'; message: string; at: number };

interface FakeIOOptions {
  sessionKey?: string;
  agentId?: string | null;
  prompt?: string;
  /** Default: the reference gateway's fail-fast answer from a ToolRegistry. */
  toolOutcome?: (call: ToolCallInput) => ToolCallOutcome;
  nested?: (request: NestedRequest, done: (outcome: TaskOutcome, text: string) => void) => void;
  onDelta?: (io: FakeIO, text: string) => void;
}

const registry = new ToolRegistry();

/** Fail fast (TOOL-1), like the reference gateway's profile. */
function failFast(call: ToolCallInput): ToolCallOutcome {
  const v = registry.validate(call);
  return v.ok ? { delivered: true, ok: true, args: v.args } : { delivered: true, ok: false, result: v.result };
}

let nextRun = 0;

/** A recording RunIO. */
class FakeIO implements RunIO {
  readonly run: Run;
  readonly deltas: string[] = [];
  readonly streamingLog: boolean[] = [];
  readonly toolCalls: ToolCallInput[] = [];
  readonly toolResults: { callId: string; name: string; ok: boolean }[] = [];
  readonly nestedRequests: NestedRequest[] = [];
  readonly steers: InboundMessage[] = [];
  readonly settled: Promise<Settled>;
  settleCount = 0;
  private readonly controller = new AbortController();
  private readonly abortCallbacks: (() => void)[] = [];
  private resolve!: (s: Settled) => void;

  constructor(private readonly options: FakeIOOptions = {}) {
    this.run = new Run({
      runId: `run-${++nextRun}`,
      sessionKey: options.sessionKey ?? 'agent:main:webchat',
      agentId: options.agentId ?? null,
      kind: 'message',
      prompt: options.prompt ?? 'hello',
      messages: [],
      parent: null,
      lanes: [],
      enqueuedAt: 0,
    });
    this.settled = new Promise((r) => (this.resolve = r));
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }
  get aborted(): boolean {
    return this.controller.signal.aborted;
  }
  onAbort(callback: () => void): void {
    if (this.aborted) callback();
    else this.abortCallbacks.push(callback);
  }
  abort(): void {
    this.controller.abort();
    for (const cb of this.abortCallbacks.splice(0)) cb();
  }
  now(): number {
    return performance.now();
  }
  delta(text: string): void {
    this.deltas.push(text);
    this.options.onDelta?.(this, text);
  }
  setStreaming(streaming: boolean): void {
    this.streamingLog.push(streaming);
  }
  takeSteers(): InboundMessage[] {
    return this.steers.splice(0);
  }
  steer(text: string): void {
    this.steers.push({ msgId: `m${this.steers.length}`, runId: this.run.runId, sessionKey: this.run.sessionKey, text, connId: null, channel: null, route: null, agentId: null });
  }
  toolCall(call: ToolCallInput): ToolCallOutcome {
    this.toolCalls.push(call);
    return (this.options.toolOutcome ?? failFast)(call);
  }
  toolResult(callId: string, name: string, ok: boolean): void {
    this.toolResults.push({ callId, name, ok });
  }
  callNested(request: NestedRequest, done: (outcome: TaskOutcome, text: string) => void): void {
    this.nestedRequests.push(request);
    if (this.options.nested === undefined) throw new Error('unexpected nested call');
    this.options.nested(request, done);
  }
  spawn(): void {
    throw new Error('unexpected spawn');
  }
  finish(text?: string): void {
    this.settleCount++;
    this.resolve({ kind: 'finish', text, at: performance.now() });
  }
  fail(message: string): void {
    this.settleCount++;
    this.resolve({ kind: 'fail', message, at: performance.now() });
  }
}

function runtime(server: FakeModelServer | string, extra: Partial<HttpModelRuntimeOptions> = {}): HttpModelRuntime {
  return new HttpModelRuntime({ baseUrl: typeof server === 'string' ? server : server.url, tools: registry, ...extra });
}

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const t0 = performance.now();
  while (!check()) {
    if (performance.now() - t0 > timeoutMs) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

// The malformed-read cascade in miniature.
const READ_SCRIPT: FakeModelScript = {
  rules: [
    { name: 'retry', match: { toolResultContains: 'Error:', toolResults: { max: 1 } }, respond: { ttftMs: 50, text: 'Retrying. ', toolCalls: [{ name: 'read', arguments: '{"path":"src/a.ts"}' }] } },
    { name: 'after', match: { afterToolResult: true }, respond: { ttftMs: 50, text: 'Done reading.' } },
    { name: 'first', respond: { ttftMs: 100, text: 'Let me look. ', toolCalls: [{ name: 'read', arguments: '{}' }] } },
  ],
};

describe('HttpModelRuntime', () => {
  it('streams content deltas, toggles streaming, finishes with the text', async () => {
    const text = 'The quick brown fox jumps over the lazy dog, twice over.';
    const server = await start({ script: { rules: [], default: { ttftMs: 100, tokensPerSec: 200, text, chunkTokens: 2 } }, timeScale: 20 });
    const io = new FakeIO({ prompt: 'tell me' });
    runtime(server, { systemPrompt: 'You are a test.' }).start(io);
    const s = await io.settled;
    expect(s).toMatchObject({ kind: 'finish', text });
    expect(io.deltas.join('')).toBe(text);
    expect(io.deltas.length).toBeGreaterThan(3);
    expect(io.streamingLog).toEqual([true, false]);
    const [entry] = server.requests();
    expect(entry).toMatchObject({ model: 'fake-model', stream: true, includeUsage: true, messageCount: 2, lastUserMessage: 'tell me', toolsCount: 5, outcome: 'completed' });
    expect(io.settleCount).toBe(1);
  });

  it('a malformed read {} goes to io.toolCall; the fail-fast error goes back to the model, which retries with a path', async () => {
    const server = await start({ script: READ_SCRIPT, timeScale: 10 });
    const io = new FakeIO();
    runtime(server).start(io);
    const s = await io.settled;
    expect(s).toMatchObject({ kind: 'finish', text: 'Let me look. Retrying. Done reading.' });
    expect(io.toolCalls.map((c) => [c.name, c.arguments])).toEqual([['read', '{}'], ['read', '{"path":"src/a.ts"}']]);
    expect(io.toolCalls[0]!.id).toMatch(/^call_/);
    const log = server.requests();
    expect(log.map((e) => e.rule)).toEqual(['first', 'retry', 'after']);
    expect(log[1]).toMatchObject({ lastRole: 'tool', messageCount: 3, lastMessage: "Error: read tool requires 'path' parameter. Received: {}" });
    expect(log[2]).toMatchObject({ lastRole: 'tool', messageCount: 5, lastMessage: expect.stringContaining('src/a.ts') });
    // only the valid call "executed"
    expect(io.toolResults).toEqual([{ callId: io.toolCalls[1]!.id, name: 'read', ok: true }]);
  });

  it('{delivered:false} (error only logged): the model gets an empty result and goes on without retrying', async () => {
    const server = await start({ script: READ_SCRIPT, timeScale: 10 });
    const io = new FakeIO({ toolOutcome: () => ({ delivered: false, ok: false }) });
    runtime(server).start(io);
    const s = await io.settled;
    expect(s).toMatchObject({ kind: 'finish', text: 'Let me look. Done reading.' });
    expect(io.toolCalls).toHaveLength(1);
    expect(server.requests().map((e) => [e.rule, e.lastRole, e.lastMessage])).toEqual([['first', 'user', 'hello'], ['after', 'tool', '']]);
    expect(io.toolResults).toEqual([]);
  });

  it('sessions_send becomes io.callNested; its text is the tool result', async () => {
    const script: FakeModelScript = {
      rules: [
        { name: 'summary', match: { afterToolResult: true }, respond: { ttftMs: 20, text: 'CC says it is done.' } },
        { name: 'handoff', respond: { ttftMs: 20, text: 'Asking CC. ', toolCalls: [{ name: 'sessions_send', arguments: '{"targetSessionKey":"agent:coder:main","message":"refactor it"}' }] } },
      ],
    };
    const server = await start({ script, timeScale: 10 });
    const io = new FakeIO({ nested: (_req, done) => setTimeout(() => done('ok', 'coder: all tests pass'), 20) });
    runtime(server).start(io);
    const s = await io.settled;
    expect(s).toMatchObject({ kind: 'finish', text: 'Asking CC. CC says it is done.' });
    expect(io.nestedRequests).toEqual([{ targetSessionKey: 'agent:coder:main', agentId: 'coder', prompt: 'refactor it' }]);
    expect(io.toolCalls).toEqual([]); // not a gateway-validated tool
    expect(io.toolResults).toEqual([{ callId: expect.stringMatching(/^call_/), name: 'sessions_send', ok: true }]);
    expect(server.requests()[1]).toMatchObject({ lastRole: 'tool', lastMessage: 'coder: all tests pass' });
  });

  it('a malformed sessions_send is answered with an error result, no nested call', async () => {
    const script: FakeModelScript = {
      rules: [
        { name: 'after', match: { afterToolResult: true }, respond: { ttftMs: 0, text: 'ok' } },
        { name: 'bad', respond: { ttftMs: 0, toolCalls: [{ name: 'sessions_send', arguments: '{"message":' }] } },
      ],
    };
    const server = await start({ script, timeScale: 10 });
    const io = new FakeIO();
    runtime(server).start(io);
    expect(await io.settled).toMatchObject({ kind: 'finish' });
    expect(io.nestedRequests).toEqual([]);
    expect(server.requests()[1]!.lastMessage).toContain("requires 'targetSessionKey'");
  });

  it('plays the built-in cascade end to end: coordinator -> coder (malformed read, retry, ~6k tokens) -> summary', async () => {
    const server = await start({ script: 'cascade', seed: 4, timeScale: 200 });
    const rt = runtime(server, { systemPrompt: 'x'.repeat(2000) });
    let coderIO: FakeIO | null = null;
    const io = new FakeIO({
      prompt: `${CASCADE_MARKER} Refactor the config loader with CC.`,
      nested: (request, done) => {
        coderIO = new FakeIO({ sessionKey: request.targetSessionKey, agentId: request.agentId, prompt: request.prompt });
        rt.start(coderIO);
        void coderIO.settled.then((s) => done(s.kind === 'finish' ? 'ok' : 'error', s.kind === 'finish' ? (s.text ?? '') : s.message));
      },
    });
    const t0 = performance.now();
    rt.start(io);
    const s = await io.settled;
    expect(s.kind).toBe('finish');
    expect(performance.now() - t0).toBeLessThan(5000);
    const coder = coderIO as FakeIO | null;
    expect(coder).not.toBeNull();
    expect(coder!.toolCalls.map((c) => c.arguments)).toEqual(['{}', JSON.stringify({ path: CASCADE_READ_PATH })]);
    const coderWords = coder!.deltas.join('').trim().split(/\s+/).length;
    expect(coderWords).toBeGreaterThan(5500);
    expect(server.requests().map((e) => e.rule)).toEqual([
      'coordinator-handoff', 'coder-malformed-read', 'coder-retry-read', 'coder-long-reply', 'coordinator-summary',
    ]);
    // the coordinator's last request carries the coder's ~6k-token reply
    expect(server.requests()[4]!.promptTokens).toBeGreaterThan(5000);
  });

  it('steers taken between rounds become user messages; one taken after the last round gets one more round', async () => {
    const server = await start({ script: { rules: [], default: { ttftMs: 20, tokensPerSec: 500, outputTokens: 10 } }, timeScale: 5 });
    let steered = false;
    const io = new FakeIO({
      onDelta: (self) => {
        if (!steered) {
          steered = true;
          self.steer('also: what about tests?');
        }
      },
    });
    runtime(server).start(io);
    expect(await io.settled).toMatchObject({ kind: 'finish' });
    const log = server.requests();
    expect(log).toHaveLength(2);
    expect(log[1]).toMatchObject({ lastRole: 'user', lastUserMessage: 'also: what about tests?', messageCount: 3 });
  });

  it('abort cancels the in-flight request and settles the run at once', async () => {
    const server = await start({ script: { rules: [], default: { ttftMs: 30_000 } } });
    const io = new FakeIO();
    runtime(server).start(io);
    await until(() => server.stats().inFlight === 1);
    const t0 = performance.now();
    io.abort();
    const s = await io.settled;
    expect(s.kind).toBe('finish');
    expect(s.at - t0).toBeLessThan(100); // synchronous in fact; slack for a loaded machine
    await until(() => server.stats().inFlight === 0);
    expect(server.requests()[0]!.outcome).toBe('client-closed');
    expect(server.stats().timers).toBe(0);
    expect(io.settleCount).toBe(1);
  });

  it('abort mid-stream stops the deltas and closes the stream', async () => {
    const server = await start({ script: { rules: [], default: { ttftMs: 0, tokensPerSec: 50, outputTokens: 5000, chunkTokens: 1 } } });
    const io = new FakeIO({ onDelta: (self) => self.deltas.length === 3 && self.abort() });
    runtime(server).start(io);
    expect((await io.settled).kind).toBe('finish');
    await until(() => server.stats().inFlight === 0);
    expect(io.deltas).toHaveLength(3);
    expect(io.streamingLog.at(-1)).toBe(false);
    expect(server.requests()[0]!.outcome).toBe('client-closed');
  });

  it('a run aborted before it starts settles without a request', async () => {
    const server = await start({});
    const io = new FakeIO();
    io.abort();
    runtime(server).start(io);
    expect((await io.settled).kind).toBe('finish');
    expect(server.requests()).toHaveLength(0);
  });

  it('HTTP 500 -> io.fail with the status and a body excerpt', async () => {
    const server = await start({ script: { rules: [], default: { error: { status: 500, message: 'model overloaded, try later' } } } });
    const io = new FakeIO();
    runtime(server).start(io);
    const s = await io.settled;
    expect(s.kind).toBe('fail');
    if (s.kind !== 'fail') return;
    expect(s.message).toContain('HTTP 500');
    expect(s.message).toContain('model overloaded, try later');
  });

  it('network errors, stream cuts and cut connections -> io.fail with a clear message', async () => {
    const dead = await startFakeModel({});
    const deadUrl = dead.url;
    await dead.close();
    const refused = new FakeIO();
    runtime(deadUrl).start(refused);
    const r = await refused.settled;
    expect(r).toMatchObject({ kind: 'fail', message: expect.stringContaining('model request failed') });

    const cutServer = await start({ script: { rules: [{ match: { model: 'cut' }, respond: { ttftMs: 0, outputTokens: 10, error: { afterTokens: 4, message: 'upstream died' } } }, { match: { model: 'drop' }, respond: { ttftMs: 0, outputTokens: 10, error: { afterTokens: 4, message: 'x', mode: 'close' } } }] }, timeScale: 10 });
    const cut = new FakeIO();
    runtime(cutServer, { model: 'cut' }).start(cut);
    expect(await cut.settled).toMatchObject({ kind: 'fail', message: expect.stringMatching(/stream error \(stream_cut\): upstream died/) });
    expect(cut.deltas.join('').trim().split(/\s+/)).toHaveLength(4);
    const drop = new FakeIO();
    runtime(cutServer, { model: 'drop' }).start(drop);
    const d = await drop.settled;
    expect(d.kind).toBe('fail');
    if (d.kind === 'fail') expect(d.message).toMatch(/model stream (failed|from .* ended before \[DONE\])/);
  });

  it('fails after maxToolRounds rounds of tool calls', async () => {
    const server = await start({ script: { rules: [], default: { ttftMs: 0, toolCalls: [{ name: 'exec', arguments: '{"command":"ls"}' }] } }, timeScale: 10 });
    const io = new FakeIO();
    runtime(server, { maxToolRounds: 2 }).start(io);
    expect(await io.settled).toMatchObject({ kind: 'fail', message: expect.stringContaining('more than 2 tool rounds') });
    expect(server.requests()).toHaveLength(3);
  });

  it('picks the model per agent and sends the tools with their JSON schemas', async () => {
    const server = await start({ timeScale: 20 });
    let seen: Record<string, unknown> | null = null;
    const fetchImpl: typeof fetch = async (input, init) => {
      seen = JSON.parse(String(init?.body)) as Record<string, unknown>;
      return fetch(input, init);
    };
    const io = new FakeIO({ sessionKey: 'agent:coder:main' });
    runtime(server, { agentModels: { coder: 'coder' }, fetchImpl }).start(io);
    await io.settled;
    expect(server.requests()[0]!.model).toBe('coder');
    const body = seen as unknown as { tools: { type: string; function: { name: string; parameters: { required?: string[] } } }[]; stream: boolean; stream_options: unknown };
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
    expect(body.tools.map((t) => t.function.name)).toEqual(['edit', 'exec', 'read', 'write', 'sessions_send']);
    expect(body.tools.find((t) => t.function.name === 'read')!.function.parameters.required).toEqual(['path']);
  });
});

describe('SseParser', () => {
  const stream = 'data: {"a":1}\r\n\r\n: keepalive\n\nevent: ping\ndata: x\n\ndata: line1\ndata: line2\n\ndata:nospace\rdata: cr\r\rdata: [DONE]\n\n';
  const expected = [
    { event: 'message', data: '{"a":1}', id: null },
    { event: 'ping', data: 'x', id: null },
    { event: 'message', data: 'line1\nline2', id: null },
    { event: 'message', data: 'nospace\ncr', id: null },
    { event: 'message', data: '[DONE]', id: null },
  ];

  it('parses frames, comments, multi-line data and every line ending', () => {
    const p = new SseParser();
    expect([...p.push(stream), ...p.end()]).toEqual(expected);
  });

  it('gives the same events however the stream is split across chunks', () => {
    for (let i = 0; i <= stream.length; i++) {
      for (const j of [i, Math.min(stream.length, i + 1), Math.min(stream.length, i + 7)]) {
        const p = new SseParser();
        const events = [...p.push(stream.slice(0, i)), ...p.push(stream.slice(i, j)), ...p.push(stream.slice(j)), ...p.end()];
        expect(events, `split at ${i}/${j}`).toEqual(expected);
      }
    }
  });

  it('dispatches an unterminated last event at end()', () => {
    const p = new SseParser();
    expect(p.push('data: tail')).toEqual([]);
    expect(p.end()).toEqual([{ event: 'message', data: 'tail', id: null }]);
  });
});

describe('helpers', () => {
  it('completionsUrl accepts the usual base URL forms', () => {
    expect(completionsUrl('http://127.0.0.1:1')).toBe('http://127.0.0.1:1/v1/chat/completions');
    expect(completionsUrl('http://127.0.0.1:1/')).toBe('http://127.0.0.1:1/v1/chat/completions');
    expect(completionsUrl('http://127.0.0.1:1/v1')).toBe('http://127.0.0.1:1/v1/chat/completions');
    expect(completionsUrl('http://127.0.0.1:1/v1/chat/completions')).toBe('http://127.0.0.1:1/v1/chat/completions');
  });

  it('agentIdFromSessionKey', () => {
    expect(agentIdFromSessionKey('agent:coder:main')).toBe('coder');
    expect(agentIdFromSessionKey('main')).toBeNull();
  });
});
