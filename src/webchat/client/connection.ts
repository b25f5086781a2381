/**
 * The page's WebSocket to the gateway (docs/SPEC.md WS-*): challenge and
 * `connect` (WS-3..WS-5), requests with ids, events; a liveness watchdog
 * driven by `hello-ok.policy`; reconnection with exponential backoff and
 * jitter.
 *
 * Liveness. While the page waits on a message it sent, the gateway owes it a
 * frame at least every `policy.heartbeatIntervalMs` (HB-1): silence longer
 * than that plus a margin means the connection looks lost. A page that waits
 * on nothing is owed nothing but the `tick` (WS-12), so after
 * `tickIntervalMs` plus the margin of silence it sends a cheap `health`
 * probe, and only a probe unanswered for the heartbeat bound counts as lost.
 */
import type { ErrorShape, HelloOk, ResponseFrame } from '../../model/protocol.ts';

export type ConnState = 'connecting' | 'connected' | 'lost' | 'reconnecting' | 'unauthorized' | 'stopped';

export interface ConnectionOptions {
  url: string;
  token: string | null;
  clientVersion: string;
  /** True while the page waits on a message it sent (HB-1 applies). */
  isWaiting(): boolean;
  onHello(hello: HelloOk): void;
  onEvent(event: string, payload: unknown, seq: number | undefined): void;
  onState(state: ConnState, detail: string): void;
  /** Every frame received (for liveness displays and the page's debug record). */
  onFrame?(now: number): void;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export class RequestError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** A parsed frame before it is known to be an event or a response (WS-2). */
interface InboundFrame {
  type?: unknown;
  id?: unknown;
  event?: unknown;
  payload?: unknown;
  seq?: number;
  ok?: unknown;
  error?: ErrorShape;
}

interface Pending {
  resolve(payload: unknown): void;
  reject(error: Error): void;
}

/** Before hello-ok there is no policy yet: the reference defaults (HB-4, WS-12). */
const DEFAULT_HEARTBEAT_MS = 15_000;
const DEFAULT_TICK_MS = 30_000;
const HANDSHAKE_BOUND_MS = 10_000;

/** The slack allowed over a promised interval: half of it, between 0.5 s and 5 s. */
export function livenessMarginMs(intervalMs: number): number {
  return Math.min(5_000, Math.max(500, Math.round(intervalMs / 2)));
}

/** Exponential backoff with jitter: attempt 1 waits base..base/2, doubling up to max. */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

export class GatewayConnection {
  private ws: WebSocket | null = null;
  private hello: HelloOk | null = null;
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  private lastFrameAt = 0;
  private probeSentAt: number | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private stopped = false;
  /** performance.now() of every connection attempt (the page's debug record). */
  readonly attempts: number[] = [];

  constructor(private readonly options: ConnectionOptions) {}

