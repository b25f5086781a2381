/**
 * The reference gateway on a real WebSocket (docs/SPEC.md WS-*): a `ws`
 * server on 127.0.0.1 that does the handshake itself and hands connected
 * clients to the Gateway. Every error path has its code (error code and
 * close code) from src/model/protocol.ts.
 *
 * The same HTTP server answers `GET /health` and `POST /hooks/message` (the
 * way webhooks and channel plugins reach a gateway), and can serve extra
 * routes (the reference webchat page).
 *
 * Access and memory (docs/SPEC.md §11): with a token, the hook needs it as a
 * Bearer token (AUTH-1); browser origins are checked on the upgrade and the
 * hook (AUTH-2); wrong tokens are throttled per address (AUTH-4); methods
 * need their scope (AUTH-3). Before hello-ok a socket's frames are capped at
 * 64 KiB by ws itself (BOUND-6), and the number of connections and of
 * handshakes in progress is capped (BOUND-7).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Clock } from '../model/clock.ts';
import type { LanesimConfig } from '../model/config-types.ts';
import type { TraceSink } from '../model/events.ts';
import {
  AUTH_TOKEN_MISMATCH, CloseCodes, ErrorCodes, Events, Methods, PROTOCOL_VERSION,
  type ErrorShape, type HelloOk,
} from '../model/protocol.ts';
import { AuthThrottle, DEFAULT_AUTH_THROTTLE, OriginPolicy, bearerToken, tokenMatches, validateAllowedOrigins, type AuthThrottleOptions } from './auth.ts';
import { resolveLimits, type GatewayLimits } from './bounds.ts';
import { Gateway, GatewayRequestError, type AgentRuntime, type ClientTransport } from './gateway.ts';
import type { GatewayProfile } from './profile.ts';
import type { ToolRegistry } from './tool-validator.ts';
import { checkScope, dispatchGatewayMethod, grantedScopes } from './gateway-methods.ts';
import { KNOWN_METHODS, checkParams } from './ws-params.ts';

export const LOOPBACK = '127.0.0.1';
export const DEFAULT_MAX_PAYLOAD = 26_214_400;
export const DEFAULT_MAX_BUFFERED_BYTES = 52_428_800;
export const PRE_HANDSHAKE_MAX_BYTES = 65_536;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;
/** BOUND-7: open WebSocket connections (handshake or past it) at once. */
export const DEFAULT_MAX_CONNECTIONS = 20_000;
/** BOUND-7: connections still before hello-ok at once. */
export const DEFAULT_MAX_HANDSHAKES = 1_024;
/** BOUND-8: a TCP connection must complete its HTTP request head (an upgrade included) within this. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
/** BOUND-8: how often Node checks that timeout (its default, 30 s, let idle sockets live 40 s). */
const CONNECTIONS_CHECK_MS = 1_000;
/** A socket refused or closed by us is destroyed if it has not closed after this. */
const CLOSE_GRACE_MS = 2_000;
const HOOK_BODY_LIMIT = 1_048_576;
const SERVER_VERSION = '0.1.0';

