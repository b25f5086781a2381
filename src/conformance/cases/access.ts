/**
 * Access and memory-bound cases (docs/SPEC.md §11 AUTH-*, BOUND-*, and the
 * wire facts of §8 they lean on: WS-1's 1007, WS-13's message cap): who may
 * do what over the protocol, what a run id of another session yields, and
 * what a socket that never completes its handshake can make a gateway hold.
 *
 * Cases that need connect params of their own (scopes) or bytes no client
 * library sends (an Origin, invalid UTF-8, a frame header without its
 * payload, a TCP socket that never speaks HTTP) open their own sockets to
 * the session's `url` (a WebSocket target); a target without one makes
 * them n/a.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { ResponseFrame } from '../../model/protocol.ts';
import { connectParams, type WsRawSocket } from '../targets/websocket.ts';
import {
  NotApplicable, checkRule, precondition,
  type Capability, type CaseContext, type ConformanceCase, type GatewaySession, type RawSocket,
} from '../types.ts';
import { GATEWAY, chats, isObject, isTerminal, on, real, script, send, show, turn, waitChat, waitUntil } from './gateway-support.ts';

const RAW: readonly Capability[] = ['raw-socket'];

/** Real ms a socket-level answer may take (a refused upgrade, a close after a bad frame). */
const ANSWER_REAL_MS = 5_000;
/** WS-13: the longest chat.send `message` (UTF-16 code units). */
export const MESSAGE_MAX_CHARS = 1_048_576;
/** BOUND-6: the pre-handshake frame limit. */
export const PRE_HANDSHAKE_MAX_BYTES = 65_536;
/** BOUND-8: how long the raw-idle case waits for the gateway to drop a silent TCP connection (real ms). */
export const RAW_IDLE_OBSERVE_REAL_MS = 25_000;

// ------------------------------------------------------------------ helpers

/** The WebSocket URL of a target that has one (websocket targets do), else n/a. */
function urlOf(session: GatewaySession): URL {
  const url = (session as { url?: unknown }).url;
  if (typeof url !== 'string') throw new NotApplicable('the target gives no WebSocket URL to open sockets of our own on');
  return new URL(url);
}

async function openRaw(ctx: CaseContext): Promise<{ session: GatewaySession; raw: WsRawSocket }> {
  const session = await ctx.gateway();
  if (session.raw === undefined) throw new NotApplicable('the target offers no raw socket');
  const raw = (await session.raw()) as RawSocket & Partial<WsRawSocket>;
  if (typeof raw.handshake !== 'function') throw new NotApplicable('the raw socket cannot send a connect of our own (no handshake())');
  return { session, raw: raw as WsRawSocket };
}

let requestSeq = 0;

/** A request on a raw socket past hello-ok: its response, or null if none came (or the socket closed first). */
async function rawRequest(session: GatewaySession, raw: RawSocket, method: string, params: unknown): Promise<ResponseFrame | null> {
  const id = `access-${++requestSeq}`;
  raw.send(JSON.stringify({ type: 'req', id, method, params }));
  const isIt = (f: unknown): boolean => isObject(f) && f.type === 'res' && f.id === id;
  const withinMs = real(session, ANSWER_REAL_MS);
  const frame = await Promise.race([
    raw.waitFrame(isIt, withinMs),
    raw.waitClose(withinMs).then((closed) => (closed === null ? null : raw.received.find(isIt) ?? null)),
  ]);
  return (frame ?? null) as ResponseFrame | null;
}

/** Connects with `scopes` on a raw socket; n/a when the gateway refuses the connect itself (then it grants nothing, which AUTH-3 allows). */
async function connectWithScopes(ctx: CaseContext, scopes: string[]): Promise<{ session: GatewaySession; raw: WsRawSocket }> {
  const { session, raw } = await openRaw(ctx);
  const clientInfo = (session as { clientInfo?: Record<string, string> }).clientInfo ?? {};
  const res = await raw.handshake(connectParams(session.facts.token, clientInfo, { scopes }), real(session, 10_000));
  precondition(res !== null && res.ok === true, () => `a connect with scopes ${show(scopes)} is not answered hello-ok (${res === null ? 'no answer' : show(res.error)}): the gateway refuses such clients outright, so there is nothing to limit`);
  return { session, raw };
}

/** A `ws` client of our own, logging frames from the start (the challenge may come with the upgrade). */
interface OwnSocket {
  ws: WebSocket;
  frames: unknown[];
  listeners: Set<() => void>;
}

