/**
 * The soak bench's clients, in a worker thread: the gateway runs in the main
 * thread, whose V8 heap then holds the gateway's memory only (a worker has
 * a heap of its own). The worker is plain JavaScript evaluated from this
 * string, so it runs the same from the bench bundle, from tsx and under
 * vitest; it loads `ws` with the project's require.
 *
 * Commands (postMessage), each answered by {id, ...result}:
 * - steady {url, clients, sessions, epochMs, thinkMs}: closed-loop senders;
 *   session keys rotate every epochMs (old sessions go idle, BOUND-3) and
 *   every message has a fresh idempotency key (BOUND-1).
 * - stopSteady: stop sending, wait for the finals in flight; counts.
 * - idle {url, n}: n connections past hello-ok that only answer pings.
 * - preHandshake {port, n}: n raw upgrades, each sending an unfinished 60 KiB
 *   first fragment and nothing more (BOUND-6).
 * - neverRead {url, n, sessionKey, requests}: n clients that stop reading and
 *   ask for chat.history `requests` times (BOUND-9).
 * - big {url, n, bytes, sessionKey?}: n messages of `bytes` characters, one per session (or all
 *   into `sessionKey`, one after the other's final); waits for their finals.
 * - closeGroup {group}: closes every socket of a group.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';

const SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const WebSocket = require(workerData.wsPath);
const groups = new Map();
function group(name) { let g = groups.get(name); if (!g) groups.set(name, (g = [])); return g; }
function params(token) {
  return { minProtocol: 4, maxProtocol: 4, client: { id: 'soak', version: '0', platform: 'node', mode: 'bench' }, role: 'operator',
    scopes: ['operator.read', 'operator.write'], ...(token ? { auth: { token } } : {}) };
}
function connect(url, name, onFrame) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
    group(name).push(ws);
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const f = JSON.parse(String(data));
      if (f.type === 'event' && f.event === 'connect.challenge') ws.send(JSON.stringify({ type: 'req', id: 'hello', method: 'connect', params: params() }));
      else if (f.type === 'res' && f.id === 'hello') f.ok ? resolve(ws) : reject(new Error('handshake refused: ' + JSON.stringify(f.error)));
      else if (onFrame) onFrame(f);
    });
    ws.on('close', () => reject(new Error('closed before hello-ok')));
  });
}
let steady = null;
async function startSteady(o) {
  const state = { stopping: false, sent: 0, finals: 0, errors: 0, inFlight: 0, idle: null };
  steady = state;
  const t0 = Date.now();
  let keySeq = 0;
  for (let c = 0; c < o.clients; c++) {
    let waiting = null;
    const sendNext = (ws) => {
      if (state.stopping || ws.readyState !== 1) return;
      const epoch = Math.floor((Date.now() - t0) / o.epochMs);
      const sessionKey = 'soak-' + epoch + '-' + ((c * 7 + keySeq) % o.sessions);
      const id = 'r' + (++keySeq);
      waiting = { id, runId: null };
      state.sent++; state.inFlight++;
      ws.send(JSON.stringify({ type: 'req', id, method: 'chat.send', params: { sessionKey, message: 'soak message ' + keySeq + ' ' + 'x'.repeat(200), idempotencyKey: 'k-' + c + '-' + keySeq } }));
    };
    const done = (ws) => { state.inFlight--; waiting = null; if (state.inFlight === 0 && state.idle) state.idle(); setTimeout(() => sendNext(ws), o.thinkMs); };
    const ws = await connect(o.url, 'steady', (f) => {
      if (waiting === null) return;
      if (f.type === 'res' && f.id === waiting.id) {
        if (!f.ok || f.payload.status === 'rejected') { state.errors++; done(ws); return; }
        waiting.runId = f.payload.runId;
      } else if (f.type === 'event' && f.event === 'chat' && f.payload.runId === waiting.runId && (f.payload.state === 'final' || f.payload.state === 'error' || f.payload.state === 'aborted')) {
        if (f.payload.state === 'final') state.finals++; else state.errors++;
        done(ws);
      }
    });
    sendNext(ws);
  }
  return {};
}
async function stopSteady() {
  const state = steady;
  state.stopping = true;
  if (state.inFlight > 0) await Promise.race([new Promise((r) => { state.idle = r; }), new Promise((r) => setTimeout(r, 30000))]);
  for (const ws of group('steady')) ws.close();
  groups.delete('steady');
  return { sent: state.sent, finals: state.finals, errors: state.errors };
}
async function idle(o) {
  for (let i = 0; i < o.n; i++) await connect(o.url, o.group || 'idle');
  return { open: group(o.group || 'idle').length };
}
function rawUpgrade(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (d) => {
      if (head.includes('\r\n\r\n')) return;
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) resolve(socket);
    });
    socket.on('connect', () => socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
  });
}
async function preHandshake(o) {
  const len = 61440;
  const header = Buffer.from([0x01, 0x80 | 126, len >> 8, len & 0xff, 0, 0, 0, 0]);
  for (let i = 0; i < o.n; i++) {
    const socket = await rawUpgrade(o.port);
    group('pre').push({ close: () => socket.destroy() });
    socket.write(Buffer.concat([header, Buffer.alloc(len, 0x20)]));
  }
  return { open: group('pre').length };
}
async function neverRead(o) {
  let sent = 0;
  for (let i = 0; i < o.n; i++) {
    const ws = await connect(o.url, 'never');
    ws._socket.pause();
    for (let r = 0; r < o.requests && ws.readyState === 1; r++) {
      ws.send(JSON.stringify({ type: 'req', id: 'h' + r, method: 'chat.history', params: { sessionKey: o.sessionKey } }));
      sent++;
      if (r % 100 === 99) await new Promise((ok) => setTimeout(ok, 5));
    }
  }
  return { sent };
}
async function big(o) {
  const ws = await new Promise((resolve, reject) => {
    const finals = new Set();
    let waiters = [];
    connect(o.url, 'big', (f) => {
      if (f.type === 'event' && f.event === 'chat' && (f.payload.state === 'final' || f.payload.state === 'error')) { finals.add(f.payload.runId); for (const w of waiters) w(); }
    }).then((ws) => { ws.finals = finals; ws.wait = () => new Promise((r) => waiters.push(r)); resolve(ws); }, reject);
  });
  const text = 'b'.repeat(o.bytes);
  const runIds = [];
  const prefix = o.sessionKey || 'big-';
  for (let i = 0; i < o.n; i++) {
    const id = 'b' + i;
    const res = await new Promise((resolve) => {
      const onMsg = (data) => { const f = JSON.parse(String(data)); if (f.type === 'res' && f.id === id) { ws.off('message', onMsg); resolve(f); } };
      ws.on('message', onMsg);
      // With sessionKey: every message into that one session, each after the previous final (its queue drops nothing).
      ws.send(JSON.stringify({ type: 'req', id, method: 'chat.send', params: { sessionKey: o.sessionKey || prefix + i, message: text, idempotencyKey: prefix + '-' + i } }));
    });
    if (res.ok) runIds.push(res.payload.runId);
    if (o.sessionKey && res.ok) while (!ws.finals.has(res.payload.runId)) await Promise.race([ws.wait(), new Promise((r) => setTimeout(r, 200))]);
  }
  const deadline = Date.now() + 60000;
  while (!runIds.every((r) => ws.finals.has(r)) && Date.now() < deadline) await Promise.race([ws.wait(), new Promise((r) => setTimeout(r, 200))]);
  return { sent: runIds.length, finals: runIds.filter((r) => ws.finals.has(r)).length };
}
const commands = { steady: startSteady, stopSteady, idle, preHandshake, neverRead, big,
  closeGroup: async (o) => { const g = groups.get(o.group) || []; for (const s of g) (s.terminate ? s.terminate() : s.close()); groups.delete(o.group); return { closed: g.length }; } };
parentPort.on('message', async (m) => {
  try { parentPort.postMessage({ id: m.id, ...(await commands[m.cmd](m)) }); }
  catch (e) { parentPort.postMessage({ id: m.id, error: String(e && e.message || e) }); }
});
`;

export interface SoakClients {
  call<T extends Record<string, unknown>>(cmd: string, options?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

export function startSoakClients(): SoakClients {
  const wsPath = createRequire(`${process.cwd()}/package.json`).resolve('ws');
  const worker = new Worker(SOURCE, { eval: true, workerData: { wsPath } });
  const pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  let next = 0;
  worker.on('message', (m: { id: number; error?: string }) => {
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    if (m.error !== undefined) p.reject(new Error(`soak clients: ${m.error}`));
    else p.resolve(m as Record<string, unknown>);
  });
  worker.on('error', (error) => {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  });
  return {
    call: <T extends Record<string, unknown>>(cmd: string, options: Record<string, unknown> = {}) =>
      new Promise<T>((resolve, reject) => {
        const id = ++next;
        pending.set(id, { resolve: resolve as (v: Record<string, unknown>) => void, reject });
        worker.postMessage({ ...options, id, cmd });
      }),
    close: async () => {
      await worker.terminate();
    },
  };
}
