/**
 * The WebSocket target: any gateway that speaks protocol 4 on a URL (the
 * reference `GatewayServer`, the real OpenClaw gateway, yours), driven over
 * real sockets as a browser or a backend client would.
 *
 *   const target = websocketTarget({ url: 'ws://127.0.0.1:18789', token, modelControlUrl: 'http://127.0.0.1:4010' });
 *   await runSuite({ target, cases });
 *
 * Capabilities: `gateway` and `raw-socket`, plus `model-script` when
 * `modelControlUrl` points at lanesim's fake model (src/fake-model/server.ts)
 * that the gateway uses as its LLM.
 *
 * Time. The gateway lives in real time; a case speaks in "session units" (the
 * units of the config, of GatewayFacts and of ReceivedEvent.at). With
 * `timeScale` s, one real millisecond is s session units: an event's `at` is
 * (real ms since the session opened) x s, `sleep(ms)` and `waitFor(_, ms)`
 * wait ms / s real ms, and the facts read from hello-ok (tick interval) are
 * multiplied by s. This only makes sense when the gateway's own durations
 * (heartbeat, ticks, warn threshold, debounce) were divided by s when it was
 * started, as `startReferenceOverWebSocket` does; a gateway that runs on its
 * own timers (OpenClaw) is driven with timeScale 1.
 *
 * The fake model scales on its own: `startFakeModel({ timeScale })` divides
 * every scripted duration by its timeScale. It MUST equal the session's
 * timeScale, so that a script written in session units (`ttftMs: 15000`) is
 * lived as the gateway lives its config; `openGateway` checks it
 * (GET /control/script) and refuses to run otherwise.
 *
 * Connect frame: the one OpenClaw 2026.9.6 accepts from a backend operator:
 * `{minProtocol: 4, maxProtocol: 4, client: {id: "gateway-client", version,
 * platform: "linux", mode: "backend"}, role: "operator", scopes:
 * ["operator.read", "operator.write", "operator.admin"], auth: {token}}`.
 * While the gateway answers `UNAVAILABLE` (starting), connect retries after
 * `retryAfterMs` (with backoff) until `connectTimeoutMs`.
 *
 * Session keys: `agent:main:lanesim-<target>-<session>-<name>`, lower case
 * and [a-z0-9-] only. OpenClaw normalizes a bare key `k` to `agent:main:k`
 * and lower-cases keys, then reports the normalized key in its events; a key
 * already in that form comes back unchanged, so cases can compare it.
 */
import { performance } from 'node:perf_hooks';
import { WebSocket, type RawData } from 'ws';
import type { FakeModelScript } from '../../fake-model/script.ts';
import { startFakeModel, type FakeModelServer, type RequestLogEntry } from '../../fake-model/server.ts';
import type { ConfigInput, LanesimConfig } from '../../model/config-types.ts';
import { ConfigError, mergeConfig, parseConfig } from '../../model/config.ts';
import type { ErrorShape, ResponseFrame } from '../../model/protocol.ts';
import { HttpModelRuntime } from '../../reference-impl/http-model-runtime.ts';
import { withSpawnTool } from '../../reference-impl/spawn-tool.ts';
import { ToolRegistry } from '../../reference-impl/tool-validator.ts';
import { GatewayServer } from '../../reference-impl/ws-server.ts';
import { FULL_SUPPORT, SupportDeclarationError, parseSupport, type GatewaySupport } from '../support.ts';
import { MAX_READ_CHARS, currentCaseScope, type TranscriptDirection, type TranscriptRecorder } from '../transcript.ts';
import type {
  Capability, ConformanceTarget, GatewayFacts, GatewaySession, RawSocket, ReceivedEvent, TestClient,
} from '../types.ts';

// ------------------------------------------------------------------ options

export interface ClientInfo {
  id?: string;
  version?: string;
  platform?: string;
  mode?: string;
}

/** Liveness settings of the gateway, in session units, when known (HB-5, HB-6, WS-4). */
export interface Liveness {
  pingIntervalMs?: number;
  deadAfterMs?: number;
  handshakeTimeoutMs?: number;
  /** How long ws.heartbeat.dead-peer waits for a silent peer's close when deadAfterMs is not described (default 90 s real, tolerances.ts). */
  deadPeerWaitMs?: number;
}

/** A gateway started for one session whose configuration differs from the shared one. */
export interface ProvisionedGateway {
  url: string;
  config: LanesimConfig;
  liveness?: Liveness;
  release(): Promise<void>;
  /** Optional: a graceful stop of this gateway (WS-23), offered to the case as `session.stopGateway` (lifecycle.shutdown.*). */
  stop?(options: { abortRunning: boolean }): Promise<void>;
  /** Optional: the operator action that clears a session's queue (QUEUE-11 names no protocol method), offered as `session.clearQueue`. */
  clearQueue?(sessionKey: string): number | Promise<number>;
}