export interface GatewayServerOptions {
  config: LanesimConfig;
  runtime: AgentRuntime;
  profile?: GatewayProfile;
  /** 0 (default): a free port. */
  port?: number;
  /** Only 127.0.0.1 is allowed: lanesim never listens beyond loopback. */
  host?: string;
  /** When set, `connect` must carry it (WS-6), and the hook its Bearer form (AUTH-1). */
  token?: string | null;
  /** AUTH-2: browser origins allowed besides the gateway's own. Default: config `gateway.allowedOrigins`, else none. */
  allowedOrigins?: readonly string[];
  /** BOUND-7: WebSocket connections at once (close 1013 `too many connections` beyond). */
  maxConnections?: number;
  /** BOUND-7: connections before hello-ok at once (close 1013 `too many handshakes` beyond). */
  maxHandshakes?: number;
  /** BOUND-8: HTTP request head deadline (raw sockets that never send one are closed). */
  headersTimeoutMs?: number;
  /** AUTH-4: the wrong-token throttle. */
  authThrottle?: Partial<Pick<AuthThrottleOptions, 'burst' | 'refillMs' | 'maxAddresses'>>;
  /** BOUND-1..5: the gateway's memory bounds. */
  limits?: Partial<GatewayLimits>;
  /** AUTH-6: run ids. Default crypto.randomUUID (unguessable); tests may inject a deterministic source. */
  newRunId?: () => string;
  handshakeTimeoutMs?: number;
  maxPayload?: number;
  maxBufferedBytes?: number;
  /** false: answer `connect` with UNAVAILABLE until markReady() (WS-6). */
  ready?: boolean;
  retryAfterMs?: number;
  clock?: Clock;
  trace?: TraceSink | null;
  tools?: ToolRegistry;
  log?: (line: string) => void;
  /** Extra HTTP routes; return true when handled. */
  http?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
}

type ConnState = 'handshake' | 'open' | 'closed';

interface Client {
  readonly connId: string;
  readonly ws: WebSocket;
  /** The peer's address: the wrong-token throttle's key (AUTH-4). */
  readonly address: string;
  state: ConnState;
  /** AUTH-3: what its connect's scopes grant, implied scopes included. */
  scopes: ReadonlySet<string>;
  handshakeTimer: NodeJS.Timeout | null;
  /** Events raised while a request is being handled wait here, so the response goes first. */
  held: string[] | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** WS-10: frames that may be skipped for a slow consumer. */
function isDroppable(event: string, payload: unknown): boolean {
  if (event === Events.TICK || event === Events.HEARTBEAT) return true;
  if (!isObject(payload)) return false;
  if (event === Events.CHAT) return payload.state === 'delta';
  if (event === Events.AGENT) return payload.stream === 'assistant';
  return false;
}

export class GatewayServer {
  readonly gateway: Gateway;
  readonly url: string;
  readonly port: number;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly options: GatewayServerOptions;
  private readonly clients = new Map<string, Client>();
  private readonly maxPayload: number;
  private readonly maxBufferedBytes: number;
  private readonly handshakeTimeoutMs: number;
  private readonly maxConnections: number;
  private readonly maxHandshakes: number;
  private readonly origins: OriginPolicy;
  private readonly throttle: AuthThrottle;
  private handshaking = 0;
  private ready: boolean;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private nextConn = 0;
  private openCount = 0;
  private hookSent = 0;
  /** The JSON of the last payload serialized: a broadcast reuses it for every client. */
  private lastPayload: unknown = undefined;
  private lastPayloadJson = '';

  private constructor(options: GatewayServerOptions, http: Server, wss: WebSocketServer, port: number) {
    this.options = options;
    this.http = http;
    this.wss = wss;
    this.port = port;
    this.url = `ws://${LOOPBACK}:${port}`;
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.maxHandshakes = options.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES;
    const configured = (options.config.gateway as { allowedOrigins?: readonly string[] }).allowedOrigins ?? [];
    this.origins = new OriginPolicy(port, validateAllowedOrigins(options.allowedOrigins ?? configured));
    this.throttle = new AuthThrottle({ ...DEFAULT_AUTH_THROTTLE, ...options.authThrottle, now: () => Date.now() });
    this.ready = options.ready ?? true;
    this.gateway = new Gateway({
      config: options.config,
      runtime: options.runtime,
      profile: options.profile,
      clock: options.clock,
      trace: options.trace ?? null,
      tools: options.tools,
      log: options.log,
      limits: options.limits,
      newRunId: options.newRunId ?? (() => randomUUID()),
    });
    // Messages that arrive over HTTP hooks come from this connection; nobody listens to it.
    this.gateway.connect('http-hooks', { send: () => true, listens: false, close: () => {}, ping: () => this.gateway.noteInbound('http-hooks', true) });
    http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    http.on('request', (req, res) => void this.onHttp(req, res));
  }

