/**
 * The reference gateway against hostile clients, over real loopback sockets
 * (docs/SPEC.md §11 AUTH-*, BOUND-*; issue 15 points 1-5). Every attack runs
 * with a healthy client streaming a long answer beside it; the healthy
 * client must keep every frame (event seq contiguous from 1, WS-9), get its
 * final, and never be closed.
 *
 * Memory is asserted as counts and bytes the gateway reports (its
 * memoryCounts(), the sizes of replies, the bytes a slow consumer held when
 * cut), never as RSS or times.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { skewedClock } from '../support/skewed-clock.ts';
import { gatewayPerTest, type FixtureOptions, type GatewayFixture } from '../support/gateway-fixture.ts';
import { connectParams, isChat, sleep, waitUntil, type TestClient } from '../support/ws-test-client.ts';

const { pool, start } = gatewayPerTest();
const TOKEN = 'hostile-test-token';
let keySeq = 0;

afterEach(() => {
  expect(Object.keys(Object.prototype)).toEqual([]);
});

interface Healthy {
  client: TestClient;
  runId: string;
  /** Waits for the final and checks the client kept every frame. */
  finish(): Promise<void>;
}

/** A client streaming a long answer (about 2.5 s) in session `healthy`. */
async function healthy(fixture: GatewayFixture, token: string | undefined = TOKEN, stream = 2_500): Promise<Healthy> {
  const client = await pool.connect(fixture.url, token === undefined ? {} : { token });
  const res = await client.request('chat.send', { sessionKey: 'healthy', message: `steady [think=20 stream=${stream}]`, idempotencyKey: `h-${++keySeq}` });
  expect(res.ok).toBe(true);
  const runId = (res.payload as { runId: string }).runId;
  await client.waitFor((r) => isChat(r, runId, 'delta'), 3_000);
  return {
    client,
    runId,
    finish: async () => {
      await client.waitFor((r) => isChat(r, runId, 'final'), stream * 4 + 5_000);
      expect(client.chats(runId, 'delta').length).toBeGreaterThan(3);
      const seqs = client.events().map((e) => e.frame.seq).filter((s): s is number => typeof s === 'number');
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      expect(client.closeInfo).toBeNull();
    },
  };
}

