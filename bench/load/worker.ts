/**
 * A load bench worker process: runs a slice of the clients (real `ws`
 * sockets), each doing the gateway handshake (challenge, `connect`,
 * `hello-ok`) and then keeping a session busy:
 *
 * - a streaming client sends one `[stream]` message: its run streams tokens;
 * - a waiting client sends a `[hold]` message (its run is active but silent)
 *   and, once that is accepted, a `[queued]` message that waits behind it.
 *
 * From the moment its first message is accepted (its `res` arrives) until the
 * coordinator says stop, a client waits on a run, so every frame it receives
 * closes a gap: the gap since the previous frame. The silence still open when
 * the window closes counts as a gap too (a client that stopped hearing
 * anything is caught). A client whose runs all settle earlier stops being
 * measured at that moment (`settledEarly`). WebSocket pings are not frames
 * (HB-1): `ws` answers them without surfacing them here.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { WebSocket, type RawData } from 'ws';
import {
  MARK_HOLD, MARK_QUEUED, MARK_STREAM, encodeHist, isStreamingClient, lagOf, newHist, recordMs,
  type FromWorker, type ToWorker, type WorkerInit, type WorstClient,
} from './shared.ts';

function send(message: FromWorker): void {
  if (process.connected) process.send?.(message);
}

process.on('disconnect', () => process.exit(0));

const State = { Idle: 0, Connecting: 1, Open: 2, Closed: 3 } as const;
type State = (typeof State)[keyof typeof State];

interface Client {
  readonly index: number;
  readonly sessionKey: string;
  readonly streaming: boolean;
  ws: WebSocket | null;
  state: State;
  startedAt: number;
  connectedAt: number;
  connectTimer: NodeJS.Timeout | null;
  attempts: number;
  /** Gap measurement: open from the first accepted message until stop (or until everything settled). */
  windowOpen: boolean;
  windowDone: boolean;
  lastFrame: number;
  maxGap: number;
  /** Gaps counting only own-session and server-wide frames. */
  lastOwn: number;
  maxOwnGap: number;
  maxGapEnd: number;
  maxGapOpen: boolean;
  frames: number;
  /** runIds this client waits on. */
  readonly pending: Set<string>;
  /** runIds that settled before their response named them. */
  readonly settledUnknown: Set<string>;
  /** chat.send requests not answered yet. */
  sendsOut: number;
  /** id -> what the request was, and when it was sent. */
  readonly requests: Map<string, { kind: 'connect' | 'send1' | 'send2'; at: number }>;
  nextId: number;
}

let init: WorkerInit;
const clients: Client[] = [];
let nextToStart = 0;
let inFlight = 0;
let attempted = 0;
let connected = 0;
let failed = 0;
let waitingNow = 0;
let measured = 0;
let settledEarly = 0;
let frames = 0;
let bytes = 0;
let stopping = false;
let connectedAllSent = false;
let firstWindowAt = Number.POSITIVE_INFINITY;
let maxClosedGap = 0;
const frameKinds: Record<string, number> = {};
const errors: Record<string, number> = {};
const unexpectedCloses: Record<string, number> = {};
/** Handshakes tried again (the gateway said "not now"), by reason. */
const retries: Record<string, number> = {};
const connectHist = newHist();
const acceptHist = newHist();
const gapHistWaiting = newHist();
const gapHistStreaming = newHist();
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
/** performance.now() -> epoch ms */
const epochOffset = Date.now() - performance.now();