export interface WebSocketTargetOptions {
  /** `ws://127.0.0.1:<port>` */
  url: string;
  /** Sent as `auth.token`; also GatewayFacts.token. */
  token?: string;
  /** lanesim fake model base URL (`http://127.0.0.1:<port>`): enables `model-script`. */
  modelControlUrl?: string;
  /** Real ms x timeScale = session units. Default 1. */
  timeScale?: number;
  /** Overrides of what hello-ok tells (session units). */
  facts?: Partial<GatewayFacts>;
  name?: string;
  clientInfo?: ClientInfo;
  /** The configuration the gateway runs with, in session units (exposed as `session.config`). */
  config?: LanesimConfig;
  /** What is known of the gateway's liveness timers (session units; exposed as `session.liveness`). */
  liveness?: Liveness;
  /** Real ms a request waits for its response. Default 30000. */
  requestTimeoutMs?: number;
  /** Real ms connect() keeps trying (refused connections, UNAVAILABLE). Default 60000. */
  connectTimeoutMs?: number;
  /** Prefix of session keys. Default `agent:main:`. */
  sessionKeyPrefix?: string;
  /**
   * Optional: a dedicated gateway for a session that asks for a configuration
   * (`openGateway({config})`); null means the shared gateway at `url` serves it.
   */
  provision?: (config: Partial<LanesimConfig> | undefined) => Promise<ProvisionedGateway | null>;
  /** Optional: starts a fresh gateway for one case, ready or still starting (WS-6 "gateway starting"); offered as `session.startGateway`. */
  startGateway?: (options: { ready: boolean }) => Promise<{ url: string; markReady(): void; stop(): Promise<void> }>;
  /** What the gateway declares it supports (the --config file's `supports` key); default FULL_SUPPORT. */
  supports?: GatewaySupport;
}

/** Extras a WebSocket session offers on top of GatewaySession (cases duck-type them). */
export interface WebSocketSession extends GatewaySession {
  readonly config: LanesimConfig | undefined;
  readonly liveness: Liveness;
  readonly url: string;
  /** The hello-ok payload the session's probe connection got. */
  readonly hello: Record<string, unknown>;
  /** Session clock (units of ReceivedEvent.at). */
  now(): number;
  raw(options?: RawSocketOptions): Promise<WsRawSocket>;
}

export interface RawSocketOptions {
  /** Answer WebSocket pings (default true). false: a peer that looks dead (HB-6). */
  autoPong?: boolean;
}

/** A RawSocket with what the protocol cases need beyond the interface. */
export interface WsRawSocket extends RawSocket {
  /** Session time the socket opened. */
  readonly openedAt: number;
  /** Session times of the WebSocket pings received. */
  readonly pings: number[];
  /** Session times of `received`, index by index. */
  readonly receivedAt: number[];
  readonly closeInfo: { code: number; reason: string; at: number } | null;
  /** Sends `connect` (default params, or `params`) and waits for its response (null: none within the bound). */
  handshake(params?: unknown, withinMs?: number): Promise<ResponseFrame | null>;
  /** Sends a request and waits for its response (null: none within the bound, e.g. the socket closed). */
  request(method: string, params?: unknown, withinMs?: number): Promise<ResponseFrame | null>;
  /** Stop / restart reading the socket (slow consumer). */
  pause(): void;
  resume(): void;
}

export const DEFAULT_CLIENT: Required<ClientInfo> = { id: 'gateway-client', version: '0.1.0', platform: 'linux', mode: 'backend' };
export const OPERATOR_SCOPES = ['operator.read', 'operator.write', 'operator.admin'] as const;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;
/** Real-ms cap of any single wait (a case asking for Infinity). */
const MAX_WAIT_MS = 600_000;

/** The connect params the target sends (the frame OpenClaw accepts from a backend operator). */
export function connectParams(token: string | null | undefined, client: ClientInfo = {}, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    minProtocol: 4,
    maxProtocol: 4,
    client: { ...DEFAULT_CLIENT, ...client },
    role: 'operator',
    scopes: [...OPERATOR_SCOPES],
    ...(token === null || token === undefined ? {} : { auth: { token } }),
    ...overrides,
  };
}