async function hook(fixture: GatewayFixture, body: unknown, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${fixture.server.port}/hooks/message`, {
    method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A WebSocket upgrade with an Origin header: 'open', or the HTTP status that refused it. */
function tryOrigin(url: string, origin: string | undefined): Promise<'open' | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(origin === undefined ? {} : { origin }) });
    ws.on('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('error', () => {});
  });
}

function memory(fixture: GatewayFixture): ReturnType<GatewayFixture['server']['gateway']['memoryCounts']> {
  return fixture.server.gateway.memoryCounts();
}

// ------------------------------------------------------------------ raw frames

/** A raw TCP socket past the WebSocket upgrade, to send frames `ws` would never build. */
async function rawUpgrade(port: number): Promise<{ socket: Socket; received: () => Buffer; ended: Promise<void> }> {
  const socket = netConnect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('error', () => {});
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
    + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  const deadline = Date.now() + 3_000;
  while (!Buffer.concat(chunks).includes('\r\n\r\n')) {
    if (Date.now() > deadline) throw new Error('no upgrade answer');
    await sleep(5);
  }
  expect(Buffer.concat(chunks).toString('latin1')).toMatch(/^HTTP\/1\.1 101/);
  return { socket, received: () => Buffer.concat(chunks), ended };
}

/** A masked client frame header (mask key 0, so the payload goes as is) declaring `length` bytes. */
function frameHeader(opcode: number, fin: boolean, length: number): Buffer {
  const first = (fin ? 0x80 : 0) | opcode;
  if (length < 126) return Buffer.from([first, 0x80 | length, 0, 0, 0, 0]);
  if (length < 65_536) {
    const b = Buffer.alloc(8);
    b[0] = first;
    b[1] = 0x80 | 126;
    b.writeUInt16BE(length, 2);
    return b;
  }
  const b = Buffer.alloc(14);
  b[0] = first;
  b[1] = 0x80 | 127;
  b.writeBigUInt64BE(BigInt(length), 2);
  return b;
}

/** The close code in the server's frames after the upgrade answer, or null. */
function closeCodeIn(data: Buffer): number | null {
  let at = data.indexOf('\r\n\r\n') + 4;
  while (at + 2 <= data.length) {
    const opcode = data[at]! & 0x0f;
    let len = data[at + 1]! & 0x7f;
    let head = 2;
    if (len === 126) {
      len = data.readUInt16BE(at + 2);
      head = 4;
    } else if (len === 127) {
      len = Number(data.readBigUInt64BE(at + 2));
      head = 10;
    }
    if (opcode === 0x8) return len >= 2 ? data.readUInt16BE(at + head) : 1005;
    at += head + len;
  }
  return null;
}

// ------------------------------------------------------------------ 1. the HTTP hook and origins

describe('1. authentication on the hook, browser origins, wrong-token throttle (AUTH-1, AUTH-2, AUTH-4)', () => {
  test('with a token: no / wrong Bearer 401, text/plain 415, a foreign Origin 403; only the right request is queued', async () => {
    const fixture = await start({ token: TOKEN });
    const h = await healthy(fixture);
    const body = { sessionKey: 'healthy', message: 'injected [stream=50]' };
    const json = { 'content-type': 'application/json' };
    const before = fixture.agents!.stats.runs;
    expect(await hook(fixture, body, json)).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    expect((await hook(fixture, body, { ...json, authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await hook(fixture, body, { ...json, authorization: TOKEN })).status).toBe(401);
    expect(await hook(fixture, JSON.stringify(body), { 'content-type': 'text/plain', authorization: `Bearer ${TOKEN}` })).toMatchObject({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });
    expect(await hook(fixture, body, { ...json, authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' })).toMatchObject({ status: 403, body: { error: { code: 'ORIGIN_NOT_ALLOWED' } } });
    // None of them reached the session: no message accepted, no run.
    expect(h.client.chats().filter((p) => p.runId !== h.runId)).toEqual([]);
    expect(fixture.agents!.stats.runs).toBe(before);
    // The right one is accepted, from the gateway's own origin too.
    const ok = await hook(fixture, { sessionKey: 'hooked', message: 'fine [stream=50]' }, { ...json, authorization: `Bearer ${TOKEN}`, origin: `http://127.0.0.1:${fixture.server.port}` });
    expect(ok.status).toBe(202);
    await h.finish();
  });

  test('without a token: a foreign Origin is refused on the WebSocket (403) and the hook (403); own origin, allow-listed and no Origin pass', async () => {
    const fixture = await start({ allowedOrigins: ['https://app.example'] });
    const h = await healthy(fixture, undefined);
    expect(await tryOrigin(fixture.url, 'https://evil.example')).toBe(403);
    expect(await tryOrigin(fixture.url, 'null')).toBe(403);
    expect(await tryOrigin(fixture.url, `http://localhost:${fixture.server.port + 1}`)).toBe(403);
    expect(await tryOrigin(fixture.url, `http://127.0.0.1:${fixture.server.port}`)).toBe('open');
    expect(await tryOrigin(fixture.url, 'https://APP.example')).toBe('open');
    expect(await tryOrigin(fixture.url, undefined)).toBe('open');
    const json = { 'content-type': 'application/json' };
    expect((await hook(fixture, { sessionKey: 'healthy', message: 'x' }, { ...json, origin: 'https://evil.example' })).status).toBe(403);
    // What any web page can send without asking (a "simple" request) is refused as such.
    expect((await hook(fixture, JSON.stringify({ sessionKey: 'healthy', message: 'x' }), { 'content-type': 'text/plain' })).status).toBe(415);
    expect(h.client.chats().filter((p) => p.runId !== h.runId)).toEqual([]);
    expect(fixture.logs.some((l) => l.includes('refused WebSocket upgrade from origin "https://evil.example"'))).toBe(true);
    await h.finish();
  });

  test('wrong tokens are throttled per address: after the burst, connect gets UNAVAILABLE retryAfterMs and close 1013, the hook 429; one log line', async () => {
    const fixture = await start({ token: TOKEN, authThrottle: { burst: 5, refillMs: 60_000 } });
    const h = await healthy(fixture);
    for (let i = 0; i < 5; i++) {
      const c = await pool.open(fixture.url);
      const res = await c.handshake({ token: `guess-${i}` });
      expect(res.error).toMatchObject({ code: 'INVALID_REQUEST', details: { code: 'AUTH_TOKEN_MISMATCH' } });
      expect((await c.waitClosed()).code).toBe(1008);
    }
    for (const token of ['guess-5', TOKEN]) {
      // Throttled: refused before the token is looked at, the right one included (no oracle for a guesser).
      const c = await pool.open(fixture.url);
      const res = await c.handshake({ token });
      expect(res.ok).toBe(false);
      expect(res.error).toMatchObject({ code: 'UNAVAILABLE', retryable: true, details: { code: 'AUTH_RATE_LIMITED' } });
      expect(res.error!.retryAfterMs).toBeGreaterThan(50_000);
      expect(res.error!.retryAfterMs).toBeLessThanOrEqual(60_000);
      expect((await c.waitClosed()).code).toBe(1013);
    }
    const limited = await hook(fixture, { sessionKey: 's', message: 'x' }, { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ error: { code: 'AUTH_RATE_LIMITED', retryAfterMs: expect.any(Number) } });
    expect(fixture.logs.filter((l) => l.startsWith('auth: wrong token from 127.0.0.1'))).toHaveLength(1);
    await h.finish();
  });
});