/** Opens a `ws` client of our own; resolves how the upgrade went. */
function openOwn(url: URL, headers: { origin?: string }): Promise<{ own: OwnSocket | null; status: number | null; error: string | null }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: ANSWER_REAL_MS, ...(headers.origin === undefined ? {} : { origin: headers.origin }) });
    const own: OwnSocket = { ws, frames: [], listeners: new Set() };
    ws.on('message', (data) => {
      try {
        own.frames.push(JSON.parse(String(data)));
      } catch {
        own.frames.push(String(data));
      }
      for (const listener of own.listeners) listener();
    });
    ws.on('open', () => resolve({ own, status: null, error: null }));
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      resolve({ own: null, status: res.statusCode ?? 0, error: null });
    });
    ws.on('error', (error) => resolve({ own: null, status: null, error: error.message }));
  });
}

/** Answers the challenge with a connect of `params` and waits for its answer or the close (real ms). */
function ownHandshake(own: OwnSocket, params: Record<string, unknown>): Promise<{ res: Record<string, unknown> | null; close: number | null }> {
  return new Promise((resolve) => {
    let sent = false;
    const finish = (result: { res: Record<string, unknown> | null; close: number | null }): void => {
      clearTimeout(timer);
      own.listeners.delete(check);
      resolve(result);
    };
    const check = (): void => {
      if (!sent && own.frames.some((f) => isObject(f) && f.type === 'event' && f.event === 'connect.challenge')) {
        sent = true;
        own.ws.send(JSON.stringify({ type: 'req', id: 'access-connect', method: 'connect', params }));
      }
      const res = own.frames.find((f) => isObject(f) && f.type === 'res' && f.id === 'access-connect');
      if (res !== undefined) finish({ res: res as Record<string, unknown>, close: null });
    };
    const timer = setTimeout(() => finish({ res: null, close: null }), ANSWER_REAL_MS);
    own.listeners.add(check);
    own.ws.on('close', (code) => {
      // A response sent just before the close still counts.
      const res = own.frames.find((f) => isObject(f) && f.type === 'res' && f.id === 'access-connect');
      finish({ res: (res as Record<string, unknown> | undefined) ?? null, close: code });
    });
    check();
  });
}

