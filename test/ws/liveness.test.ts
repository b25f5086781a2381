/**
 * Liveness and back-pressure over real sockets (docs/SPEC.md HB-5, HB-6,
 * WS-9, WS-10): pings at pingIntervalMs, a peer that never pongs closed with
 * 1001 `no pong` after deadAfterMs, and a slow consumer whose droppable
 * frames are skipped (seq gaps) until a frame that may not be dropped closes
 * it with 1008 `slow consumer`. The WS-10 decision table is also checked
 * directly on GatewayServer's transport with a stubbed socket.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import type { TraceEvent } from '../../src/model/events.ts';
import type { ClientTransport } from '../../src/reference-impl/gateway.ts';
import type { GatewayServer } from '../../src/reference-impl/ws-server.ts';
import { gatewayPerTest, type FixtureOptions, type GatewayFixture } from '../support/gateway-fixture.ts';
import { ClientPool, isChat, isEvent, isRes, loopDelayMonitor, sleep, waitUntil, type TestClient } from '../support/ws-test-client.ts';

const { pool, start } = gatewayPerTest();
let stubSeq = 0;

const PING_MS = 200;
const DEAD_MS = 600;
const TOLERANCE_MS = 100;

function helloAt(c: TestClient): number {
  const hello = c.log.find((r) => isRes(r));
  if (hello === undefined) throw new Error('no hello-ok');
  return hello.at;
}

/** The client's underlying TCP socket (ws keeps it in `_socket`). */
function socketOf(c: TestClient): Socket {
  const socket = (c.ws as unknown as { _socket?: Socket })._socket;
  if (socket === undefined) throw new Error('ws has no _socket');
  return socket;
}

/** The server-side ws of a connection (GatewayServer keeps its clients private). */
function serverSocketOf(server: GatewayServer, c: TestClient): WebSocket {
  const connId = (c.hello as { server: { connId: string } }).server.connId;
  const clients = (server as unknown as { clients: Map<string, { ws: WebSocket }> }).clients;
  const entry = clients.get(connId);
  if (entry === undefined) throw new Error(`no server-side client ${connId}`);
  return entry.ws;
}

describe('pings (HB-5)', () => {
  test('a WebSocket ping every pingIntervalMs, the first pingIntervalMs after connecting', async () => {
    const { url } = await start();
    const loop = loopDelayMonitor();
    const c = await pool.connect(url);
    await waitUntil(() => c.pings.length >= 5, 5 * PING_MS + 1_000, '5 pings');
    // Timers that ran late (CPU contention) shift pings by as much; the cadence itself is fixed (HB-5).
    const late = loop.maxMs();
    loop.stop();
    const hello = helloAt(c);
    expect(c.pings[0]! - hello).toBeGreaterThanOrEqual(PING_MS - 30);
    expect(c.pings[0]! - hello).toBeLessThanOrEqual(PING_MS + TOLERANCE_MS + late);
    for (let i = 1; i < c.pings.length; i++) {
      const gap = c.pings[i]! - c.pings[i - 1]!;
      expect(gap).toBeGreaterThanOrEqual(PING_MS - 50 - late);
      expect(gap).toBeLessThanOrEqual(PING_MS + TOLERANCE_MS + late);
    }
    // On average, one ping per interval.
    const span = c.pings.at(-1)! - c.pings[0]!;
    expect(span / (c.pings.length - 1)).toBeGreaterThanOrEqual(PING_MS - 20);
    expect(span / (c.pings.length - 1)).toBeLessThanOrEqual(PING_MS + 20 + late / (c.pings.length - 1));
    // Pings are not frames: nothing was logged for them.
    expect(c.log.filter((r) => !isRes(r) && !isEvent(r, 'connect.challenge'))).toHaveLength(0);
    // With autoPong on, the peer stays alive well past deadAfterMs.
    await waitUntil(() => c.pings.length >= 5 && performance.now() - hello > DEAD_MS + 2 * TOLERANCE_MS, 3_000, 'past deadAfterMs');
    expect(c.closeInfo).toBeNull();
    expect((await c.request('health', {})).ok).toBe(true);
  });

  test('pings keep their cadence whatever the traffic (a streaming client gets them too)', async () => {
    const { url } = await start();
    const c = await pool.connect(url);
    const res = await c.request('chat.send', { sessionKey: 's', message: 'x [think=10 stream=1000]', idempotencyKey: 'k' });
    const runId = (res.payload as { runId: string }).runId;
    await c.waitFor((r) => isChat(r, runId, 'final'), 3_000);
    expect(c.pings.length).toBeGreaterThanOrEqual(4);
  });
});