// ------------------------------------------------------------------ 2. isolation

describe('2. authorization between sessions (AUTH-3, AUTH-5, AUTH-6)', () => {
  test('scopes: [] can neither subscribe, read, send nor abort; read-only can read but not send or abort; admin can read diagnostics', async () => {
    const fixture = await start({ token: TOKEN });
    const h = await healthy(fixture);
    const nobody = await pool.connect(fixture.url, { params: { ...connectParams({ token: TOKEN }), scopes: [] } });
    for (const [method, params, scope] of [
      ['sessions.subscribe', { sessionKey: 'healthy' }, 'operator.read'],
      ['chat.history', { sessionKey: 'healthy', runId: h.runId }, 'operator.read'],
      ['chat.send', { sessionKey: 'healthy', message: 'x', idempotencyKey: 'n1' }, 'operator.write'],
      ['chat.abort', { sessionKey: 'healthy' }, 'operator.write'],
      ['diagnostics.lanes', {}, 'operator.admin'],
    ] as const) {
      const res = await nobody.request(method, params);
      expect(res.ok).toBe(false);
      expect(res.error).toEqual({ code: 'INVALID_REQUEST', message: `missing scope: ${scope}`, details: { code: 'MISSING_SCOPE', scope } });
    }
    expect((await nobody.request('health', {})).ok).toBe(true);
    const reader = await pool.connect(fixture.url, { params: { ...connectParams({ token: TOKEN }), scopes: ['operator.read'] } });
    expect((await reader.request('chat.history', { sessionKey: 'healthy' })).ok).toBe(true);
    expect((await reader.request('chat.abort', { sessionKey: 'healthy' })).error).toMatchObject({ details: { code: 'MISSING_SCOPE', scope: 'operator.write' } });
    const admin = await pool.connect(fixture.url, { params: { ...connectParams({ token: TOKEN }), scopes: ['operator.admin'] } });
    expect((await admin.request('diagnostics.lanes', {})).ok).toBe(true);
    await h.finish();
    // The scope-less client heard nothing of the session.
    expect(nobody.log.filter((r) => isChat(r))).toEqual([]);
  });

  test("another session's runId: chat.history and chat.abort answer RUN_NOT_IN_SESSION, with no data; run ids are random UUIDs", async () => {
    const fixture = await start({ token: TOKEN });
    const h = await healthy(fixture);
    const other = await pool.connect(fixture.url, { token: TOKEN });
    await other.request('chat.send', { sessionKey: 'mine', message: 'mine [stream=50]', idempotencyKey: `k-${++keySeq}` });
    const history = await other.request('chat.history', { sessionKey: 'mine', runId: h.runId });
    expect(history.ok).toBe(false);
    expect(history.payload).toBeUndefined();
    expect(history.error).toMatchObject({ code: 'INVALID_REQUEST', details: { code: 'RUN_NOT_IN_SESSION' } });
    expect(JSON.stringify(history)).not.toContain('steady');
    const abort = await other.request('chat.abort', { sessionKey: 'mine', runId: h.runId });
    expect(abort.error).toMatchObject({ details: { code: 'RUN_NOT_IN_SESSION' } });
    const ids = new Set<string>([h.runId]);
    for (let i = 0; i < 20; i++) {
      const res = await other.request('chat.send', { sessionKey: `ids-${i}`, message: 'id [stream=20]', idempotencyKey: `k-${++keySeq}` });
      ids.add((res.payload as { runId: string }).runId);
    }
    expect(ids.size).toBe(21);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await h.finish();
    expect(h.client.chats(h.runId, 'aborted')).toEqual([]);
  });
});

