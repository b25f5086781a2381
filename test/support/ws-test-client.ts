/**
 * A small WebSocket test client for the reference gateway (docs/SPEC.md WS-*):
 * it logs every frame it receives with its receive time, does the handshake
 * (WS-3/WS-4), sends requests and waits, with a bound, for what it expects.
 *
 *   const c = await connect(server.url);                 // challenge + connect + hello-ok
 *   const res = await c.request('chat.send', {...});      // the `res` frame
 *   await c.waitFor((r) => isChat(r, runId, 'final'), 2_000);
 *   const { code, reason } = await c.closed;
 *
 * `open()` stops before the handshake, for tests of the handshake itself.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import type { EventFrame, ResponseFrame } from '../../src/model/protocol.ts';

export interface Received {
  /** performance.now() when the frame arrived. */
  at: number;
  /** The parsed frame (null when it was not JSON). */
  frame: unknown;
  text: string;
  /** Index in the log. */
  index: number;
}

export interface ConnectOptions {
  token?: string;
  minProtocol?: number;
  maxProtocol?: number;
  /** ws 8: answer pings automatically (default true). */
  autoPong?: boolean;
  /** Replace the connect params entirely (handshake tests); present and undefined: no params at all. */
  params?: unknown;
}

export interface CloseInfo {
  code: number;
  reason: string;
  /** performance.now() when the socket closed. */
  at: number;
}

export function connectParams(options: ConnectOptions = {}): Record<string, unknown> {
  return {
    minProtocol: options.minProtocol ?? 4,
    maxProtocol: options.maxProtocol ?? 4,
    client: { id: 'lanesim-test', version: '0.0.0', platform: 'node', mode: 'test' },
    role: 'operator',
    scopes: ['operator.read', 'operator.write'],
    ...(options.token === undefined ? {} : { auth: { token: options.token } }),
  };
}

export function isEvent(r: Received, event?: string): r is Received & { frame: EventFrame } {
  const f = r.frame as { type?: unknown; event?: unknown } | null;
  return f !== null && typeof f === 'object' && f.type === 'event' && (event === undefined || f.event === event);
}

export function isRes(r: Received, id?: string): r is Received & { frame: ResponseFrame } {
  const f = r.frame as { type?: unknown; id?: unknown } | null;
  return f !== null && typeof f === 'object' && f.type === 'res' && (id === undefined || f.id === id);
}

/** A `chat` event (optionally for one runId and state). */
export function isChat(r: Received, runId?: string, state?: string): r is Received & { frame: EventFrame & { payload: ChatPayload } } {
  if (!isEvent(r, 'chat')) return false;
  const p = r.frame.payload as ChatPayload;
  return (runId === undefined || p.runId === runId) && (state === undefined || p.state === state);
}

export interface ChatPayload {
  runId: string;
  sessionKey: string;
  seq: number;
  state: string;
  deltaText?: string;
  message?: { role: string; content: { type: string; text: string }[] };
  errorCode?: string;
  errorMessage?: string;
  status?: string;
  carriedBy?: string;
}

/** Polls `condition` until it holds or `timeoutMs` passes. */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Watches this process's event-loop delay. Client and server share the loop,
 * so a timer the server fires late (CPU contention on a shared box) shows up
 * here too: real-time bounds add `maxMs()` to their tolerance instead of
 * flaking under load.
 */