describe('dead peers (HB-6)', () => {
  test('a client that never answers pings is closed with 1001 no pong after deadAfterMs', async () => {
    const { url, server } = await start();
    const loop = loopDelayMonitor();
    const quiet = await pool.connect(url, { autoPong: false });
    const healthy = await pool.connect(url);
    expect(server.connections).toBe(2);
    const close = await quiet.waitClosed(DEAD_MS + 2_000);
    expect({ code: close.code, reason: close.reason }).toEqual({ code: 1001, reason: 'no pong' });
    const after = close.at - helloAt(quiet);
    expect(after).toBeGreaterThanOrEqual(DEAD_MS - 30);
    expect(after).toBeLessThanOrEqual(DEAD_MS + 2 * TOLERANCE_MS + loop.maxMs());
    loop.stop();
    // It did get pings (and ignored them).
    expect(quiet.pings.length).toBeGreaterThanOrEqual(2);
    // The server forgot it; the healthy one is untouched.
    await waitUntil(() => server.connections === 1, 1_000, 'server to forget the dead peer');
    expect(healthy.closeInfo).toBeNull();
    expect((await healthy.request('health', {})).ok).toBe(true);
  });

  test('any inbound frame counts as liveness: a client that sends requests but never pongs stays', async () => {
    const { url } = await start();
    const loop = loopDelayMonitor();
    const chatty = await pool.connect(url, { autoPong: false });
    const started = helloAt(chatty);
    let lastSent = performance.now();
    while (performance.now() - started < DEAD_MS * 2) {
      lastSent = performance.now();
      expect((await chatty.request('health', {})).ok).toBe(true);
      await sleep(PING_MS);
    }
    expect(chatty.closeInfo).toBeNull();
    // Then it falls silent: dead deadAfterMs after its last frame.
    const close = await chatty.waitClosed(DEAD_MS + 2_000);
    expect(close.reason).toBe('no pong');
    expect(close.at - lastSent).toBeGreaterThanOrEqual(DEAD_MS - 50);
    expect(close.at - lastSent).toBeLessThanOrEqual(DEAD_MS + 2 * TOLERANCE_MS + loop.maxMs());
    loop.stop();
  });
});

