/**
 * The fake model server over real sockets on 127.0.0.1: SSE shapes, timing
 * at a time scale, rule matching, errors, the control API, determinism and
 * clean shutdown. Scripts run at time scales of 10-200 so each test takes
 * well under a second or two.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { fakeModelCommand } from '../../src/cli/fake-model.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { fakeModelPerTest } from '../support/fake-model-fixture.ts';
import { startFakeModel, type FakeModelServer } from '../../src/fake-model/server.ts';
import {
  CASCADE_MARKER, CASCADE_SCRIPT, CODER_MARKER, ScriptError, validateScript, type FakeModelScript,
} from '../../src/fake-model/script.ts';
import { planResponse } from '../../src/fake-model/plan.ts';

const start = fakeModelPerTest();

interface Frame {
  /** ms since the request was sent. */
  at: number;
  data: unknown;
}

interface SseResult {
  status: number;
  headers: Headers;
  raw: string;
  frames: Frame[];
  /** ms from the request to the end of the body. */
  totalMs: number;
  /** The body read failed (connection destroyed). */
  readError: Error | null;
}

type Chunk = {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: { index: number; delta: Record<string, unknown>; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
};

/** POSTs a completion request with fetch and reads the SSE body frame by frame (independent little parser). */
async function sse(server: FakeModelServer, body: Record<string, unknown>, onFrame?: (f: Frame) => void): Promise<SseResult> {
  const t0 = performance.now();
  const res = await fetch(`${server.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fake-model', stream: true, ...body }),
  });
  const frames: Frame[] = [];
  let raw = '';
  let pending = '';
  let readError: Error | null = null;
  const decoder = new TextDecoder();
  const reader = res.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      raw += text;
      pending += text;
      let cut: number;
      while ((cut = pending.indexOf('\n\n')) >= 0) {
        const block = pending.slice(0, cut);
        pending = pending.slice(cut + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (data === '') continue;
        const frame = { at: performance.now() - t0, data: data === '[DONE]' ? '[DONE]' : JSON.parse(data) };
        frames.push(frame);
        onFrame?.(frame);
      }
    }
  } catch (err) {
    readError = err as Error;
  }
  return { status: res.status, headers: res.headers, raw, frames, totalMs: performance.now() - t0, readError };
}

function chunks(r: SseResult): Chunk[] {
  return r.frames.filter((f) => f.data !== '[DONE]').map((f) => f.data as Chunk);
}

function contentOf(r: SseResult): string {
  return chunks(r).map((c) => c.choices?.[0]?.delta['content']).filter((c): c is string => typeof c === 'string').join('');
}

function toolCallsOf(r: SseResult): { id: string; name: string; arguments: string }[] {
  const calls: { id: string; name: string; arguments: string }[] = [];
  for (const c of chunks(r)) {
    const tcs = c.choices[0]?.delta['tool_calls'] as { index: number; id?: string; function?: { name?: string; arguments?: string } }[] | undefined;
    for (const tc of tcs ?? []) {
      const acc = (calls[tc.index] ??= { id: '', name: '', arguments: '' });
      if (tc.id !== undefined) acc.id = tc.id;
      if (tc.function?.name !== undefined) acc.name += tc.function.name;
      if (tc.function?.arguments !== undefined) acc.arguments += tc.function.arguments;
    }
  }
  return calls;
}

const user = (content: string) => ({ role: 'user', content });

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const t0 = performance.now();
  while (!check()) {
    if (performance.now() - t0 > timeoutMs) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function post(url: string, body: string, method = 'POST'): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : body });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

// ---------------------------------------------------------------- shapes

describe('fake model: SSE stream', () => {
  const text = 'Hello there, world: this is lanesim speaking.';
  const script: FakeModelScript = {
    models: ['fake-model', 'coder'],
    rules: [{ name: 'lit', match: { model: 'fake-model' }, respond: { ttftMs: 10, tokensPerSec: 2000, text, chunkTokens: 2, toolCalls: [{ name: 'read', arguments: '{}' }] } }],
  };

  it('sends role, content, tool_call, finish, usage and [DONE] frames in OpenAI shapes', async () => {
    const server = await start({ script, seed: 7 });
    const messages = [{ role: 'system', content: 'x'.repeat(400) }, user('hi there')];
    const r = await sse(server, { messages, stream_options: { include_usage: true } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(r.frames.at(-1)?.data).toBe('[DONE]');
    const cs = chunks(r);
    const id = cs[0]!.id;
    expect(id).toMatch(/^chatcmpl-/);
    for (const c of cs) {
      expect(c.object).toBe('chat.completion.chunk');
      expect(c.id).toBe(id);
      expect(c.model).toBe('fake-model');
      expect(typeof c.created).toBe('number');
    }
    // first: the role delta
    expect(cs[0]!.choices).toEqual([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
    // content deltas reassemble the literal text, at most 2 tokens each
    expect(contentOf(r)).toBe(text);
    const contentChunks = cs.filter((c) => typeof c.choices[0]?.delta['content'] === 'string' && c.choices[0]?.delta['content'] !== '');
    expect(contentChunks.length).toBe(4);
    // tool call: header with id/type/name and empty arguments, then argument pieces
    const header = cs.find((c) => (c.choices[0]?.delta['tool_calls'] as unknown[] | undefined)?.length)!;
    expect(header.choices[0]!.delta['tool_calls']).toEqual([{ index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'read', arguments: '' } }]);
    expect(toolCallsOf(r)).toEqual([{ id: expect.stringMatching(/^call_/), name: 'read', arguments: '{}' }]);
    // tool call deltas come after all content
    const firstTool = cs.indexOf(header);
    expect(cs.slice(firstTool).every((c) => c.choices[0]?.delta['content'] === undefined)).toBe(true);
    // finish, then usage with choices: []
    const finish = cs.at(-2)!;
    expect(finish.choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' }]);
    const usage = cs.at(-1)!;
    expect(usage.choices).toEqual([]);
    const promptTokens = Math.ceil((400 + 'hi there'.length) / 4);
    expect(usage.usage).toEqual({ prompt_tokens: promptTokens, completion_tokens: expect.any(Number), total_tokens: expect.any(Number) });
    expect(usage.usage!.total_tokens).toBe(promptTokens + usage.usage!.completion_tokens);
    expect(server.requests()[0]).toMatchObject({ rule: 'lit', stream: true, includeUsage: true, messageCount: 2, promptTokens, outcome: 'completed', toolCalls: ['read'] });
  });

  it('omits the usage chunk without stream_options.include_usage and ends with finish_reason stop', async () => {
    const server = await start({ script: { rules: [], default: { ttftMs: 0, tokensPerSec: 5000, outputTokens: 12 } } });
    const r = await sse(server, { messages: [user('x')] });
    const cs = chunks(r);
    expect(cs.some((c) => c.usage !== undefined)).toBe(false);
    expect(cs.at(-1)!.choices[0]!.finish_reason).toBe('stop');
    expect(r.frames.at(-1)!.data).toBe('[DONE]');
    // filler: 12 word tokens
    expect(contentOf(r).trim().split(/\s+/)).toHaveLength(12);
    expect(r.raw.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('a reply that is only a tool call has a null content role delta', async () => {
    const server = await start({ script: { rules: [], default: { ttftMs: 0, tokensPerSec: 5000, toolCalls: [{ name: 'exec', arguments: '{"command":"ls"}' }] } } });
    const r = await sse(server, { messages: [user('x')] });
    expect(chunks(r)[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: null });
    expect(contentOf(r)).toBe('');
    expect(toolCallsOf(r)[0]!.arguments).toBe('{"command":"ls"}');
  });

  it('passes malformed tool arguments through verbatim, several calls by index', async () => {
    const weird = ['{"path": ', '', '{}', 'not json at all \u00e9\u{1F600}', '{"path":"a"}}'];
    const server = await start({ script: { rules: [], default: { ttftMs: 0, tokensPerSec: 5000, outputTokens: 3, toolCalls: weird.map((a, i) => ({ name: `t${i}`, arguments: a })) } } });
    const r = await sse(server, { messages: [user('x')] });
    expect(toolCallsOf(r).map((c) => c.arguments)).toEqual(weird);
    expect(toolCallsOf(r).map((c) => c.name)).toEqual(['t0', 't1', 't2', 't3', 't4']);
    expect(new Set(toolCallsOf(r).map((c) => c.id)).size).toBe(5);
  });

  it('stream:false answers one chat.completion with the same content as the stream', async () => {
    const plan = { ttftMs: 20, tokensPerSec: 5000, outputTokens: 30, toolCalls: [{ name: 'read', arguments: '{}' }] };
    const a = await start({ script: { rules: [], default: plan }, seed: 5, timeScale: 10 });
    const b = await start({ script: { rules: [], default: plan }, seed: 5, timeScale: 10 });
    const streamed = await sse(a, { messages: [user('x')] });
    const { status, json } = await post(`${b.baseUrl}/chat/completions`, JSON.stringify({ model: 'fake-model', stream: false, messages: [user('x')] }));
    expect(status).toBe(200);
    expect(json.object).toBe('chat.completion');
    expect(json.choices[0].message.content).toBe(contentOf(streamed));
    expect(json.choices[0].message.tool_calls).toEqual(toolCallsOf(streamed).map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })));
    expect(json.choices[0].finish_reason).toBe('tool_calls');
    expect(json.usage.completion_tokens).toBe(a.requests()[0]!.completionTokens);
    expect(b.requests()[0]).toMatchObject({ stream: false, outcome: 'completed' });
  });

  it('GET /v1/models lists the script models', async () => {
    const server = await start({ script: 'cascade' });
    const { status, json } = await post(`${server.baseUrl}/models`, '', 'GET');
    expect(status).toBe(200);
    expect(json.object).toBe('list');
    expect(json.data.map((m: { id: string }) => m.id)).toEqual(['fake-model', 'coordinator', 'coder']);
    expect(json.data[0]).toMatchObject({ object: 'model', owned_by: 'lanesim' });
    expect((await post(`${server.baseUrl}/models/coder`, '', 'GET')).json.id).toBe('coder');
    expect((await post(`${server.baseUrl}/models/nope`, '', 'GET')).status).toBe(404);
  });
});

// ---------------------------------------------------------------- timing

describe('fake model: timing', () => {
  it('ttft and token rate follow the script, divided by timeScale', async () => {
    // unscaled: ttft 1000 ms, 40 tokens in 4-token chunks at 100 tok/s -> 360 ms after ttft; / 10
    const server = await start({ script: { rules: [], default: { ttftMs: 1000, tokensPerSec: 100, outputTokens: 40, chunkTokens: 4 } }, timeScale: 10 });
    const r = await sse(server, { messages: [user('x')] });
    const firstContent = r.frames.find((f) => typeof (f.data as Chunk).choices?.[0]?.delta['content'] === 'string')!;
    expect(firstContent.at).toBeGreaterThanOrEqual(95);
    expect(r.totalMs).toBeGreaterThanOrEqual(130);
    expect(r.totalMs).toBeLessThan(1000);
    // chunk spacing ~ 4 tokens / 100 tok/s / 10 = 4 ms: ten content chunks spread over ~36 ms
    const contentFrames = r.frames.filter((f) => typeof (f.data as Chunk).choices?.[0]?.delta['content'] === 'string' && (f.data as Chunk).choices[0]!.delta['content'] !== '');
    expect(contentFrames).toHaveLength(10);
    // absolute lower bounds from the request (a late earlier chunk cannot make a later one early)
    contentFrames.forEach((f, i) => expect(f.at).toBeGreaterThanOrEqual(100 + i * 4 - 2));
  });

  it('ttft from ttftBaseMs + prompt tokens / prefillTokensPerSec (minPromptTokens floor)', () => {
    const plan = { ttftBaseMs: 1500, prefillTokensPerSec: 3000, outputTokens: 1 };
    const ctx = { seed: 1, rule: 0, matchIndex: 0, timeScale: 1 };
    expect(planResponse(plan, { ...ctx, promptTokens: 18_000 }).ttftMs).toBeCloseTo(7500);
    expect(planResponse(plan, { ...ctx, promptTokens: 3000 }).ttftMs).toBeCloseTo(2500);
    expect(planResponse({ ...plan, minPromptTokens: 18_000 }, { ...ctx, promptTokens: 3000 }).ttftMs).toBeCloseTo(7500);
    expect(planResponse(plan, { ...ctx, promptTokens: 18_000, timeScale: 50 }).ttftMs).toBeCloseTo(150);
  });

  it('a stall pauses the stream after N tokens', async () => {
    const server = await start({ script: { rules: [], default: { ttftMs: 0, tokensPerSec: 1000, outputTokens: 8, chunkTokens: 2, stall: { afterTokens: 4, ms: 3000 } } }, timeScale: 10 });
    const r = await sse(server, { messages: [user('x')] });
    const content = r.frames.filter((f) => typeof (f.data as Chunk).choices?.[0]?.delta['content'] === 'string' && (f.data as Chunk).choices[0]!.delta['content'] !== '');
    expect(content).toHaveLength(4);
    // chunks 1-2 (tokens 1-4) come at once; chunk 3 waits for the stall (3000 ms / 10) after token 4
    expect(content[1]!.at).toBeLessThan(250);
    expect(content[2]!.at).toBeGreaterThanOrEqual(298);
    expect(content[3]!.at).toBeGreaterThanOrEqual(298);
    expect(r.totalMs).toBeLessThan(1500);
  });

  it('keepalive comments while waiting for the first token', async () => {
    const server = await start({ script: { rules: [], default: { ttftMs: 400, keepaliveMs: 100, outputTokens: 2, tokensPerSec: 1000 } }, timeScale: 2 });
    const r = await sse(server, { messages: [user('x')] });
    expect(r.raw.match(/^: keepalive$/gm)?.length ?? 0).toBeGreaterThanOrEqual(2);
    expect(r.frames.at(-1)!.data).toBe('[DONE]');
  });
});

// ---------------------------------------------------------------- rules

describe('fake model: rules', () => {
  const script: FakeModelScript = {
    rules: [
      { name: 'retry', match: { toolResultContains: 'Error:', toolResults: { max: 1 } }, respond: { ttftMs: 0, text: 'retrying', toolCalls: [{ name: 'read', arguments: '{"path":"a.ts"}' }] } },
      { name: 'after-tool', match: { afterToolResult: true }, respond: { ttftMs: 0, text: 'got it' } },
      { name: 'coder', match: [{ model: 'cod*' }, { marker: '[lanesim:cascade-coder]' }], respond: { ttftMs: 0, text: 'coder', toolCalls: [{ name: 'read', arguments: '{}' }] } },
      { name: 'twice', match: { marker: '[twice]' }, times: 2, respond: { ttftMs: 0, text: 'limited' } },
    ],
    default: { ttftMs: 0, text: 'default' },
  };

  it('matches by model glob, marker, tool result, and times; falls back to default', async () => {
    const server = await start({ script, timeScale: 100 });
    const toolTurn = (content: string) => [user('do it'), { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'read', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c1', content }];
    const cases: [Record<string, unknown>, string][] = [
      [{ model: 'coder-x', messages: [user('hello')] }, 'coder'],
      [{ model: 'gpt', messages: [user('please [lanesim:cascade-coder] work')] }, 'coder'],
      [{ model: 'gpt', messages: [user('hello')] }, 'default'],
      [{ model: 'coder', messages: toolTurn("Error: read tool requires 'path' parameter. Received: {}") }, 'retry'],
      [{ model: 'coder', messages: toolTurn('file contents') }, 'after-tool'],
      [{ model: 'coder', messages: [...toolTurn('Error: x'), { role: 'assistant', content: null, tool_calls: [] }, { role: 'tool', tool_call_id: 'c2', content: 'Error: again' }] }, 'after-tool'],
      [{ messages: [user('[twice]')] }, 'twice'],
      [{ messages: [user('[twice]')] }, 'twice'],
      [{ messages: [user('[twice]')] }, 'default'],
      [{ messages: [{ role: 'user', content: [{ type: 'text', text: 'parts [lanesim:cascade-coder]' }] }] }, 'coder'],
      // The marker is in the user turn, followed by a user message the gateway appends (OpenClaw's internal context).
      [{ model: 'gpt', messages: [user('[date UTC] please [lanesim:cascade-coder] work\n\nRuntime: x'), user('<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>> ctx')] }, 'coder'],
      // A marker only in an earlier, answered turn does not match.
      [{ model: 'gpt', messages: [user('[lanesim:cascade-coder] before'), { role: 'assistant', content: 'done' }, user('something else')] }, 'default'],
      // A tool result followed by a user message the gateway appends (OpenClaw's internal context): still after the tool result.
      [{ model: 'gpt', messages: [...toolTurn("Error: read tool requires 'path' parameter. Received: {}"), user('<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>> ctx')] }, 'retry'],
    ];
    for (const [body, rule] of cases) {
      const r = await sse(server, body);
      expect(r.status).toBe(200);
      expect(server.requests().at(-1)!.rule, JSON.stringify(body)).toBe(rule);
    }
    const log = server.requests();
    expect(log.map((e) => e.matchIndex)).toEqual([0, 1, 0, 0, 0, 1, 0, 1, 1, 2, 3, 2, 1]);
    expect(log[3]).toMatchObject({
      lastRole: 'tool', toolResults: 1, lastMessage: expect.stringContaining("requires 'path'"), lastToolResult: expect.stringContaining("requires 'path'"),
      lastUserMessage: 'do it', userMessages: ['do it'], markers: [],
    });
    expect(log[0]).toMatchObject({ lastToolResult: null });
    expect(log[12]).toMatchObject({
      rule: 'retry', lastRole: 'user', toolResults: 1, lastToolResult: "Error: read tool requires 'path' parameter. Received: {}",
      userMessages: ['do it', '<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>> ctx'],
    });
    // The log shows the whole user turn and the script's markers found in it.
    expect(log[10]).toMatchObject({
      rule: 'coder',
      userMessages: ['[date UTC] please [lanesim:cascade-coder] work\n\nRuntime: x', '<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>> ctx'],
      markers: ['[lanesim:cascade-coder]'],
    });
    expect(log[11]).toMatchObject({ rule: 'default', userMessages: ['something else'], markers: [] });
    expect(log[6]).toMatchObject({ userMessages: ['[twice]'], markers: ['[twice]'] });
  });

  it('the cascade script plays seed 004: handoff, malformed read, retry with a path, a ~6k-token reply', async () => {
    const server = await start({ script: 'cascade', seed: 4, timeScale: 200 });
    const handoff = await sse(server, { messages: [user(`${CASCADE_MARKER} refactor the loader with CC`)] });
    const send = toolCallsOf(handoff)[0]!;
    expect(send.name).toBe('sessions_send');
    const sendArgs = JSON.parse(send.arguments) as { targetSessionKey: string; message: string };
    expect(sendArgs.targetSessionKey).toBe('agent:coder:main');
    expect(sendArgs.message).toContain(CODER_MARKER);

    const coder1 = await sse(server, { messages: [user(sendArgs.message)] });
    expect(toolCallsOf(coder1)).toEqual([{ id: expect.any(String), name: 'read', arguments: '{}' }]);
    const firstContent = coder1.frames.find((f) => typeof (f.data as Chunk).choices?.[0]?.delta['content'] === 'string')!;
    expect(firstContent.at).toBeGreaterThanOrEqual(0.75 * 7500 / 200 - 5); // ~18k-token prefill, ±25% jitter

    const afterError = [user(sendArgs.message), { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'read', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c', content: "Error: read tool requires 'path' parameter. Received: {}" }];
    const coder2 = await sse(server, { messages: afterError });
    expect(JSON.parse(toolCallsOf(coder2)[0]!.arguments)).toEqual({ path: 'src/config/loader.ts' });

    const afterRead = [...afterError, { role: 'assistant', content: null, tool_calls: [{ id: 'd', type: 'function', function: { name: 'read', arguments: '{"path":"src/config/loader.ts"}' } }] },
      { role: 'tool', tool_call_id: 'd', content: 'export function loadConfig() {}' }];
    const coder3 = await sse(server, { messages: afterRead, stream_options: { include_usage: true } });
    const usage = chunks(coder3).at(-1)!.usage!;
    expect(usage.completion_tokens).toBeGreaterThanOrEqual(5500);
    expect(usage.completion_tokens).toBeLessThanOrEqual(6500);
    // 6k tokens at 100-190 tok/s is 29-65 s (±25% jitter): at time scale 200, 0.1-0.5 s
    expect(coder3.totalMs).toBeGreaterThanOrEqual((0.75 * 5500 / 190) * 1000 / 200);
    expect(coder3.totalMs).toBeLessThan(2000);

    const summary = await sse(server, { messages: [user(`${CASCADE_MARKER} refactor`), { role: 'assistant', content: null, tool_calls: [{ id: 's', type: 'function', function: { name: 'sessions_send', arguments: send.arguments } }] }, { role: 'tool', tool_call_id: 's', content: contentOf(coder3) }] });
    expect(toolCallsOf(summary)).toEqual([]);
    expect(server.requests().map((e) => e.rule)).toEqual(['coordinator-handoff', 'coder-malformed-read', 'coder-retry-read', 'coder-long-reply', 'coordinator-summary']);
  });

  it('the cascade coder does not retry forever: a second error answers with the long reply', async () => {
    const server = await start({ script: CASCADE_SCRIPT, timeScale: 200 });
    const call = (id: string) => ({ role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'read', arguments: '{}' } }] });
    await sse(server, { model: 'coder', messages: [user('go'), call('a'), { role: 'tool', tool_call_id: 'a', content: 'Error: 1' }, call('b'), { role: 'tool', tool_call_id: 'b', content: 'Error: 2' }] });
    expect(server.requests()[0]!.rule).toBe('coder-long-reply');
  });
});

// ---------------------------------------------------------------- errors

describe('fake model: errors', () => {
  it('an HTTP error rule answers with OpenAI error JSON after its ttft', async () => {
    const server = await start({ script: { rules: [{ match: { model: 'busy' }, respond: { ttftMs: 500, error: { status: 429, message: 'slow down', code: 'rate_limit_exceeded' } } }] }, timeScale: 10 });
    const t0 = performance.now();
    const { status, json } = await post(`${server.baseUrl}/chat/completions`, JSON.stringify({ model: 'busy', stream: true, messages: [user('x')] }));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(status).toBe(429);
    expect(json).toEqual({ error: { message: 'slow down', type: 'invalid_request_error', code: 'rate_limit_exceeded', param: null } });
    expect(server.requests()[0]!.outcome).toBe('http-error');
  });

  it('error.afterTokens (chunk mode) sends an error frame and ends without finish_reason or [DONE]', async () => {
    const server = await start({ script: { rules: [], default: { ttftMs: 0, tokensPerSec: 2000, outputTokens: 20, chunkTokens: 3, error: { afterTokens: 7, message: 'upstream overloaded' } } } });
    const r = await sse(server, { messages: [user('x')], stream_options: { include_usage: true } });
    expect(r.readError).toBeNull();
    expect(contentOf(r).trim().split(/\s+/)).toHaveLength(7);
    const last = r.frames.at(-1)!.data as { error?: { message: string; code: string; type: string } };
    expect(last.error).toEqual({ message: 'upstream overloaded', type: 'server_error', code: 'stream_cut', param: null });
    expect(r.frames.some((f) => f.data === '[DONE]')).toBe(false);
    expect(chunks(r).some((c) => c.choices?.[0]?.finish_reason)).toBe(false);
    expect(server.requests()[0]!.outcome).toBe('cut');
  });

  it('error.afterTokens (close mode) destroys the connection mid-stream', async () => {
    const server = await start({ script: { rules: [], default: { ttftMs: 0, tokensPerSec: 2000, outputTokens: 20, chunkTokens: 2, error: { afterTokens: 4, message: 'x', mode: 'close' } } } });
    const r = await sse(server, { messages: [user('x')] });
    expect(r.readError).not.toBeNull();
    expect(contentOf(r).trim().split(/\s+/)).toHaveLength(4);
    expect(r.raw).not.toContain('[DONE]');
  });

  it('400 invalid JSON / missing messages, 404 unknown path, 405 wrong method, 413 body too large', async () => {
    const server = await start({});
    const url = `${server.baseUrl}/chat/completions`;
    const bad = await post(url, '{"model": ');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json', message: expect.stringContaining('invalid JSON') });
    const missing = await post(url, '{"model":"m","stream":true}');
    expect(missing.status).toBe(400);
    expect(missing.json.error).toMatchObject({ code: 'missing_messages', message: expect.stringContaining('messages') });
    expect((await post(url, '{"messages":[]}')).status).toBe(400);
    expect((await post(url, '{"messages":[42]}')).json.error.message).toContain('messages[0]');
    const notFound = await post(`${server.url}/v2/nothing`, '{}');
    expect(notFound.status).toBe(404);
    expect(notFound.json.error.type).toBe('invalid_request_error');
    const wrong = await post(url, '', 'GET');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect((await post(`${server.baseUrl}/models`, '{}')).status).toBe(405);
    const huge = JSON.stringify({ messages: [user('x'.repeat(9 * 1024 * 1024))] });
    const tooLarge = await post(url, huge);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.json.error.code).toBe('body_too_large');
    expect(server.requests()).toHaveLength(0);
    // still serving
    expect((await sse(server, { messages: [user('x')] })).status).toBe(200);
  });
});

// ---------------------------------------------------------------- control

describe('fake model: control API', () => {
  it('logs requests, replaces the script (400 naming the bad field), resets', async () => {
    const server = await start({ script: { rules: [{ name: 'once', times: 1, respond: { ttftMs: 0, text: 'first' } }], default: { ttftMs: 0, text: 'later' } } });
    await sse(server, { model: 'm1', messages: [{ role: 'system', content: 'sys' }, user('first question'), { role: 'assistant', content: 'a' }, user('y'.repeat(500))], tools: [{ type: 'function', function: { name: 'read', parameters: {} } }] });
    await sse(server, { model: 'm1', messages: [user('again')] });
    const { json } = await post(`${server.url}/control/requests`, '', 'GET');
    expect(json.requests).toHaveLength(2);
    expect(json.requests[0]).toMatchObject({ index: 0, model: 'm1', rule: 'once', messageCount: 4, toolsCount: 1, lastRole: 'user', outcome: 'completed' });
    expect(json.requests[0].lastUserMessage).toHaveLength(201); // 200 + …
    expect(typeof json.requests[0].t).toBe('number');
    expect(json.requests[1].rule).toBe('default');

    const invalid = await post(`${server.url}/control/script`, JSON.stringify({ rules: [{ respond: { ttftMs: 0 } }, { match: { model: 5 }, respond: {} }] }));
    expect(invalid.status).toBe(400);
    expect(invalid.json.error).toMatchObject({ code: 'invalid_script', param: 'rules[1].match.model', message: expect.stringContaining('rules[1].match.model') });
    const typo = await post(`${server.url}/control/script`, JSON.stringify({ rules: [{ respond: { tokensPerSecond: 5 } }] }));
    expect(typo.json.error.param).toBe('rules[0].respond.tokensPerSecond');
    expect((await post(`${server.url}/control/script`, '{rules: [')).status).toBe(400);

    // JSON5 accepted; the new script applies at once
    const ok = await post(`${server.url}/control/script`, "{rules: [{name: 'new', respond: {ttftMs: 0, text: 'replaced'}}]}");
    expect(ok.status).toBe(200);
    expect(contentOf(await sse(server, { messages: [user('q')] }))).toBe('replaced');
    expect((await post(`${server.url}/control/script`, '"cascade"')).status).toBe(200);
    expect(server.requests().at(-1)!.rule).toBe('new');

    const reset = await post(`${server.url}/control/reset`, '');
    expect(reset.status).toBe(200);
    expect(server.requests()).toHaveLength(0);
    expect((await post(`${server.url}/control/requests`, '', 'GET')).json.requests).toEqual([]);
    expect((await post(`${server.url}/control/reset`, '{"seed": -1}')).status).toBe(400);
  });

  it('reset clears the rule counters (times applies again) and may set the seed', async () => {
    const server = await start({ script: { rules: [{ name: 'once', times: 1, respond: { ttftMs: 0, outputTokens: 5 } }] }, timeScale: 20 });
    const a = contentOf(await sse(server, { messages: [user('x')] }));
    await sse(server, { messages: [user('x')] });
    expect(server.requests().map((e) => e.rule)).toEqual(['once', 'default']);
    await post(`${server.url}/control/reset`, '{}');
    expect(contentOf(await sse(server, { messages: [user('x')] }))).toBe(a);
    expect(server.requests().map((e) => e.rule)).toEqual(['once']);
    await post(`${server.url}/control/reset`, '{"seed": 99}');
    expect(server.seed).toBe(99);
    expect(contentOf(await sse(server, { messages: [user('x')] }))).not.toBe(a);
  });

  it('validateScript names the path of the bad field', () => {
    const bad: [unknown, string][] = [
      [{}, 'rules'],
      [{ rules: [{}] }, 'rules[0].respond'],
      [{ rules: [{ respond: { jitter: 1.5 } }] }, 'rules[0].respond.jitter'],
      [{ rules: [{ respond: { outputTokens: [10, 5] } }] }, 'rules[0].respond.outputTokens'],
      [{ rules: [{ respond: { toolCalls: [{ name: 'read', arguments: {} }] } }] }, 'rules[0].respond.toolCalls[0].arguments'],
      [{ rules: [{ respond: { error: { status: 200, message: 'x' } } }] }, 'rules[0].respond.error.status'],
      [{ rules: [{ respond: { stall: [{ afterTokens: 1, ms: 5 }, { afterTokens: -1, ms: 5 }] } }] }, 'rules[0].respond.stall[1].afterTokens'],
      [{ rules: [{ times: 0, respond: {} }] }, 'rules[0].times'],
      [{ rules: [{ match: [{ toolResults: { min: 3, max: 1 } }], respond: {} }] }, 'rules[0].match[0].toolResults'],
      [{ rules: [], default: { text: 'a', outputTokens: 3 } }, 'default.text'],
      [{ rules: [], extra: 1 }, 'extra'],
    ];
    for (const [input, path] of bad) {
      let error: unknown = null;
      try {
        validateScript(input);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(input)).toBeInstanceOf(ScriptError);
      expect((error as ScriptError).path).toBe(path);
      expect((error as ScriptError).message).toContain(path);
    }
    expect(() => validateScript(CASCADE_SCRIPT)).not.toThrow();
  });
});

// ---------------------------------------------------------------- determinism

describe('fake model: determinism', () => {
  const script: FakeModelScript = {
    rules: [{ name: 'r', respond: { ttftMs: [5, 20], tokensPerSec: [3000, 5000], outputTokens: [30, 60], jitter: 0.3, chunkTokens: 3, toolCalls: [{ name: 'read', arguments: '{}' }] } }],
  };
  const shape = (r: SseResult) => ({
    chunks: chunks(r).map((c) => JSON.stringify(c.choices[0]?.delta ?? null)),
    id: chunks(r)[0]!.id,
  });

  it('the same script and seed give the same chunk texts, tool ids and boundaries', async () => {
    const a = await start({ script, seed: 42, timeScale: 20 });
    const b = await start({ script, seed: 42, timeScale: 50 });
    const c = await start({ script, seed: 43, timeScale: 50 });
    const texts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const [ra, rb, rc] = await Promise.all([a, b, c].map((s) => sse(s, { messages: [user(`q${i}`)] })));
      expect(shape(ra!)).toEqual(shape(rb!));
      expect(shape(ra!)).not.toEqual(shape(rc!));
      texts.push(contentOf(ra!));
    }
    // successive matches of one rule differ from one another
    expect(new Set(texts).size).toBe(3);
  });

  it('plans depend on (seed, rule, match index) only: equal plans, scaled offsets', () => {
    const plan = script.rules[0]!.respond;
    const p1 = planResponse(plan, { seed: 9, rule: 0, matchIndex: 3, promptTokens: 100, timeScale: 1 });
    const p2 = planResponse(plan, { seed: 9, rule: 0, matchIndex: 3, promptTokens: 100, timeScale: 4 });
    expect(p2.text).toBe(p1.text);
    expect(p2.events.map((e) => ({ ...e, atMs: 0 }))).toEqual(p1.events.map((e) => ({ ...e, atMs: 0 })));
    p1.events.forEach((e, i) => expect(p2.events[i]!.atMs).toBeCloseTo(e.atMs / 4));
    expect(planResponse(plan, { seed: 9, rule: 0, matchIndex: 4, promptTokens: 100, timeScale: 1 }).text).not.toBe(p1.text);
  });
});

// ---------------------------------------------------------------- shutdown

function countTimeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('fake model: shutdown and disconnects', () => {
  it('close() with an in-flight stream ends it, resolves, and leaves no timers', async () => {
    const baseline = countTimeouts();
    const server = await startFakeModel({ script: { rules: [], default: { ttftMs: 0, tokensPerSec: 10, outputTokens: 1000, chunkTokens: 1, keepaliveMs: 50 } } });
    const body = JSON.stringify({ model: 'm', stream: true, messages: [user('x')] });
    let received = '';
    let firstChunk!: () => void;
    const gotFirst = new Promise<void>((r) => (firstChunk = r));
    const ended = new Promise<string>((resolve) => {
      const req = http.request(`${server.baseUrl}/chat/completions`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          received += d;
          if (received.includes('"content"')) firstChunk();
        });
        res.on('end', () => resolve('end'));
        res.on('error', () => resolve('error'));
        res.on('aborted', () => resolve('aborted'));
      });
      req.on('error', () => resolve('req-error'));
      req.end(body);
    });
    await gotFirst;
    expect(server.stats()).toEqual({ inFlight: 1, timers: 1 });
    const t0 = performance.now();
    await server.close();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await ended).toMatch(/end|aborted|error/);
    expect(received).not.toContain('[DONE]');
    expect(server.stats()).toEqual({ inFlight: 0, timers: 0 });
    expect(server.requests()[0]!.outcome).toBe('server-closed');
    expect(countTimeouts()).toBeLessThanOrEqual(baseline);
    await server.close(); // idempotent
  });

  it('close() answers a waiting non-streaming request with 503', async () => {
    const server = await startFakeModel({ script: { rules: [], default: { ttftMs: 60_000 } } });
    const pending = post(`${server.baseUrl}/chat/completions`, JSON.stringify({ messages: [user('x')] }));
    await until(() => server.stats().inFlight === 1);
    await server.close();
    const r = await pending.catch(() => ({ status: -1, json: null }));
    expect([503, -1]).toContain(r.status);
    expect(server.stats()).toEqual({ inFlight: 0, timers: 0 });
  });

  it('a client that disconnects mid-stream stops its stream and timers', async () => {
    const server = await start({ script: { rules: [], default: { ttftMs: 0, tokensPerSec: 20, outputTokens: 1000, chunkTokens: 1 } } });
    const controller = new AbortController();
    const res = await fetch(`${server.baseUrl}/chat/completions`, {
      method: 'POST', body: JSON.stringify({ stream: true, messages: [user('x')] }), signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    expect(server.stats().inFlight).toBe(1);
    controller.abort();
    await until(() => server.stats().inFlight === 0);
    expect(server.stats().timers).toBe(0);
    expect(server.requests()[0]!.outcome).toBe('client-closed');
  });
});

// ---------------------------------------------------------------- CLI

describe('lanesim fake-model', () => {
  it('prints the URL, serves, and closes cleanly when stopped', async () => {
    const lines: string[] = [];
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const running = fakeModelCommand(['--script', 'cascade', '--seed', '3', '--time-scale', '100'], (l) => lines.push(l), { stop: stopped });
    await until(() => lines.length > 0);
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(lines[0]!)![0];
    const models = await post(`${url}/v1/models`, '', 'GET');
    expect(models.json.data.map((m: { id: string }) => m.id)).toContain('coder');
    stop();
    expect(await running).toBe(0);
    expect(lines.at(-1)).toMatch(/closed/);
  });

  it('bad arguments are UsageErrors with one-line messages', async () => {
    const bad = [['--port', 'abc'], ['--port', '70000'], ['--time-scale', '0'], ['--time-scale', 'fast'], ['--seed', '-1'], ['--script', '/nonexistent/x.json5'], ['--bogus'], ['positional']];
    for (const argv of bad) {
      const err = await fakeModelCommand(argv, () => {}).catch((e: unknown) => e);
      expect(err, argv.join(' ')).toBeInstanceOf(UsageError);
      expect((err as Error).message).not.toContain('\n');
    }
  });
});