function count(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

function errorCount(): number {
  let n = 0;
  for (const v of Object.values(errors)) n += v;
  return n;
}

function closeCount(): number {
  let n = 0;
  for (const v of Object.values(unexpectedCloses)) n += v;
  return n;
}

// ------------------------------------------------------------ connecting

function pump(): void {
  while (!stopping && inFlight < init.connectConcurrency && nextToStart < clients.length) {
    const c = clients[nextToStart++]!;
    attempted++;
    inFlight++;
    open(c);
  }
  if (!connectedAllSent && attempted === clients.length && inFlight === 0) {
    connectedAllSent = true;
    send({ type: 'connected-all', workerIndex: init.workerIndex, connected, failed });
  }
}

function open(c: Client): void {
  c.state = State.Connecting;
  c.attempts++;
  if (c.attempts === 1) c.startedAt = performance.now();
  const ws = new WebSocket(init.url, { perMessageDeflate: false, handshakeTimeout: init.connectTimeoutMs });
  c.ws = ws;
  if (c.connectTimer === null) {
    c.connectTimer = setTimeout(() => {
      c.connectTimer = null;
      if (c.state === State.Connecting) {
        count(errors, 'connect-timeout');
        fail(c);
      }
    }, init.connectTimeoutMs);
  }
  ws.on('unexpected-response', (req, res) => {
    // An HTTP answer instead of the upgrade: 503/429 mean "not now" (OpenClaw caps pre-auth
    // connections per IP at 32): try again shortly, within the connect timeout.
    const status = res.statusCode ?? 0;
    res.resume();
    c.ws = null;
    req.destroy();
    ws.terminate();
    if ((status === 503 || status === 429) && c.state === State.Connecting && !stopping) {
      count(retries, `http-${status}`);
      setTimeout(() => {
        if (c.state === State.Connecting && !stopping) open(c);
      }, 100 + Math.random() * 400);
      return;
    }
    count(errors, `upgrade-refused:${status}`);
    c.ws = ws;
    fail(c);
  });
  ws.on('message', (data, isBinary) => onFrame(c, ws, data, isBinary));
  ws.on('error', (error: Error & { code?: string }) => {
    if (stopping || c.ws !== ws) return;
    count(errors, `ws-error:${error.code ?? error.message.slice(0, 60)}`);
  });
  ws.on('close', (code, reason) => onClose(c, ws, code, reason.toString()));
}

/** The client never got connected: it is out of the run. */
function fail(c: Client): void {
  if (c.state !== State.Connecting) return;
  c.state = State.Closed;
  failed++;
  if (c.connectTimer !== null) clearTimeout(c.connectTimer);
  c.connectTimer = null;
  const ws = c.ws;
  c.ws = null;
  ws?.terminate();
  inFlight--;
  pump();
}

function request(c: Client, ws: WebSocket, kind: 'connect' | 'send1' | 'send2', method: string, params: unknown): void {
  const id = `${kind}-${++c.nextId}`;
  c.requests.set(id, { kind, at: performance.now() });
  ws.send(JSON.stringify({ type: 'req', id, method, params }));
}

function connectParams(): Record<string, unknown> {
  return {
    minProtocol: 4,
    maxProtocol: 4,
    // The client shape that OpenClaw 2026.9.6 accepts with token auth (brief §6); the reference accepts it too.
    client: { id: 'gateway-client', version: '0.0.1', platform: 'linux', mode: 'backend' },
    role: 'operator',
    scopes: ['operator.read', 'operator.write', 'operator.admin'],
    ...(init.token === null ? {} : { auth: { token: init.token } }),
  };
}

function sendMessage(c: Client, ws: WebSocket, which: 1 | 2): void {
  const marker = which === 2 ? MARK_QUEUED : c.streaming ? MARK_STREAM : MARK_HOLD;
  c.sendsOut++;
  request(c, ws, which === 1 ? 'send1' : 'send2', 'chat.send', {
    sessionKey: c.sessionKey,
    message: `${marker} load client ${c.index} message ${which}`,
    idempotencyKey: `${c.sessionKey}-${which}`,
  });
}

// ------------------------------------------------------------ frames

const EVENT_RE = /"event":"([^"]{1,64})"/;