// ------------------------------------------------------------------ 3. memory released


describe('3. memory is released (BOUND-1, BOUND-2, BOUND-3)', () => {
  // Pings and dead-peer detection on the gateway's clock must not take the skip for silence.
  const patient: FixtureOptions['config'] = { gateway: { heartbeat: { intervalMs: 300, pingIntervalMs: 200, deadAfterMs: 2_000_000_000 } } };

  test('idempotency keys go 5 minutes after their wait ended, idle sessions after sessionIdleMs (then SESSION_EVICTED); a live run keeps its own', async () => {
    const clock = skewedClock();
    const fixture = await start({ clock, config: patient, limits: { sessionIdleMs: 600_000 } });
    const h = await healthy(fixture, undefined, 3_000);
    const c = await pool.connect(fixture.url);
    const runs: string[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await c.request('chat.send', { sessionKey: `burst-${i % 20}`, message: `m${i} [think=1 stream=20]`, idempotencyKey: `burst-${i}` });
      runs.push((res.payload as { runId: string }).runId);
    }
    await waitUntil(() => runs.every((id) => c.chats(id).some((p) => p.state === 'final')), 8_000, 'the burst to finish');
    const during = memory(fixture);
    expect(during.idempotencyKeys).toBe(41);
    expect(during.sessions).toBe(21);
    // Past both windows: the next request sweeps.
    clock.skip(600_001);
    await c.request('chat.send', { sessionKey: 'fresh', message: 'after [stream=20]', idempotencyKey: 'fresh-1' });
    const after = memory(fixture);
    // The healthy run is still going: its key and its session stay.
    expect(after.idempotencyKeys).toBe(2);
    expect(after.sessions).toBe(2);
    expect(after.evictedKeys).toBe(20);
    const gone = await c.request('chat.history', { sessionKey: 'burst-3' });
    expect(gone.ok).toBe(false);
    expect(gone.error).toMatchObject({ code: 'INVALID_REQUEST', details: { code: 'SESSION_EVICTED', idleMs: 600_000 } });
    // A forgotten key is a new message now.
    const again = await c.request('chat.send', { sessionKey: 'burst-3', message: 'again [stream=20]', idempotencyKey: 'burst-3' });
    expect((again.payload as { status: string }).status).toBe('started');
    expect((again.payload as { runId: string }).runId).not.toBe(runs[3]);
    // ... and its session is back, with a transcript starting over.
    expect((await c.request('chat.history', { sessionKey: 'burst-3' })).payload).toMatchObject({ messages: [{ role: 'user', text: 'again [stream=20]' }] });
    await h.finish();
  });

  test('per-session history holds at most historyMaxBytes: a 1 MiB message is cut, older entries go', async () => {
    const fixture = await start({ limits: { historyMaxBytes: 16_384, historyReplyMaxBytes: 8_192 } });
    const h = await healthy(fixture, undefined);
    const c = await pool.connect(fixture.url);
    // 1 MiB: far over the pre-handshake 64 KiB, accepted after hello-ok (maxPayload, BOUND-6).
    const big = `${'x'.repeat(1_048_000)} [stream=20]`;
    const res = await c.request('chat.send', { sessionKey: 'big', message: big, idempotencyKey: 'big-1' }, 10_000);
    expect(res.ok).toBe(true);
    await c.waitFor((r) => isChat(r, (res.payload as { runId: string }).runId, 'final'), 5_000);
    // Remembered cut to a quarter of historyMaxBytes, and said so.
    const cut = (await c.request('chat.history', { sessionKey: 'big' })).payload as { messages: { role: string; text: string; truncated?: boolean }[] };
    expect(cut.messages[0]).toMatchObject({ role: 'user', truncated: true });
    expect(cut.messages[0]!.text).toBe('x'.repeat(4_096));
    // One at a time: the session's queue (cap 20) must not drop any.
    for (let i = 0; i < 30; i++) {
      const sent = await c.request('chat.send', { sessionKey: 'big', message: `${'y'.repeat(1_000)} ${i} [think=1 stream=1]`, idempotencyKey: `big-f-${i}` });
      await c.waitFor((r) => isChat(r, (sent.payload as { runId: string }).runId, 'final'), 5_000);
    }
    const counts = memory(fixture);
    // Only the healthy session and `big`: at most 16 KiB of text each.
    expect(counts.historyBytes).toBeLessThanOrEqual(2 * 16_384);
    expect(counts.historyEntries).toBeLessThan(62);
    await h.finish();
  });
});

