/**
 * Bad input over real sockets (docs/SPEC.md WS-1, WS-4, WS-7, WS-8): every
 * probe gets its exact answer or close, and none of them affects another
 * client or the server. Each probe runs in its own test (fresh server, a
 * well-behaved witness client that must still chat afterwards), and then all
 * of them run one after another against one server with one witness.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { gatewayPerTest, type FixtureOptions, type GatewayFixture } from '../support/gateway-fixture.ts';
import { ClientPool, connectParams, isChat, isRes, sleep, type TestClient } from '../support/ws-test-client.ts';

const { pool, start } = gatewayPerTest();
let witnessSeq = 0;

afterEach(() => {
  // No probe may leave Object.prototype polluted.
  expect(Object.keys(Object.prototype)).toEqual([]);
});

interface ProbeContext {
  url: string;
  /** The server's maxPayload. */
  maxPayload: number;
  gw: GatewayFixture;
}

type Probe = (ctx: ProbeContext) => Promise<void>;

async function connected(url: string): Promise<TestClient> {
  return pool.connect(url);
}

async function expectClose(c: TestClient, code: number, reason: string): Promise<void> {
  const close = await c.waitClosed(3_000);
  expect({ code: close.code, reason: close.reason }).toEqual({ code, reason });
}

/** A request whose res must be an error with this code and message; the connection stays usable. */
async function expectError(c: TestClient, method: string, params: unknown, code: string, message: string): Promise<void> {
  const res = await c.request(method, params);
  expect(res).toEqual({ type: 'res', id: expect.any(String), ok: false, error: { code, message } });
}

async function expectUsable(c: TestClient): Promise<void> {
  const res = await c.request('health', {});
  expect(res.ok).toBe(true);
  expect(c.closeInfo).toBeNull();
}

/** A full chat round trip: the response, then one final for the run. */
async function roundTrip(c: TestClient, sessionKey: string, key: string): Promise<string> {
  const res = await c.request('chat.send', { sessionKey, message: 'ping [think=10 stream=60]', idempotencyKey: key });
  expect(res.ok).toBe(true);
  const runId = (res.payload as { runId: string }).runId;
  const final = await c.waitFor((r) => isChat(r, runId, 'final'), 3_000);
  expect((final.frame as { payload: { message: { content: { text: string }[] } } }).payload.message.content[0]?.text).not.toBe('');
  return runId;
}

/** A connect frame padded (in an ignored param) to exactly `bytes` bytes. */
function connectFrameOfSize(bytes: number): string {
  const base = (pad: string): string => JSON.stringify({ type: 'req', id: 'c', method: 'connect', params: { ...connectParams(), pad } });
  const pad = 'x'.repeat(bytes - Buffer.byteLength(base('')));
  const text = base(pad);
  expect(Buffer.byteLength(text)).toBe(bytes);
  return text;
}

/** A request frame padded (in an ignored param) to exactly `bytes` bytes. */
function healthFrameOfSize(bytes: number): string {
  const base = (pad: string): string => JSON.stringify({ type: 'req', id: 'big', method: 'health', params: { pad } });
  const text = base('x'.repeat(bytes - Buffer.byteLength(base(''))));
  expect(Buffer.byteLength(text)).toBe(bytes);
  return text;
}

const DEPTH = 200_000;