  static async start(options: GatewayServerOptions): Promise<GatewayServer> {
    const host = options.host ?? LOOPBACK;
    if (host !== LOOPBACK) throw new RangeError(`host must be ${LOOPBACK} (lanesim listens on loopback only), got ${JSON.stringify(host)}`);
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer from 0 to 65535, got ${String(port)}`);
    for (const [name, value] of [['maxConnections', options.maxConnections], ['maxHandshakes', options.maxHandshakes], ['maxPayload', options.maxPayload], ['maxBufferedBytes', options.maxBufferedBytes], ['headersTimeoutMs', options.headersTimeoutMs]] as const) {
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
    }
    // Checked before listening: a bad value is one clear error, not a server left listening.
    validateAllowedOrigins(options.allowedOrigins ?? (options.config.gateway as { allowedOrigins?: readonly string[] }).allowedOrigins ?? []);
    resolveLimits(options.limits);
    const headersTimeout = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
    const http = createServer({ headersTimeout, requestTimeout: Math.max(headersTimeout, 30_000), connectionsCheckingInterval: CONNECTIONS_CHECK_MS });
    // BOUND-8: Node's headersTimeout only runs once a request has begun: a socket that never sends a byte
    // would live until the OS gives up. An idle timeout closes it; ws clears it on upgrade (setTimeout(0)).
    http.timeout = headersTimeout;
    // BOUND-7: TCP connections beyond every WebSocket plus room for HTTP requests are refused by the kernel accept loop.
    http.maxConnections = (options.maxConnections ?? DEFAULT_MAX_CONNECTIONS) + (options.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES) + 256;
    // BOUND-6: every socket starts with the pre-handshake frame cap, enforced by ws on the frame header
    // (before it buffers the payload); hello-ok raises it to maxPayload (raiseMaxPayload). ws 8 takes
    // maxPayload per server only, so the server is built with the small one.
    const wss = new WebSocketServer({ noServer: true, maxPayload: PRE_HANDSHAKE_MAX_BYTES, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, LOOPBACK, () => {
        http.off('error', reject);
        resolve();
      });
    });
    const actual = (http.address() as AddressInfo).port;
    return new GatewayServer(options, http, wss, actual);
  }

  markReady(): void {
    this.ready = true;
  }

  /** Connections past hello-ok (a counter: GET /health reads it on every request). */
  get connections(): number {
    return this.openCount;
  }

  /**
   * WS-23 graceful stop: tell every client, refuse new connections, settle
   * queued messages (their senders hear it), finish or abort runs, then
   * close every connection with 1001 and stop listening.
   */
  stop(options: { abortRunning?: boolean; drainTimeoutMs?: number } = {}): Promise<void> {
    // A second call waits for the same stop instead of resolving while the first still drains.
    this.stopped ??= this.doStop(options);
    return this.stopped;
  }

  private async doStop(options: { abortRunning?: boolean; drainTimeoutMs?: number }): Promise<void> {
    this.stopping = true;
    const drained = this.gateway.shutdown({ abortRunning: options.abortRunning ?? true });
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, options.drainTimeoutMs ?? 5_000).unref());
    await Promise.race([drained, timeout]);
    this.gateway.stopTimers();
    for (const client of this.clients.values()) this.close(client, CloseCodes.GOING_AWAY, 'gateway shutting down');
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        for (const ws of this.wss.clients) ws.terminate();
      }, 1_000);
      force.unref();
      this.wss.close(() => {
        this.http.close(() => {
          clearTimeout(force);
          resolve();
        });
        this.http.closeAllConnections();
      });
      for (const ws of this.wss.clients) if (ws.readyState === WebSocket.CLOSED) ws.terminate();
    });
  }

  // ------------------------------------------------------------ WebSocket

  /** AUTH-2 on the upgrade: a browser page from a foreign origin gets 403 before any WebSocket exists. */
  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    if (!this.origins.allows(req.headers.origin)) {
      this.options.log?.(`refused WebSocket upgrade from origin ${JSON.stringify(String(req.headers.origin).slice(0, 200))} (${remoteAddress(req)})`);
      const body = JSON.stringify({ error: { code: 'ORIGIN_NOT_ALLOWED', message: 'origin not allowed' } });
      socket.end(`HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    ws.on('error', () => {});
    // BOUND-7: over a cap the connection is closed at once, before a challenge or a handler exists.
    const refusal = this.clients.size >= this.maxConnections ? 'too many connections' : this.handshaking >= this.maxHandshakes ? 'too many handshakes' : null;
    if (refusal !== null) {
      ws.close(CloseCodes.TRY_AGAIN_LATER, refusal);
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
      return;
    }
    const connId = `c${++this.nextConn}`;
    const client: Client = { connId, ws, address: remoteAddress(req), state: 'handshake', scopes: NO_SCOPES, handshakeTimer: null, held: null };
    this.clients.set(connId, client);
    this.handshaking++;
    // WS-8: ws enforces maxPayload itself and closes with 1009 but no reason; give that close the spec's reason.
    const wsClose = ws.close.bind(ws);
    ws.close = (code?: number, reason?: string | Buffer): void =>
      wsClose(code, code === CloseCodes.MESSAGE_TOO_BIG && (reason === undefined || reason.length === 0) ? 'payload too large' : reason);
    ws.on('close', () => this.onClose(client));
    ws.on('pong', () => this.gateway.noteInbound(connId, true));
    ws.on('message', (data, isBinary) => this.onMessage(client, data, isBinary));
    // WS-3: the challenge comes first, without seq.
    this.sendRaw(client, JSON.stringify({ type: 'event', event: Events.CONNECT_CHALLENGE, payload: { nonce: randomBytes(16).toString('hex'), ts: Date.now() } }));
    // WS-4: no valid connect within the timeout.
    client.handshakeTimer = setTimeout(() => {
      client.handshakeTimer = null;
      if (client.state === 'handshake') this.close(client, CloseCodes.POLICY_VIOLATION, 'handshake timeout');
    }, this.handshakeTimeoutMs);
  }