/** A raw TCP connection past the WebSocket upgrade (or null when the upgrade was refused). */
async function tcpUpgrade(url: URL): Promise<{ socket: Socket; data: () => Buffer; closed: Promise<void> } | null> {
  const socket = netConnect(Number(url.port || 80), url.hostname);
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await Promise.race([new Promise<void>((resolve) => socket.once('connect', () => resolve())), closed]);
  socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
    + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  const deadline = Date.now() + ANSWER_REAL_MS;
  while (!Buffer.concat(chunks).includes('\r\n\r\n')) {
    if (Date.now() > deadline || socket.destroyed) {
      socket.destroy();
      return null;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (!/^HTTP\/1\.1 101/.test(Buffer.concat(chunks).toString('latin1'))) {
    socket.destroy();
    return null;
  }
  return { socket, data: () => Buffer.concat(chunks), closed };
}

/** The close code in the server's frames after the upgrade answer (1005 for a close without code), or null. */
function closeCodeIn(data: Buffer): number | null {
  let at = data.indexOf('\r\n\r\n') + 4;
  while (at + 2 <= data.length) {
    const opcode = data[at]! & 0x0f;
    let len = data[at + 1]! & 0x7f;
    let head = 2;
    if (len === 126) {
      if (at + 4 > data.length) return null;
      len = data.readUInt16BE(at + 2);
      head = 4;
    } else if (len === 127) {
      if (at + 10 > data.length) return null;
      len = Number(data.readBigUInt64BE(at + 2));
      head = 10;
    }
    if (opcode === 0x8) return len >= 2 && at + head + 2 <= data.length ? data.readUInt16BE(at + head) : 1005;
    at += head + len;
  }
  return null;
}

function errorCode(res: ResponseFrame | null): string {
  if (res === null) return 'no response';
  if (res.ok) return 'ok';
  const e = res.error as unknown as Record<string, unknown> | undefined;
  const details = isObject(e?.details) ? ` ${show(e!.details, 120)}` : '';
  return `${String(e?.code)} ${show(e?.message, 120)}${details}`;
}

// ------------------------------------------------------------------ AUTH-3 scopes

const scopesNone: ConformanceCase = {
  id: 'access.scopes.none',
  title: 'A connection without scopes can neither subscribe, read, send nor abort',
  rules: ['AUTH-3'],
  level: 'MUST',
  requires: RAW,
  procedure: 'Connect on a raw socket with scopes []. sessions.subscribe, chat.history, chat.send and chat.abort (on a fresh session) must each be answered with an error response; the connection still answers health. (A gateway that refuses the connect itself grants nothing: n/a with the reason.)',
  async run(ctx) {
    const { session, raw } = await connectWithScopes(ctx, []);
    const key = session.sessionKey('scopes-none');
    for (const [method, params] of [
      ['sessions.subscribe', { sessionKey: key }],
      ['chat.history', { sessionKey: key }],
      ['chat.send', { sessionKey: key, message: 'must not run', idempotencyKey: `scopes-none-${Date.now()}` }],
      ['chat.abort', { sessionKey: key }],
    ] as const) {
      const res = await rawRequest(session, raw, method, params);
      checkRule(res !== null && res.ok === false, 'AUTH-3', `${method} without operator scopes is answered with an error response`, `${method}: ${errorCode(res)}`);
      if (res !== null && res.ok === false) ctx.note(`${method}: ${errorCode(res)}`);
    }
    const health = await rawRequest(session, raw, 'health', {});
    checkRule(health !== null, 'AUTH-3', 'the connection stays open after the refusals (health is answered)', () => `no answer to health; closed ${show(raw.closeInfo)}`);
  },
};

const scopesReadOnly: ConformanceCase = {
  id: 'access.scopes.read-only',
  title: 'operator.read may read but not send or abort',
  rules: ['AUTH-3'],
  level: 'MUST',
  requires: RAW,
  procedure: 'Connect on a raw socket with scopes ["operator.read"]. chat.history on a fresh session must be answered ok; chat.send and chat.abort must be answered with an error response.',
  async run(ctx) {
    const { session, raw } = await connectWithScopes(ctx, ['operator.read']);
    const key = session.sessionKey('scopes-read');
    const history = await rawRequest(session, raw, 'chat.history', { sessionKey: key });
    checkRule(history !== null && history.ok === true, 'AUTH-3', 'chat.history with operator.read is answered ok', errorCode(history));
    const sendRes = await rawRequest(session, raw, 'chat.send', { sessionKey: key, message: 'must not run', idempotencyKey: `scopes-read-${Date.now()}` });
    checkRule(sendRes !== null && sendRes.ok === false, 'AUTH-3', 'chat.send without operator.write is answered with an error response', errorCode(sendRes));
    const abort = await rawRequest(session, raw, 'chat.abort', { sessionKey: key });
    checkRule(abort !== null && abort.ok === false, 'AUTH-3', 'chat.abort without operator.write is answered with an error response', errorCode(abort));
  },
};

// ------------------------------------------------------------------ AUTH-5, AUTH-6 run ids

const runIdOwnSession: ConformanceCase = {
  id: 'access.run-id.own-session',
  title: "Another session's run id yields no data and aborts nothing",
  rules: ['AUTH-5'],
  level: 'MUST',
  requires: GATEWAY,
  procedure: 'Client A sends a message with a long streamed answer in session X and waits for its first delta. Client B asks chat.history {sessionKey: Y (fresh), runId: <X\'s run>} and chat.abort {sessionKey: Y, runId: <X\'s run>}. Each must be an error response or an answer naming nothing of that run (no partial for it, aborted: []); A\'s run must end final, not aborted.',
  async run(ctx) {
    const session = await ctx.gateway();
    await script(session, [on('victim', turn({ ttftMs: 200, streamMs: 4_000, tokens: 40 }))]);
    const a = await session.connect('owner');
    const b = await session.connect('other');
    const victim = await send(session, a, session.sessionKey('victim'), '[victim] a long answer');
    const firstDelta = await waitChat(session, a, victim.runId, ['delta', 'final'], 30_000);
    precondition(firstDelta !== null && firstDelta.payload.state === 'delta', () => `the victim run streamed no delta within 30 s (${firstDelta === null ? 'nothing' : firstDelta.payload.state})`);
    const other = session.sessionKey('other');
    const history = await b.request('chat.history', { sessionKey: other, runId: victim.runId });
    const payload = history.ok && isObject(history.payload) ? history.payload : null;
    const partial = payload !== null && isObject(payload.partial) ? payload.partial : payload !== null && isObject(payload.inFlightRun) ? payload.inFlightRun : null;
    checkRule(!history.ok || partial === null || partial.runId !== victim.runId, 'AUTH-5', "chat.history naming another session's run is an error or has no partial output of that run",
      () => `answered ok with ${show(payload, 300)}`);
    const abort = await b.request('chat.abort', { sessionKey: other, runId: victim.runId });
    const aborted = abort.ok && isObject(abort.payload) && Array.isArray(abort.payload.aborted) ? abort.payload.aborted : [];
    checkRule(!abort.ok || aborted.length === 0, 'AUTH-5', "chat.abort naming another session's run is an error or aborts nothing", () => `answered ${show(abort.payload)}`);
    ctx.note(`chat.history: ${history.ok ? 'ok, nothing of the run' : errorCode(history)}; chat.abort: ${abort.ok ? `ok ${show(abort.payload)}` : errorCode(abort)}`);
    const end = await waitUntil(session, () => chats(a, victim.runId).find((e) => isTerminal(e.payload.state)) ?? null, 60_000);
    precondition(end !== null, 'the victim run did not end within 60 s');
    checkRule(end.payload.state === 'final', 'AUTH-5', "the other session's run goes on to its final", `it ended ${end.payload.state}`);
  },
};

const runIdUnguessable: ConformanceCase = {
  id: 'access.run-id.unguessable',
  title: 'Run ids on a real gateway are random, not a counter',
  rules: ['AUTH-6'],
  level: 'MUST',
  requires: GATEWAY,
  procedure: 'On a real-time target, send 8 messages to fresh sessions. Their run ids must be distinct, each at least 22 characters long (122 random bits need 21 base64 or 31 hex characters), and not one prefix with a counter after it (run-1, run-2, ...). A virtual-time target (a simulation) keeps deterministic ids: n/a.',
  async run(ctx) {
    if (ctx.target.capabilities.has('virtual-time')) throw new NotApplicable('a virtual-time target is a simulation: its run ids are deterministic from the seed (AUTH-6)');
    const session = await ctx.gateway();
    await script(session, []);
    const c = await session.connect('ids');
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await send(session, c, session.sessionKey(`ids-${i}`), `[ids-${i}] hi`)).runId);
    ctx.note(`run ids: ${ids.slice(0, 3).join(', ')}, ...`);
    checkRule(new Set(ids).size === ids.length, 'AUTH-6', 'distinct run ids', show(ids));
    const short = ids.filter((id) => id.length < 22);
    checkRule(short.length === 0, 'AUTH-6', 'run ids of at least 22 characters (room for 122 random bits)', `${short.length} shorter: ${show(short, 200)}`);
    const counters = ids.map((id) => /^(.*?)(\d+)$/.exec(id)).filter((m): m is RegExpExecArray => m !== null);
    const onePrefix = counters.length === ids.length && new Set(counters.map((m) => m[1])).size === 1;
    checkRule(!onePrefix, 'AUTH-6', 'run ids that are not one prefix with a counter', show(ids, 200));
  },
};

