/**
 * The handshake over a real socket (docs/SPEC.md WS-3..WS-6): the challenge,
 * hello-ok, every failure with its exact error and close, first-frame rules,
 * the handshake timeout and a second `connect`.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, test } from 'vitest';
import { gatewayPerTest, type FixtureOptions, type GatewayFixture } from '../support/gateway-fixture.ts';
import { ClientPool, connectParams, isChat, isEvent, isRes, sleep, type TestClient } from '../support/ws-test-client.ts';

const { pool, start } = gatewayPerTest();

/** Opens, sends `connect` with `params` and returns the response and the close. */
async function failHandshake(url: string, params: unknown): Promise<{ client: TestClient; res: Record<string, unknown>; close: { code: number; reason: string } }> {
  const client = await pool.open(url);
  const res = await client.handshake({ params });
  const close = await client.waitClosed();
  // The error response comes first, then the close.
  expect(client.log.filter((r) => isRes(r))).toHaveLength(1);
  return { client, res: res as unknown as Record<string, unknown>, close: { code: close.code, reason: close.reason } };
}

describe('challenge and hello-ok (WS-3, WS-5)', () => {
  test('the first frame is connect.challenge, without seq, with a nonce and ts', async () => {
    const { url } = await start();
    const before = Date.now();
    const c = await pool.open(url);
    const first = await c.waitFor(() => true, 2_000);
    expect(first.index).toBe(0);
    const frame = first.frame as Record<string, unknown>;
    expect(Object.keys(frame).sort()).toEqual(['event', 'payload', 'type']);
    expect(frame.type).toBe('event');
    expect(frame.event).toBe('connect.challenge');
    expect('seq' in frame).toBe(false);
    const payload = frame.payload as { nonce: unknown; ts: unknown };
    expect(Object.keys(payload).sort()).toEqual(['nonce', 'ts']);
    expect(typeof payload.nonce).toBe('string');
    expect((payload.nonce as string).length).toBeGreaterThanOrEqual(16);
    expect(typeof payload.ts).toBe('number');
    expect(payload.ts as number).toBeGreaterThanOrEqual(before - 5);
    expect(payload.ts as number).toBeLessThanOrEqual(Date.now() + 5);
    // A fresh nonce per connection.
    const c2 = await pool.open(url);
    const first2 = await c2.waitFor(() => true, 2_000);
    expect((first2.frame as { payload: { nonce: string } }).payload.nonce).not.toBe(payload.nonce);
  });

  test('hello-ok carries exactly the WS-5 fields', async () => {
    const { url, config } = await start({ config: { gateway: { tickIntervalMs: 12_345 } } });
    const c = await pool.open(url);
    const res = await c.handshake();
    const resFrame = c.log.find((r) => isRes(r))!.frame as unknown as Record<string, unknown>;
    expect(Object.keys(resFrame).sort()).toEqual(['id', 'ok', 'payload', 'type']);
    expect('seq' in resFrame).toBe(false);
    expect(res.ok).toBe(true);
    const hello = res.payload as { server: { connId: unknown } };
    expect(typeof hello.server.connId).toBe('string');
    expect(res.payload).toEqual({
      type: 'hello-ok',
      protocol: 4,
      server: { name: 'lanesim', version: expect.any(String), connId: hello.server.connId },
      features: {
        methods: ['chat.send', 'chat.abort', 'chat.history', 'sessions.subscribe', 'diagnostics.lanes', 'health'],
        events: ['chat', 'agent', 'tick', 'lane.status', 'heartbeat', 'shutdown'],
      },
      snapshot: {},
      policy: { maxPayload: 26_214_400, maxBufferedBytes: 52_428_800, tickIntervalMs: 12_345, heartbeatIntervalMs: 300 },
    });
    expect(config.gateway.heartbeat.intervalMs).toBe(300);
    // connIds differ per connection.
    const c2 = await pool.connect(url);
    expect((c2.hello as { server: { connId: string } }).server.connId).not.toBe(hello.server.connId);
    // The connection works.
    const health = await c.request('health', {});
    expect(health.ok).toBe(true);
  });

  test('hello-ok advertises the configured limits', async () => {
    const { url } = await start({ maxPayload: 8_192, maxBufferedBytes: 4_096 });
    const c = await pool.connect(url);
    expect((c.hello as { policy: unknown }).policy).toEqual({ maxPayload: 8_192, maxBufferedBytes: 4_096, tickIntervalMs: 30_000, heartbeatIntervalMs: 300 });
  });

  test('extra connect params (caps, device, locale) are ignored', async () => {
    const { url } = await start();
    const c = await pool.open(url);
    const res = await c.handshake({ params: { ...connectParams(), caps: ['x'], device: { id: 'd' }, locale: 'en', userAgent: 'ua' } });
    expect(res.ok).toBe(true);
  });
});

