/**
 * Graceful stop over real sockets (docs/SPEC.md WS-23, QUEUE-19, WS-6): every
 * connection hears `shutdown`; a running run's subscribers get its `aborted`
 * (or, with abortRunning false, its final); a queued message's sender gets
 * `chat` `error` GATEWAY_SHUTDOWN; then every connection is closed with 1001;
 * new connections and messages during the stop are refused; stop() resolves
 * with the server closed and nothing left holding the event loop.
 */
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { gatewayPerTest, type FixtureOptions, type GatewayFixture } from '../support/gateway-fixture.ts';
import { ClientPool, connectParams, isChat, isEvent, isRes, waitUntil, type ChatPayload, type Received, type TestClient } from '../support/ws-test-client.ts';

const { pool, start } = gatewayPerTest();
let keySeq = 0;

async function send(c: TestClient, sessionKey: string, message: string): Promise<{ runId: string; status: string; code?: string }> {
  const res = await c.request('chat.send', { sessionKey, message, idempotencyKey: `k-${++keySeq}` });
  expect(res.ok).toBe(true);
  return res.payload as { runId: string; status: string; code?: string };
}

function indexOf(c: TestClient, predicate: (r: Received) => boolean): number {
  return c.log.findIndex(predicate);
}

function isShutdown(r: Received): boolean {
  return isEvent(r, 'shutdown');
}

/** A raw WebSocket connection attempt: resolves how it ended. */
function tryOpen(url: string): Promise<'open' | 'refused'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.on('error', () => resolve('refused'));
  });
}

function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo()) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