  get connected(): boolean {
    return this.hello !== null && this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  get policy(): HelloOk['policy'] | null {
    return this.hello?.policy ?? null;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.clearRetry();
    this.stopWatchdog();
    const ws = this.ws;
    this.ws = null;
    this.hello = null;
    ws?.close(1000, 'page closed');
    this.rejectPending('connection closed');
    this.options.onState('stopped', '');
  }

  /** Sends a request; rejects when not connected, on an error response, or when the connection drops first. */
  request<T = unknown>(method: string, params: unknown): Promise<T> {
    const ws = this.ws;
    if (ws === null || this.hello === null || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new RequestError('NOT_CONNECTED', 'not connected'));
    }
    const id = `w${++this.nextId}`;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: (p) => resolve(p as T), reject });
      ws.send(JSON.stringify({ type: 'req', id, method, params }));
    });
  }

  // ------------------------------------------------------------ socket

  private open(): void {
    this.clearRetry();
    if (this.stopped) return;
    this.attempts.push(performance.now());
    if (this.attempts.length > 50) this.attempts.shift();
    this.options.onState('connecting', this.attempt > 0 ? `attempt ${this.attempt + 1}` : '');
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.options.url);
    } catch (error) {
      this.scheduleReconnect(`cannot open the socket (${error instanceof Error ? error.message : String(error)})`);
      return;
    }
    this.ws = ws;
    this.hello = null;
    this.lastFrameAt = performance.now();
    this.probeSentAt = null;
    ws.onmessage = (e: MessageEvent) => {
      if (this.ws === ws && typeof e.data === 'string') this.onText(ws, e.data);
    };
    ws.onclose = (e: CloseEvent) => {
      if (this.ws === ws) this.onClosed(e.code, e.reason);
    };
    ws.onerror = () => {
      // A close event follows; it decides what to do.
    };
    this.startWatchdog();
  }

  private onText(ws: WebSocket, text: string): void {
    const now = performance.now();
    this.lastFrameAt = now;
    this.probeSentAt = null;
    this.options.onFrame?.(now);
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    const f = frame as InboundFrame;
    if (f.type === 'event' && typeof f.event === 'string') {
      if (f.event === 'connect.challenge') {
        this.sendConnect(ws);
        return;
      }
      this.options.onEvent(f.event, f.payload, f.seq);
      return;
    }
    if (f.type !== 'res' || typeof f.id !== 'string') return;
    if (f.id === 'connect') {
      this.onConnectResponse(ws, f as ResponseFrame);
      return;
    }
    const pending = this.pending.get(f.id);
    if (pending === undefined) return;
    this.pending.delete(f.id);
    if (f.ok === true) pending.resolve(f.payload);
    else pending.reject(new RequestError(f.error?.code ?? 'UNKNOWN', f.error?.message ?? 'request failed'));
  }

  private sendConnect(ws: WebSocket): void {
    const params = {
      minProtocol: 4,
      maxProtocol: 4,
      client: { id: 'lanesim-webchat', version: this.options.clientVersion, platform: 'web', mode: 'webchat' },
      role: 'operator',
      scopes: ['operator.read', 'operator.write'],
      ...(this.options.token === null ? {} : { auth: { token: this.options.token } }),
    };
    ws.send(JSON.stringify({ type: 'req', id: 'connect', method: 'connect', params }));
  }

  private onConnectResponse(ws: WebSocket, res: ResponseFrame): void {
    if (res.ok) {
      this.hello = res.payload as HelloOk;
      this.attempt = 0;
      // The policy is known now: check at its pace.
      this.startWatchdog();
      this.options.onState('connected', '');
      this.options.onHello(this.hello);
      return;
    }
    const error = res.error;
    const details = error?.details as { code?: unknown } | undefined;
    if (details?.code === 'AUTH_TOKEN_MISMATCH') {
      this.stopped = true;
      this.ws = null;
      this.stopWatchdog();
      ws.close(1000, 'unauthorized');
      this.options.onState('unauthorized', 'the gateway refused the token: open the URL `lanesim serve` printed');
      return;
    }
    // UNAVAILABLE (starting), SHUTTING_DOWN, PROTOCOL_MISMATCH, ...: the gateway closes; try again later.
    this.ws = null;
    ws.close(1000, 'retry');
    const wait = error?.retryable === true && typeof error.retryAfterMs === 'number' ? error.retryAfterMs : null;
    this.scheduleReconnect(`connect refused: ${error?.message ?? 'unknown error'}`, wait);
  }

  private onClosed(code: number, reason: string): void {
    this.ws = null;
    this.hello = null;
    this.rejectPending('connection closed');
    if (this.stopped) return;
    if (code === 1008 && reason === 'unauthorized') {
      this.stopped = true;
      this.stopWatchdog();
      this.options.onState('unauthorized', 'the gateway refused the token');
      return;
    }
    this.scheduleReconnect(`connection closed (${code}${reason === '' ? '' : ` ${reason}`})`);
  }

  /** The watchdog decided the connection is gone though the socket still looks open. */
  private lost(silentMs: number): void {
    const ws = this.ws;
    this.ws = null;
    this.hello = null;
    if (ws !== null) {
      ws.onmessage = null;
      ws.onclose = null;
      // 4000: as OpenClaw's client closes a silent connection (WS-12).
      ws.close(4000, 'connection looks lost');
    }
    this.rejectPending('connection looks lost');
    const detail = `no frame for ${(silentMs / 1000).toFixed(1)} s`;
    this.options.onState('lost', detail);
    this.scheduleReconnect(`connection looks lost (${detail})`);
  }

  private scheduleReconnect(reason: string, afterMs: number | null = null): void {
    this.clearRetry();
    this.stopWatchdog();
    if (this.stopped) return;
    this.attempt++;
    const delay = afterMs ?? backoffDelayMs(this.attempt, this.options.backoffBaseMs ?? 500, this.options.backoffMaxMs ?? 30_000);
    this.options.onState('reconnecting', `${reason}; reconnecting in ${(delay / 1000).toFixed(1)} s (attempt ${this.attempt + 1})`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private rejectPending(message: string): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(new RequestError('DISCONNECTED', message));
  }

  // ------------------------------------------------------------ liveness

  private bounds(): { heartbeat: number; idle: number; check: number } {
    const policy = this.hello?.policy;
    const hb = policy !== undefined && policy.heartbeatIntervalMs > 0 ? policy.heartbeatIntervalMs : DEFAULT_HEARTBEAT_MS;
    const tick = policy !== undefined && policy.tickIntervalMs > 0 ? policy.tickIntervalMs : DEFAULT_TICK_MS;
    const heartbeat = hb + livenessMarginMs(hb);
    const idle = Math.max(heartbeat, tick + livenessMarginMs(tick));
    // Check a few times per bound; never busier than every 100 ms, never lazier than every second.
    return { heartbeat, idle, check: Math.min(1_000, Math.max(100, Math.round(heartbeat / 5))) };
  }

  private startWatchdog(): void {
    this.stopWatchdog();
    this.watchdog = setInterval(() => this.checkLiveness(), this.bounds().check);
  }

  private stopWatchdog(): void {
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  private checkLiveness(): void {
    const ws = this.ws;
    if (ws === null) return;
    const now = performance.now();
    const silent = now - this.lastFrameAt;
    if (this.hello === null) {
      if (silent > HANDSHAKE_BOUND_MS) this.lost(silent);
      return;
    }
    const b = this.bounds();
    const heartbeats = this.hello.features.events.includes('heartbeat');
    if (heartbeats && this.options.isWaiting()) {
      if (silent > b.heartbeat) this.lost(silent);
      return;
    }
    if (this.probeSentAt !== null) {
      if (now - this.probeSentAt > b.heartbeat) this.lost(silent);
      return;
    }
    if (silent > b.idle) {
      this.probeSentAt = now;
      this.request('health', {}).catch(() => {});
    }
  }
}