export class ConnectError extends Error {
  constructor(message: string, readonly error: ErrorShape | null = null) {
    super(message);
    this.name = 'ConnectError';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function realWait(ms: number): number {
  if (!Number.isFinite(ms)) return MAX_WAIT_MS;
  return Math.min(MAX_WAIT_MS, Math.max(0, ms));
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

// ------------------------------------------------------------------ handshake

interface HandshakeResult {
  ws: WebSocket;
  hello: Record<string, unknown>;
  /** Frames that arrived after hello-ok before the caller took the socket over; take them with takeEarly(). */
  takeEarly(): Array<[RawData, boolean]>;
}

/**
 * Opens a socket, waits for `connect.challenge`, sends `connect` and waits
 * for hello-ok. Retries (backoff, `retryAfterMs`) while the socket is refused
 * or the gateway answers UNAVAILABLE, until `timeoutMs` real ms passed.
 * Frames after hello-ok are kept until the caller takes them (`takeEarly()`),
 * so a caller that attaches its own listener then replays them loses nothing.
 */
export async function openConnected(
  url: string,
  params: Record<string, unknown>,
  options: { timeoutMs?: number; requestTimeoutMs?: number; onOpen?: (ws: WebSocket) => void; onFrame?: HandshakeFrameListener } = {},
): Promise<HandshakeResult> {
  const deadline = performance.now() + (options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  let backoff = 100;
  let last = 'no attempt';
  for (;;) {
    const attempt = await tryHandshake(url, params, Math.min(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, Math.max(1_000, deadline - performance.now())), options.onOpen, options.onFrame);
    if ('hello' in attempt) return attempt;
    last = attempt.why;
    if (!attempt.retry) throw new ConnectError(`connect to ${url} failed: ${attempt.why}`, attempt.error ?? null);
    const wait = Math.min(Math.max(attempt.retryAfterMs ?? backoff, 50), 5_000);
    if (performance.now() + wait > deadline) throw new ConnectError(`connect to ${url} failed for ${options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS} ms; last: ${last}`, attempt.error ?? null);
    await delay(wait);
    backoff = Math.min(backoff * 2, 2_000);
  }
}

type Attempt = HandshakeResult | { retry: boolean; why: string; retryAfterMs?: number; error?: ErrorShape };

/** Sees the handshake's frames as they go (for a case's transcript): 'send' the connect, 'recv' what came before hello-ok, 'conn' a close. */
export type HandshakeFrameListener = (dir: 'send' | 'recv' | 'conn', text: string) => void;

let connectSeq = 0;

function tryHandshake(url: string, params: Record<string, unknown>, timeoutMs: number, onOpen?: (ws: WebSocket) => void, onFrame?: HandshakeFrameListener): Promise<Attempt> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let settled = false;
    let sent = false;
    const id = `connect-${++connectSeq}`;
    const finish = (result: Attempt): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.off('message', onMessage);
      if (!('hello' in result)) {
        ws.removeAllListeners('close');
        ws.on('error', () => {});
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
      }
      resolve(result);
    };
    const timer = setTimeout(() => finish({ retry: false, why: `no ${sent ? 'response to connect' : 'connect.challenge'} within ${Math.round(timeoutMs)} ms` }), timeoutMs);
    const sendConnect = (): void => {
      if (sent) return;
      sent = true;
      const text = JSON.stringify({ type: 'req', id, method: 'connect', params });
      onFrame?.('send', text);
      ws.send(text);
    };
    const onMessage = (data: RawData, isBinary: boolean): void => {
      if (isBinary) return;
      const text = rawText(data);
      onFrame?.('recv', text);
      const frame = parse(text);
      if (!isObject(frame)) return;
      if (frame.type === 'event' && frame.event === 'connect.challenge') {
        sendConnect();
        return;
      }
      if (frame.type === 'res' && frame.id === id) {
        if (frame.ok === true && isObject(frame.payload)) {
          // Events may follow hello-ok in the same chunk: keep them until the caller listens.
          const early: Array<[RawData, boolean]> = [];
          const keep = (d: RawData, b: boolean): void => void early.push([d, b]);
          ws.on('message', keep);
          finish({
            ws,
            hello: frame.payload,
            takeEarly: () => {
              ws.off('message', keep);
              return early.splice(0);
            },
          });
          return;
        }
        const error = isObject(frame.error) ? (frame.error as unknown as ErrorShape) : { code: 'UNKNOWN', message: JSON.stringify(frame) };
        if (error.code === 'UNAVAILABLE') {
          finish({ retry: true, why: `UNAVAILABLE: ${error.message}`, error, ...(typeof error.retryAfterMs === 'number' ? { retryAfterMs: error.retryAfterMs } : {}) });
          return;
        }
        finish({ retry: false, why: `${error.code}: ${error.message}`, error });
      }
    };
    ws.on('message', onMessage);
    ws.on('open', () => onOpen?.(ws));
    ws.on('error', (error) => finish({ retry: true, why: `socket error: ${error.message}` }));
    ws.on('close', (code, reason) => {
      if (!settled) onFrame?.('conn', `closed during the handshake: ${code} ${reason.toString()}`.trim());
      finish({ retry: code === 1013, why: `closed ${code} ${reason.toString()}`.trim() });
    });
  });
}

// ------------------------------------------------------------------ clients

interface Waiter {
  check(): boolean;
}

class WsTestClient implements TestClient {
  readonly events: ReceivedEvent[] = [];
  closeInfo: { code: number; reason: string; at: number } | null = null;
  private readonly pending = new Map<string, { resolve: (frame: ResponseFrame) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  private readonly waiters = new Set<Waiter>();
  private nextId = 0;
  private closing: Promise<void> | null = null;

  constructor(
    readonly name: string,
    readonly ws: WebSocket,
    private readonly session: WsSession,
    private readonly requestTimeoutMs: number,
    early: Array<[RawData, boolean]> = [],
  ) {
    for (const [data, isBinary] of early) this.onMessage(data, isBinary);
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
    ws.on('error', () => {});
    if (ws.readyState === WebSocket.CLOSED) this.closeInfo = { code: 1006, reason: 'closed during the handshake', at: session.now() };
  }

  get closed(): boolean {
    return this.closeInfo !== null || this.ws.readyState === WebSocket.CLOSED || this.ws.readyState === WebSocket.CLOSING;
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.session.record('recv', this.name, Buffer.isBuffer(data) ? data : Buffer.from(rawText(data)));
      return;
    }
    const text = rawText(data);
    this.session.record('recv', this.name, text);
    const frame = parse(text);
    if (!isObject(frame)) return;
    if (frame.type === 'res' && typeof frame.id === 'string') {
      const p = this.pending.get(frame.id);
      if (p !== undefined) {
        this.pending.delete(frame.id);
        clearTimeout(p.timer);
        p.resolve(frame as unknown as ResponseFrame);
      }
      return;
    }
    if (frame.type === 'event' && typeof frame.event === 'string') {
      const event = frame as unknown as ReceivedEvent;
      event.at = this.session.now();
      this.events.push(event);
      this.notify();
    }
  }