describe('graceful stop (WS-23, QUEUE-19)', () => {
  test('running run: shutdown then aborted; queued message: error GATEWAY_SHUTDOWN; then close 1001 for all', async () => {
    const fixture = await start();
    const a = await pool.connect(fixture.url);
    const b = await pool.connect(fixture.url);
    const watcher = await pool.connect(fixture.url);
    const bystander = await pool.connect(fixture.url);
    await watcher.request('sessions.subscribe', { sessionKey: 's' });
    const running = await send(a, 's', 'long [think=20 stream=5000]');
    const queued = await send(b, 's', 'later [stream=100]');
    expect(running.status).toBe('started');
    expect(queued.status).toBe('queued');
    await a.waitFor((r) => isChat(r, running.runId, 'delta'), 2_000);

    await fixture.stop();

    for (const c of [a, b, watcher, bystander]) {
      const close = await c.waitClosed(2_000);
      expect({ code: close.code, reason: close.reason }).toEqual({ code: 1001, reason: 'gateway shutting down' });
      const shutdown = c.log.filter(isShutdown);
      expect(shutdown).toHaveLength(1);
      const payload = (shutdown[0]!.frame as { payload: Record<string, unknown> }).payload;
      expect(payload).toMatchObject({ reason: expect.any(String), abortRunning: true });
      expect(Object.keys(payload).every((k) => ['reason', 'abortRunning', 'restartExpectedMs'].includes(k))).toBe(true);
    }
    // The running run's subscribers (its sender, the watcher, and B, subscribed by its chat.send):
    // shutdown first, then its `aborted` with the text so far, and nothing after it but statuses.
    for (const c of [a, watcher, b]) {
      const s = indexOf(c, isShutdown);
      const ab = indexOf(c, (r) => isChat(r, running.runId, 'aborted'));
      expect(ab).toBeGreaterThan(s);
      expect(c.chats(running.runId).filter((p) => p.state !== 'delta').map((p) => p.state)).toEqual(['aborted']);
      const aborted = c.chats(running.runId, 'aborted')[0]!;
      expect(aborted.message?.content[0]?.text.length).toBeGreaterThan(0);
    }
    // The queued message's sender: chat error with GATEWAY_SHUTDOWN for its runId, after shutdown.
    const err = b.log.find((r) => isChat(r, queued.runId, 'error'));
    expect(err).toBeDefined();
    expect(err!.index).toBeGreaterThan(indexOf(b, isShutdown));
    expect((err!.frame as { payload: ChatPayload }).payload).toEqual({
      runId: queued.runId, sessionKey: 's', seq: 0, state: 'error',
      errorCode: 'GATEWAY_SHUTDOWN', errorMessage: 'gateway is shutting down: queued message not run',
    });
    expect(b.chats(queued.runId).map((p) => p.state)).toEqual(['error']);
    // The bystander got only the shutdown.
    expect(bystander.log.slice(1).filter((r) => !isRes(r)).map((r) => (r.frame as { event: string }).event)).toEqual(['shutdown']);
    // After stop: nobody gets in.
    expect(await tryOpen(fixture.url)).toBe('refused');
    expect(fixture.server.connections).toBe(0);
  });

  test('abortRunning false: the run finishes; new connections and messages during the stop are refused', async () => {
    const fixture = await start();
    const a = await pool.connect(fixture.url);
    const b = await pool.connect(fixture.url);
    const running = await send(a, 's', 'long [think=20 stream=900]');
    const queued = await send(b, 's', 'later [stream=100]');
    const stopping = fixture.stop({ abortRunning: false });
    let stopped = false;
    void stopping.then(() => {
      stopped = true;
    });
    // During the stop: a new connection is answered SHUTTING_DOWN and closed.
    const late = await pool.open(fixture.url);
    const res = await late.handshake();
    expect(res.error).toEqual({ code: 'SHUTTING_DOWN', message: 'gateway is shutting down' });
    const lateClose = await late.waitClosed();
    expect({ code: lateClose.code, reason: lateClose.reason }).toEqual({ code: 1001, reason: 'gateway shutting down' });
    // A message from a connected client is refused (QUEUE-19), told again by a chat error.
    const refused = await send(a, 's2', 'too late');
    expect(refused).toEqual({ runId: expect.any(String), status: 'rejected', code: 'GATEWAY_SHUTDOWN' });
    const refusedFrame = await a.waitFor((r) => isChat(r, refused.runId, 'error'), 1_000);
    expect((refusedFrame.frame as { payload: ChatPayload }).payload).toMatchObject({
      errorCode: 'GATEWAY_SHUTDOWN', errorMessage: 'gateway is shutting down: message not accepted',
    });
    // HTTP during the stop.
    const health = await fetch(`http://127.0.0.1:${fixture.server.port}/health`);
    expect(((await health.json()) as { ok: boolean }).ok).toBe(false);
    const hook = await fetch(`http://127.0.0.1:${fixture.server.port}/hooks/message`, {
      method: 'POST', body: JSON.stringify({ sessionKey: 's', message: 'x' }), headers: { 'content-type': 'application/json' },
    });
    expect(hook.status).toBe(503);
    expect(stopped).toBe(false);
    // The running run finishes normally; the queued one was refused.
    await a.waitFor((r) => isChat(r, running.runId, 'final'), 3_000);
    const err = await b.waitFor((r) => isChat(r, queued.runId, 'error'), 1_000);
    expect((err.frame as { payload: ChatPayload }).payload.errorCode).toBe('GATEWAY_SHUTDOWN');
    await stopping;
    for (const c of [a, b]) {
      const close = await c.waitClosed(2_000);
      expect({ code: close.code, reason: close.reason }).toEqual({ code: 1001, reason: 'gateway shutting down' });
      // Shutdown came before anything about the stop.
      expect(indexOf(c, isShutdown)).toBeGreaterThan(0);
    }
    expect(a.log.findIndex((r) => isChat(r, running.runId, 'final'))).toBeGreaterThan(indexOf(a, isShutdown));
    expect(await tryOpen(fixture.url)).toBe('refused');
  });

  test('collect mode: a buffered message is refused at stop (its drain is cancelled)', async () => {
    const fixture = await start({ config: { messages: { queue: { mode: 'collect', debounceMs: 200 } } } });
    const a = await pool.connect(fixture.url);
    const running = await send(a, 's', 'long [think=20 stream=3000]');
    const buffered = await send(a, 's', 'buffered');
    expect(running.status).toBe('started');
    expect(buffered.status).toBe('queued');
    await fixture.stop();
    const err = a.log.find((r) => isChat(r, buffered.runId, 'error'));
    expect((err?.frame as { payload: ChatPayload } | undefined)?.payload).toMatchObject({ errorCode: 'GATEWAY_SHUTDOWN' });
    expect(a.chats(running.runId).filter((p) => p.state !== 'delta').map((p) => p.state)).toEqual(['aborted']);
    expect((await a.waitClosed()).code).toBe(1001);
  });

  test('stop() resolves with the server closed and no handle left behind', async () => {
    const before = activeResources();
    const fixture = await start();
    const a = await pool.connect(fixture.url);
    const run = await send(a, 's', 'x [think=20 stream=2000]');
    await a.waitFor((r) => isChat(r, run.runId, 'delta'), 2_000);
    // A client mid-handshake too.
    const half = await pool.open(fixture.url);
    await half.waitFor((r) => r.index === 0, 1_000);
    const t0 = performance.now();
    await fixture.stop();
    expect(performance.now() - t0).toBeLessThan(2_500);
    await a.waitClosed(2_000);
    const halfClose = await half.waitClosed(2_000);
    expect(halfClose.code).toBe(1001);
    expect(await tryOpen(fixture.url)).toBe('refused');
    await pool.closeAll();
    // Server sockets, client sockets and ref'd timers are back where they were (a refused probe's
    // socket may take a tick to be released, hence the bounded wait).
    const settled = (): boolean => {
      const after = activeResources();
      return ['TCPServerWrap', 'TCPSocketWrap', 'Timeout'].every((kind) => (after.get(kind) ?? 0) <= (before.get(kind) ?? 0));
    };
    await waitUntil(settled, 1_000, `handles back to ${JSON.stringify([...before])}, now ${JSON.stringify([...activeResources()])}`);
  });

  test('a second stop() call resolves only once the server has stopped', async () => {
    const fixture = await start();
    const a = await pool.connect(fixture.url);
    await send(a, 's', 'x [think=20 stream=600]');
    const first = fixture.server.stop({ abortRunning: false });
    await fixture.server.stop({ abortRunning: false });
    // By now the run has finished, every connection is closed and the port is shut.
    expect(a.chats(undefined, 'final')).toHaveLength(1);
    expect(await tryOpen(fixture.url)).toBe('refused');
    await first;
  });

  test('a connect arriving while the stop drains is refused even with a valid token', async () => {
    const fixture = await start({ token: 'tok' });
    const a = await pool.connect(fixture.url, { token: 'tok' });
    await send(a, 's', 'x [think=20 stream=500]');
    const knock = await pool.open(fixture.url);
    await knock.waitFor((r) => r.index === 0, 1_000);
    const stopping = fixture.stop({ abortRunning: false });
    knock.send({ type: 'req', id: 'c', method: 'connect', params: connectParams({ token: 'tok' }) });
    const res = await knock.waitFor((r) => isRes(r, 'c'), 1_000);
    expect((res.frame as { error: unknown }).error).toEqual({ code: 'SHUTTING_DOWN', message: 'gateway is shutting down' });
    await stopping;
  });
});

describe('HTTP after stop', () => {
  test('the HTTP port is closed too', async () => {
    const fixture = await start();
    await fixture.stop();
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port: fixture.server.port, path: '/health' }, () => resolve('answered'));
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      req.end();
    });
    expect(outcome).toBe('ECONNREFUSED');
  });
});
