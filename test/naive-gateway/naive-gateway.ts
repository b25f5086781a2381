/**
 * A small, deliberately naive gateway over a real WebSocket, written from
 * docs/SPEC.md alone (it imports nothing from lanesim): one queue mode
 * (`followup`), drop `new` at the cap, one global lane `main`, `lane.status`,
 * heartbeats, pings and dead peers, deltas paced at 150 ms, the `read` /
 * `write` / `edit` / `exec` tool checks (missing parameters only), and the
 * handshake. Its agents are played by an OpenAI-compatible model over HTTP
 * (lanesim's fake model in the tests).
 *
 * It exists to prove the conformance verdict (issue 11, point 10): each
 * `NaiveFault` breaks exactly one rule, the way an independent author might,
 * and test/conformance/naive-gateway.test.ts shows the case naming that rule
 * catching it over the wire, and the corrected gateway passing the same case.
 *
 * All durations in `NaiveGatewayOptions` are real milliseconds.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

export const NAIVE_FAULTS = [
  /** WS-16: every model chunk becomes a delta at once (no pacing). */
  'deltas-unpaced',
  /** HB-1: the heartbeat comes 1.2 x the interval after the last frame. */
  'heartbeat-late',
  /** STATUS-2: lane.status without its `waiting` list. */
  'status-without-waiting',
  /** HB-5: pings at 5/3 of the interval (25 s for a 15 s interval). */
  'pings-late',
  /** HB-6: silent peers are never closed. */
  'no-dead-peer',
  /** WS-6: a wrong token is let in. */
  'accepts-wrong-token',
  /** LANE-2: a session's messages run side by side (no session lock). */
  'no-session-lock',
  /** QUEUE-18: chat.abort of a queued run answers `{aborted: []}` and the run still runs. */
  'abort-ignores-queued',
  /** QUEUE-20: the second message queued behind a run is forgotten (never runs, never settles). */
  'loses-second-followup',
  /** WS-14: a repeated idempotency key is accepted as a new message. */
  'ignores-idempotency',
  /** STATUS-4: the wait warning is only noticed when the message starts (OpenClaw's habit, DEP-4). */
  'warns-at-dequeue',
  /** TOOL-1: a malformed tool call gets an empty result (only logged). */
  'swallows-tool-errors',
] as const;
export type NaiveFault = (typeof NAIVE_FAULTS)[number];

export interface NaiveGatewayOptions {
  /** `http://127.0.0.1:PORT` of an OpenAI-compatible model (POST /v1/chat/completions, stream). */
  modelUrl: string;
  token: string;
  fault?: NaiveFault | null;
  mainCap: number;
  queueCap: number;
  heartbeatMs: number;
  pingMs: number;
  deadAfterMs: number;
  warnThresholdMs: number;
  tickMs: number;
  handshakeTimeoutMs: number;
  deltaPacingMs: number;
  /** Logs (tool errors under the swallowing fault). Default: nothing. */
  log?: (line: string) => void;
}

const PROTOCOL = 4;
const MAX_PAYLOAD = 1 << 20;
const MAX_BUFFERED = 4 << 20;
const PRE_HELLO_LIMIT = 65_536;
const DROPPABLE_EVENTS = new Set(['tick', 'heartbeat']);
/** BOUND-8: a TCP connection must complete its request head within this. */
const HEADERS_TIMEOUT_MS = 10_000;
/** AUTH-4: wrong tokens per address, a bucket of 10 refilled one per second. */
const TOKEN_BUCKET = 10;
const TOKEN_REFILL_MS = 1_000;
/** AUTH-3: what each method needs; write implies read, admin implies both. */
const METHOD_SCOPE: Record<string, string> = {
  'sessions.subscribe': 'operator.read', 'chat.history': 'operator.read', 'chat.send': 'operator.write', 'chat.abort': 'operator.write',
};
const SCOPE_IMPLIES: Record<string, string[]> = {
  'operator.read': ['operator.read'], 'operator.write': ['operator.write', 'operator.read'], 'operator.admin': ['operator.admin', 'operator.write', 'operator.read'],
};
const TOOL_REQUIRED: Record<string, string[]> = { read: ['path'], write: ['path', 'content'], edit: ['path', 'oldText', 'newText'], exec: ['command'] };
/** TOOL-3: each tool's parameters in schema order: JSON type and, for integers, the minimum. */
const TOOL_PARAMS: Record<string, [string, 'string' | 'integer', number?][]> = {
  read: [['path', 'string'], ['offset', 'integer', 1], ['limit', 'integer', 1]],
  write: [['path', 'string'], ['content', 'string']],
  edit: [['path', 'string'], ['oldText', 'string'], ['newText', 'string']],
  exec: [['command', 'string'], ['timeoutMs', 'integer', 0], ['cwd', 'string']],
};

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** TOOL-2's rendering of received arguments: compact JSON, cut at 200 code units. */
function shown(text: string): string {
  if (text.length <= 200) return text;
  const cut = /[\ud800-\udbff]/.test(text[199]!) ? 199 : 200;
  return `${text.slice(0, cut)}…(truncated, ${text.length} chars)`;
}
const BLANK_ALLOWED = new Set(['write.content', 'edit.newText']);