  private onClose(code: number, reason: string): void {
    this.session.record('conn', this.name, `closed ${code}${reason ? ` ${reason}` : ''}`);
    if (this.closeInfo === null) this.closeInfo = { code, reason, at: this.session.now() };
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`client ${this.name}: the connection closed (${code}${reason ? ` ${reason}` : ''}) before the response to ${id}`));
    }
    this.pending.clear();
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) if (w.check()) this.waiters.delete(w);
  }

  request(method: string, params?: unknown): Promise<ResponseFrame> {
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error(`client ${this.name} is closed`));
    if (method === 'chat.send' && isObject(params) && typeof params.sessionKey === 'string') this.session.used.add(params.sessionKey);
    const id = `${this.name}-${++this.nextId}`;
    return new Promise<ResponseFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`client ${this.name}: no response to ${method} (${id}) within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const text = JSON.stringify(params === undefined ? { type: 'req', id, method } : { type: 'req', id, method, params });
      this.session.record('send', this.name, text);
      this.ws.send(text, (error) => {
        if (error === undefined || error === null) return;
        const p = this.pending.get(id);
        if (p === undefined) return;
        this.pending.delete(id);
        clearTimeout(p.timer);
        reject(new Error(`client ${this.name}: could not send ${method}: ${error.message}`));
      });
    });
  }

  waitFor(predicate: (event: ReceivedEvent) => boolean, withinMs: number): Promise<ReceivedEvent | null> {
    const found = this.events.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      let index = this.events.length;
      const waiter: Waiter = {
        check: () => {
          for (; index < this.events.length; index++) {
            const e = this.events[index]!;
            if (predicate(e)) {
              clearTimeout(timer);
              resolve(e);
              return true;
            }
          }
          if (this.closeInfo !== null) {
            clearTimeout(timer);
            resolve(null);
            return true;
          }
          return false;
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(null);
      }, realWait(withinMs / this.session.timeScale));
      this.waiters.add(waiter);
    });
  }

  close(): Promise<void> {
    this.closing ??= closeSocket(this.ws);
    return this.closing;
  }
}

/** Closes a socket normally; terminates it when the peer does not complete the close within 1 s. */
function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(force);
      resolve();
    };
    const force = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 1_000);
    ws.once('close', done);
    try {
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'done');
    } catch {
      ws.terminate();
    }
  });
}

class WsRaw implements WsRawSocket {
  readonly received: unknown[] = [];
  readonly receivedAt: number[] = [];
  readonly pings: number[] = [];
  closeInfo: { code: number; reason: string; at: number } | null = null;
  readonly openedAt: number;
  private readonly waiters = new Set<Waiter>();
  private nextId = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly session: WsSession,
    readonly label = 'raw',
  ) {
    this.openedAt = session.now();
    ws.on('message', (data, isBinary) => {
      const value = isBinary ? { binary: Buffer.isBuffer(data) ? data : Buffer.from(rawText(data)) } : (() => {
        const text = rawText(data);
        session.record('recv', label, text);
        const parsed = parse(text);
        return parsed === undefined ? text : parsed;
      })();
      if (isBinary) session.record('recv', label, (value as { binary: Buffer }).binary);
      this.received.push(value);
      this.receivedAt.push(session.now());
      this.notify();
    });
    ws.on('ping', () => {
      session.record('conn', label, 'WebSocket ping');
      this.pings.push(session.now());
      this.notify();
    });
    ws.on('close', (code, reason) => {
      session.record('conn', label, `closed ${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}`);
      if (this.closeInfo === null) this.closeInfo = { code, reason: reason.toString(), at: session.now() };
      this.notify();
    });
    ws.on('error', () => {});
  }

  private notify(): void {
    for (const w of [...this.waiters]) if (w.check()) this.waiters.delete(w);
  }

  /** Resolves with `check()`'s first non-null value, or null after withinMs (session units). */
  private until<T>(check: () => T | null, withinMs: number): Promise<T | null> {
    const first = check();
    if (first !== null) return Promise.resolve(first);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        check: () => {
          const value = check();
          if (value === null) return false;
          clearTimeout(timer);
          resolve(value);
          return true;
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(check());
      }, realWait(withinMs / this.session.timeScale));
      this.waiters.add(waiter);
    });
  }

  send(data: string | Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.session.record('send', this.label, data);
    this.ws.send(data, { binary: Buffer.isBuffer(data) }, () => {});
  }

  waitClose(withinMs: number): Promise<{ code: number; reason: string } | null> {
    return this.until(() => (this.closeInfo === null ? null : { code: this.closeInfo.code, reason: this.closeInfo.reason }), withinMs);
  }

  waitFrame(predicate: (frame: unknown) => boolean, withinMs: number): Promise<unknown | null> {
    let index = 0;
    return this.until(() => {
      for (; index < this.received.length; index++) {
        const f = this.received[index];
        if (predicate(f)) return { f };
      }
      return null;
    }, withinMs).then((hit) => (hit === null ? null : hit.f));
  }

  async handshake(params?: unknown, withinMs?: number): Promise<ResponseFrame | null> {
    return this.request('connect', params ?? connectParams(this.session.facts.token, this.session.clientInfo), withinMs);
  }

  async request(method: string, params?: unknown, withinMs?: number): Promise<ResponseFrame | null> {
    const id = `raw-${++this.nextId}-${method}`;
    this.send(JSON.stringify(params === undefined ? { type: 'req', id, method } : { type: 'req', id, method, params }));
    const bound = withinMs ?? this.session.requestTimeoutMs * this.session.timeScale;
    const isIt = (f: unknown): boolean => isObject(f) && f.type === 'res' && f.id === id;
    const frame = await Promise.race([
      this.waitFrame(isIt, bound),
      // The socket closed first: stop waiting (what arrived before the close still counts).
      this.waitClose(bound).then((closed) => (closed === null ? null : this.received.find(isIt) ?? null)),
    ]);
    return (frame ?? null) as ResponseFrame | null;
  }

  pause(): void {
    (this.ws as unknown as { _socket?: { pause(): void } })._socket?.pause();
  }

  resume(): void {
    (this.ws as unknown as { _socket?: { resume(): void } })._socket?.resume();
  }

  close(): void {
    void closeSocket(this.ws);
  }
}

// ------------------------------------------------------------------ session

let sessionCounter = 0;

class WsSession implements WebSocketSession {
  readonly facts: GatewayFacts;
  readonly timeScale: number;
  readonly liveness: Liveness;
  readonly clientInfo: ClientInfo;
  readonly requestTimeoutMs: number;
  private readonly t0 = performance.now();
  /** Wall clock at t0, to place the fake model's log entries on the session clock. */
  private readonly wall0 = Date.now();
  private readonly id: number;
  private readonly clients: WsTestClient[] = [];
  private readonly raws: WsRaw[] = [];
  private closing: Promise<void> | null = null;
  /** Session keys this session named or sent to: their runs are aborted when it closes. */
  readonly used = new Set<string>();
  /** The running case's transcript (transcript.ts), when the runner opened this session. */
  private readonly transcript: TranscriptRecorder | null = currentCaseScope()?.transcript ?? null;
  private rawCount = 0;

  constructor(
    private readonly target: WsTargetState,
    readonly url: string,
    readonly hello: Record<string, unknown>,
    readonly config: LanesimConfig | undefined,
    liveness: Liveness | undefined,
    private readonly release: (() => Promise<void>) | null,
  ) {
    const o = target.options;
    this.timeScale = target.timeScale;
    this.id = ++sessionCounter;
    this.clientInfo = o.clientInfo ?? {};
    this.requestTimeoutMs = o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.liveness = { ...(o.liveness ?? {}), ...(liveness ?? {}) };
    const policy = isObject(hello.policy) ? hello.policy : {};
    const scaled = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? round(value * this.timeScale) : null);
    this.facts = {
      heartbeatIntervalMs: scaled(policy.heartbeatIntervalMs),
      warnThresholdMs: config?.agents.defaults.lane.warnThresholdMs ?? 30_000,
      tickIntervalMs: scaled(policy.tickIntervalMs),
      maxPayload: typeof policy.maxPayload === 'number' && policy.maxPayload > 0 ? policy.maxPayload : null,
      token: o.token ?? null,
      ...(o.facts ?? {}),
    };
  }

  now(): number {
    return round((performance.now() - this.t0) * this.timeScale);
  }

  /** Into the case's transcript (the token replaced by `<token>`): a frame sent or received, or a connection event. */
  record(dir: TranscriptDirection, conn: string, data: unknown): void {
    if (this.transcript === null) return;
    const token = this.facts.token;
    if (typeof data === 'string' && data.length <= MAX_READ_CHARS && token !== null && token !== '' && data.includes(token)) data = data.split(token).join('<token>');
    this.transcript.record(dir, conn, data, this.now());
  }

  async connect(name: string): Promise<TestClient> {
    if (this.closing !== null) throw new Error('session closed');
    this.record('conn', name, `open ${this.url}`);
    const { ws, takeEarly } = await openConnected(this.url, connectParams(this.facts.token, this.clientInfo), {
      timeoutMs: this.target.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      requestTimeoutMs: this.requestTimeoutMs,
      onFrame: (dir, text) => this.record(dir, name, text),
    });
    // Frames that came right after hello-ok are replayed first: no event is missed.
    const client = new WsTestClient(name, ws, this, this.requestTimeoutMs, takeEarly());
    this.clients.push(client);
    return client;
  }

  async raw(options: RawSocketOptions = {}): Promise<WsRawSocket> {
    if (this.closing !== null) throw new Error('session closed');
    const ws = new WebSocket(this.url, { perMessageDeflate: false, autoPong: options.autoPong ?? true, maxPayload: 256 * 1024 * 1024 });
    // Handlers before 'open': the challenge may come in the same tick.
    const label = `raw#${++this.rawCount}`;
    this.record('conn', label, `open ${this.url}${options.autoPong === false ? ' (answers no pings)' : ''}`);
    const raw = new WsRaw(ws, this, label);
    this.raws.push(raw);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', (error) => reject(new Error(`raw socket to ${this.url}: ${error.message}`)));
    });
    return raw;
  }

  async setModel(script: FakeModelScript): Promise<void> {
    this.record('note', 'harness', `model script: ${JSON.stringify(script)}`);
    this.target.scriptOwners.add(this);
    await this.target.postScript(script);
  }

  async modelRequests(): Promise<RequestLogEntry[]> {
    const control = this.target.modelControlUrl;
    if (control === null) throw new Error('no modelControlUrl');
    // The log comes in pages (src/fake-model/server.ts, "Request log"): follow `next` until null.
    // Bounded: each page moves `after` forward, and at most 10,000 pages are read.
    const entries: RequestLogEntry[] = [];
    let after: number | null = null;
    for (let pages = 0; pages < 10_000; pages++) {
      const res = await fetch(`${control}/control/requests${after === null ? '' : `?after=${after}`}`);
      if (!res.ok) throw new Error(`GET ${control}/control/requests: HTTP ${res.status}`);
      const body = (await res.json()) as { requests?: RequestLogEntry[]; next?: number | null };
      for (const entry of body.requests ?? []) entries.push(entry);
      const next = body.next ?? null;
      if (next === null || (after !== null && next <= after)) break;
      after = next;
    }
    if (entries.length === 0) return [];
    // The model's `t` is ms since it started (monotonic): its start on the wall clock, from the entries.
    const epochs = entries.map((e) => Date.parse(e.at) - e.t).sort((a, b) => a - b);
    const epoch = epochs[Math.floor(epochs.length / 2)]!;
    const out: RequestLogEntry[] = [];
    for (const e of entries) {
      const real = epoch + e.t - this.wall0;
      // Requests from before this session (another case's) are not this session's.
      if (real < -2) continue;
      out.push({
        ...e,
        t: round(Math.max(0, real) * this.timeScale),
        durationMs: e.durationMs === null ? null : round(e.durationMs * this.timeScale),
      });
    }
    return out.map((e, index) => ({ ...e, index }));
  }

  sleep(ms: number): Promise<void> {
    return delay(realWait(ms / this.timeScale));
  }

  sessionKey(name: string): string {
    const safe = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'session';
    const key = `${this.target.options.sessionKeyPrefix ?? 'agent:main:'}lanesim-${this.target.tag}-s${this.id}-${safe}`;
    this.used.add(key);
    return key;
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
    await Promise.all(this.raws.map((r) => closeSocket(r.ws)));
    if (this.release !== null) await this.release();
    else await this.abortLeftovers();
    // The model is shared: the script this session set is taken back when it closes (not when the next one opens, which may run beside it).
    if (this.target.scriptOwners.delete(this) && this.target.scriptOwners.size === 0) await this.target.restoreModel().catch(() => {});
  }

  /**
   * A shared gateway outlives the case: runs the case left (held, queued)
   * would occupy its global lanes during the next case. Abort every session
   * the case used (chat.abort {sessionKey}, WS-18), best effort, bounded.
   */
  private async abortLeftovers(): Promise<void> {
    if (this.used.size === 0) return;
    let ws: WebSocket | null = null;
    try {
      const opened = await openConnected(this.url, connectParams(this.facts.token, this.clientInfo), { timeoutMs: 5_000, requestTimeoutMs: 5_000 });
      ws = opened.ws;
      opened.takeEarly();
      const socket = ws;
      const pending = new Set<string>();
      const done = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5_000);
        socket.on('message', (data) => {
          const frame = parse(rawText(data));
          if (isObject(frame) && frame.type === 'res' && typeof frame.id === 'string' && pending.delete(frame.id) && pending.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        });
        socket.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      let n = 0;
      for (const sessionKey of this.used) {
        const id = `cleanup-${++n}`;
        pending.add(id);
        socket.send(JSON.stringify({ type: 'req', id, method: 'chat.abort', params: { sessionKey } }));
      }
      await done;
    } catch {
      // Best effort: a gateway that is gone has nothing left to abort.
    } finally {
      if (ws !== null) await closeSocket(ws);
    }
  }
}