const probes: Record<string, Probe> = {
  'invalid JSON after hello-ok: close 1008 invalid request frame': async ({ url }) => {
    for (const text of ['{not json', '', '{"type":"req","id":"1",', 'undefined', '\u0000']) {
      const c = await connected(url);
      c.raw(text);
      await expectClose(c, 1008, 'invalid request frame');
      expect(c.log.filter((r) => isRes(r)).length).toBe(1); // hello-ok only
    }
  },

  'binary frame: close 1003 binary frames not supported (before and after hello-ok)': async ({ url }) => {
    const c = await connected(url);
    c.raw(Buffer.from(JSON.stringify({ type: 'req', id: '1', method: 'health', params: {} })));
    await expectClose(c, 1003, 'binary frames not supported');
    const early = await pool.open(url);
    await early.waitFor((r) => r.index === 0, 2_000);
    early.raw(Buffer.from([1, 2, 3]));
    await expectClose(early, 1003, 'binary frames not supported');
  },

  'pre-handshake frame over 65536 bytes: close 1009 payload too large; exactly 65536 is accepted': async ({ url }) => {
    const big = await pool.open(url);
    await big.waitFor((r) => r.index === 0, 2_000);
    big.raw(connectFrameOfSize(65_537));
    await expectClose(big, 1009, 'payload too large');
    expect(big.log.filter((r) => isRes(r))).toHaveLength(0);
    // Garbage that large closes with 1009 too (size is checked before parsing).
    const junk = await pool.open(url);
    await junk.waitFor((r) => r.index === 0, 2_000);
    junk.raw('['.repeat(70_000));
    await expectClose(junk, 1009, 'payload too large');
    const edge = await pool.open(url);
    await edge.waitFor((r) => r.index === 0, 2_000);
    edge.raw(connectFrameOfSize(65_536));
    const res = await edge.waitFor((r) => isRes(r, 'c'), 2_000);
    expect((res.frame as { ok: boolean }).ok).toBe(true);
  },

  'frame over maxPayload after hello-ok: close 1009 payload too large; exactly maxPayload is accepted': async ({ url, maxPayload }) => {
    const edge = await connected(url);
    edge.raw(healthFrameOfSize(maxPayload));
    const ok = await edge.waitFor((r) => isRes(r, 'big'), 3_000);
    expect((ok.frame as { ok: boolean }).ok).toBe(true);
    const c = await connected(url);
    c.raw(healthFrameOfSize(maxPayload + 1));
    await expectClose(c, 1009, 'payload too large');
    expect(c.log.some((r) => isRes(r, 'big'))).toBe(false);
  },

  'unknown method: UNKNOWN_METHOD, the connection stays usable': async ({ url }) => {
    const c = await connected(url);
    for (const method of ['foo.bar', 'chat.sendx', 'Chat.Send', 'toString', 'constructor', '__proto__', 'hasOwnProperty', '']) {
      await expectError(c, method, {}, 'UNKNOWN_METHOD', `unknown method: ${method}`);
    }
    const long = await c.request('x'.repeat(5_000), {});
    expect(long.error?.code).toBe('UNKNOWN_METHOD');
    expect(long.error?.message.startsWith('unknown method: xxx')).toBe(true);
    await expectUsable(c);
  },

  'a req without a string id: close 1008 invalid request frame': async ({ url }) => {
    for (const frame of [
      { type: 'req', method: 'health', params: {} },
      { type: 'req', id: 7, method: 'health', params: {} },
      { type: 'req', id: null, method: 'health' },
      { type: 'req', id: ['a'], method: 'health' },
      [{ type: 'req', id: 'a', method: 'health' }],
      'health',
      42,
      null,
    ]) {
      const c = await connected(url);
      c.send(frame);
      await expectClose(c, 1008, 'invalid request frame');
      expect(c.log.filter((r) => isRes(r)).length).toBe(1);
    }
  },

  'a parsed non-request frame with a string id: INVALID_REQUEST invalid request frame, stays open': async ({ url }) => {
    const c = await connected(url);
    const frames: Record<string, unknown>[] = [
      { type: 'event', id: 'e1', event: 'chat', payload: {} },
      { type: 'res', id: 'e2', ok: true, payload: {} },
      { type: 'req', id: 'e3' },
      { type: 'req', id: 'e4', method: 7 },
      { type: 'req', id: 'e5', method: null },
      { id: 'e6', method: 'health' },
      { type: 'REQ', id: 'e7', method: 'health' },
    ];
    for (const frame of frames) {
      const from = c.log.length;
      c.send(frame);
      const res = await c.waitFor((r) => isRes(r, frame.id as string), 2_000, from);
      expect(res.frame).toEqual({ type: 'res', id: frame.id, ok: false, error: { code: 'INVALID_REQUEST', message: 'invalid request frame' } });
    }
    await expectUsable(c);
  },

  'wrong param types for each method: INVALID_REQUEST invalid <method> params: <detail>': async ({ url, gw: fixture }) => {
    const c = await connected(url);
    const ok = { sessionKey: 's', message: 'm', idempotencyKey: 'k' };
    const cases: [string, unknown, string][] = [
      ['chat.send', undefined, 'sessionKey is required'],
      ['chat.send', null, 'params must be object'],
      ['chat.send', [], 'params must be object'],
      ['chat.send', 'hello', 'params must be object'],
      ['chat.send', { ...ok, sessionKey: 5 }, 'sessionKey must be string'],
      ['chat.send', { ...ok, sessionKey: '' }, 'sessionKey must NOT have fewer than 1 characters'],
      ['chat.send', { ...ok, message: 5 }, 'message must be string'],
      ['chat.send', { ...ok, message: null }, 'message must be string'],
      ['chat.send', { ...ok, message: { text: 'hi' } }, 'message must be string'],
      ['chat.send', { sessionKey: 's', message: 'm' }, 'idempotencyKey is required'],
      ['chat.send', { ...ok, idempotencyKey: 1 }, 'idempotencyKey must be string'],
      ['chat.send', { ...ok, channel: 5 }, 'channel must be string'],
      ['chat.send', { ...ok, route: '' }, 'route must NOT have fewer than 1 characters'],
      ['chat.abort', {}, 'sessionKey is required'],
      ['chat.abort', { sessionKey: true }, 'sessionKey must be string'],
      ['chat.abort', { sessionKey: 's', runId: 1 }, 'runId must be string'],
      ['chat.abort', { sessionKey: 's', runId: '' }, 'runId must NOT have fewer than 1 characters'],
      ['chat.history', { sessionKey: 's', limit: '5' }, 'limit must be integer'],
      ['chat.history', { sessionKey: 's', limit: 1.5 }, 'limit must be integer'],
      ['chat.history', { sessionKey: 's', limit: 0 }, 'limit must be >= 1'],
      ['chat.history', { sessionKey: 's', limit: 1001 }, 'limit must be <= 1000'],
      ['chat.history', { sessionKey: 's', runId: [] }, 'runId must be string'],
      ['chat.history', 7, 'params must be object'],
      ['sessions.subscribe', { sessionKey: null }, 'sessionKey must be string'],
      ['sessions.subscribe', {}, 'sessionKey is required'],
      ['sessions.subscribe', [], 'params must be object'],
      ['diagnostics.lanes', 'x', 'params must be object'],
      ['diagnostics.lanes', [], 'params must be object'],
      ['diagnostics.lanes', null, 'params must be object'],
      ['health', 5, 'params must be object'],
      ['health', true, 'params must be object'],
    ];
    for (const [method, params, detail] of cases) {
      await expectError(c, method, params, 'INVALID_REQUEST', `invalid ${method} params: ${detail}`);
    }
    // Refused requests had no effect: no run, no session subscribed.
    expect(fixture.agents?.stats.runs).toBe(0);
    expect(c.log.slice(1).filter((r) => !isRes(r) && (r.frame as { event?: string }).event !== 'tick')).toHaveLength(0);
    // Params absent are {} for methods that take none.
    expect((await c.request('health')).ok).toBe(true);
    // diagnostics.lanes needs operator.admin (AUTH-3), which this client (read + write) lacks: refused after the params check.
    const admin = await c.request('diagnostics.lanes');
    expect(admin.ok).toBe(false);
    expect(admin.error).toMatchObject({ code: 'INVALID_REQUEST', message: 'missing scope: operator.admin', details: { code: 'MISSING_SCOPE', scope: 'operator.admin' } });
    await expectUsable(c);
  },

  '__proto__ / constructor / prototype keys neither pollute nor change handling': async ({ url }) => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    // In the connect params (the handshake still succeeds; the keys are ignored).
    const c = await pool.open(url);
    await c.waitFor((r) => r.index === 0, 2_000);
    const params = JSON.stringify(connectParams());
    c.raw(`{"type":"req","id":"c","method":"connect","params":${params.slice(0, -1)},"__proto__":{"polluted":1,"role":"admin"},"constructor":{"prototype":{"polluted":2}},"prototype":{"polluted":3}}}`);
    const hello = await c.waitFor((r) => isRes(r, 'c'), 2_000);
    expect((hello.frame as { ok: boolean }).ok).toBe(true);
    // A role only on __proto__ is not a role.
    const noRole = await pool.open(url);
    await noRole.waitFor((r) => r.index === 0, 2_000);
    const { role: _role, ...withoutRole } = connectParams();
    noRole.raw(`{"type":"req","id":"c","method":"connect","params":${JSON.stringify(withoutRole).slice(0, -1)},"__proto__":{"role":"operator"}}}`);
    const refused = await noRole.waitFor((r) => isRes(r, 'c'), 2_000);
    expect((refused.frame as { error: unknown }).error).toEqual({ code: 'INVALID_REQUEST', message: 'invalid connect params: role is required' });
    await expectClose(noRole, 1008, 'invalid connect params');

    // chat.send with the keys at the top of params and nested: accepted and run normally.
    const send = (id: string, sessionKey: string, key: string): void =>
      c.raw(`{"type":"req","id":"${id}","method":"chat.send","params":{"sessionKey":${JSON.stringify(sessionKey)},"message":"hi [think=10 stream=40]","idempotencyKey":${JSON.stringify(key)},` +
        `"__proto__":{"polluted":true,"sessionKey":"other"},"constructor":{"prototype":{"polluted":true}},"prototype":{"polluted":true},` +
        `"meta":{"__proto__":{"polluted":true},"a":{"constructor":{"prototype":{"polluted":true}}}}}}`);
    for (const [i, sessionKey] of ['s', '__proto__', 'constructor', 'prototype', 'hasOwnProperty'].entries()) {
      const from = c.log.length;
      send(`p${i}`, sessionKey, '__proto__');
      const res = await c.waitFor((r) => isRes(r, `p${i}`), 2_000, from);
      const payload = (res.frame as { ok: boolean; payload: { runId: string; status: string } }).payload;
      expect((res.frame as { ok: boolean }).ok).toBe(true);
      expect(payload.status).toBe('started');
      const final = await c.waitFor((r) => isChat(r, payload.runId, 'final'), 3_000, from);
      expect((final.frame as { payload: { sessionKey: string } }).payload.sessionKey).toBe(sessionKey);
      // The same idempotency key in that session: in flight, the same runId.
      const again = c.log.length;
      send(`q${i}`, sessionKey, '__proto__');
      const dup = await c.waitFor((r) => isRes(r, `q${i}`), 2_000, again);
      expect((dup.frame as { payload: unknown }).payload).toEqual({ runId: payload.runId, status: 'in_flight' });
    }
    // Requests whose type/id/method exist only on __proto__ are not requests.
    const from = c.log.length;
    c.raw('{"type":"req","id":"x1","__proto__":{"method":"health"}}');
    const x1 = await c.waitFor((r) => isRes(r, 'x1'), 2_000, from);
    expect((x1.frame as { error: unknown }).error).toEqual({ code: 'INVALID_REQUEST', message: 'invalid request frame' });
    // params only on __proto__: chat.send sees none.
    c.raw('{"type":"req","id":"x2","method":"chat.send","params":{"__proto__":{"sessionKey":"s","message":"m","idempotencyKey":"z"}}}');
    const x2 = await c.waitFor((r) => isRes(r, 'x2'), 2_000, from);
    expect((x2.frame as { error: unknown }).error).toEqual({ code: 'INVALID_REQUEST', message: 'invalid chat.send params: sessionKey is required' });
    // History, subscribe and abort work for those session names.
    for (const method of ['chat.history', 'sessions.subscribe', 'chat.abort']) {
      const res = await c.request(method, { sessionKey: '__proto__' });
      expect(res.ok).toBe(true);
    }
    const history = await c.request('chat.history', { sessionKey: 'constructor' });
    expect((history.payload as { messages: unknown[] }).messages).toHaveLength(2);
    const orphan = await pool.open(url);
    await orphan.waitFor((r) => r.index === 0, 2_000);
    orphan.raw('{"__proto__":{"type":"req","id":"x3","method":"connect"}}');
    await expectClose(orphan, 1008, 'invalid request frame');
    const late = await connected(url);
    late.raw('{"__proto__":{"type":"req","id":"x4","method":"health"}}');
    await expectClose(late, 1008, 'invalid request frame');

    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).role).toBeUndefined();
    await expectUsable(c);
  },

  'deeply nested payloads (200,000 levels) are refused without a crash': async ({ url }) => {
    // Unterminated: not JSON.
    const a = await connected(url);
    a.raw('['.repeat(DEPTH));
    await expectClose(a, 1008, 'invalid request frame');
    // Balanced: JSON, but no request.
    const b = await connected(url);
    b.raw('['.repeat(DEPTH) + ']'.repeat(DEPTH));
    await expectClose(b, 1008, 'invalid request frame');
    const o = await connected(url);
    o.raw('{"a":'.repeat(DEPTH) + '1' + '}'.repeat(DEPTH));
    await expectClose(o, 1008, 'invalid request frame');
    // Before hello-ok (under the 64 KiB limit): refused too.
    const early = await pool.open(url);
    await early.waitFor((r) => r.index === 0, 2_000);
    early.raw('['.repeat(30_000) + ']'.repeat(30_000));
    await expectClose(early, 1008, 'invalid request frame');
    // Inside an otherwise valid request: handled normally (the nesting is in an ignored param or a checked one).
    const c = await connected(url);
    const nested = '['.repeat(DEPTH) + ']'.repeat(DEPTH);
    c.raw(`{"type":"req","id":"n1","method":"health","params":{"deep":${nested}}}`);
    const n1 = await c.waitFor((r) => isRes(r, 'n1'), 3_000);
    expect((n1.frame as { ok: boolean }).ok).toBe(true);
    c.raw(`{"type":"req","id":"n2","method":"chat.send","params":{"sessionKey":"s","message":${nested},"idempotencyKey":"k"}}`);
    const n2 = await c.waitFor((r) => isRes(r, 'n2'), 3_000);
    expect((n2.frame as { error: unknown }).error).toEqual({ code: 'INVALID_REQUEST', message: 'invalid chat.send params: message must be string' });
    c.raw(`{"type":"req","id":"n3","method":"sessions.subscribe","params":{"sessionKey":${nested}}}`);
    const n3 = await c.waitFor((r) => isRes(r, 'n3'), 3_000);
    expect((n3.frame as { error: unknown }).error).toEqual({ code: 'INVALID_REQUEST', message: 'invalid sessions.subscribe params: sessionKey must be string' });
    c.raw(`{"type":"req","id":${nested},"method":"health"}`);
    await expectClose(c, 1008, 'invalid request frame');
  },

  'invalid UTF-8 in a text frame: closed by the WebSocket layer (1007)': async ({ url }) => {
    const c = await connected(url);
    // ws validates text frames: send raw bytes as a text frame.
    c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    const close = await c.waitClosed(3_000);
    expect(close.code).toBe(1007);
  },

  'a flood of bad frames from one client': async ({ url }) => {
    const c = await connected(url);
    for (let i = 0; i < 200; i++) c.send({ type: 'req', id: `u${i}`, method: 'nope', params: {} });
    await c.waitFor((r) => isRes(r, 'u199'), 5_000);
    expect(c.log.filter((r) => isRes(r) && (r.frame as { error?: { code: string } }).error?.code === 'UNKNOWN_METHOD')).toHaveLength(200);
    // Responses in arrival order (WS-7).
    const ids = c.log.filter((r) => isRes(r)).slice(1).map((r) => (r.frame as { id: string }).id);
    expect(ids).toEqual(Array.from({ length: 200 }, (_, i) => `u${i}`));
    await expectUsable(c);
  },
};