interface Conn {
  ws: WebSocket;
  id: string;
  ready: boolean;
  seq: number;
  subs: Set<string>;
  lastSent: number;
  lastHeard: number;
  /** Runs whose sender this connection is, until their wait ends (HB-1). */
  waits: Set<Run>;
  waitSince: Map<Run, number>;
  pinger: NodeJS.Timeout | null;
  scopes: Set<string>;
  address: string;
}

interface Run {
  runId: string;
  session: Session;
  text: string;
  sender: Conn;
  acceptedAt: number;
  queueAhead: number;
  startedAt: number | null;
  phase: 'queued' | 'waiting-main' | 'running' | 'done';
  answer: string;
  pendingDelta: string;
  lastDeltaAt: number;
  deltaTimer: NodeJS.Timeout | null;
  chatSeq: number;
  agentSeq: number;
  abort: AbortController;
  warnTimer: NodeJS.Timeout | null;
}

interface Session {
  key: string;
  /** Not-started runs holding no slot, in queue order. */
  queue: Run[];
  /** Runs holding the session slot (one, unless the no-session-lock fault). */
  holders: Run[];
  idempotency: Map<string, { runId: string; status: string; code?: string }>;
  history: { role: string; runId: string; text: string }[];
  started: number;
  lastKey: string | null;
  followupsQueued: number;
}

export class NaiveGateway {
  private readonly wss: WebSocketServer;
  private readonly http: http.Server;
  private readonly wrongTokens = new Map<string, { tokens: number; at: number }>();
  private readonly conns = new Set<Conn>();
  private readonly sessions = new Map<string, Session>();
  private readonly mainWaiters: Run[] = [];
  private mainActive = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly fault: NaiveFault | null;
  private nextConn = 0;