// ------------------------------------------------------------------ target

class WsTargetState {
  readonly timeScale: number;
  readonly modelControlUrl: string | null;
  /** Distinguishes this target's session keys from another run's on a long-lived gateway. */
  readonly tag = Date.now().toString(36).slice(-5);
  private baseScript: unknown = null;
  private scaleChecked = false;
  /** Open sessions that set a model script of their own (the runner lets one case at a time do that, scheduleClass). */
  readonly scriptOwners = new Set<WsSession>();
  private readonly helloByUrl = new Map<string, Record<string, unknown>>();

  constructor(readonly options: WebSocketTargetOptions) {
    this.timeScale = options.timeScale ?? 1;
    if (!Number.isFinite(this.timeScale) || this.timeScale <= 0) throw new RangeError(`timeScale must be a number > 0, got ${String(options.timeScale)}`);
    this.modelControlUrl = options.modelControlUrl === undefined ? null : options.modelControlUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
  }

  /** hello-ok of the gateway at `url` (one probe connection per URL). */
  async hello(url: string): Promise<Record<string, unknown>> {
    const known = this.helloByUrl.get(url);
    if (known !== undefined) return known;
    const { ws, hello, takeEarly } = await openConnected(url, connectParams(this.options.token, this.options.clientInfo), {
      timeoutMs: this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      requestTimeoutMs: this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    });
    takeEarly();
    await closeSocket(ws);
    this.helloByUrl.set(url, hello);
    return hello;
  }