  private onClose(client: Client): void {
    if (client.handshakeTimer !== null) clearTimeout(client.handshakeTimer);
    client.handshakeTimer = null;
    if (client.state === 'handshake') this.handshaking--;
    const wasOpen = client.state === 'open';
    client.state = 'closed';
    this.clients.delete(client.connId);
    if (wasOpen) {
      this.openCount--;
      this.gateway.disconnect(client.connId);
    }
  }

  private onMessage(client: Client, data: RawData, isBinary: boolean): void {
    if (client.state === 'closed') return;
    if (isBinary) {
      this.close(client, CloseCodes.UNSUPPORTED_DATA, 'binary frames not supported');
      return;
    }
    const text = rawToString(data);
    if (client.state === 'handshake' && Buffer.byteLength(text) > PRE_HANDSHAKE_MAX_BYTES) {
      this.close(client, CloseCodes.MESSAGE_TOO_BIG, 'payload too large');
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      this.close(client, CloseCodes.POLICY_VIOLATION, 'invalid request frame');
      return;
    }
    if (client.state === 'handshake') {
      this.onHandshake(client, frame);
      return;
    }
    this.gateway.noteInbound(client.connId);
    this.onRequest(client, frame);
  }

  private onHandshake(client: Client, frame: unknown): void {
    if (!isObject(frame) || frame.type !== 'req' || typeof frame.id !== 'string' || frame.method !== Methods.CONNECT) {
      this.close(client, CloseCodes.POLICY_VIOLATION, 'invalid request frame');
      return;
    }
    const id = frame.id;
    const fail = (error: ErrorShape, code: number, reason: string): void => {
      this.respond(client, id, false, undefined, error);
      this.close(client, code, reason);
    };
    const problem = checkParams(Methods.CONNECT, frame.params);
    if (problem !== null) {
      fail({ code: ErrorCodes.INVALID_REQUEST, message: `invalid connect params: ${problem}` }, CloseCodes.POLICY_VIOLATION, 'invalid connect params');
      return;
    }
    const params = frame.params as { minProtocol: number; maxProtocol: number; auth?: { token?: string } };
    if (!this.ready) {
      const retryAfterMs = this.options.retryAfterMs ?? 1_000;
      fail({ code: ErrorCodes.UNAVAILABLE, message: 'gateway is starting', retryable: true, retryAfterMs }, CloseCodes.TRY_AGAIN_LATER, 'gateway starting');
      return;
    }
    if (this.stopping) {
      fail({ code: ErrorCodes.SHUTTING_DOWN, message: 'gateway is shutting down' }, CloseCodes.GOING_AWAY, 'gateway shutting down');
      return;
    }
    if (PROTOCOL_VERSION < params.minProtocol || PROTOCOL_VERSION > params.maxProtocol) {
      fail(
        { code: ErrorCodes.PROTOCOL_MISMATCH, message: `protocol mismatch: server speaks ${PROTOCOL_VERSION}`, details: { expectedProtocol: PROTOCOL_VERSION } },
        CloseCodes.PROTOCOL_ERROR,
        'protocol mismatch',
      );
      return;
    }
    const token = this.options.token ?? null;
    if (token !== null) {
      // AUTH-4: a throttled address is refused before its token is looked at.
      const retryAfterMs = this.throttle.retryAfterMs(client.address);
      if (retryAfterMs > 0) {
        fail(
          { code: ErrorCodes.UNAVAILABLE, message: 'too many wrong tokens: try again later', retryable: true, retryAfterMs, details: { code: AUTH_RATE_LIMITED } },
          CloseCodes.TRY_AGAIN_LATER,
          'too many wrong tokens',
        );
        return;
      }
      if (!tokenMatches(token, params.auth?.token)) {
        this.wrongToken(client.address, 'connect');
        fail(
          { code: ErrorCodes.INVALID_REQUEST, message: 'unauthorized: gateway token mismatch', details: { code: AUTH_TOKEN_MISMATCH } },
          CloseCodes.POLICY_VIOLATION,
          'unauthorized',
        );
        return;
      }
    }
    // BOUND-6: past the handshake, frames may be as large as the advertised maxPayload.
    if (!raiseMaxPayload(client.ws, this.maxPayload)) {
      this.options.log?.('internal error: ws internals changed, cannot raise maxPayload after hello-ok (Receiver._maxPayload)');
      fail({ code: ErrorCodes.INTERNAL, message: 'internal error' }, 1011, 'internal error');
      return;
    }
    if (client.handshakeTimer !== null) clearTimeout(client.handshakeTimer);
    client.handshakeTimer = null;
    client.state = 'open';
    this.handshaking--;
    client.scopes = grantedScopes((frame.params as { scopes: string[] }).scopes);
    this.openCount++;
    this.gateway.connect(client.connId, this.transportFor(client));
    const config = this.options.config;
    const hello: HelloOk = {
      type: 'hello-ok',
      protocol: PROTOCOL_VERSION,
      server: { name: 'lanesim', version: SERVER_VERSION, connId: client.connId },
      features: {
        methods: [...KNOWN_METHODS],
        events: [Events.CHAT, Events.AGENT, Events.TICK, Events.LANE_STATUS, Events.HEARTBEAT, Events.SHUTDOWN],
      },
      snapshot: {},
      policy: {
        maxPayload: this.maxPayload,
        maxBufferedBytes: this.maxBufferedBytes,
        tickIntervalMs: config.gateway.tickIntervalMs,
        heartbeatIntervalMs: config.gateway.heartbeat.intervalMs,
      },
    };
    this.respond(client, id, true, hello);
  }