// ------------------------------------------------------------------ AUTH-2 origins

const foreignOrigin: ConformanceCase = {
  id: 'access.origin.foreign',
  title: 'A WebSocket from a foreign browser origin is refused',
  rules: ['AUTH-2'],
  level: 'MUST',
  requires: RAW,
  procedure: 'Open a WebSocket to the gateway with Origin: https://lanesim-foreign.example and, if the upgrade succeeds, send a valid connect. The upgrade must be refused (HTTP 4xx, the reference: 403), or the connect refused or the socket closed before hello-ok. The same without an Origin header must reach hello-ok (else n/a: the case could not tell the refusal from a broken connect).',
  async run(ctx) {
    const session = await ctx.gateway();
    const url = urlOf(session);
    const clientInfo = (session as { clientInfo?: Record<string, string> }).clientInfo ?? {};
    const params = connectParams(session.facts.token, clientInfo);
    const plain = await openOwn(url, {});
    precondition(plain.own !== null, () => `a WebSocket without Origin did not open (${plain.status ?? plain.error})`);
    const plainHello = await ownHandshake(plain.own, params);
    plain.own.ws.terminate();
    precondition(plainHello.res !== null && plainHello.res.ok === true, () => `a connect without Origin is not answered hello-ok (${show(plainHello)})`);
    const foreign = await openOwn(url, { origin: 'https://lanesim-foreign.example' });
    if (foreign.own === null) {
      checkRule(foreign.status !== null && foreign.status >= 400 && foreign.status < 500, 'AUTH-2', 'the upgrade from a foreign origin is refused with an HTTP 4xx', `refused with ${foreign.status ?? foreign.error}`);
      ctx.note(`upgrade refused with HTTP ${foreign.status ?? foreign.error}`);
      return;
    }
    const hello = await ownHandshake(foreign.own, params);
    foreign.own.ws.terminate();
    checkRule(hello.res === null || hello.res.ok !== true, 'AUTH-2', 'a connection from a foreign origin never reaches hello-ok', 'hello-ok');
    ctx.note(hello.close !== null ? `upgraded, then closed ${hello.close}` : `upgraded, connect answered ${show(hello.res?.error)}`);
  },
};