// ------------------------------------------------------------------ 4. before authentication

describe('4. memory before authentication (BOUND-6, BOUND-7, BOUND-8)', () => {
  test('a pre-handshake frame header over 64 KiB is refused 1009 before its payload is read; so are unfinished fragments past 64 KiB', async () => {
    const fixture = await start({ token: TOKEN });
    const h = await healthy(fixture);
    const attackers = await Promise.all(Array.from({ length: 20 }, () => rawUpgrade(fixture.server.port)));
    // Half declare one 20 MiB text frame and send 1 KiB of it; half send a 60 KiB first fragment, then one of 8 KiB.
    attackers.forEach(({ socket }, i) => {
      if (i % 2 === 0) socket.write(Buffer.concat([frameHeader(0x1, true, 20 * 1024 * 1024), Buffer.alloc(1024, 0x20)]));
      else socket.write(Buffer.concat([frameHeader(0x1, false, 61_440), Buffer.alloc(61_440, 0x20), frameHeader(0x0, false, 8_192), Buffer.alloc(8_192, 0x20)]));
    });
    await Promise.all(attackers.map((a) => Promise.race([a.ended, sleep(5_000)])));
    for (const a of attackers) expect(closeCodeIn(a.received())).toBe(1009);
    await h.finish();
  });

  test('after hello-ok the frame cap is maxPayload: a 100 KiB request is served', async () => {
    const fixture = await start({ token: TOKEN });
    const c = await pool.connect(fixture.url, { token: TOKEN });
    const res = await c.request('chat.send', { sessionKey: 'p', message: `${'z'.repeat(100 * 1024)} [stream=20]`, idempotencyKey: 'p-1' });
    expect(res.ok).toBe(true);
    expect(c.closeInfo).toBeNull();
  });

  test('caps: handshakes in progress past maxHandshakes and connections past maxConnections are closed 1013', async () => {
    const fixture = await start({ token: TOKEN, maxHandshakes: 4, maxConnections: 7 });
    const h = await healthy(fixture);
    const pending = await Promise.all(Array.from({ length: 4 }, () => pool.open(fixture.url)));
    const fifth = await pool.open(fixture.url);
    expect(await fifth.waitClosed()).toMatchObject({ code: 1013, reason: 'too many handshakes' });
    // One handshake finishing frees its place.
    expect((await pending[0]!.handshake({ token: TOKEN })).ok).toBe(true);
    const next = await pool.open(fixture.url);
    expect((await next.handshake({ token: TOKEN })).ok).toBe(true);
    // healthy + 2 open + 3 in handshake = 6; one more fits, the one after does not.
    const seventh = await pool.open(fixture.url);
    expect((await seventh.handshake({ token: TOKEN })).ok).toBe(true);
    const eighth = await pool.open(fixture.url);
    expect(await eighth.waitClosed()).toMatchObject({ code: 1013, reason: 'too many connections' });
    await h.finish();
  });

  test('a TCP connection that never sends a request head is closed after headersTimeoutMs; invalid UTF-8 closes 1007', async () => {
    const fixture = await start({ headersTimeoutMs: 1_000 });
    const h = await healthy(fixture, undefined);
    const idle = netConnect(fixture.server.port, '127.0.0.1');
    idle.on('error', () => {});
    const openedAt = Date.now();
    const idleClosed = await Promise.race([new Promise<boolean>((resolve) => idle.once('close', () => resolve(true))), sleep(8_000).then(() => false)]);
    idle.destroy();
    expect(idleClosed).toBe(true);
    // headersTimeoutMs plus Node's check interval (1 s), with room for a loaded machine.
    expect(Date.now() - openedAt).toBeLessThan(6_000);
    const c = await pool.connect(fixture.url);
    c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await c.waitClosed()).code).toBe(1007);
    await h.finish();
  });
});