function onFrame(c: Client, ws: WebSocket, data: RawData, isBinary: boolean): void {
  if (c.ws !== ws) return;
  const now = performance.now();
  const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  frames++;
  bytes += buf.length;
  c.frames++;
  if (c.windowOpen && !c.windowDone) {
    const gap = now - c.lastFrame;
    recordMs(c.streaming ? gapHistStreaming : gapHistWaiting, gap);
    if (gap > c.maxGap) {
      c.maxGap = gap;
      c.maxGapEnd = now;
      c.maxGapOpen = false;
    }
    if (gap > maxClosedGap) maxClosedGap = gap;
    c.lastFrame = now;
    // The same, counting only frames about this client's own session or server-wide ones (tick,
    // heartbeat): what a chat page that shows one session sees. A gateway that sends every
    // session's events to every client (OpenClaw's operator connections) differs here.
    if (!isBinary && !aboutOtherSession(c, buf)) {
      const own = now - c.lastOwn;
      if (own > c.maxOwnGap) c.maxOwnGap = own;
      c.lastOwn = now;
    }
  }
  if (isBinary) {
    count(errors, 'binary-frame');
    return;
  }
  const head = buf.toString('latin1', 0, Math.min(buf.length, 240));
  if (head.includes('"type":"res"')) {
    count(frameKinds, 'res');
    onResponse(c, ws, parse(buf), now);
    return;
  }
  const m = EVENT_RE.exec(head);
  const event = m?.[1] ?? null;
  if (event === null) {
    const frame = parse(buf) as { type?: unknown; event?: unknown } | null;
    if (frame?.type === 'res') {
      count(frameKinds, 'res');
      onResponse(c, ws, frame, now);
    } else if (frame !== null && typeof frame.event === 'string') {
      count(frameKinds, frame.event);
      onEvent(c, ws, frame.event, frame);
    } else count(frameKinds, 'other');
    return;
  }
  count(frameKinds, event);
  if (event === 'chat' && head.includes('"state":"delta"')) return;
  if (event === 'chat' || event === 'connect.challenge') onEvent(c, ws, event, parse(buf));
}

const SESSION_KEY = Buffer.from('"sessionKey":"');

/** Does the frame name a session (`"sessionKey":"..."`, first occurrence) that is not this client's? */
function aboutOtherSession(c: Client, buf: Buffer): boolean {
  const at = buf.indexOf(SESSION_KEY);
  if (at < 0) return false;
  const start = at + SESSION_KEY.length;
  const end = buf.indexOf(0x22, start); // closing quote
  if (end < 0) return false;
  const key = buf.toString('utf8', start, end);
  // OpenClaw qualifies keys: `agent:main:<key>`.
  return key !== c.sessionKey && !key.endsWith(`:${c.sessionKey}`);
}

function parse(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8')) as unknown;
  } catch {
    count(errors, 'bad-json');
    return null;
  }
}

function onEvent(c: Client, ws: WebSocket, event: string, frame: unknown): void {
  if (event === 'connect.challenge') {
    if (c.state === State.Connecting) request(c, ws, 'connect', 'connect', connectParams());
    return;
  }
  if (event !== 'chat') return;
  const p = (frame as { payload?: { runId?: unknown; state?: unknown; carriedBy?: unknown; errorCode?: unknown; errorKind?: unknown; errorMessage?: unknown } } | null)?.payload;
  if (p === undefined || typeof p.runId !== 'string') return;
  const runId = p.runId;
  const state = p.state;
  if (state === 'final' || state === 'error' || state === 'aborted') {
    if (c.pending.delete(runId)) {
      if (state !== 'final') {
        const why = p.errorCode ?? p.errorKind ?? p.errorMessage;
        count(errors, `chat-${state}${typeof why === 'string' ? `:${why.slice(0, 80)}` : ''}`);
      }
      maybeSettled(c);
    } else c.settledUnknown.add(runId);
  } else if (state === 'status' && typeof p.carriedBy === 'string' && c.pending.delete(runId)) {
    c.pending.add(p.carriedBy);
  }
}