  /** Checks the fake model's timeScale once and puts its first script back for each new session. */
  async prepareModel(): Promise<void> {
    const control = this.modelControlUrl;
    if (control === null) return;
    if (!this.scaleChecked) {
      const res = await fetch(`${control}/control/script`);
      if (!res.ok) throw new Error(`GET ${control}/control/script: HTTP ${res.status} (is this lanesim's fake model?)`);
      const body = (await res.json()) as { script?: unknown; timeScale?: unknown };
      if (body.timeScale !== this.timeScale) {
        throw new Error(`the fake model at ${control} runs with timeScale ${String(body.timeScale)} but the target with ${this.timeScale}: they must be equal (start the fake model with --time-scale ${this.timeScale})`);
      }
      this.baseScript = body.script ?? 'default';
      this.scaleChecked = true;
    }
    // A session running beside one that scripted the model leaves its script alone.
    if (this.scriptOwners.size === 0) await this.postScript(this.baseScript);
  }

  /** Puts the model's first script back (its rule counters reset). */
  async restoreModel(): Promise<void> {
    if (this.modelControlUrl === null || !this.scaleChecked) return;
    await this.postScript(this.baseScript);
  }

  async postScript(script: unknown): Promise<void> {
    const control = this.modelControlUrl;
    if (control === null) throw new Error('no modelControlUrl');
    const res = await fetch(`${control}/control/script`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(script),
    });
    if (!res.ok) {
      const text = await res.text();
      throw new Error(`POST ${control}/control/script: HTTP ${res.status}: ${text.slice(0, 300)}`);
    }
  }
}