// ------------------------------------------------------------------ WS-1, WS-13 on the wire

const invalidUtf8: ConformanceCase = {
  id: 'access.wire.invalid-utf8',
  title: 'A text frame that is not UTF-8 closes the connection with 1007',
  rules: ['WS-1'],
  level: 'MUST',
  requires: RAW,
  procedure: 'Open a WebSocket of our own and, after the challenge, send a text frame whose bytes are not UTF-8 ({, 0xFF, 0xFE, }). The gateway must close with 1007 (RFC 6455 §8.1).',
  async run(ctx) {
    const session = await ctx.gateway();
    const url = urlOf(session);
    const opened = await openOwn(url, {});
    precondition(opened.own !== null, () => `a WebSocket did not open (${opened.status ?? opened.error})`);
    const ws = opened.own.ws;
    const closed = new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), ANSWER_REAL_MS);
      ws.on('close', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    const code = await closed;
    ws.terminate();
    checkRule(code === 1007, 'WS-1', 'closed with 1007', code === null ? `still open ${ANSWER_REAL_MS} ms (real) later` : `closed ${code}`);
  },
};

const messageCap: ConformanceCase = {
  id: 'access.wire.message-cap',
  title: 'chat.send with a message over 1048576 characters is refused, and the connection stays',
  rules: ['WS-13', 'WS-7'],
  level: 'MUST',
  requires: GATEWAY,
  procedure: 'Send chat.send with a message of 1048577 characters (the frame stays under the advertised maxPayload; n/a otherwise). It must be answered with an error response; the connection then still answers health.',
  async run(ctx) {
    const session = await ctx.gateway();
    const maxPayload = session.facts.maxPayload;
    precondition(maxPayload === null || maxPayload > MESSAGE_MAX_CHARS + 4_096, () => `the advertised maxPayload ${maxPayload} would refuse the frame itself (WS-8), which is not what this case checks`);
    const c = await session.connect('cap');
    const res = await c.request('chat.send', { sessionKey: session.sessionKey('cap'), message: 'm'.repeat(MESSAGE_MAX_CHARS + 1), idempotencyKey: `cap-${Date.now()}` });
    checkRule(!res.ok, 'WS-13', 'a message over 1048576 characters is refused with an error response', () => `answered ok ${show(res.payload)}`);
    const health = await c.request('health', {});
    checkRule(health.ok === true && !c.closed, 'WS-7', 'the connection stays open and serves', `health ${show(health)}`);
  },
};

// ------------------------------------------------------------------ BOUND-6, BOUND-8 before the handshake

const preHandshakeHeader: ConformanceCase = {
  id: 'access.bound.pre-handshake-header',
  title: 'Before hello-ok a frame header declaring over 64 KiB is refused 1009 before its payload arrives',
  rules: ['BOUND-6', 'WS-4'],
  level: 'MUST',
  requires: RAW,
  procedure: 'Upgrade a raw TCP connection, then send a text frame header declaring 20 MiB followed by 1 KiB of it, and nothing more. The gateway must close with 1009 within 5 s (real): a gateway that buffers the declared payload first waits for bytes that never come.',
  async run(ctx) {
    const session = await ctx.gateway();
    const url = urlOf(session);
    const tcp = await tcpUpgrade(url);
    precondition(tcp !== null, 'the raw WebSocket upgrade was refused');
    const declared = 20 * 1024 * 1024;
    const header = Buffer.alloc(14);
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(declared), 2);
    // Mask key 0 (bytes 10..13): the payload goes as is.
    tcp.socket.write(Buffer.concat([header, Buffer.alloc(1_024, 0x20)]));
    await Promise.race([tcp.closed, new Promise((resolve) => setTimeout(resolve, ANSWER_REAL_MS))]);
    const code = closeCodeIn(tcp.data());
    const gone = tcp.socket.destroyed || tcp.socket.readableEnded;
    tcp.socket.destroy();
    checkRule(code === 1009, 'BOUND-6', 'closed with 1009 on the header alone', code === null ? (gone ? 'dropped without a close frame' : `still open ${ANSWER_REAL_MS} ms (real) later, waiting for the payload`) : `closed ${code}`);
  },
};

