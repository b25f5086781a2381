/**
 * The gateway's HTTP side on the same port: `GET /health` and
 * `POST /hooks/message` (webhooks and channel plugins), whose message runs
 * like any other and is seen by the session's WebSocket subscribers.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { gatewayPerTest, type FixtureOptions, type GatewayFixture } from '../support/gateway-fixture.ts';
import { ClientPool, isChat, isEvent, type ChatPayload } from '../support/ws-test-client.ts';

const { pool, start } = gatewayPerTest();

afterEach(() => {
  expect(Object.keys(Object.prototype)).toEqual([]);
});

function base(fixture: GatewayFixture): string {
  return `http://127.0.0.1:${fixture.server.port}`;
}

async function post(fixture: GatewayFixture, body: string | Uint8Array, path = '/hooks/message'): Promise<{ status: number; body: unknown; type: string | null }> {
  const res = await fetch(`${base(fixture)}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, body: await res.json(), type: res.headers.get('content-type') };
}

describe('GET /health', () => {
  test('200 with ok, ts, connections and ready', async () => {
    const fixture = await start();
    await pool.connect(fixture.url);
    await pool.connect(fixture.url);
    const before = Date.now();
    const res = await fetch(`${base(fixture)}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as { ts: number };
    expect(body).toEqual({ ok: true, ts: expect.any(Number), connections: 2, ready: true });
    expect(body.ts).toBeGreaterThanOrEqual(before - 5);
  });

  test('a gateway that is starting says ready: false', async () => {
    const fixture = await start({ ready: false });
    const body = (await (await fetch(`${base(fixture)}/health`)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ ok: true, ready: false, connections: 0 });
    fixture.server.markReady();
    const after = (await (await fetch(`${base(fixture)}/health`)).json()) as Record<string, unknown>;
    expect(after.ready).toBe(true);
  });
});

describe('POST /hooks/message', () => {
  test('202 {runId, status}; the run happens and a subscribed WebSocket client sees its final', async () => {
    const fixture = await start();
    const watcher = await pool.connect(fixture.url);
    await watcher.request('sessions.subscribe', { sessionKey: 'hooked' });
    const res = await post(fixture, JSON.stringify({ sessionKey: 'hooked', message: 'from a webhook [stream=200]' }));
    expect(res.status).toBe(202);
    expect(res.type).toBe('application/json');
    expect(res.body).toEqual({ runId: expect.any(String), status: 'started' });
    const runId = (res.body as { runId: string }).runId;
    const final = await watcher.waitFor((r) => isChat(r, runId, 'final'), 3_000);
    expect((final.frame as { payload: ChatPayload }).payload.message?.content[0]?.text.length).toBeGreaterThan(0);
    expect(watcher.chats(runId, 'delta').length).toBeGreaterThan(0);
    expect(watcher.events('lane.status').some((r) => (r.frame.payload as { active: { runId: string } | null }).active?.runId === runId)).toBe(true);
    // The transcript has it, as a user message then the answer.
    const history = await watcher.request('chat.history', { sessionKey: 'hooked' });
    expect((history.payload as { messages: { role: string; runId: string }[] }).messages.map((m) => [m.role, m.runId])).toEqual([['user', runId], ['assistant', runId]]);
    // The hooks pseudo-connection is not counted as a client.
    expect(fixture.server.connections).toBe(1);
  });

  test('a second hook to a busy session is queued behind the first; both are answered', async () => {
    const fixture = await start();
    const watcher = await pool.connect(fixture.url);
    await watcher.request('sessions.subscribe', { sessionKey: 'h' });
    const first = await post(fixture, JSON.stringify({ sessionKey: 'h', message: 'one [stream=300]' }));
    const second = await post(fixture, JSON.stringify({ sessionKey: 'h', message: 'two [stream=50]' }));
    expect((first.body as { status: string }).status).toBe('started');
    expect((second.body as { status: string }).status).toBe('queued');
    const secondId = (second.body as { runId: string }).runId;
    await watcher.waitFor((r) => isEvent(r, 'lane.status') && (r.frame.payload as { waiting: { runId: string }[] }).waiting.some((w) => w.runId === secondId), 1_000);
    await watcher.waitFor((r) => isChat(r, secondId, 'final'), 3_000);
    expect(watcher.chats(undefined, 'final').map((p) => p.runId)).toEqual([(first.body as { runId: string }).runId, secondId]);
  });

  test('an idempotencyKey makes a repeated hook in_flight with the same runId', async () => {
    const fixture = await start();
    const body = JSON.stringify({ sessionKey: 'h', message: 'once [stream=100]', idempotencyKey: 'delivery-7' });
    const first = await post(fixture, body);
    const again = await post(fixture, body);
    expect(first.status).toBe(202);
    expect(again).toMatchObject({ status: 202, body: { runId: (first.body as { runId: string }).runId, status: 'in_flight' } });
  });

  test.each([
    ['not JSON', '{sessionKey:', 'body is not JSON'],
    ['empty', '', 'body is not JSON'],
    ['missing sessionKey', JSON.stringify({ message: 'm' }), 'invalid message: sessionKey is required'],
    ['missing message', JSON.stringify({ sessionKey: 's' }), 'invalid message: message is required'],
    ['message not a string', JSON.stringify({ sessionKey: 's', message: 5 }), 'invalid message: message must be string'],
    ['empty sessionKey', JSON.stringify({ sessionKey: '', message: 'm' }), 'invalid message: sessionKey must NOT have fewer than 1 characters'],
    ['channel not a string', JSON.stringify({ sessionKey: 's', message: 'm', channel: 1 }), 'invalid message: channel must be string'],
    ['an array', JSON.stringify([{ sessionKey: 's', message: 'm' }]), 'invalid message: params must be object'],
    ['null', 'null', 'invalid message: params must be object'],
  ])('400 on %s', async (_name, body, message) => {
    const fixture = await start();
    const res = await post(fixture, body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'INVALID_REQUEST', message } });
    expect(fixture.agents?.stats.runs).toBe(0);
  });

  test('__proto__ keys in a hook body neither pollute nor supply fields', async () => {
    const fixture = await start();
    const res = await post(fixture, '{"sessionKey":"s","__proto__":{"message":"m","polluted":true},"constructor":{"prototype":{"polluted":true}}}');
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST', message: 'invalid message: message is required' } } });
    const ok = await post(fixture, '{"sessionKey":"__proto__","message":"m [stream=20]","__proto__":{"idempotencyKey":"x","polluted":true}}');
    expect(ok.status).toBe(202);
  });

  test('405 on GET (and other methods)', async () => {
    const fixture = await start();
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await fetch(`${base(fixture)}/hooks/message`, { method });
      expect(res.status).toBe(405);
      expect(await res.json()).toEqual({ error: { code: 'METHOD_NOT_ALLOWED', message: 'use POST' } });
    }
  });

  test('413 over 1 MiB; exactly 1 MiB is read', async () => {
    const fixture = await start();
    const limit = 1_048_576;
    const wrap = (text: string): string => JSON.stringify({ sessionKey: 'big', message: text });
    const exact = wrap('x'.repeat(limit - Buffer.byteLength(wrap(''))));
    expect(Buffer.byteLength(exact)).toBe(limit);
    const tooBig = `${exact} `; // one byte over, still valid JSON: refused for its size alone
    expect(Buffer.byteLength(tooBig)).toBe(limit + 1);
    const res = await post(fixture, tooBig);
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: `body over ${limit} bytes` } });
    // The limit itself is fine (the message then runs).
    const ok = await post(fixture, exact);
    expect(ok.status).toBe(202);
    // Far over the limit: still a clean 413, and the server goes on.
    const huge = await post(fixture, new Uint8Array(5 * limit).fill(0x20));
    expect(huge.status).toBe(413);
    expect((await fetch(`${base(fixture)}/health`)).status).toBe(200);
  });
});

describe('other paths', () => {
  test.each([
    ['GET', '/'],
    ['GET', '/nope'],
    ['POST', '/health'],
    ['GET', '/hooks'],
    ['GET', '/hooks/message/extra'],
  ])('404 on %s %s', async (method, path) => {
    const fixture = await start();
    const res = await fetch(`${base(fixture)}${path}`, { method });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: `no route ${method} ${path}` } });
  });

  test('a query string does not change the route', async () => {
    const fixture = await start();
    expect((await fetch(`${base(fixture)}/health?x=1`)).status).toBe(200);
  });
});