async function withWitness(options: FixtureOptions, maxPayload: number, body: (ctx: ProbeContext) => Promise<void>): Promise<void> {
  const fixture = await start(options);
  const witness = await connected(fixture.url);
  const subscribed = await witness.request('sessions.subscribe', { sessionKey: 'witness' });
  expect(subscribed.ok).toBe(true);
  await body({ url: fixture.url, maxPayload, gw: fixture });
  // The witness was connected the whole time and still works.
  expect(witness.closeInfo).toBeNull();
  await roundTrip(witness, 'witness', `w-${++witnessSeq}`);
  await expectUsable(witness);
  await sleep(20);
  expect(witness.closeInfo).toBeNull();
  // The server is still up and counts the witness among its connections.
  expect(fixture.server.connections).toBeGreaterThanOrEqual(1);
}

describe('each probe on its own server, with a witness', () => {
  for (const [name, probe] of Object.entries(probes)) {
    const maxPayload = name.startsWith('frame over maxPayload') ? 8_192 : 26_214_400;
    test(name, async () => {
      await withWitness(maxPayload === 8_192 ? { maxPayload } : {}, maxPayload, probe);
    });
  }
});

test('all probes in a row against one server: the witness connected all along still chats', async () => {
  const maxPayload = 4_194_304;
  await withWitness({ maxPayload }, maxPayload, async (ctx) => {
    for (const probe of Object.values(probes)) await probe(ctx);
  });
  expect(Object.keys(Object.prototype)).toEqual([]);
});