export function websocketTarget(options: WebSocketTargetOptions): ConformanceTarget {
  const state = new WsTargetState(options);
  const capabilities = new Set<Capability>(['gateway', 'raw-socket']);
  if (state.modelControlUrl !== null) capabilities.add('model-script');
  return {
    name: options.name ?? `websocket ${options.url}`,
    kind: 'websocket',
    capabilities,
    ...(options.supports !== undefined ? { supports: options.supports } : {}),
    openGateway: async (o: { config?: Partial<LanesimConfig> }): Promise<GatewaySession> => {
      const provisioned = options.provision === undefined ? null : await options.provision(o.config);
      try {
        const url = provisioned?.url ?? options.url;
        const hello = await state.hello(url);
        await state.prepareModel();
        const session = new WsSession(state, url, hello, provisioned?.config ?? options.config, provisioned?.liveness, provisioned === null ? null : () => provisioned.release());
        // Lifecycle hooks the cases duck-type (cases/lifecycle.ts, protocol.ts ws.handshake.gateway-starting).
        if (provisioned?.stop !== undefined) Object.assign(session, { stopGateway: provisioned.stop });
        if (provisioned?.clearQueue !== undefined) Object.assign(session, { clearQueue: provisioned.clearQueue });
        if (options.startGateway !== undefined) Object.assign(session, { startGateway: options.startGateway });
        return session;
      } catch (error) {
        await provisioned?.release();
        throw error;
      }
    },
  };
}

// ------------------------------------------------------------------ a black box's configuration

/** What a black-box gateway's configuration tells the suite: `config` and `liveness` for websocketTarget. */
export interface BlackBoxConfig {
  /** The whole configuration, defaults filled in (CFG-1): exposed as `session.config`. */
  config: LanesimConfig;
  /** Only the liveness timers the input sets explicitly (a default would claim what the gateway may not do). */
  liveness: Liveness;
  /** `heartbeatIntervalMs` when the input sets gateway.heartbeat.intervalMs (else hello-ok's policy tells it, or HB-1's default applies). */
  facts: Partial<GatewayFacts>;
  /** The file's `supports` key (support.ts), made whole; FULL_SUPPORT when absent. */
  supports: GatewaySupport;
}

/**
 * Describes a gateway the suite does not start (OpenClaw, yours) from a
 * configuration in lanesim's shape (docs/SPEC.md CFG-1: agents.defaults
 * maxConcurrent, messages.queue {mode, cap, drop, debounceMs, byChannel},
 * agents.defaults.lane.warnThresholdMs, gateway.heartbeat, ...): parsed with
 * parseConfig (defaults filled, aliases resolved; throws ConfigError), so the
 * cases that need a given queue mode, cap or threshold run instead of being
 * n/a. `gateway.heartbeat.pingIntervalMs` and `deadAfterMs` become liveness
 * facts only when the input sets them: their defaults would promise pings and
 * dead-peer closes the gateway may not make; `intervalMs`, when set, is the
 * heartbeat bound the HB cases hold it to (facts). Used by `lanesim conform --config`
 * and by scripts/openclaw-peer.ts alike.
 */
export function blackBoxConfig(input: ConfigInput, source?: string): BlackBoxConfig {
  // `supports` describes the gateway to the suite, not its configuration: taken out before CFG-1 parsing.
  let supports: GatewaySupport = FULL_SUPPORT;
  if (input !== null && typeof input === 'object' && 'supports' in input) {
    const { supports: declared, ...rest } = input as ConfigInput & { supports?: unknown };
    try {
      supports = parseSupport(declared, `${source ?? 'config'}: supports`);
    } catch (error) {
      if (error instanceof SupportDeclarationError) throw new ConfigError([{ kind: 'invalid-value', path: 'supports', value: declared, message: `config${source !== undefined ? ` (${source})` : ''}: ${error.message}` }], source);
      throw error;
    }
    input = rest;
  }
  const config = parseConfig(input, source === undefined ? {} : { source });
  const hb = (input as { gateway?: { heartbeat?: { intervalMs?: unknown; pingIntervalMs?: unknown; deadAfterMs?: unknown } } }).gateway?.heartbeat;
  const liveness: Liveness = {};
  if (hb?.pingIntervalMs !== undefined) liveness.pingIntervalMs = config.gateway.heartbeat.pingIntervalMs;
  if (hb?.deadAfterMs !== undefined) liveness.deadAfterMs = config.gateway.heartbeat.deadAfterMs;
  const facts: Partial<GatewayFacts> = hb?.intervalMs !== undefined ? { heartbeatIntervalMs: config.gateway.heartbeat.intervalMs } : {};
  return { config, liveness, facts, supports };
}