describe('handshake failures (WS-6)', () => {
  const malformed: [string, unknown, string][] = [
    ['params missing', undefined, 'minProtocol is required'],
    ['params not an object', 'hello', 'params must be object'],
    ['params an array', [], 'params must be object'],
    ['minProtocol a string', { ...connectParams(), minProtocol: '4' }, 'minProtocol must be integer'],
    ['maxProtocol fractional', { ...connectParams(), maxProtocol: 4.5 }, 'maxProtocol must be integer'],
    ['client missing', { ...connectParams(), client: undefined }, 'client is required'],
    ['client.id empty', { ...connectParams(), client: { id: '', version: '1', platform: 'p', mode: 'm' } }, 'client.id must NOT have fewer than 1 characters'],
    ['client.mode missing', { ...connectParams(), client: { id: 'i', version: '1', platform: 'p' } }, 'client.mode is required'],
    ['role not operator', { ...connectParams(), role: 'admin' }, 'role must be "operator"'],
    ['scopes not an array', { ...connectParams(), scopes: 'all' }, 'scopes must be array'],
    ['scopes with a number', { ...connectParams(), scopes: ['a', 1] }, 'scopes.1 must be string'],
    ['auth.token a number', { ...connectParams(), auth: { token: 5 } }, 'auth.token must be string'],
  ];

  test.each(malformed)('malformed params (%s): INVALID_REQUEST, close 1008 invalid connect params', async (_name, params, detail) => {
    const { url } = await start();
    const { res, close } = await failHandshake(url, params);
    expect(res.ok).toBe(false);
    expect(res.error).toEqual({ code: 'INVALID_REQUEST', message: `invalid connect params: ${detail}` });
    expect(close).toEqual({ code: 1008, reason: 'invalid connect params' });
  });

  test('gateway starting: UNAVAILABLE, retryable, retryAfterMs; close 1013; markReady() lets the next connection in', async () => {
    const fixture = await start({ ready: false, retryAfterMs: 250 });
    const { res, close } = await failHandshake(fixture.url, connectParams());
    expect(res.error).toEqual({ code: 'UNAVAILABLE', message: 'gateway is starting', retryable: true, retryAfterMs: 250 });
    expect(close).toEqual({ code: 1013, reason: 'gateway starting' });
    expect(fixture.server.connections).toBe(0);
    fixture.server.markReady();
    const c = await pool.connect(fixture.url);
    expect(c.hello?.type).toBe('hello-ok');
    expect(fixture.server.connections).toBe(1);
  });

  test('gateway starting without retryAfterMs configured still sends one', async () => {
    const { url } = await start({ ready: false });
    const { res } = await failHandshake(url, connectParams());
    const error = res.error as { retryAfterMs?: unknown; retryable?: unknown };
    expect(error.retryable).toBe(true);
    expect(typeof error.retryAfterMs).toBe('number');
  });

  test('gateway shutting down: SHUTTING_DOWN, close 1001 gateway shutting down', async () => {
    const fixture = await start();
    // A run that keeps the drain going while we knock.
    const busy = await pool.connect(fixture.url);
    const sent = await busy.request('chat.send', { sessionKey: 's', message: 'long [think=600 stream=200]', idempotencyKey: 'k' });
    expect(sent.ok).toBe(true);
    const client = await pool.open(fixture.url);
    await client.waitFor((r) => r.index === 0, 2_000);
    const stopping = fixture.stop({ abortRunning: false });
    const res = await client.handshake();
    const close = await client.waitClosed();
    expect(res.error).toEqual({ code: 'SHUTTING_DOWN', message: 'gateway is shutting down' });
    expect({ code: close.code, reason: close.reason }).toEqual({ code: 1001, reason: 'gateway shutting down' });
    await stopping;
    // The run was allowed to finish (abortRunning: false).
    expect(busy.log.some((r) => isChat(r, (sent.payload as { runId: string }).runId, 'final'))).toBe(true);
  });

  test.each([
    [5, 6],
    [1, 3],
    [0, 0],
  ])('protocol mismatch [%i, %i]: PROTOCOL_MISMATCH with expectedProtocol, close 1002', async (minProtocol, maxProtocol) => {
    const { url } = await start();
    const { res, close } = await failHandshake(url, connectParams({ minProtocol, maxProtocol }));
    expect(res.error).toEqual({ code: 'PROTOCOL_MISMATCH', message: 'protocol mismatch: server speaks 4', details: { expectedProtocol: 4 } });
    expect(close).toEqual({ code: 1002, reason: 'protocol mismatch' });
  });

  test('a range containing 4 is accepted', async () => {
    const { url } = await start();
    const c = await pool.connect(url, { minProtocol: 3, maxProtocol: 7 });
    expect((c.hello as { protocol: number }).protocol).toBe(4);
  });

  test.each([
    ['wrong token', { token: 'nope' }],
    ['no auth', {}],
    ['empty token', { token: '' }],
  ])('token configured, %s: INVALID_REQUEST AUTH_TOKEN_MISMATCH, close 1008 unauthorized', async (_name, options) => {
    const { url } = await start({ token: 'secret' });
    const { res, close } = await failHandshake(url, connectParams(options));
    expect(res.error).toEqual({ code: 'INVALID_REQUEST', message: 'unauthorized: gateway token mismatch', details: { code: 'AUTH_TOKEN_MISMATCH' } });
    expect(close).toEqual({ code: 1008, reason: 'unauthorized' });
  });

  test('the right token is accepted', async () => {
    const { url } = await start({ token: 'secret' });
    const c = await pool.connect(url, { token: 'secret' });
    expect(c.hello?.type).toBe('hello-ok');
  });

  test('failures are checked in the WS-6 order', async () => {
    // malformed before starting
    let fixture = await start({ ready: false, token: 'secret' });
    let out = await failHandshake(fixture.url, { ...connectParams({ minProtocol: 9, maxProtocol: 9 }), role: 'x' });
    expect((out.res.error as { code: string }).code).toBe('INVALID_REQUEST');
    expect(out.close.reason).toBe('invalid connect params');
    // starting before protocol and token
    out = await failHandshake(fixture.url, connectParams({ minProtocol: 9, maxProtocol: 9, token: 'bad' }));
    expect((out.res.error as { code: string }).code).toBe('UNAVAILABLE');
    // protocol before token
    fixture.server.markReady();
    out = await failHandshake(fixture.url, connectParams({ minProtocol: 9, maxProtocol: 9, token: 'bad' }));
    expect((out.res.error as { code: string }).code).toBe('PROTOCOL_MISMATCH');
    await pool.closeAll();
    await fixture.stop();
    // shutting down before protocol and token
    fixture = await start({ token: 'secret' });
    const busy = await pool.connect(fixture.url, { token: 'secret' });
    await busy.request('chat.send', { sessionKey: 's', message: '[think=500]', idempotencyKey: 'k' });
    const knock = await pool.open(fixture.url);
    await knock.waitFor((r) => r.index === 0, 2_000);
    const stopping = fixture.stop({ abortRunning: false });
    const res = await knock.handshake({ params: connectParams({ minProtocol: 9, maxProtocol: 9, token: 'bad' }) });
    expect(res.error?.code).toBe('SHUTTING_DOWN');
    await stopping;
  });
});