const rawIdle: ConformanceCase = {
  id: 'access.bound.raw-idle',
  title: 'A TCP connection that never sends an HTTP request is closed',
  rules: ['BOUND-8'],
  level: 'SHOULD',
  requires: RAW,
  procedure: `Open a TCP connection to the gateway's port and send nothing. The gateway should close it within ${RAW_IDLE_OBSERVE_REAL_MS / 1000} s (real; the reference: 10 s plus a 1 s check).`,
  async run(ctx) {
    const session = await ctx.gateway();
    const url = urlOf(session);
    const socket = netConnect(Number(url.port || 80), url.hostname);
    socket.on('error', () => {});
    const started = Date.now();
    const closed = await Promise.race([
      new Promise<boolean>((resolve) => socket.once('close', () => resolve(true))),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), RAW_IDLE_OBSERVE_REAL_MS)),
    ]);
    socket.destroy();
    checkRule(closed, 'BOUND-8', `the silent connection closed within ${RAW_IDLE_OBSERVE_REAL_MS / 1000} s (real)`, `still open after ${Math.round((Date.now() - started) / 1000)} s`);
    if (closed) ctx.note(`closed after ${Math.round((Date.now() - started) / 100) / 10} s (real)`);
  },
};

// ------------------------------------------------------------------ AUTH-4 throttle

const wrongTokenThrottle: ConformanceCase = {
  id: 'access.auth.wrong-token-throttle',
  title: 'Wrong tokens are throttled with retryAfterMs',
  rules: ['AUTH-4'],
  level: 'MUST',
  requires: RAW,
  // The throttle may hold every connection from 127.0.0.1: no other case may connect meanwhile.
  exclusive: true,
  procedure: 'On a target with a token: connect with wrong tokens, one socket each, up to 40 times. Before the 40th, an attempt must be refused with an error carrying retryAfterMs (a number). Then wait retryAfterMs (at most 60 s real) so later cases can connect again.',
  async run(ctx) {
    const session = await ctx.gateway();
    if (session.facts.token === null) throw new NotApplicable('the target runs without a token: there is no wrong token to throttle');
    const url = urlOf(session);
    const clientInfo = (session as { clientInfo?: Record<string, string> }).clientInfo ?? {};
    let retryAfterMs: number | null = null;
    let attempts = 0;
    for (; attempts < 40 && retryAfterMs === null; attempts++) {
      const opened = await openOwn(url, {});
      if (opened.own === null) {
        // A refusal at the upgrade (HTTP 429 / 503) is a throttle too, without retryAfterMs in a frame.
        checkRule(opened.status === 429 || opened.status === 503, 'AUTH-4', 'a throttled attempt refused at the upgrade answers 429 or 503', `upgrade refused with ${opened.status ?? opened.error}`);
        ctx.note(`attempt ${attempts + 1}: upgrade refused with HTTP ${opened.status ?? opened.error}`);
        retryAfterMs = 1_000;
        break;
      }
      const hello = await ownHandshake(opened.own, connectParams(`wrong-${attempts}-${session.facts.token}`, clientInfo));
      opened.own.ws.terminate();
      const error = hello.res !== null && isObject(hello.res.error) ? hello.res.error : null;
      precondition(hello.res === null || hello.res.ok !== true, 'a wrong token was accepted (WS-6 fails; the throttle cannot be judged)');
      if (error !== null && typeof error.retryAfterMs === 'number') {
        retryAfterMs = error.retryAfterMs;
        ctx.note(`attempt ${attempts + 1}: ${show(error, 200)}`);
      }
    }
    checkRule(retryAfterMs !== null, 'AUTH-4', 'within 40 wrong tokens an attempt is refused with retryAfterMs', `${attempts} wrong tokens, none throttled`);
    if (retryAfterMs !== null) await new Promise((resolve) => setTimeout(resolve, Math.min(60_000, retryAfterMs + 200)));
  },
};

// ------------------------------------------------------------------ BOUND-1..5 memory (virtual time where minutes must pass)

const VIRTUAL: readonly Capability[] = [...GATEWAY, 'virtual-time'];
const MINUTE = 60_000;