  private constructor(private readonly o: NaiveGatewayOptions, server: http.Server, wss: WebSocketServer) {
    this.wss = wss;
    this.http = server;
    this.fault = o.fault ?? null;
    wss.on('connection', (ws, req) => this.accept(ws, req.socket.remoteAddress ?? '?'));
    server.on('upgrade', (req, socket, head) => {
      (socket as import('node:net').Socket).setTimeout(0);
      // AUTH-2: a browser page of another origin never gets a WebSocket.
      const origin = req.headers.origin;
      const port = (server.address() as AddressInfo).port;
      if (origin !== undefined && origin !== `http://127.0.0.1:${port}` && origin !== `http://localhost:${port}`) {
        const body = JSON.stringify({ error: { code: 'ORIGIN_NOT_ALLOWED', message: `origin ${origin} not allowed` } });
        socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    });
    const hbCheck = Math.max(5, Math.floor(o.heartbeatMs / 20));
    this.timers.push(setInterval(() => this.heartbeats(), hbCheck));
    this.timers.push(setInterval(() => this.broadcast('tick', () => ({ ts: Date.now() })), o.tickMs));
    if (this.fault !== 'no-dead-peer') this.timers.push(setInterval(() => this.reapDead(), Math.max(5, Math.floor(o.deadAfterMs / 20))));
  }

  static async start(options: NaiveGatewayOptions): Promise<NaiveGateway> {
    const server = http.createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"NOT_FOUND"}}');
    });
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    // BOUND-8: a socket that never completes a request head is closed (also one that sends nothing at all).
    server.on('connection', (socket) => {
      socket.setTimeout(HEADERS_TIMEOUT_MS, () => socket.destroy());
    });
    server.on('request', (req) => req.socket.setTimeout(0));
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new NaiveGateway(options, server, wss);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sessions.values()) for (const r of [...s.holders, ...s.queue]) this.dispose(r);
    for (const c of this.conns) {
      if (c.pinger !== null) clearInterval(c.pinger);
      c.ws.terminate();
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ---------------------------------------------------------------- connections

  private accept(ws: WebSocket, address: string): void {
    const conn: Conn = { ws, id: `c${++this.nextConn}`, ready: false, seq: 0, subs: new Set(), lastSent: Date.now(), lastHeard: Date.now(), waits: new Set(), waitSince: new Map(), pinger: null, scopes: new Set(), address };
    this.conns.add(conn);
    ws.send(JSON.stringify({ type: 'event', event: 'connect.challenge', payload: { nonce: randomUUID(), ts: Date.now() } }));
    const timeout = setTimeout(() => {
      if (!conn.ready) ws.close(1008, 'handshake timeout');
    }, this.o.handshakeTimeoutMs);
    ws.on('pong', () => void (conn.lastHeard = Date.now()));
    // HB-5: each connection's pings count from its own connect.
    const pingMs = this.fault === 'pings-late' ? (this.o.pingMs * 5) / 3 : this.o.pingMs;
    conn.pinger = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.ping();
    }, pingMs);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      conn.lastHeard = Date.now();
      if (isBinary) return void ws.close(1003, 'binary frames not supported');
      const raw = data.toString();
      if (!conn.ready && Buffer.byteLength(raw) > PRE_HELLO_LIMIT) return void ws.close(1009, 'payload too large');
      let frame: unknown;
      try {
        frame = JSON.parse(raw);
      } catch {
        return void ws.close(1008, 'invalid request frame');
      }
      if (!conn.ready) {
        clearTimeout(timeout);
        this.handshake(conn, frame);
      } else this.request(conn, frame);
    });
    ws.on('close', () => {
      clearTimeout(timeout);
      if (conn.pinger !== null) clearInterval(conn.pinger);
      this.conns.delete(conn);
    });
    ws.on('error', () => {});
  }

  private handshake(conn: Conn, frame: unknown): void {
    const f = frame as { type?: unknown; id?: unknown; method?: unknown; params?: Record<string, unknown> } | null;
    if (f === null || typeof f !== 'object' || f.type !== 'req' || typeof f.id !== 'string' || f.method !== 'connect') {
      return void conn.ws.close(1008, 'invalid request frame');
    }
    const p = f.params ?? {};
    const client = p['client'] as Record<string, unknown> | undefined;
    const fail = (code: string, message: string, close: number, reason: string, details?: unknown): void => {
      this.raw(conn, { type: 'res', id: f.id, ok: false, error: { code, message, ...(details !== undefined ? { details } : {}) } });
      conn.ws.close(close, reason);
    };
    if (!Number.isInteger(p['minProtocol']) || !Number.isInteger(p['maxProtocol']) || client === undefined || typeof client !== 'object' ||
      !['id', 'version', 'platform', 'mode'].every((k) => typeof client[k] === 'string' && client[k] !== '') || p['role'] !== 'operator' ||
      !Array.isArray(p['scopes']) || !(p['scopes'] as unknown[]).every((s) => typeof s === 'string')) {
      return fail('INVALID_REQUEST', 'invalid connect params: malformed', 1008, 'invalid connect params');
    }
    if ((p['minProtocol'] as number) > PROTOCOL || (p['maxProtocol'] as number) < PROTOCOL) {
      return fail('PROTOCOL_MISMATCH', `protocol mismatch: server speaks ${PROTOCOL}`, 1002, 'protocol mismatch', { expectedProtocol: PROTOCOL });
    }
    // AUTH-4: an address out of wrong-token attempts is refused before its token is looked at.
    const now = Date.now();
    const bucket = this.wrongTokens.get(conn.address) ?? { tokens: TOKEN_BUCKET, at: now };
    bucket.tokens = Math.min(TOKEN_BUCKET, bucket.tokens + (now - bucket.at) / TOKEN_REFILL_MS);
    bucket.at = now;
    if (bucket.tokens < 1) {
      const retryAfterMs = Math.ceil((1 - bucket.tokens) * TOKEN_REFILL_MS);
      this.raw(conn, { type: 'res', id: f.id, ok: false, error: { code: 'UNAVAILABLE', message: 'too many wrong tokens: try again later', retryable: true, retryAfterMs, details: { code: 'AUTH_RATE_LIMITED' } } });
      return void conn.ws.close(1013, 'too many wrong tokens');
    }
    const token = (p['auth'] as { token?: unknown } | undefined)?.token;
    if (token !== this.o.token && this.fault !== 'accepts-wrong-token') {
      bucket.tokens -= 1;
      this.wrongTokens.set(conn.address, bucket);
      return fail('INVALID_REQUEST', 'unauthorized: gateway token mismatch', 1008, 'unauthorized', { code: 'AUTH_TOKEN_MISMATCH' });
    }
    for (const scope of p['scopes'] as string[]) for (const s of SCOPE_IMPLIES[scope] ?? []) conn.scopes.add(s);
    conn.ready = true;
    this.raw(conn, {
      type: 'res', id: f.id, ok: true, payload: {
        type: 'hello-ok', protocol: PROTOCOL, server: { name: 'naive', version: '0.0.1', connId: conn.id },
        features: { methods: ['chat.send', 'chat.abort', 'chat.history', 'sessions.subscribe', 'health'], events: ['chat', 'agent', 'tick', 'lane.status', 'heartbeat'] },
        snapshot: {}, policy: { maxPayload: MAX_PAYLOAD, maxBufferedBytes: MAX_BUFFERED, tickIntervalMs: this.o.tickMs, heartbeatIntervalMs: this.o.heartbeatMs },
      },
    });
  }

  private request(conn: Conn, frame: unknown): void {
    const f = frame as { type?: unknown; id?: unknown; method?: unknown; params?: unknown } | null;
    if (f === null || typeof f !== 'object' || typeof f.id !== 'string') return void conn.ws.close(1008, 'invalid request frame');
    const id = f.id;
    const ok = (payload: unknown): void => void this.raw(conn, { type: 'res', id, ok: true, payload });
    const err = (code: string, message: string): void => void this.raw(conn, { type: 'res', id, ok: false, error: { code, message } });
    if (f.type !== 'req' || typeof f.method !== 'string') return err('INVALID_REQUEST', 'invalid request frame');
    const p = (f.params ?? {}) as Record<string, unknown>;
    const str = (k: string): string | null => (typeof p[k] === 'string' && p[k] !== '' ? (p[k] as string) : null);
    const needed = METHOD_SCOPE[f.method];
    /** AUTH-3: true (and answered) when the connection lacks the method's scope; called after the params check. */
    const denied = (): boolean => {
      if (needed === undefined || conn.scopes.has(needed)) return false;
      this.raw(conn, { type: 'res', id, ok: false, error: { code: 'INVALID_REQUEST', message: `missing scope: ${needed}`, details: { code: 'MISSING_SCOPE', scope: needed } } });
      return true;
    };
    switch (f.method) {
      case 'connect':
        return err('INVALID_REQUEST', 'already connected');
      case 'health':
        return ok({ ok: true, ts: Date.now() });
      case 'sessions.subscribe': {
        const key = str('sessionKey');
        if (key === null) return err('INVALID_REQUEST', 'invalid sessions.subscribe params: sessionKey');
        if (denied()) return;
        const s = this.session(key);
        const fresh = !conn.subs.has(key);
        conn.subs.add(key);
        ok({ sessionKey: key, status: this.status(s, 'subscribe') });
        if (fresh && this.busy(s)) this.event(conn, 'lane.status', this.status(s, 'subscribe'));
        return;
      }
      case 'chat.send': {
        const key = str('sessionKey');
        const idem = str('idempotencyKey');
        if (key === null || idem === null || typeof p['message'] !== 'string') return err('INVALID_REQUEST', 'invalid chat.send params: sessionKey, message, idempotencyKey');
        if (denied()) return;
        return ok(this.send(conn, key, p['message'] as string, idem));
      }
      case 'chat.abort': {
        const key = str('sessionKey');
        if (key === null) return err('INVALID_REQUEST', 'invalid chat.abort params: sessionKey');
        if (denied()) return;
        return ok({ aborted: this.abort(this.session(key), typeof p['runId'] === 'string' ? p['runId'] : null) });
      }
      case 'chat.history': {
        const key = str('sessionKey');
        if (key === null) return err('INVALID_REQUEST', 'invalid chat.history params: sessionKey');
        if (denied()) return;
        const s = this.session(key);
        const limit = Number.isInteger(p['limit']) && (p['limit'] as number) > 0 ? (p['limit'] as number) : 50;
        const wanted = typeof p['runId'] === 'string' ? s.holders.find((r) => r.runId === p['runId']) : s.holders.find((r) => r.phase === 'running');
        const partial = wanted !== undefined && wanted.phase === 'running'
          ? { runId: wanted.runId, text: wanted.answer, elapsedMs: Date.now() - (wanted.startedAt ?? Date.now()) } : null;
        return ok({ sessionKey: key, messages: s.history.slice(-limit), partial });
      }
      default:
        return err('UNKNOWN_METHOD', `unknown method: ${f.method}`);
    }
  }

  // ---------------------------------------------------------------- sending frames

  private raw(conn: Conn, frame: unknown, droppable = false): boolean {
    if (conn.ws.readyState !== WebSocket.OPEN) return false;
    const text = JSON.stringify(frame);
    // WS-10 / BOUND-9: a frame that would take a reader's backlog past the bound is skipped (droppable)
    // or closes the connection (anything else: responses are never dropped).
    if (conn.ready && conn.ws.bufferedAmount > 0 && conn.ws.bufferedAmount + Buffer.byteLength(text) > MAX_BUFFERED) {
      if (droppable) return false;
      conn.ws.close(1008, 'slow consumer');
      setTimeout(() => conn.ws.terminate(), 2_000).unref();
      return false;
    }
    conn.ws.send(text);
    conn.lastSent = Date.now();
    return true;
  }

  private event(conn: Conn, event: string, payload: unknown, droppable = DROPPABLE_EVENTS.has(event)): void {
    if (!conn.ready || conn.ws.readyState !== WebSocket.OPEN) return;
    this.raw(conn, { type: 'event', event, payload, seq: ++conn.seq }, droppable);
  }

  private broadcast(event: string, payload: () => unknown): void {
    for (const c of this.conns) if (c.ready) this.event(c, event, payload());
  }

  private toSession(s: Session, event: string, payload: unknown, droppable?: boolean): void {
    for (const c of this.conns) if (c.subs.has(s.key)) this.event(c, event, payload, droppable);
  }

  private reapDead(): void {
    const now = Date.now();
    for (const c of this.conns) if (now - c.lastHeard >= this.o.deadAfterMs) c.ws.close(1001, 'no pong');
  }

  /** HB-1..HB-4: a waiting connection hears at least every heartbeatMs (sent a margin early). */
  private heartbeats(): void {
    const now = Date.now();
    const margin = Math.min(1000, Math.floor(this.o.heartbeatMs / 10));
    const due = this.fault === 'heartbeat-late' ? this.o.heartbeatMs * 1.2 : this.o.heartbeatMs - margin;
    for (const c of this.conns) {
      if (c.waits.size === 0) continue;
      const since = Math.max(c.lastSent, ...c.waitSince.values());
      if (now - since < due) continue;
      const runs = [...c.waits];
      const started = runs.filter((r) => r.startedAt !== null).sort((a, b) => a.startedAt! - b.startedAt!)[0];
      const run = started ?? runs.sort((a, b) => a.acceptedAt - b.acceptedAt)[0]!;
      const from = started !== undefined ? started.startedAt! : run.acceptedAt;
      this.event(c, 'heartbeat', { runId: run.runId, elapsedMs: Math.max(0, now - from), queued: started === undefined, sessionKey: run.session.key });
    }
  }

  // ---------------------------------------------------------------- sessions and lanes

  private session(key: string): Session {
    let s = this.sessions.get(key);
    if (s === undefined) {
      s = { key, queue: [], holders: [], idempotency: new Map(), history: [], started: 0, lastKey: null, followupsQueued: 0 };
      this.sessions.set(key, s);
    }
    return s;
  }

  private busy(s: Session): boolean {
    return s.holders.length > 0 || s.queue.length > 0;
  }

  private waiting(s: Session): Run[] {
    return [...s.holders.filter((r) => r.phase === 'waiting-main'), ...s.queue];
  }

  private send(conn: Conn, key: string, text: string, idem: string): { runId: string; status: string; code?: string } {
    const s = this.session(key);
    conn.subs.add(key);
    const seen = s.idempotency.get(idem);
    if (seen !== undefined && this.fault !== 'ignores-idempotency') {
      return seen.status === 'rejected' ? { runId: seen.runId, status: 'rejected', code: seen.code! } : { runId: seen.runId, status: 'in_flight' };
    }
    const runId = `naive-${randomUUID()}`;
    const waitingCount = this.waiting(s).length;
    if (waitingCount >= this.o.queueCap && this.busy(s)) {
      const code = 'QUEUE_FULL';
      s.idempotency.set(idem, { runId, status: 'rejected', code });
      queueMicrotask(() => this.event(conn, 'chat', { runId, sessionKey: key, seq: 0, state: 'error', errorCode: code, errorMessage: `session ${key} queue is full (cap ${this.o.queueCap}): message refused` }));
      return { runId, status: 'rejected', code };
    }
    const run: Run = {
      runId, session: s, text, sender: conn, acceptedAt: Date.now(), queueAhead: waitingCount, startedAt: null, phase: 'queued', answer: '', pendingDelta: '',
      lastDeltaAt: 0, deltaTimer: null, chatSeq: 0, agentSeq: 0, abort: new AbortController(), warnTimer: null,
    };
    s.idempotency.set(idem, { runId, status: 'accepted' });
    s.history.push({ role: 'user', runId, text });
    conn.waits.add(run);
    conn.waitSince.set(run, run.acceptedAt);
    if (!this.busy(s)) {
      // A new busy period: counts start again, and its first status is always sent.
      s.started = 0;
      s.lastKey = null;
    }
    let status: string;
    if (s.holders.length === 0 || this.fault === 'no-session-lock') {
      s.holders.push(run);
      status = this.takeMain(run) ? 'started' : 'queued';
    } else {
      s.followupsQueued++;
      if (this.fault === 'loses-second-followup' && s.followupsQueued === 2) {
        // The fault: the message is accepted and then forgotten.
        return { runId, status: 'queued' };
      }
      s.queue.push(run);
      status = 'queued';
    }
    if (run.phase !== 'running') this.armWarning(run);
    s.idempotency.set(idem, { runId, status });
    this.statusChanged(s, 'enqueue');
    return { runId, status };
  }

  private armWarning(run: Run): void {
    if (this.fault === 'warns-at-dequeue') return;
    // Timers run in whole milliseconds and Date.now() rounds down: a millisecond more, so that at the
    // firing the message has waited the threshold by the clock its waitedMs is read from (STATUS-2).
    run.warnTimer = setTimeout(() => {
      run.warnTimer = null;
      if (run.phase === 'queued' || run.phase === 'waiting-main') this.statusChanged(run.session, 'warn', true);
    }, Math.ceil(this.o.warnThresholdMs) + 1);
  }

  /** Takes a `main` slot now (true) or joins main's queue holding the session slot. */
  private takeMain(run: Run): boolean {
    if (this.mainActive < this.o.mainCap) {
      this.mainActive++;
      this.begin(run);
      return true;
    }
    run.phase = 'waiting-main';
    this.mainWaiters.push(run);
    return false;
  }

  private releaseMain(): void {
    this.mainActive--;
    const next = this.mainWaiters.shift();
    if (next !== undefined) {
      this.mainActive++;
      this.begin(next);
    }
  }

  private begin(run: Run): void {
    const s = run.session;
    if (this.fault === 'warns-at-dequeue' && Date.now() - run.acceptedAt >= this.o.warnThresholdMs) this.statusChanged(s, 'warn', true);
    if (run.warnTimer !== null) clearTimeout(run.warnTimer);
    run.phase = 'running';
    run.startedAt = Date.now();
    s.started++;
    this.agent(run, 'lifecycle', { phase: 'start' });
    this.statusChanged(s, 'start');
    void this.play(run);
  }

  /** The run's session slot is free: the next queued run takes it. */
  private finish(run: Run, state: 'final' | 'aborted' | 'error', errorMessage?: string): void {
    if (run.phase === 'done') return;
    const wasRunning = run.phase === 'running';
    const s = run.session;
    this.flushDelta(run, false);
    run.phase = 'done';
    this.dispose(run);
    const message = { role: 'assistant', content: [{ type: 'text', text: run.answer }] };
    this.toSession(s, 'chat', { runId: run.runId, sessionKey: s.key, seq: ++run.chatSeq, state, message, ...(errorMessage !== undefined ? { errorMessage } : {}) });
    this.agent(run, 'lifecycle', { phase: state === 'final' ? 'end' : state === 'aborted' ? 'aborted' : 'error' });
    if (state === 'final') s.history.push({ role: 'assistant', runId: run.runId, text: run.answer });
    this.endWait(run);
    s.holders = s.holders.filter((r) => r !== run);
    if (wasRunning) this.releaseMain();
    this.promote(s);
    this.statusChanged(s, 'end');
  }

  private promote(s: Session): void {
    if (s.holders.length > 0) return;
    const next = s.queue.shift();
    if (next === undefined) return;
    s.holders.push(next);
    this.takeMain(next);
  }

  private endWait(run: Run): void {
    run.sender.waits.delete(run);
    run.sender.waitSince.delete(run);
  }

  private dispose(run: Run): void {
    if (run.warnTimer !== null) clearTimeout(run.warnTimer);
    if (run.deltaTimer !== null) clearTimeout(run.deltaTimer);
    run.warnTimer = run.deltaTimer = null;
    run.abort.abort();
  }

  private abort(s: Session, runId: string | null): string[] {
    // Chosen before acting: aborting a running run promotes the next one, which must not be aborted too.
    const targets = [...s.holders, ...s.queue].filter((r) => (runId === null ? r.phase === 'running' : r.runId === runId));
    const aborted: string[] = [];
    for (const run of targets) {
      if (run.phase === 'running') {
        aborted.push(run.runId);
        this.finish(run, 'aborted');
      } else if (run.phase !== 'done' && this.fault !== 'abort-ignores-queued') {
        aborted.push(run.runId);
        s.queue = s.queue.filter((r) => r !== run);
        s.holders = s.holders.filter((r) => r !== run);
        const i = this.mainWaiters.indexOf(run);
        if (i >= 0) this.mainWaiters.splice(i, 1);
        run.phase = 'done';
        this.dispose(run);
        this.toSession(s, 'chat', { runId: run.runId, sessionKey: s.key, seq: 0, state: 'aborted', errorCode: 'LANE_ABORTED', errorMessage: 'aborted while queued' });
        this.endWait(run);
        this.promote(s);
        this.statusChanged(s, 'abort');
      }
    }
    return aborted;
  }

  // ---------------------------------------------------------------- lane.status

  private status(s: Session, reason: string): Record<string, unknown> {
    const now = Date.now();
    const active = s.holders.find((r) => r.phase === 'running') ?? s.holders[0] ?? null;
    const waiting = this.waiting(s).map((r, i) => ({ runId: r.runId, position: i + 1, queueAhead: r.queueAhead, waitedMs: now - r.acceptedAt, warning: now - r.acceptedAt >= this.o.warnThresholdMs }));
    const warning = waiting.some((w) => w.warning);
    const state = active !== null ? 'active' : waiting.length > 0 ? 'waiting' : 'idle';
    const payload: Record<string, unknown> = {
      lane: `session:${s.key}`, sessionKey: s.key,
      active: active === null ? null : { runId: active.runId, agentId: null, elapsedMs: active.startedAt === null ? 0 : now - active.startedAt, waitingFor: active.phase === 'waiting-main' ? 'main' : null },
      waiting, queued: waiting.length, state, processing: { index: s.started, total: s.started + waiting.length },
      warning, warnThresholdMs: this.o.warnThresholdMs,
      actions: active === null ? { cancel: null, viewPartial: null } : {
        cancel: { method: 'chat.abort', params: { sessionKey: s.key, runId: active.runId } },
        viewPartial: { method: 'chat.history', params: { sessionKey: s.key, runId: active.runId } },
      },
      reason,
    };
    if (this.fault === 'status-without-waiting') delete payload['waiting'];
    return payload;
  }

  private statusChanged(s: Session, reason: string, force = false): void {
    const p = this.status(s, reason);
    const a = p['active'] as { runId: string; waitingFor: string | null } | null;
    const w = (p['waiting'] as { runId: string; position: number; warning: boolean }[] | undefined) ?? [];
    const key = JSON.stringify([p['state'], a?.runId, a?.waitingFor, p['queued'], p['processing'], p['warning'], w.map((e) => [e.runId, e.position, e.warning])]);
    if (key === s.lastKey && !force) return;
    s.lastKey = key;
    this.toSession(s, 'lane.status', p);
  }

  // ---------------------------------------------------------------- agent runs

  private agent(run: Run, stream: string, data: unknown): void {
    this.toSession(run.session, 'agent', { runId: run.runId, sessionKey: run.session.key, seq: ++run.agentSeq, stream, data });
  }

  private delta(run: Run, text: string): void {
    run.answer += text;
    run.pendingDelta += text;
    if (this.fault === 'deltas-unpaced') return this.flushDelta(run, true);
    if (run.deltaTimer !== null) return;
    const wait = run.lastDeltaAt + this.o.deltaPacingMs - Date.now();
    if (wait <= 0) return this.flushDelta(run, true);
    run.deltaTimer = setTimeout(() => {
      run.deltaTimer = null;
      this.flushDelta(run, true);
    }, wait);
  }

  /** Sends pending text as a delta (send) or leaves it to the terminal frame's message (WS-16). */
  private flushDelta(run: Run, send: boolean): void {
    if (run.deltaTimer !== null) clearTimeout(run.deltaTimer);
    run.deltaTimer = null;
    if (!send || run.pendingDelta === '' || run.phase !== 'running') return;
    const deltaText = run.pendingDelta;
    run.pendingDelta = '';
    run.lastDeltaAt = Date.now();
    this.toSession(run.session, 'chat', {
      runId: run.runId, sessionKey: run.session.key, seq: ++run.chatSeq, state: 'delta', deltaText,
      message: { role: 'assistant', content: [{ type: 'text', text: run.answer }] },
    }, true);
  }

  private async play(run: Run): Promise<void> {
    const messages: unknown[] = [{ role: 'user', content: run.text }];
    try {
      for (let round = 0; round < 8; round++) {
        const calls = await this.complete(run, messages);
        if (run.phase !== 'running') return;
        if (calls.length === 0) return this.finish(run, 'final');
        messages.push({ role: 'assistant', content: null, tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args } })) });
        for (const c of calls) messages.push({ role: 'tool', tool_call_id: c.id, content: this.tool(c.name, c.args) });
      }
      this.finish(run, 'error', 'too many tool rounds');
    } catch (error) {
      if (run.phase === 'running') this.finish(run, 'error', `model error: ${(error as Error).message}`);
    }
  }

  /** One streamed completion: text to deltas; the tool calls it made. */
  private async complete(run: Run, messages: unknown[]): Promise<{ id: string; name: string; args: string }[]> {
    const tools = Object.entries(TOOL_REQUIRED).map(([name, required]) => ({
      type: 'function', function: { name, parameters: { type: 'object', properties: Object.fromEntries(required.map((k) => [k, { type: 'string' }])), required } },
    }));
    const res = await fetch(`${this.o.modelUrl}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, signal: run.abort.signal,
      body: JSON.stringify({ model: 'fake-model', stream: true, messages, tools }),
    });
    if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
    const calls = new Map<number, { id: string; name: string; args: string }>();
    const decoder = new TextDecoder();
    let buffer = '';
    let done = false;
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const parsed = JSON.parse(data) as { error?: { message?: string } };
        if (parsed.error !== undefined) throw new Error(`model stream error: ${parsed.error.message ?? 'unknown'}`);
        const delta = (parsed as { choices?: { delta?: { content?: string; tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[] } }[] }).choices?.[0]?.delta;
        if (typeof delta?.content === 'string' && delta.content !== '' && run.phase === 'running') this.delta(run, delta.content);
        for (const tc of delta?.tool_calls ?? []) {
          const call = calls.get(tc.index) ?? { id: '', name: '', args: '' };
          if (tc.id !== undefined) call.id = tc.id;
          if (tc.function?.name !== undefined) call.name += tc.function.name;
          if (tc.function?.arguments !== undefined) call.args += tc.function.arguments;
          calls.set(tc.index, call);
        }
      }
    }
    // A stream that ends without [DONE] was cut: the run failed, it did not finish.
    if (!done) throw new Error('model stream ended before [DONE]');
    return [...calls.values()];
  }

  /** The tool's result: an error text for a call missing a required parameter (TOOL-1/2/4/5), else a stub. */
  private tool(name: string, rawArgs: string): string {
    const required = TOOL_REQUIRED[name];
    if (required === undefined) return `Error: unknown tool '${name}'. Available tools: ${Object.keys(TOOL_REQUIRED).sort().join(', ')}.`;
    let args: unknown = {};
    if (rawArgs.trim() !== '') {
      try {
        args = JSON.parse(rawArgs);
      } catch (error) {
        return `Error: ${name} tool arguments are not valid JSON (${(error as Error).message}). Received: ${rawArgs.slice(0, 200)}`;
      }
    }
    const received = shown(JSON.stringify(args) ?? '');
    if (args === null || typeof args !== 'object' || Array.isArray(args)) return `Error: ${name} tool arguments must be a JSON object, got ${jsonType(args)}. Received: ${received}`;
    const a = { ...(args as Record<string, unknown>) };
    if (name !== 'exec' && a['path'] === undefined && a['file_path'] !== undefined) a['path'] = a['file_path'];
    for (const key of required) {
      const v = a[key];
      if (v === undefined || (typeof v === 'string' && v.trim() === '' && !BLANK_ALLOWED.has(`${name}.${key}`))) {
        const text = `Error: ${name} tool requires '${key}' parameter. Received: ${received}`;
        if (this.fault === 'swallows-tool-errors') {
          this.o.log?.(text);
          return '';
        }
        return text;
      }
    }
    for (const [key, type, minimum] of TOOL_PARAMS[name] ?? []) {
      const v = a[key];
      if (v === undefined) continue;
      const actual = jsonType(v);
      if (type === 'string' ? actual !== 'string' : actual !== 'integer') return `Error: ${name} tool parameter '${key}' must be ${type}, got ${actual}. Received: ${received}`;
      if (minimum !== undefined && (v as number) < minimum) return `Error: ${name} tool parameter '${key}' must be >= ${minimum}. Received: ${received}`;
    }
    return 'executed';
  }
}