// ------------------------------------------------------------------ 5. replies and slow readers

describe('5. reply size and never-reading clients (BOUND-4, BOUND-9)', () => {
  test('chat.history pages: each reply at most historyReplyMaxBytes of text; pages chain by nextBefore without gaps or overlap', async () => {
    const fixture = await start({ limits: { historyReplyMaxBytes: 4_096 } });
    const h = await healthy(fixture, undefined);
    const c = await pool.connect(fixture.url);
    for (let i = 0; i < 20; i++) {
      const sent = await c.request('chat.send', { sessionKey: 'paged', message: `${String(i).padStart(3, '0')} ${'p'.repeat(600)} [think=1 stream=1]`, idempotencyKey: `pg-${i}` });
      await c.waitFor((r) => isChat(r, (sent.payload as { runId: string }).runId, 'final'), 5_000);
    }
    const users: string[] = [];
    let before: number | undefined;
    for (let page = 0; page < 20; page++) {
      const res = await c.request('chat.history', { sessionKey: 'paged', ...(before === undefined ? {} : { before }) });
      const reply = res.payload as { messages: { role: string; text: string }[]; nextBefore?: number };
      expect(reply.messages.reduce((n, m) => n + Buffer.byteLength(m.text), 0)).toBeLessThanOrEqual(4_096);
      expect(reply.messages.length).toBeGreaterThan(0);
      users.unshift(...reply.messages.filter((m) => m.role === 'user').map((m) => m.text.slice(0, 3)));
      if (reply.nextBefore === undefined) break;
      expect(reply.nextBefore).toBeLessThan(before ?? Infinity);
      before = reply.nextBefore;
    }
    expect(users).toEqual(Array.from({ length: 20 }, (_, i) => String(i).padStart(3, '0')));
    await h.finish();
  });

  test('a client that never reads is cut once its backlog would pass maxBufferedBytes; it never held more', async () => {
    const maxBufferedBytes = 262_144;
    const fixture = await start({ maxBufferedBytes, limits: { historyReplyMaxBytes: 65_536 } });
    const h = await healthy(fixture, undefined, 4_000);
    const filler = await pool.connect(fixture.url);
    for (let i = 0; i < 8; i++) {
      const sent = await filler.request('chat.send', { sessionKey: 'fat', message: `${'f'.repeat(8_000)} ${i} [think=1 stream=1]`, idempotencyKey: `fat-${i}` });
      await filler.waitFor((r) => isChat(r, (sent.payload as { runId: string }).runId, 'final'), 5_000);
    }
    const sink = await pool.connect(fixture.url);
    const socket = (sink.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    // ~64 KiB per reply; the kernel's loopback buffers take some megabytes first.
    for (let i = 0; i < 1_500 && sink.closeInfo === null; i++) {
      sink.send({ type: 'req', id: `flood-${i}`, method: 'chat.history', params: { sessionKey: 'fat' } });
      if (i % 50 === 49) {
        await sleep(5);
        if (fixture.logs.some((l) => l.startsWith('slow consumer'))) break;
      }
    }
    await waitUntil(() => fixture.logs.some((l) => l.startsWith('slow consumer')), 10_000, 'the slow consumer to be cut');
    const line = fixture.logs.find((l) => l.startsWith('slow consumer'))!;
    const held = Number(/: (\d+) bytes unread/.exec(line)![1]);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(maxBufferedBytes);
    socket.resume();
    const closed = await sink.waitClosed(8_000);
    expect([1008, 1006]).toContain(closed.code);
    await h.finish();
  });
});