const keysForgotten: ConformanceCase = {
  id: 'access.bound.idempotency-forgotten',
  title: 'An idempotency key is remembered 5 minutes after its wait ended, then forgotten',
  rules: ['BOUND-1', 'WS-14'],
  level: 'MUST',
  requires: VIRTUAL,
  procedure: 'On a virtual-time target: send a message, wait for its final. 4 minutes later the same key is answered with the first runId (in_flight or ok, WS-14). 31 minutes later (past any window of 5 minutes plus a tick) the same key is a new message: a new runId, started or queued.',
  async run(ctx) {
    const session = await ctx.gateway();
    await script(session, []);
    const c = await session.connect('keys');
    const sessionKey = session.sessionKey('keys');
    const key = `bound1-${ctx.seed}`;
    const first = await send(session, c, sessionKey, '[keys] first', { idempotencyKey: key });
    const end = await waitChat(session, c, first.runId, ['final', 'error', 'aborted'], 5 * MINUTE);
    precondition(end !== null, 'the first message did not end within 5 minutes');
    await session.sleep(4 * MINUTE);
    const again = await send(session, c, sessionKey, '[keys] first', { idempotencyKey: key });
    checkRule(again.runId === first.runId && (again.status === 'in_flight' || again.status === 'ok'), 'WS-14', 'within 5 minutes the key answers the first runId, in_flight (or ok)', `${again.status} ${again.runId} (first ${first.runId})`);
    await session.sleep(31 * MINUTE);
    const later = await send(session, c, sessionKey, '[keys] first', { idempotencyKey: key });
    checkRule(later.runId !== first.runId && (later.status === 'started' || later.status === 'queued'), 'BOUND-1', 'after the window the key is forgotten: a new message with a new runId', `${later.status} ${later.runId} (first ${first.runId})`);
  },
};

const idleEvicted: ConformanceCase = {
  id: 'access.bound.idle-session-not-silent',
  title: 'A session forgotten while idle says so; its transcript never silently empties',
  rules: ['BOUND-3'],
  level: 'MUST',
  requires: VIRTUAL,
  procedure: 'On a virtual-time target: send a message to a fresh session and wait for its final; let 2 hours pass with nothing sent to it; ask chat.history. The answer must be the transcript (both entries) or an error response (the reference: SESSION_EVICTED); an ok answer missing the exchange is a silent loss.',
  async run(ctx) {
    const session = await ctx.gateway();
    await script(session, []);
    const c = await session.connect('idle');
    const sessionKey = session.sessionKey('idle');
    const sent = await send(session, c, sessionKey, '[idle] remember me');
    const end = await waitChat(session, c, sent.runId, ['final'], 5 * MINUTE);
    precondition(end !== null, 'the message had no final within 5 minutes');
    const before = await c.request('chat.history', { sessionKey });
    const entries = (p: unknown): unknown[] => (isObject(p) && Array.isArray(p.messages) ? p.messages : []);
    precondition(before.ok && entries(before.payload).length >= 2, () => `right after the final, chat.history does not hold the exchange (${show(before)})`);
    await session.sleep(120 * MINUTE);
    const after = await c.request('chat.history', { sessionKey });
    if (!after.ok) {
      ctx.note(`forgotten, and said so: ${errorCode(after)}`);
      return;
    }
    checkRule(entries(after.payload).length >= entries(before.payload).length, 'BOUND-3', 'the transcript, or an error saying it is gone', () => `ok with ${entries(after.payload).length} entries (had ${entries(before.payload).length})`);
    ctx.note('not forgotten within 2 hours');
  },
};