  private onRequest(client: Client, frame: unknown): void {
    const id = isObject(frame) && typeof frame.id === 'string' ? frame.id : null;
    if (id === null) {
      this.close(client, CloseCodes.POLICY_VIOLATION, 'invalid request frame');
      return;
    }
    const f = frame as Record<string, unknown>;
    if (f.type !== 'req' || typeof f.method !== 'string') {
      this.respond(client, id, false, undefined, { code: ErrorCodes.INVALID_REQUEST, message: 'invalid request frame' });
      return;
    }
    const method = f.method;
    if (method === Methods.CONNECT) {
      this.respond(client, id, false, undefined, { code: ErrorCodes.INVALID_REQUEST, message: 'already connected' });
      return;
    }
    if (!KNOWN_METHODS.includes(method)) {
      this.respond(client, id, false, undefined, { code: ErrorCodes.UNKNOWN_METHOD, message: `unknown method: ${method.slice(0, 200)}` });
      return;
    }
    const problem = checkParams(method, f.params);
    if (problem !== null) {
      this.respond(client, id, false, undefined, { code: ErrorCodes.INVALID_REQUEST, message: `invalid ${method} params: ${problem}` });
      return;
    }
    const forbidden = checkScope(method, client.scopes);
    if (forbidden !== null) {
      this.respond(client, id, false, undefined, { code: forbidden.code, message: forbidden.message, details: forbidden.details });
      return;
    }
    let payload: unknown;
    client.held = [];
    try {
      payload = dispatchGatewayMethod(this.gateway, client.connId, method, (f.params ?? {}) as Record<string, unknown>);
    } catch (error) {
      const heldOnError = client.held;
      client.held = null;
      if (error instanceof GatewayRequestError) {
        this.respond(client, id, false, undefined, { code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) });
      } else {
        this.options.log?.(`internal error in ${method}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        this.respond(client, id, false, undefined, { code: ErrorCodes.INTERNAL, message: `internal error in ${method}` });
      }
      if (heldOnError !== null) for (const text of heldOnError) this.sendRaw(client, text);
      return;
    }
    const held = client.held;
    client.held = null;
    this.respond(client, id, true, payload);
    // The events the request caused follow its response (a client learns its runId first).
    if (held !== null) for (const text of held) this.sendRaw(client, text);
  }

  private transportFor(client: Client): ClientTransport {
    return {
      send: (event, payload, seq) => {
        const ws = client.ws;
        if (client.state !== 'open' || ws.readyState !== WebSocket.OPEN) return false;
        const text = `{"type":"event","event":${JSON.stringify(event)},"payload":${this.payloadJson(payload)},"seq":${seq}}`;
        if (this.wouldOverflow(client, text)) {
          // WS-10: skip what may be skipped; anything else means the client cannot keep up.
          if (!isDroppable(event, payload)) this.cutSlowConsumer(client);
          return false;
        }
        if (client.held !== null) client.held.push(text);
        else ws.send(text);
        return true;
      },
      close: (code, reason) => this.close(client, code, reason),
      ping: () => {
        if (client.ws.readyState === WebSocket.OPEN) client.ws.ping();
      },
    };
  }

  private payloadJson(payload: unknown): string {
    if (payload !== this.lastPayload || this.lastPayloadJson === '') {
      this.lastPayload = payload;
      this.lastPayloadJson = payload === undefined ? 'null' : JSON.stringify(payload);
    }
    return this.lastPayloadJson;
  }

  private respond(client: Client, id: string, ok: boolean, payload?: unknown, error?: ErrorShape): void {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    const frame = ok ? { type: 'res', id, ok, payload } : { type: 'res', id, ok, error };
    const text = JSON.stringify(frame);
    if (this.wouldOverflow(client, text)) {
      this.cutSlowConsumer(client);
      return;
    }
    this.sendRaw(client, text);
  }

  /**
   * BOUND-9 (WS-10): would sending `text` leave more than maxBufferedBytes
   * waiting for this client? Counted with the frame, so a client that never
   * reads holds at most maxBufferedBytes (plus one frame when its buffer was
   * empty: a frame is never refused to a client that has read everything).
   * Events held while a request is handled count too.
   */
  private wouldOverflow(client: Client, text: string): boolean {
    let buffered = client.ws.bufferedAmount;
    if (client.held !== null) for (const held of client.held) buffered += held.length;
    if (buffered === 0) return false;
    // A UTF-8 byte count is O(n): only taken when the cheap upper bound (3 bytes per UTF-16 unit) might not fit.
    if (buffered + 3 * text.length <= this.maxBufferedBytes) return false;
    return buffered + Buffer.byteLength(text) > this.maxBufferedBytes;
  }

  /** WS-10: a slow consumer is closed 1008 and, since its backlog hides the close frame, destroyed after the grace period. */
  private cutSlowConsumer(client: Client): void {
    this.options.log?.(`slow consumer ${client.connId}: ${client.ws.bufferedAmount} bytes unread (maxBufferedBytes ${this.maxBufferedBytes}): closed`);
    this.close(client, CloseCodes.POLICY_VIOLATION, 'slow consumer');
  }

  /** AUTH-4: counts a wrong token from `address`; logs when the address becomes throttled. */
  private wrongToken(address: string, where: 'connect' | 'hook'): void {
    this.throttle.fail(address);
    const retryAfterMs = this.throttle.retryAfterMs(address);
    if (retryAfterMs > 0) this.options.log?.(`auth: wrong token from ${address} (${where}); throttled: next attempt in ${retryAfterMs} ms`);
  }

  private sendRaw(client: Client, text: string): void {
    if (client.ws.readyState === WebSocket.OPEN) client.ws.send(text);
  }

  private close(client: Client, code: number, reason: string): void {
    if (client.state === 'closed') return;
    const wasOpen = client.state === 'open';
    if (client.state === 'handshake') this.handshaking--;
    client.state = 'closed';
    if (client.handshakeTimer !== null) clearTimeout(client.handshakeTimer);
    client.handshakeTimer = null;
    if (wasOpen) {
      this.openCount--;
      this.gateway.disconnect(client.connId);
    }
    const ws = client.ws;
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
    // A peer that never answers the close handshake (dead, or slow) is cut after a grace period.
    setTimeout(() => {
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
    }, CLOSE_GRACE_MS).unref();
  }

  // ------------------------------------------------------------ HTTP

  /**
   * AUTH-1, AUTH-2, AUTH-4 for an HTTP endpoint that acts: a foreign Origin
   * (403), a throttled address (429), a missing or wrong Bearer token when a
   * token is set (401), a body that is not application/json (415: a web page
   * can post text/plain anywhere without asking, JSON it cannot). null: go on.
   */
  private refuseHookRequest(req: IncomingMessage): { status: number; error: { code: string; message: string; retryAfterMs?: number }; retryAfterMs?: number } | null {
    if (!this.origins.allows(req.headers.origin)) {
      this.options.log?.(`refused hook request from origin ${JSON.stringify(String(req.headers.origin).slice(0, 200))} (${remoteAddress(req)})`);
      return { status: 403, error: { code: 'ORIGIN_NOT_ALLOWED', message: 'origin not allowed' } };
    }
    const token = this.options.token ?? null;
    if (token !== null) {
      const address = remoteAddress(req);
      const retryAfterMs = this.throttle.retryAfterMs(address);
      if (retryAfterMs > 0) return { status: 429, error: { code: AUTH_RATE_LIMITED, message: 'too many wrong tokens: try again later', retryAfterMs }, retryAfterMs };
      const presented = bearerToken(req.headers.authorization);
      if (presented === null) return { status: 401, error: { code: 'UNAUTHORIZED', message: 'missing Authorization: Bearer <token>' } };
      if (!tokenMatches(token, presented)) {
        this.wrongToken(address, 'hook');
        return { status: 401, error: { code: 'UNAUTHORIZED', message: 'unauthorized: gateway token mismatch' } };
      }
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') return { status: 415, error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'the body must be application/json' } };
    return null;
  }

  private async onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (this.options.http !== undefined && (await this.options.http(req, res))) return;
      const url = new URL(req.url ?? '/', `http://${LOOPBACK}`);
      if (url.pathname === '/health' && req.method === 'GET') {
        json(res, 200, { ok: !this.stopping, ts: Date.now(), connections: this.connections, ready: this.ready });
        return;
      }
      if (url.pathname === '/hooks/message') {
        if (req.method !== 'POST') return json(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'use POST' } });
        const refused = this.refuseHookRequest(req);
        if (refused !== null) {
          // The body is not read: the connection closes after the answer (Node ends it) instead of draining it.
          res.setHeader('connection', 'close');
          if (refused.retryAfterMs !== undefined) res.setHeader('retry-after', String(Math.ceil(refused.retryAfterMs / 1000)));
          if (refused.status === 401) res.setHeader('www-authenticate', 'Bearer');
          json(res, refused.status, { error: refused.error });
          return;
        }
        const body = await readBody(req, HOOK_BODY_LIMIT);
        if (body === null) return json(res, 413, { error: { code: ErrorCodes.PAYLOAD_TOO_LARGE, message: `body over ${HOOK_BODY_LIMIT} bytes` } });
        let params: unknown;
        try {
          params = JSON.parse(body);
        } catch {
          return json(res, 400, { error: { code: ErrorCodes.INVALID_REQUEST, message: 'body is not JSON' } });
        }
        if (isObject(params) && params.idempotencyKey === undefined) params = { ...params, idempotencyKey: `hook-${++this.hookSent}` };
        const problem = checkParams(Methods.CHAT_SEND, params);
        if (problem !== null) return json(res, 400, { error: { code: ErrorCodes.INVALID_REQUEST, message: `invalid message: ${problem}` } });
        if (this.stopping) return json(res, 503, { error: { code: ErrorCodes.SHUTTING_DOWN, message: 'gateway is shutting down' } });
        const p = params as { sessionKey: string; message: string; idempotencyKey: string; channel?: string; route?: string };
        const result = this.gateway.chatSend('http-hooks', {
          sessionKey: p.sessionKey, message: p.message, idempotencyKey: p.idempotencyKey, channel: p.channel ?? 'webhook',
          ...(p.route !== undefined ? { route: p.route } : {}),
        });
        return json(res, 202, result);
      }
      if (!res.headersSent && !(req.headers.upgrade ?? '').toLowerCase().includes('websocket')) {
        json(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${req.method ?? ''} ${url.pathname}` } });
      }
    } catch (error) {
      this.options.log?.(`http error: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) json(res, 500, { error: { code: ErrorCodes.INTERNAL, message: 'internal error' } });
    }
  }
}

const NO_SCOPES: ReadonlySet<string> = new Set();

/** AUTH-4: `error.details.code` of a connect refused because its address presented too many wrong tokens. */
export const AUTH_RATE_LIMITED = 'AUTH_RATE_LIMITED';

function remoteAddress(req: IncomingMessage): string {
  return (req.socket as Socket).remoteAddress ?? 'unknown';
}

/**
 * BOUND-6: raises a socket's frame cap after hello-ok. ws 8 keeps it in its
 * Receiver as `_maxPayload` and reads it on every frame header; there is no
 * public setter. If a ws upgrade moves it, this throws at the first
 * hello-ok is refused with INTERNAL (test/ws/hostile.test.ts sends a 100 KiB
 * frame after hello-ok) rather than silently keeping 64 KiB.
 */
function raiseMaxPayload(ws: WebSocket, maxPayload: number): boolean {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (receiver === undefined || receiver === null || typeof receiver._maxPayload !== 'number') return false;
  receiver._maxPayload = maxPayload;
  return true;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