function onResponse(c: Client, ws: WebSocket, frame: unknown, now: number): void {
  const f = frame as { id?: unknown; ok?: unknown; payload?: { runId?: unknown; status?: unknown }; error?: { code?: unknown; retryAfterMs?: unknown } } | null;
  if (f === null || typeof f.id !== 'string') return;
  const req = c.requests.get(f.id);
  if (req === undefined) return;
  c.requests.delete(f.id);
  if (req.kind === 'connect') {
    if (f.ok === true) {
      if (c.state !== State.Connecting) return;
      c.state = State.Open;
      if (c.connectTimer !== null) clearTimeout(c.connectTimer);
      c.connectTimer = null;
      c.connectedAt = Date.now();
      recordMs(connectHist, now - c.startedAt);
      connected++;
      inFlight--;
      sendMessage(c, ws, 1);
      pump();
      return;
    }
    const code = String(f.error?.code ?? 'unknown');
    const retryAfter = typeof f.error?.retryAfterMs === 'number' ? f.error.retryAfterMs : null;
    if (code === 'UNAVAILABLE' && retryAfter !== null && c.state === State.Connecting) {
      // The gateway is starting (WS-6): try again after the time it asks for, within the connect timeout.
      count(retries, 'unavailable');
      c.ws = null;
      ws.terminate();
      setTimeout(() => {
        if (c.state === State.Connecting && !stopping) open(c);
      }, Math.min(retryAfter, 5_000));
      return;
    }
    count(errors, `connect:${code}`);
    fail(c);
    return;
  }
  c.sendsOut--;
  if (f.ok !== true) {
    count(errors, `chat.send:${String(f.error?.code ?? 'unknown')}`);
    maybeSettled(c);
    return;
  }
  const runId = f.payload?.runId;
  const status = f.payload?.status;
  if (status === 'rejected') count(errors, 'chat.send:rejected');
  else if (typeof runId === 'string' && !c.settledUnknown.delete(runId)) c.pending.add(runId);
  if (req.kind === 'send1') {
    recordMs(acceptHist, now - req.at);
    if (!c.windowOpen) {
      // HB-1: the wait starts when the message is accepted; this response is its first frame.
      c.windowOpen = true;
      c.lastFrame = now;
      c.lastOwn = now;
      measured++;
      waitingNow++;
      if (now < firstWindowAt) firstWindowAt = now;
    }
    if (!c.streaming && init.queueSecond) sendMessage(c, ws, 2);
  }
  maybeSettled(c);
}

/** Everything the client waited on has settled: it is no longer waiting, so it is no longer measured. */
function maybeSettled(c: Client): void {
  if (!c.windowOpen || c.windowDone || c.pending.size > 0 || c.sendsOut > 0 || stopping) return;
  c.windowDone = true;
  waitingNow--;
  settledEarly++;
}

function onClose(c: Client, ws: WebSocket, code: number, reason: string): void {
  if (c.ws !== ws) return;
  if (c.state === State.Connecting) {
    if (!stopping) count(errors, `closed-before-hello:${code}${reason ? ` ${reason}` : ''}`);
    fail(c);
    return;
  }
  if (c.state !== State.Open) return;
  c.state = State.Closed;
  if (stopping) return;
  count(unexpectedCloses, `${code}${reason ? ` ${reason}` : ''}`);
  if (c.windowOpen && !c.windowDone) {
    closeWindow(c, performance.now());
    waitingNow--;
  }
}

// ------------------------------------------------------------ reporting

function openGapNow(now: number): number {
  let worst = 0;
  for (const c of clients) {
    if (c.windowOpen && !c.windowDone) {
      const gap = now - c.lastFrame;
      if (gap > worst) worst = gap;
    }
  }
  return worst;
}