describe('slow consumer (WS-10) on loopback', () => {
  test('a paused reader: droppable frames skipped (seq gaps after resuming); the first non-droppable frame closes it with 1008', async () => {
    const maxBufferedBytes = 1_024;
    const trace: TraceEvent[] = [];
    const fixture = await start({
      maxBufferedBytes,
      trace: (e) => trace.push(e),
      // A paused reader cannot answer pings either: keep HB-6 out of the way (it is tested above).
      config: { gateway: { heartbeat: { pingIntervalMs: 5_000, deadAfterMs: 30_000 } } },
    });
    // C subscribes and stops reading for good; A stops reading, sends, and reads again mid-run.
    const c = await pool.connect(fixture.url);
    await c.request('sessions.subscribe', { sessionKey: 'big' });
    const a = await pool.connect(fixture.url);
    const aConn = (a.hello as { server: { connId: string } }).server.connId;
    const serverA = serverSocketOf(fixture.server, a);
    const serverC = serverSocketOf(fixture.server, c);
    socketOf(c).pause();
    socketOf(a).pause();
    // The answer grows to ~1 MB over 1.5 s (~6.6 KB every 10 ms); each delta carries all of it so far,
    // ~10 MB in all: more than loopback holds for a reader that is not reading (~4 MB). Then 1 s of
    // silence, during which the waiting sender A is owed heartbeats (droppable).
    a.send({ type: 'req', id: 'big', method: 'chat.send', params: { sessionKey: 'big', message: 'flood [think=10 stream=1500 chunk=10 tokens=1100 stall=1000]', idempotencyKey: 'big' } });
    await waitUntil(() => serverA.bufferedAmount > maxBufferedBytes && serverC.bufferedAmount > maxBufferedBytes, 4_000, 'server-side buffers over maxBufferedBytes');
    // A heartbeat to A was due while A was over the limit: it was skipped (HB-2 fires only after silence,
    // i.e. after deltas to A stopped getting through).
    await waitUntil(() => trace.some((e) => e.type === 'heartbeat' && e.connId === aConn), 4_000, 'a heartbeat due to A');
    expect(serverA.bufferedAmount).toBeGreaterThan(maxBufferedBytes);
    expect(a.closeInfo).toBeNull();
    socketOf(a).resume();
    const res = await a.waitFor((r) => isRes(r, 'big'), 3_000);
    const runId = ((res.frame as { payload: { runId: string } }).payload).runId;
    // A drained during the silence: the run's end reaches it, after a gap in seq.
    await a.waitFor((r) => isChat(r, runId, 'final'), 5_000);
    await a.waitFor((r) => isEvent(r, 'lane.status') && (r.frame.payload as { state: string }).state === 'idle', 2_000);
    expect(a.closeInfo).toBeNull();
    const seqs = a.log.slice(1).filter((r) => isEvent(r)).map((r) => (r.frame as { seq: number }).seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
    const gaps = seqs.slice(1).filter((q, i) => q !== seqs[i]! + 1);
    expect(gaps.length).toBeGreaterThan(0);
    // Only droppable frames were skipped: every non-droppable frame about the run arrived
    // (lifecycle start and end, the final, the statuses); the deltas that arrived are in order.
    const phases = a.events('agent').map((r) => (r.frame.payload as { data: { phase?: string } }).data.phase);
    expect(phases).toEqual(['start', 'end']);
    expect(a.chats(runId, 'final')).toHaveLength(1);
    expect(a.events('lane.status').map((r) => (r.frame.payload as { state: string }).state)).toEqual(['active', 'idle']);
    const deltaSeqs = a.chats(runId, 'delta').map((p) => p.seq);
    expect(deltaSeqs.length).toBeGreaterThan(0);
    for (let i = 1; i < deltaSeqs.length; i++) expect(deltaSeqs[i]!).toBeGreaterThan(deltaSeqs[i - 1]!);
    // C never read: at the first frame that may not be dropped (the run's end) the server closed it.
    await waitUntil(() => fixture.server.connections === 1, 5_000, 'the server to give up on C');
    socketOf(c).resume();
    const close = await c.waitClosed(3_000);
    expect({ code: close.code, reason: close.reason }).toEqual({ code: 1008, reason: 'slow consumer' });
    // What C did get before the close: some deltas, no final (it was never sent to C).
    expect(c.chats(runId, 'final')).toHaveLength(0);
    expect(c.chats(runId, 'delta').length).toBeGreaterThan(0);
    // A stays usable.
    expect((await a.request('health', {})).ok).toBe(true);
  });
});

describe('slow consumer (WS-10): the transport decision with a stubbed socket', () => {
  interface StubWs {
    readyState: number;
    bufferedAmount: number;
    sent: string[];
    closed: { code: number; reason: string }[];
    send(text: string): void;
    close(code: number, reason: string): void;
    terminate(): void;
  }

  function stub(bufferedAmount: number): StubWs {
    return {
      readyState: WebSocket.OPEN,
      bufferedAmount,
      sent: [],
      closed: [],
      send(text) {
        this.sent.push(text);
      },
      close(code, reason) {
        this.closed.push({ code, reason });
        this.readyState = WebSocket.CLOSED;
      },
      terminate() {
        this.readyState = WebSocket.CLOSED;
      },
    };
  }

  /** GatewayServer's ClientTransport over a stub socket (its private transportFor). */
  function transportOver(server: GatewayServer, ws: StubWs): { transport: ClientTransport; respond: (id: string) => void } {
    const client = { connId: `stub${++stubSeq}`, ws, state: 'open', handshakeTimer: null, held: null };
    const internals = server as unknown as {
      transportFor(client: unknown): ClientTransport;
      respond(client: unknown, id: string, ok: boolean, payload?: unknown): void;
    };
    return { transport: internals.transportFor(client), respond: (id) => internals.respond(client, id, true, {}) };
  }

  const droppable: [string, unknown][] = [
    ['tick', { ts: 1 }],
    ['heartbeat', { runId: 'r', elapsedMs: 1, queued: false }],
    ['chat', { runId: 'r', sessionKey: 's', seq: 1, state: 'delta', deltaText: 'x' }],
    ['agent', { runId: 'r', sessionKey: 's', seq: 1, stream: 'assistant', data: {} }],
  ];
  const kept: [string, unknown][] = [
    ['chat', { runId: 'r', sessionKey: 's', seq: 2, state: 'final' }],
    ['chat', { runId: 'r', sessionKey: 's', seq: 0, state: 'status', status: 'merged' }],
    ['chat', { runId: 'r', sessionKey: 's', seq: 2, state: 'aborted' }],
    ['chat', { runId: 'r', sessionKey: 's', seq: 0, state: 'error', errorCode: 'X' }],
    ['lane.status', { state: 'idle' }],
    ['shutdown', { reason: 'x', abortRunning: true }],
    ['agent', { runId: 'r', sessionKey: 's', seq: 1, stream: 'lifecycle', data: { phase: 'end' } }],
    ['agent', { runId: 'r', sessionKey: 's', seq: 1, stream: 'tool', data: {} }],
  ];

  test.each(droppable)('over maxBufferedBytes, %s is skipped and the socket stays open', async (event, payload) => {
    const { server } = await start({ maxBufferedBytes: 1_024 });
    const ws = stub(1_025);
    const { transport } = transportOver(server, ws);
    expect(transport.send(event, payload, 7)).toBe(false);
    expect(ws.sent).toEqual([]);
    expect(ws.closed).toEqual([]);
  });

  test.each(kept)('over maxBufferedBytes, %s %j closes the socket with 1008 slow consumer', async (event, payload) => {
    const { server } = await start({ maxBufferedBytes: 1_024 });
    const ws = stub(1_025);
    const { transport } = transportOver(server, ws);
    expect(transport.send(event, payload, 7)).toBe(false);
    expect(ws.sent).toEqual([]);
    expect(ws.closed).toEqual([{ code: 1008, reason: 'slow consumer' }]);
  });

  test('while buffered bytes plus the frame stay within maxBufferedBytes every frame is sent, with its seq', async () => {
    const { server } = await start({ maxBufferedBytes: 1_024 });
    // Every frame below is under 200 bytes: 800 + frame <= 1024 (BOUND-9 counts the frame being sent).
    const ws = stub(800);
    const { transport } = transportOver(server, ws);
    for (const [event, payload] of [...droppable, ...kept]) expect(transport.send(event, payload, 3)).toBe(true);
    expect(ws.sent).toHaveLength(droppable.length + kept.length);
    expect(ws.sent.map((t) => (JSON.parse(t) as { seq: number }).seq)).toEqual(ws.sent.map(() => 3));
    expect(ws.closed).toEqual([]);
  });

  test('BOUND-9: a frame that would take the buffer past maxBufferedBytes counts: 1,000 buffered + a final closes', async () => {
    const { server } = await start({ maxBufferedBytes: 1_024 });
    const ws = stub(1_000);
    const { transport } = transportOver(server, ws);
    expect(transport.send('chat', { runId: 'r', sessionKey: 's', seq: 2, state: 'final', message: { role: 'assistant', content: [{ type: 'text', text: 'x'.repeat(100) }] } }, 4)).toBe(false);
    expect(ws.sent).toEqual([]);
    expect(ws.closed).toEqual([{ code: 1008, reason: 'slow consumer' }]);
  });

  test('BOUND-9: a client that has read everything gets any frame, even one larger than maxBufferedBytes', async () => {
    const { server } = await start({ maxBufferedBytes: 1_024 });
    const ws = stub(0);
    const { transport } = transportOver(server, ws);
    expect(transport.send('chat', { runId: 'r', sessionKey: 's', seq: 2, state: 'final', message: { role: 'assistant', content: [{ type: 'text', text: 'x'.repeat(4_000) }] } }, 4)).toBe(true);
    expect(ws.sent).toHaveLength(1);
    expect(ws.closed).toEqual([]);
  });

  test('a response is never dropped: over the limit it closes with 1008 slow consumer', async () => {
    const { server } = await start({ maxBufferedBytes: 1_024 });
    const ws = stub(1_025);
    const { respond } = transportOver(server, ws);
    respond('r1');
    expect(ws.sent).toEqual([]);
    expect(ws.closed).toEqual([{ code: 1008, reason: 'slow consumer' }]);
  });
});
