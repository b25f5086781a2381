/**
 * The reference gateway on a real WebSocket (docs/SPEC.md WS-*): a `ws`
 * server on 127.0.0.1 that does the handshake itself and hands connected
 * clients to the Gateway. Every error path has its code (error code and
 * close code) from src/model/protocol.ts.
 *
 * The same HTTP server answers `GET /health` and `POST /hooks/message` (the
 * way webhooks and channel plugins reach a gateway), and can serve extra
 * routes (the reference webchat page).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Clock } from '../model/clock.ts';
import type { LanesimConfig } from '../model/config-types.ts';
import type { TraceSink } from '../model/events.ts';
import {
  AUTH_TOKEN_MISMATCH, CloseCodes, ErrorCodes, Events, Methods, PROTOCOL_VERSION,
  type ErrorShape, type HelloOk,
} from '../model/protocol.ts';
import { Gateway, GatewayRequestError, type AgentRuntime, type ClientTransport } from './gateway.ts';
import type { GatewayProfile } from './profile.ts';
import type { ToolRegistry } from './tool-validator.ts';
import { dispatchGatewayMethod } from './gateway-methods.ts';
import { KNOWN_METHODS, checkParams } from './ws-params.ts';

export const LOOPBACK = '127.0.0.1';
export const DEFAULT_MAX_PAYLOAD = 26_214_400;
export const DEFAULT_MAX_BUFFERED_BYTES = 52_428_800;
export const PRE_HANDSHAKE_MAX_BYTES = 65_536;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;
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
  /** When set, `connect` must carry it (WS-6). */
  token?: string | null;
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
  state: ConnState;
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
    this.ready = options.ready ?? true;
    this.gateway = new Gateway({
      config: options.config,
      runtime: options.runtime,
      profile: options.profile,
      clock: options.clock,
      trace: options.trace ?? null,
      tools: options.tools,
      log: options.log,
    });
    // Messages that arrive over HTTP hooks come from this connection; nobody listens to it.
    this.gateway.connect('http-hooks', { send: () => true, close: () => {}, ping: () => this.gateway.noteInbound('http-hooks', true) });
    wss.on('connection', (ws) => this.onConnection(ws));
    http.on('request', (req, res) => void this.onHttp(req, res));
  }

  static async start(options: GatewayServerOptions): Promise<GatewayServer> {
    const host = options.host ?? LOOPBACK;
    if (host !== LOOPBACK) throw new RangeError(`host must be ${LOOPBACK} (lanesim listens on loopback only), got ${JSON.stringify(host)}`);
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer from 0 to 65535, got ${String(port)}`);
    const http = createServer();
    const wss = new WebSocketServer({ server: http, maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD, perMessageDeflate: false });
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

  private onConnection(ws: WebSocket): void {
    const connId = `c${++this.nextConn}`;
    const client: Client = { connId, ws, state: 'handshake', handshakeTimer: null, held: null };
    this.clients.set(connId, client);
    // WS-8: ws enforces maxPayload itself and closes with 1009 but no reason; give that close the spec's reason.
    const wsClose = ws.close.bind(ws);
    ws.close = (code?: number, reason?: string | Buffer): void =>
      wsClose(code, code === CloseCodes.MESSAGE_TOO_BIG && (reason === undefined || reason.length === 0) ? 'payload too large' : reason);
    ws.on('error', () => {});
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
    if (token !== null && params.auth?.token !== token) {
      fail(
        { code: ErrorCodes.INVALID_REQUEST, message: 'unauthorized: gateway token mismatch', details: { code: AUTH_TOKEN_MISMATCH } },
        CloseCodes.POLICY_VIOLATION,
        'unauthorized',
      );
      return;
    }
    if (client.handshakeTimer !== null) clearTimeout(client.handshakeTimer);
    client.handshakeTimer = null;
    client.state = 'open';
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
        if (ws.bufferedAmount > this.maxBufferedBytes) {
          // WS-10: skip what may be skipped; anything else means the client cannot keep up.
          if (!isDroppable(event, payload)) this.close(client, CloseCodes.POLICY_VIOLATION, 'slow consumer');
          return false;
        }
        const text = `{"type":"event","event":${JSON.stringify(event)},"payload":${this.payloadJson(payload)},"seq":${seq}}`;
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
    if (client.ws.bufferedAmount > this.maxBufferedBytes) {
      this.close(client, CloseCodes.POLICY_VIOLATION, 'slow consumer');
      return;
    }
    const frame = ok ? { type: 'res', id, ok, payload } : { type: 'res', id, ok, error };
    this.sendRaw(client, JSON.stringify(frame));
  }

  private sendRaw(client: Client, text: string): void {
    if (client.ws.readyState === WebSocket.OPEN) client.ws.send(text);
  }

  private close(client: Client, code: number, reason: string): void {
    if (client.state === 'closed') return;
    const wasOpen = client.state === 'open';
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
    }, 2_000).unref();
  }

  // ------------------------------------------------------------ HTTP

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