// ------------------------------------------------------------------ the reference over WebSocket

export interface ReferenceOverWebSocket {
  target: ConformanceTarget;
  /** The shared gateway (sessions asking for another configuration get their own). */
  server: GatewayServer;
  model: FakeModelServer;
  token: string;
  stop(): Promise<void>;
}

/** Every duration of the gateway's config divided by `scale` (the gateway lives them in real ms). */
export function scaleConfig(config: LanesimConfig, scale: number): LanesimConfig {
  const d = (ms: number): number => ms / scale;
  return {
    ...config,
    agents: {
      ...config.agents,
      defaults: {
        ...config.agents.defaults,
        lane: { ...config.agents.defaults.lane, warnThresholdMs: d(config.agents.defaults.lane.warnThresholdMs) },
      },
    },
    messages: { ...config.messages, queue: { ...config.messages.queue, debounceMs: d(config.messages.queue.debounceMs) } },
    diagnostics: { ...config.diagnostics, laneWaitWarnMs: d(config.diagnostics.laneWaitWarnMs) },
    gateway: {
      ...config.gateway,
      heartbeat: {
        intervalMs: d(config.gateway.heartbeat.intervalMs),
        pingIntervalMs: d(config.gateway.heartbeat.pingIntervalMs),
        deadAfterMs: d(config.gateway.heartbeat.deadAfterMs),
      },
      tickIntervalMs: d(config.gateway.tickIntervalMs),
    },
  };
}

/** WS-4's handshake timeout (session units). */
const HANDSHAKE_TIMEOUT_MS = 15_000;

/**
 * The reference gateway over real WebSockets, for tests: a fake model
 * (timeScale = scale) and a GatewayServer whose config has every duration
 * divided by scale, agents played by HttpModelRuntime at the fake model,
 * a token required. A session asking for another configuration
 * (`openGateway({config})`) gets a gateway of its own with that config
 * (same fake model, same scaling), stopped when the session closes.
 */
export async function startReferenceOverWebSocket(options: { scale: number; config?: ConfigInput; token?: string; seed?: number; name?: string }): Promise<ReferenceOverWebSocket> {
  const scale = options.scale;
  if (!Number.isFinite(scale) || scale <= 0) throw new RangeError(`scale must be a number > 0, got ${String(scale)}`);
  const token = options.token ?? 'lanesim-test-token';
  const baseInput: ConfigInput = options.config ?? {};
  const baseConfig = parseConfig(baseInput);
  const model = await startFakeModel({ script: 'default', seed: options.seed ?? 1, timeScale: scale });
  const extra = new Set<GatewayServer>();
  const start = async (config: LanesimConfig, ready = true): Promise<GatewayServer> => {
    const tools = new ToolRegistry();
    return GatewayServer.start({
      config: scaleConfig(config, scale),
      // The spawn tool (LANE-24) as in process, so nested.spawn.* runs over the wire too.
      runtime: withSpawnTool(new HttpModelRuntime({ baseUrl: model.url, tools })),
      tools,
      token,
      port: 0,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS / scale,
      retryAfterMs: Math.max(1, 1_000 / scale),
      ready,
    });
  };
  const liveness = (config: LanesimConfig): Liveness => ({
    pingIntervalMs: config.gateway.heartbeat.pingIntervalMs,
    deadAfterMs: config.gateway.heartbeat.deadAfterMs,
    handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
  });
  let server: GatewayServer;
  try {
    server = await start(baseConfig);
  } catch (error) {
    await model.close();
    throw error;
  }
  const baseJson = JSON.stringify(baseConfig);
  const target = websocketTarget({
    url: server.url,
    token,
    modelControlUrl: model.url,
    timeScale: scale,
    name: options.name ?? `reference over WebSocket (x${scale})`,
    config: baseConfig,
    liveness: liveness(baseConfig),
    // Real-time bounds: a request or a connect on a loaded machine.
    requestTimeoutMs: 15_000,
    connectTimeoutMs: 15_000,
    provision: async (requested) => {
      if (requested === undefined) return null;
      const config = parseConfig(mergeConfig(baseInput, requested as ConfigInput));
      if (JSON.stringify(config) === baseJson) return null;
      const own = await start(config);
      extra.add(own);
      return {
        url: own.url,
        config,
        liveness: liveness(config),
        release: async () => {
          extra.delete(own);
          await own.stop({ abortRunning: true, drainTimeoutMs: 200 });
        },
        stop: (o) => own.stop({ abortRunning: o.abortRunning, drainTimeoutMs: 5_000 }),
        clearQueue: (sessionKey) => own.gateway.router.clear(sessionKey),
      };
    },
    startGateway: async ({ ready }) => {
      const own = await start(baseConfig, ready);
      extra.add(own);
      return {
        url: own.url,
        markReady: () => own.markReady(),
        stop: async () => {
          extra.delete(own);
          await own.stop({ abortRunning: true, drainTimeoutMs: 200 });
        },
      };
    },
  });
  return {
    target,
    server,
    model,
    token,
    stop: async () => {
      await Promise.all([...extra].map((s) => s.stop({ abortRunning: true, drainTimeoutMs: 200 })));
      await server.stop({ abortRunning: true, drainTimeoutMs: 200 });
      await model.close();
    },
  };
}