function progress(): void {
  send({
    type: 'progress',
    workerIndex: init.workerIndex,
    attempted,
    connected,
    waiting: waitingNow,
    failed,
    frames,
    bytes,
    errors: errorCount(),
    unexpectedCloses: closeCount(),
    maxGapMs: maxClosedGap,
    openGapMs: openGapNow(performance.now()),
    lagMaxMs: lag.max / 1e6,
  });
}

function stop(boundMs: number, toleranceMs: number): void {
  const now = performance.now();
  stopping = true;
  const maxGapHist = newHist();
  const ownMaxGapHist = newHist();
  let worst: Client | null = null;
  let overBound = 0;
  for (const c of clients) {
    if (c.connectTimer !== null) clearTimeout(c.connectTimer);
    c.connectTimer = null;
    if (!c.windowOpen) continue;
    if (!c.windowDone) closeWindow(c, now);
    recordMs(maxGapHist, c.maxGap);
    recordMs(ownMaxGapHist, c.maxOwnGap);
    if (c.maxGap > boundMs + toleranceMs) overBound++;
    if (worst === null || c.maxGap > worst.maxGap) worst = c;
  }
  const worstClient: WorstClient | null = worst === null ? null : {
    index: worst.index,
    sessionKey: worst.sessionKey,
    streaming: worst.streaming,
    maxGapMs: worst.maxGap,
    gapEndedAt: worst.maxGapEnd + epochOffset,
    open: worst.maxGapOpen,
    frames: worst.frames,
    connectedAt: worst.connectedAt,
  };
  send({
    type: 'result',
    workerIndex: init.workerIndex,
    clients: clients.length,
    connected,
    measured,
    failed: failed + (clients.length - attempted),
    settledEarly,
    frames,
    bytes,
    frameKinds,
    errors,
    unexpectedCloses,
    retries,
    connectHist: encodeHist(connectHist),
    gapHistWaiting: encodeHist(gapHistWaiting),
    gapHistStreaming: encodeHist(gapHistStreaming),
    maxGapHist: encodeHist(maxGapHist),
    ownMaxGapHist: encodeHist(ownMaxGapHist),
    acceptHist: encodeHist(acceptHist),
    worst: worstClient,
    overBound,
    lag: lagOf(lag),
    windowMs: Number.isFinite(firstWindowAt) ? now - firstWindowAt : 0,
  });
}

let progressTimer: NodeJS.Timeout | null = null;

process.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'init': {
      init = message;
      for (let i = 0; i < init.count; i++) {
        const index = init.first + i;
        clients.push({
          index,
          sessionKey: `${init.sessionPrefix}${index}`,
          streaming: isStreamingClient(index, init.streamingShare),
          ws: null,
          state: State.Idle,
          startedAt: 0,
          connectedAt: 0,
          connectTimer: null,
          attempts: 0,
          windowOpen: false,
          windowDone: false,
          lastFrame: 0,
          maxGap: 0,
          lastOwn: 0,
          maxOwnGap: 0,
          maxGapEnd: 0,
          maxGapOpen: false,
          frames: 0,
          pending: new Set(),
          settledUnknown: new Set(),
          sendsOut: 0,
          requests: new Map(),
          nextId: 0,
        });
      }
      progressTimer = setInterval(progress, 500);
      send({ type: 'ready' });
      pump();
      return;
    }
    case 'stop':
      if (progressTimer !== null) clearInterval(progressTimer);
      stop(message.boundMs, message.toleranceMs);
      return;
    case 'exit':
      process.exit(0);
  }
});

/** Ends a client's measuring window: the silence still open then is a gap too (a lower bound of it). */
function closeWindow(c: Client, now: number): void {
  if (now - c.lastOwn > c.maxOwnGap) c.maxOwnGap = now - c.lastOwn;
  const gap = now - c.lastFrame;
  if (gap > c.maxGap) {
    c.maxGap = gap;
    c.maxGapEnd = now;
    c.maxGapOpen = true;
  }
  c.windowDone = true;
}