export function loopDelayMonitor(): { maxMs(): number; stop(): void } {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  return {
    maxMs: () => histogram.max / 1e6,
    stop: () => histogram.disable(),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let clientCount = 0;

export class TestClient {
  readonly ws: WebSocket;
  readonly log: Received[] = [];
  /** performance.now() of every WebSocket ping received. */
  readonly pings: number[] = [];
  readonly opened: number;
  /** Resolves once, when the socket has closed. */
  readonly closed: Promise<CloseInfo>;
  closeInfo: CloseInfo | null = null;
  /** The hello-ok payload, after a successful handshake. */
  hello: Record<string, unknown> | null = null;
  readonly name: string;
  private nextId = 0;
  private readonly waiters = new Set<{ check: () => void }>();

  private constructor(ws: WebSocket, name: string) {
    this.ws = ws;
    this.name = name;
    this.opened = performance.now();
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? `<binary ${(data as Buffer).length}>` : rawText(data);
      let frame: unknown = null;
      try {
        frame = JSON.parse(text);
      } catch {
        frame = null;
      }
      this.log.push({ at: performance.now(), frame, text, index: this.log.length });
      this.poke();
    });
    ws.on('ping', () => {
      this.pings.push(performance.now());
    });
    ws.on('error', () => {});
    this.closed = new Promise<CloseInfo>((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString('utf8'), at: performance.now() };
        resolve(this.closeInfo);
        this.poke();
      });
    });
  }

  /** Opens the socket (no handshake yet). The challenge may already be in the log. */
  static async open(url: string, options: { autoPong?: boolean } = {}): Promise<TestClient> {
    const ws = new WebSocket(url, { autoPong: options.autoPong ?? true, perMessageDeflate: false });
    const client = new TestClient(ws, `client${++clientCount}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`closed before open (${code})`)));
    });
    return client;
  }

  /** Opens, waits for the challenge and sends `connect`; throws unless hello-ok. */
  static async connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
    const client = await TestClient.open(url, { autoPong: options.autoPong ?? true });
    const res = await client.handshake(options);
    if (!res.ok) {
      client.terminate();
      throw new Error(`handshake failed: ${JSON.stringify(res.error)}`);
    }
    return client;
  }

  /** Waits for `connect.challenge` (which must be the first frame) and answers it with `connect`. */
  async handshake(options: ConnectOptions = {}): Promise<ResponseFrame> {
    const challenge = await this.waitFor((r) => r.index === 0, 2_000);
    if (!isEvent(challenge, 'connect.challenge')) throw new Error(`first frame is not connect.challenge: ${challenge.text}`);
    const res = await this.request('connect', 'params' in options ? options.params : connectParams(options));
    if (res.ok) this.hello = res.payload as Record<string, unknown>;
    return res;
  }

  /** Sends a request and resolves with its `res` frame. */
  async request(method: string, params?: unknown, timeoutMs = 3_000): Promise<ResponseFrame> {
    const id = `r${++this.nextId}`;
    const from = this.log.length;
    this.send({ type: 'req', id, method, ...(params === undefined ? {} : { params }) });
    const r = await this.waitFor((x) => isRes(x, id), timeoutMs, from);
    return r.frame as ResponseFrame;
  }

  /** Like request(), also returning the log index of the response. */
  async requestAt(method: string, params?: unknown, timeoutMs = 3_000): Promise<{ res: ResponseFrame; received: Received }> {
    const id = `r${++this.nextId}`;
    const from = this.log.length;
    this.send({ type: 'req', id, method, ...(params === undefined ? {} : { params }) });
    const received = await this.waitFor((x) => isRes(x, id), timeoutMs, from);
    return { res: received.frame as ResponseFrame, received };
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends anything: a string as a text frame, a Buffer as a binary frame. */
  raw(data: string | Buffer): void {
    this.ws.send(data, { binary: Buffer.isBuffer(data) });
  }

  /**
   * The first logged frame (index >= from) matching `predicate`: already
   * received, or the next to arrive. Rejects after `timeoutMs`, or at once
   * if the socket closes with no match.
   */
  waitFor(predicate: (r: Received) => boolean, timeoutMs: number, from = 0): Promise<Received> {
    return new Promise<Received>((resolve, reject) => {
      let scanned = from;
      const waiter = {
        check: (): void => {
          for (; scanned < this.log.length; scanned++) {
            const r = this.log[scanned]!;
            if (predicate(r)) {
              done();
              resolve(r);
              return;
            }
          }
          if (this.closeInfo !== null) {
            done();
            reject(new Error(`${this.name} closed (${this.closeInfo.code} ${this.closeInfo.reason}) before a matching frame; log: ${this.summary()}`));
          }
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for a frame; log: ${this.summary()}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  /** Events of one name, in order. */
  events(event?: string): (Received & { frame: EventFrame })[] {
    return this.log.filter((r): r is Received & { frame: EventFrame } => isEvent(r, event));
  }

  chats(runId?: string, state?: string): ChatPayload[] {
    return this.log.filter((r) => isChat(r, runId, state)).map((r) => (r.frame as EventFrame).payload as ChatPayload);
  }

  /** A short description of the log, for failure messages. */
  summary(max = 40): string {
    const parts = this.log.slice(-max).map((r) => {
      const f = r.frame as { type?: string; event?: string; id?: string; ok?: boolean; payload?: { state?: string; runId?: string } } | null;
      if (f === null) return r.text.slice(0, 40);
      if (f.type === 'res') return `res(${f.id},${String(f.ok)})`;
      if (f.type === 'event') return `${f.event ?? '?'}${f.event === 'chat' ? `:${f.payload?.state ?? ''}:${f.payload?.runId ?? ''}` : ''}`;
      return r.text.slice(0, 40);
    });
    return `[${parts.join(' ')}]${this.closeInfo ? ` closed ${this.closeInfo.code} ${this.closeInfo.reason}` : ''}`;
  }

  /** The close, or a rejection after `timeoutMs`. */
  waitClosed(timeoutMs = 3_000): Promise<CloseInfo> {
    return new Promise<CloseInfo>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: not closed after ${timeoutMs} ms; log: ${this.summary()}`)), timeoutMs);
      void this.closed.then((info) => {
        clearTimeout(timer);
        resolve(info);
      });
    });
  }

  /** Closes politely (1000) and waits for the close to finish. */
  async close(): Promise<CloseInfo> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000, 'bye');
    const timer = setTimeout(() => this.ws.terminate(), 1_000);
    const info = await this.closed;
    clearTimeout(timer);
    return info;
  }

  terminate(): void {
    this.ws.terminate();
  }

  private poke(): void {
    for (const w of [...this.waiters]) w.check();
  }
}

export function connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
  return TestClient.connect(url, options);
}

export function open(url: string, options: { autoPong?: boolean } = {}): Promise<TestClient> {
  return TestClient.open(url, options);
}

/** Every client opened through `track` is closed by `closeAll` (afterEach). */
export class ClientPool {
  private readonly clients: TestClient[] = [];
  track<T extends TestClient>(client: T): T {
    this.clients.push(client);
    return client;
  }
  async connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
    return this.track(await connect(url, options));
  }
  async open(url: string, options: { autoPong?: boolean } = {}): Promise<TestClient> {
    return this.track(await open(url, options));
  }
  async closeAll(): Promise<void> {
    const all = this.clients.splice(0);
    await Promise.all(all.map((c) => c.close()));
  }
}

function rawText(data: unknown): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}