describe('first frame and timing (WS-4)', () => {
  const notConnect: [string, string][] = [
    ['a health request', JSON.stringify({ type: 'req', id: '1', method: 'health', params: {} })],
    ['chat.send', JSON.stringify({ type: 'req', id: '1', method: 'chat.send', params: { sessionKey: 's', message: 'm', idempotencyKey: 'k' } })],
    ['an event frame', JSON.stringify({ type: 'event', event: 'connect', id: '1' })],
    ['connect without id', JSON.stringify({ type: 'req', method: 'connect', params: connectParams() })],
    ['connect with a numeric id', JSON.stringify({ type: 'req', id: 1, method: 'connect', params: connectParams() })],
    ['connect without type', JSON.stringify({ id: '1', method: 'connect', params: connectParams() })],
    ['a JSON array', JSON.stringify([{ type: 'req', id: '1', method: 'connect' }])],
    ['a JSON string', JSON.stringify('connect')],
    ['null', 'null'],
    ['not JSON', 'connect please'],
  ];

  test.each(notConnect)('first frame %s: close 1008 invalid request frame, no response', async (_name, text) => {
    const { url } = await start();
    const c = await pool.open(url);
    await c.waitFor((r) => r.index === 0, 2_000);
    c.raw(text);
    const close = await c.waitClosed();
    expect({ code: close.code, reason: close.reason }).toEqual({ code: 1008, reason: 'invalid request frame' });
    expect(c.log.filter((r) => isRes(r))).toHaveLength(0);
    expect(c.log).toHaveLength(1); // only the challenge
  });

  test('no connect within handshakeTimeoutMs: close 1008 handshake timeout', async () => {
    const { url, server } = await start({ handshakeTimeoutMs: 200 });
    const c = await pool.open(url);
    const close = await c.waitClosed();
    const elapsed = close.at - c.opened;
    expect({ code: close.code, reason: close.reason }).toEqual({ code: 1008, reason: 'handshake timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(180);
    expect(elapsed).toBeLessThan(1_500);
    expect(c.log.filter((r) => isRes(r))).toHaveLength(0);
    expect(server.connections).toBe(0);
  });

  test('a connected client is not timed out by the handshake timer', async () => {
    const { url } = await start({ handshakeTimeoutMs: 200 });
    const c = await pool.connect(url);
    await sleep(350);
    expect(c.closeInfo).toBeNull();
    expect((await c.request('health', {})).ok).toBe(true);
  });

  test('a failed handshake closes at once, not at the handshake timeout', async () => {
    const { url } = await start({ handshakeTimeoutMs: 1_000, token: 't' });
    const c = await pool.open(url);
    const res = await c.handshake({ token: 'wrong' });
    expect(res.ok).toBe(false);
    const close = await c.waitClosed();
    expect(close.reason).toBe('unauthorized');
    expect(close.at - c.opened).toBeLessThan(500);
  });

  test('a second connect after hello-ok: INVALID_REQUEST already connected, the connection stays open', async () => {
    const { url } = await start();
    const c = await pool.connect(url);
    const again = await c.request('connect', connectParams());
    expect(again).toEqual({ type: 'res', id: expect.any(String), ok: false, error: { code: 'INVALID_REQUEST', message: 'already connected' } });
    // Malformed second connect: same answer (the method is what matters).
    const bad = await c.request('connect', { nonsense: true });
    expect(bad.error).toEqual({ code: 'INVALID_REQUEST', message: 'already connected' });
    await sleep(30);
    expect(c.closeInfo).toBeNull();
    const health = await c.request('health', {});
    expect(health.ok).toBe(true);
    // Nothing but responses so far (no events were owed).
    expect(c.log.slice(1).every((r) => isRes(r) || isEvent(r, 'tick'))).toBe(true);
  });

  test('the challenge is sent at once, before any client frame', async () => {
    const { url } = await start();
    const c = await pool.open(url);
    const first = await c.waitFor(() => true, 2_000);
    expect(first.at - c.opened).toBeLessThan(500);
    expect(performance.now()).toBeGreaterThan(0);
  });
});