const historyPaged: ConformanceCase = {
  id: 'access.bound.history-paged',
  title: 'chat.history: a cut entry says so, and pages chain by nextBefore without gaps or overlap',
  rules: ['BOUND-2', 'BOUND-4'],
  level: 'MUST',
  requires: GATEWAY,
  procedure: 'Send a 1048000-character message, then 40 messages of 8000 characters, one after the other\'s end, to one session. In chat.history, an entry of the long message shorter than it must carry truncated: true (BOUND-2). If the reply has nextBefore, follow it: each page must be older than the last, with no entry twice (BOUND-4). A gateway that answers the whole transcript in one reply is n/a for the paging part, with the reply\'s size.',
  async run(ctx) {
    const session = await ctx.gateway();
    const maxPayload = session.facts.maxPayload;
    precondition(maxPayload === null || maxPayload > 1_100_000, () => `the advertised maxPayload ${maxPayload} refuses a 1 MiB message frame`);
    await script(session, [], turn({ ttftMs: 20, streamMs: 20, tokens: 2 }));
    const c = await session.connect('paged');
    const sessionKey = session.sessionKey('paged');
    const long = `[paged-long] ${'L'.repeat(1_048_000 - 14)}`;
    const first = await send(session, c, sessionKey, long);
    precondition(await waitChat(session, c, first.runId, ['final', 'error'], 2 * MINUTE) !== null, 'the long message did not end');
    const firstPage = await c.request('chat.history', { sessionKey });
    expectRuleOk(firstPage);
    for (const e of (firstPage.payload as { messages: Record<string, unknown>[] }).messages) {
      if (typeof e.text !== 'string' || !e.text.startsWith('[paged-long]')) continue;
      checkRule(e.text === long || e.truncated === true, 'BOUND-2', 'the long message remembered whole, or cut with truncated: true', `${e.text.length} characters, truncated ${show(e.truncated)}`);
    }
    for (let i = 0; i < 40; i++) {
      const m = await send(session, c, sessionKey, `[paged-${i}] ${String(i).padStart(3, '0')} ${'p'.repeat(8_000)}`);
      precondition(await waitChat(session, c, m.runId, ['final', 'error'], 2 * MINUTE) !== null, () => `message ${i} did not end`);
    }
    const seen = new Set<string>();
    let before: number | undefined;
    let pages = 0;
    let firstBytes = 0;
    for (; pages < 200; pages++) {
      const res = await c.request('chat.history', before === undefined ? { sessionKey } : { sessionKey, before });
      expectRuleOk(res);
      const reply = res.payload as { messages: { role: string; runId: string; text: string }[]; nextBefore?: unknown };
      if (pages === 0) firstBytes = JSON.stringify(reply).length;
      const again = reply.messages.map((e) => `${e.role} ${e.runId}`).find((id) => seen.has(id));
      // One report, then stop: the pages after a broken one say nothing new.
      if (!checkRule(again === undefined, 'BOUND-4', 'no entry on two pages', `${again} again on page ${pages + 1}`)) break;
      for (const e of reply.messages) seen.add(`${e.role} ${e.runId}`);
      if (typeof reply.nextBefore !== 'number') break;
      if (!checkRule(before === undefined || reply.nextBefore < before, 'BOUND-4', 'each nextBefore older than the last', `${reply.nextBefore} after ${before}`)) break;
      before = reply.nextBefore;
    }
    precondition(pages > 0, () => `the gateway answered the whole transcript in one reply (${Math.round(firstBytes / 1024)} KiB): no paging to check`);
    ctx.note(`${pages + 1} pages, ${seen.size} entries`);
  },
};

function expectRuleOk(res: ResponseFrame): void {
  precondition(res.ok === true && isObject(res.payload) && Array.isArray(res.payload.messages), () => `chat.history did not answer a transcript (${show(res, 200)})`);
}

const subscriptionCap: ConformanceCase = {
  id: 'access.bound.subscription-cap',
  title: 'Subscriptions per connection are capped with an error, and the connection goes on',
  rules: ['BOUND-5'],
  level: 'MUST',
  requires: GATEWAY,
  procedure: 'Subscribe one connection to up to 1100 fresh sessions. The first refusal must be an error response, after which the connection still answers health and a subscription to a session it already watches. No refusal within 1100: n/a (the cap is above that, the reference\'s is 1000).',
  async run(ctx) {
    const session = await ctx.gateway();
    const c = await session.connect('subs');
    let refused: ResponseFrame | null = null;
    let count = 0;
    for (; count < 1_100 && refused === null; count++) {
      const res = await c.request('sessions.subscribe', { sessionKey: session.sessionKey(`subs-${count}`) });
      if (!res.ok) refused = res;
    }
    precondition(refused !== null, 'no subscription refused within 1100: the gateway\'s cap (if any) is higher');
    ctx.note(`refused at subscription ${count}: ${errorCode(refused)}`);
    const health = await c.request('health', {});
    checkRule(health.ok === true && !c.closed, 'BOUND-5', 'the connection still serves after the refusal', show(health));
    const known = await c.request('sessions.subscribe', { sessionKey: session.sessionKey('subs-0') });
    checkRule(known.ok === true, 'BOUND-5', 'a session it already watches is still answered', errorCode(known));
  },
};

export const ACCESS_CASES: readonly ConformanceCase[] = [
  scopesNone,
  scopesReadOnly,
  runIdOwnSession,
  runIdUnguessable,
  foreignOrigin,
  invalidUtf8,
  messageCap,
  preHandshakeHeader,
  rawIdle,
  wrongTokenThrottle,
  keysForgotten,
  idleEvicted,
  historyPaged,
  subscriptionCap,
];
