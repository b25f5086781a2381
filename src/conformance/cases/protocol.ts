/**
 * Protocol cases (docs/SPEC.md §8 WS, §6 HB-4..HB-6): the handshake, request
 * handling, bad input, sizes, event sequence, liveness and idempotency, as a
 * black box sees them over a real socket (capability `raw-socket`) or through
 * protocol clients (`gateway`).
 *
 * Where OpenClaw 2026.9.6 answers in another form than the reference's
 * (docs/SPEC.md DEP-9, and §8 *Forms*: the behaviour is required, these
 * forms conform too), a case accepts both forms and notes which one it saw:
 * - protocol mismatch: `error.code` PROTOCOL_MISMATCH, or INVALID_REQUEST
 *   with `details.code` PROTOCOL_MISMATCH (OpenClaw);
 * - first frame not `connect`: closed 1008, with or without an error
 *   response first (OpenClaw answers one);
 * - handshake timeout: close 1008, or 1000 (OpenClaw);
 * - unknown method: UNKNOWN_METHOD, or INVALID_REQUEST `unknown method: <m>` (OpenClaw);
 * - invalid JSON and binary frames after hello-ok: closed with 1008 / 1003,
 *   or ignored while the connection keeps serving (OpenClaw);
 * - slow consumer: closed with 1008, or the socket terminated (1006, OpenClaw);
 * - a repeated idempotency key after its run ended: `in_flight`, or OpenClaw's `ok`.
 * What DEP departs from on purpose is failed with the DEP id: no
 * `policy.heartbeatIntervalMs` (HB-4, DEP-2/DEP-8), a followup closed by an
 * empty final and answered under a new runId (DEP-3).
 * Close reasons and error messages are noted, not compared.
 *
 * Time: bounds that depend on a gateway timer are in session units; bounds
 * that only absorb network and CPU delay are real milliseconds (`real()`).
 * Cases that would have to watch a timer longer than OBSERVE_REAL_MS real
 * milliseconds are not applicable, and say so.
 */
import { connectParams, type RawSocketOptions, type WsRawSocket } from '../targets/websocket.ts';
import {
  NotApplicable, expectRule,
  type Capability, type CaseContext, type ConformanceCase, type GatewaySession, type RawSocket, type ReceivedEvent, type TestClient,
} from '../types.ts';
import type { FakeModelScript } from '../../fake-model/script.ts';
import type { LanesimConfig } from '../../model/config-types.ts';
import { isTerminalChatState, type ResponseFrame } from '../../model/protocol.ts';
import { nowOf } from './gateway-support.ts';

const RAW: readonly Capability[] = ['raw-socket'];
const GW: readonly Capability[] = ['gateway'];

/** The longest a case watches a gateway timer, in real ms. */
export const OBSERVE_REAL_MS = 25_000;
/** How long the ping case waits for a first ping when pingIntervalMs is unknown (real ms; OpenClaw 2026.9.6 pings 25 s after connect). */
export const PING_UNKNOWN_REAL_MS = 35_000;
/** Real-time budget of the tick case (two ticks of OpenClaw's 30 s period, first at an arbitrary offset). */
export const TICK_BUDGET_REAL_MS = 70_000;
/** WS-4: no valid connect within this closes the connection (session units). */
export const HANDSHAKE_TIMEOUT_MS = 15_000;
/** CFG-1: gateway.heartbeat defaults (session units). */
export const DEFAULT_PING_INTERVAL_MS = 15_000;
/** Largest frame the oversize case will send. */
const MAX_OVERSIZE_BYTES = 64 * 1024 * 1024;

// ------------------------------------------------------------------ helpers

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown, max = 300): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Real milliseconds as session units. */
function real(session: GatewaySession, ms: number): number {
  return ms * session.timeScale;
}

/** Session units as real milliseconds. */
function toReal(session: GatewaySession, ms: number): number {
  return ms / session.timeScale;
}

/** How late a timer-driven event may come: a quarter of the span or 500 real ms, whichever is more. */
function lateBy(session: GatewaySession, span: number): number {
  return Math.max(span * 0.25, real(session, 500));
}

/** How early: 5% of the span or 50 real ms, whichever is more. */
function earlyBy(session: GatewaySession, span: number): number {
  return Math.max(span * 0.05, real(session, 50));
}

interface Liveness {
  pingIntervalMs?: number;
  deadAfterMs?: number;
  handshakeTimeoutMs?: number;
}

function livenessOf(session: GatewaySession): Liveness {
  const l = (session as { liveness?: unknown }).liveness;
  return isObject(l) ? (l as Liveness) : {};
}

async function openRaw(ctx: CaseContext, options: RawSocketOptions = {}): Promise<{ session: GatewaySession; raw: RawSocket }> {
  const session = await ctx.gateway();
  if (session.raw === undefined) throw new NotApplicable('the target offers no raw socket');
  const raw = await (session.raw as (o?: RawSocketOptions) => Promise<RawSocket>).call(session, options);
  return { session, raw };
}

/** Waits up to 5 s (real) for the close and expects `code`; returns the close. */
async function expectClosedWith(session: GatewaySession, raw: RawSocket, code: number, rule: string, expected: string): Promise<{ code: number; reason: string }> {
  const closed = await raw.waitClose(real(session, 5_000));
  expectRule(closed !== null && closed.code === code, rule, expected, closed === null ? 'still open 5 s (real) later' : `closed ${closed.code} ${show(closed.reason)}`);
  return closed;
}

function extras(raw: RawSocket): WsRawSocket | null {
  const r = raw as Partial<WsRawSocket>;
  return Array.isArray(r.pings) && typeof r.pause === 'function' && typeof r.resume === 'function' ? (raw as WsRawSocket) : null;
}

let requestSeq = 0;

/** Sends a request on a raw socket; its response, or null when none came within `withinMs` (session units) or the socket closed first. */
async function rawRequest(raw: RawSocket, method: string, params: unknown, withinMs: number, id = `p${++requestSeq}-${method}`): Promise<ResponseFrame | null> {
  raw.send(JSON.stringify(params === undefined ? { type: 'req', id, method } : { type: 'req', id, method, params }));
  const isIt = (f: unknown): boolean => isObject(f) && f.type === 'res' && f.id === id;
  const frame = await Promise.race([
    raw.waitFrame(isIt, withinMs),
    raw.waitClose(withinMs).then((closed) => (closed === null ? null : raw.received.find(isIt) ?? null)),
  ]);
  return (frame ?? null) as ResponseFrame | null;
}

async function waitChallenge(session: GatewaySession, raw: RawSocket): Promise<Record<string, unknown>> {
  const challenge = await raw.waitFrame((f) => isObject(f) && f.type === 'event' && f.event === 'connect.challenge', real(session, 5_000));
  expectRule(challenge !== null, 'WS-3', 'a connect.challenge event within 5 s (real) of opening', () => `frames: ${show(raw.received)}`);
  return challenge as Record<string, unknown>;
}

/** Challenge, then `connect` with the given params (default: a valid connect); the response. */
async function rawConnect(session: GatewaySession, raw: RawSocket, params?: unknown): Promise<ResponseFrame | null> {
  await waitChallenge(session, raw);
  const clientInfo = (session as { clientInfo?: Record<string, string> }).clientInfo ?? {};
  return rawRequest(raw, 'connect', params ?? connectParams(session.facts.token, clientInfo), real(session, 10_000));
}

/** A raw socket past hello-ok; returns the hello-ok payload. */
async function rawHello(session: GatewaySession, raw: RawSocket): Promise<Record<string, unknown>> {
  const res = await rawConnect(session, raw);
  expectRule(res !== null && res.ok === true && isObject(res.payload), 'WS-5', 'a valid connect is answered ok with the hello-ok payload',
    () => (res === null ? `no response (frames: ${show(raw.received)})` : show(res)));
  return res.payload as Record<string, unknown>;
}

function errorOf(res: ResponseFrame | null): { code: string; message: string; details: Record<string, unknown> } | null {
  if (res === null || res.ok !== false || !isObject(res.error)) return null;
  const e = res.error as unknown as Record<string, unknown>;
  return { code: String(e.code), message: String(e.message ?? ''), details: isObject(e.details) ? e.details : {} };
}

/** The connection still serves: a `health` request gets some response (ok or not) within 5 s real. */
async function stillServes(session: GatewaySession, raw: RawSocket): Promise<ResponseFrame | null> {
  return rawRequest(raw, 'health', {}, real(session, 5_000));
}

/** A short model answer for cases that need a run but not its content. */
const QUICK_SCRIPT: FakeModelScript = { rules: [], default: { ttftMs: 100, tokensPerSec: 40, outputTokens: 5, chunkTokens: 1, jitter: 0 } };

async function quickModel(session: GatewaySession): Promise<void> {
  if (session.setModel !== undefined) await session.setModel(QUICK_SCRIPT);
}

function chatOf(e: ReceivedEvent): Record<string, unknown> | null {
  return e.event === 'chat' && isObject(e.payload) ? e.payload : null;
}

function isTerminalFor(e: ReceivedEvent, runId: string): boolean {
  const p = chatOf(e);
  return p !== null && p.runId === runId && isTerminalChatState(p.state);
}

/** A run's wait bound: generous, in session units, and at least 30 s real (a real gateway's first run warms up). */
function runBound(session: GatewaySession): number {
  return Math.max(120_000, real(session, 30_000));
}

// ------------------------------------------------------------------ cases

const challengeFirst: ConformanceCase = {
  id: 'ws.handshake.challenge',
  title: 'The gateway speaks first: connect.challenge {nonce, ts}, without seq',
  rules: ['WS-3'],
  level: 'MUST',
  requires: RAW,
  procedure: 'Open a WebSocket and send nothing. The first frame must be event connect.challenge, without seq, with payload {nonce: non-empty string, ts: ms since epoch}.',
  async run(ctx) {
    const { session, raw } = await openRaw(ctx);
    const first = await raw.waitFrame(() => true, real(session, 5_000));
    expectRule(first !== null, 'WS-3', 'a first frame (connect.challenge) within 5 s (real) of opening', () => (raw.received.length === 0 ? 'nothing' : show(raw.received)));
    const f = first as Record<string, unknown>;
    expectRule(isObject(f) && f.type === 'event' && f.event === 'connect.challenge', 'WS-3', 'the first frame is {type:"event", event:"connect.challenge"}', show(f));
    expectRule(f.seq === undefined, 'WS-3', 'connect.challenge carries no seq', `seq ${show(f.seq)}`);
    const p = f.payload;
    expectRule(isObject(p) && typeof p.nonce === 'string' && p.nonce.length > 0, 'WS-3', 'payload.nonce: a non-empty string', show(p));
    expectRule(typeof p.ts === 'number' && Math.abs(p.ts - Date.now()) < 600_000, 'WS-3', 'payload.ts: the gateway\'s time in ms since the epoch (within 10 min of ours)', `ts ${show(p.ts)}, ours ${Date.now()}`);
    const extra = Object.keys(p).filter((k) => k !== 'nonce' && k !== 'ts');
    if (extra.length > 0) ctx.note(`connect.challenge also carries: ${extra.join(', ')}`);
  },
};

const helloShape: ConformanceCase = {
  id: 'ws.hello.shape',
  title: 'hello-ok: protocol 4, server, features, snapshot, policy limits',
  rules: ['WS-5'],
  level: 'MUST',
  requires: RAW,
  procedure: 'Open a socket, wait for the challenge, send a valid connect. The response is ok with payload {type:"hello-ok", protocol:4, server:{version, connId}, features:{methods[], events[]} listing chat.send and chat, snapshot:{}, policy:{maxPayload, maxBufferedBytes, tickIntervalMs} (positive integers).',
  async run(ctx) {
    const { session, raw } = await openRaw(ctx);
    const hello = await rawHello(session, raw);
    expectRule(hello.type === 'hello-ok', 'WS-5', 'payload.type "hello-ok"', show(hello.type));
    expectRule(hello.protocol === 4, 'WS-5', 'payload.protocol 4', show(hello.protocol));
    const server = hello.server;
    expectRule(isObject(server) && typeof server.version === 'string' && typeof server.connId === 'string' && server.connId !== '',
      'WS-5', 'server {name, version: string, connId: non-empty string}', show(server));
    if (typeof server.name !== 'string') ctx.note(`server has no name (${show(server, 200)}); OpenClaw 2026.9.6 sends none, so it is not required`);
    const features = hello.features;
    expectRule(isObject(features) && Array.isArray(features.methods) && features.methods.every((m) => typeof m === 'string')
      && Array.isArray(features.events) && features.events.every((e) => typeof e === 'string'),
    'WS-5', 'features {methods: string[], events: string[]}', show(features));
    const methods = features.methods as string[];
    const events = features.events as string[];
    expectRule(methods.includes('chat.send') && events.includes('chat'), 'WS-5', 'features list what the gateway implements, at least chat.send and the chat event',
      `methods ${show(methods, 200)}, events ${show(events, 200)}`);
    expectRule(isObject(hello.snapshot), 'WS-5', 'snapshot: an object', show(hello.snapshot));
    const policy = hello.policy;
    expectRule(isObject(policy), 'WS-5', 'policy: an object', show(policy));
    for (const key of ['maxPayload', 'maxBufferedBytes', 'tickIntervalMs']) {
      const v = policy[key];
      expectRule(typeof v === 'number' && Number.isInteger(v) && v > 0, 'WS-5', `policy.${key}: a positive integer`, `${key} ${show(v)} in ${show(policy)}`);
    }
    ctx.note(`policy ${show(policy, 400)}; ${methods.length} methods, ${events.length} events`);
    const lanesim = ['chat.abort', 'chat.history', 'sessions.subscribe', 'diagnostics.lanes', 'health'].filter((m) => !methods.includes(m));
    const lanesimEvents = ['agent', 'tick', 'lane.status', 'heartbeat', 'shutdown'].filter((e) => !events.includes(e));
    if (lanesim.length + lanesimEvents.length > 0) ctx.note(`not listed: methods ${lanesim.join(', ') || '-'}; events ${lanesimEvents.join(', ') || '-'}`);
  },
};

const helloHeartbeat: ConformanceCase = {
  id: 'ws.hello.heartbeat-policy',
  title: 'hello-ok.policy.heartbeatIntervalMs advertises the keepalive bound',
  rules: ['HB-4', 'WS-5', 'DEP-2', 'DEP-8'],
  level: 'MUST',
  requires: RAW,
  procedure: 'Connect with a raw socket. hello-ok.policy.heartbeatIntervalMs must be a positive number and, when the target tells its configuration, equal gateway.heartbeat.intervalMs (15000 by default). A gateway without it (OpenClaw today) fails: a waiting client cannot know how often it will hear from the gateway.',
  async run(ctx) {
    const { session, raw } = await openRaw(ctx);
    const hello = await rawHello(session, raw);
    const policy = isObject(hello.policy) ? hello.policy : {};
    const hb = policy.heartbeatIntervalMs;
    expectRule(typeof hb === 'number' && hb > 0, 'HB-4',
      'hello-ok.policy.heartbeatIntervalMs = gateway.heartbeat.intervalMs (15000 ms by default): the longest a waiting client goes without a frame (HB-1, DEP-2, DEP-8)',
      `policy has ${hb === undefined ? 'no heartbeatIntervalMs' : `heartbeatIntervalMs ${show(hb)}`}: ${show(policy, 300)}`);
    const scaled = hb * session.timeScale;
    const config = (session as { config?: { gateway?: { heartbeat?: { intervalMs?: number } } } }).config;
    const want = config?.gateway?.heartbeat?.intervalMs;
    if (typeof want === 'number') {
      expectRule(Math.abs(scaled - want) <= 1e-6 * Math.max(1, want), 'HB-4', `heartbeatIntervalMs equal to gateway.heartbeat.intervalMs (${want} ms)`, `${scaled} ms`);
    }
    ctx.note(`heartbeatIntervalMs ${scaled} ms (session units)`);
  },
};

const badParams: ConformanceCase = {
  id: 'ws.handshake.bad-params',
  title: 'Malformed connect params: INVALID_REQUEST, then close 1008',
  rules: ['WS-6'],
  level: 'MUST',
  requires: RAW,
  procedure: 'After the challenge send connect with params {minProtocol: "four", client: 7}. Expect an error response with code INVALID_REQUEST, then the connection closed with 1008.',
  async run(ctx) {
    const { session, raw } = await openRaw(ctx);
    const res = await rawConnect(session, raw, { minProtocol: 'four', client: 7 });
    const err = errorOf(res);
    expectRule(err !== null && err.code === 'INVALID_REQUEST', 'WS-6', 'an error response with code INVALID_REQUEST (invalid connect params)', () => show(res ?? raw.received));
    const closed = await expectClosedWith(session, raw, 1008, 'WS-6', 'then the connection closed with 1008');
    ctx.note(`error message ${show(err.message)}; close reason ${show(closed.reason)}`);
  },
};

const protocolMismatch: ConformanceCase = {
  id: 'ws.handshake.protocol-mismatch',
  title: 'Protocol 4 not in [minProtocol, maxProtocol]: PROTOCOL_MISMATCH, close 1002',
  rules: ['WS-6'],
  level: 'MUST',
  requires: RAW,
  procedure: 'Send an otherwise valid connect with minProtocol = maxProtocol = 5. Expect an error response naming PROTOCOL_MISMATCH (as error.code, or as error.details.code with code INVALID_REQUEST, as OpenClaw sends it) with details.expectedProtocol 4, then close 1002.',
  async run(ctx) {
    const { session, raw } = await openRaw(ctx);
    const clientInfo = (session as { clientInfo?: Record<string, string> }).clientInfo ?? {};
    const res = await rawConnect(session, raw, connectParams(session.facts.token, clientInfo, { minProtocol: 5, maxProtocol: 5 }));
    const err = errorOf(res);
    const named = err !== null && (err.code === 'PROTOCOL_MISMATCH' || (err.code === 'INVALID_REQUEST' && err.details.code === 'PROTOCOL_MISMATCH'));
    expectRule(named, 'WS-6', 'an error response with code PROTOCOL_MISMATCH (or INVALID_REQUEST with details.code PROTOCOL_MISMATCH)', () => show(res ?? raw.received));
    expectRule(err.details.expectedProtocol === 4, 'WS-6', 'error.details.expectedProtocol 4', show(err.details));
    const closed = await expectClosedWith(session, raw, 1002, 'WS-6', 'then the connection closed with 1002');
    ctx.note(`error ${err.code}${err.code !== 'PROTOCOL_MISMATCH' ? ` with details.code ${String(err.details.code)}` : ''}; close reason ${show(closed.reason)}`);
  },
};

const wrongToken: ConformanceCase = {
  id: 'ws.handshake.wrong-token',
  title: 'Wrong token: INVALID_REQUEST with AUTH_TOKEN_MISMATCH, close 1008',
  rules: ['WS-6'],
  level: 'MUST',
  requires: RAW,
  procedure: 'On a gateway that requires a token, send a valid connect with a wrong auth.token. Expect an error response with code INVALID_REQUEST and details.code AUTH_TOKEN_MISMATCH, then close 1008. n/a when the gateway has no token.',
  async run(ctx) {
    const { session, raw } = await openRaw(ctx);
    const token = session.facts.token;
    if (token === null) throw new NotApplicable('the gateway has no token configured (facts.token is null)');
    const clientInfo = (session as { clientInfo?: Record<string, string> }).clientInfo ?? {};
    const res = await rawConnect(session, raw, connectParams(`${token}-wrong`, clientInfo));
    const err = errorOf(res);
    expectRule(err !== null && err.code === 'INVALID_REQUEST' && err.details.code === 'AUTH_TOKEN_MISMATCH', 'WS-6',
      'an error response {code: INVALID_REQUEST, details: {code: AUTH_TOKEN_MISMATCH}}', () => show(res ?? raw.received));
    const closed = await expectClosedWith(session, raw, 1008, 'WS-6', 'then the connection closed with 1008');
    ctx.note(`error message ${show(err.message)}; close reason ${show(closed.reason)}`);
  },
};

const notConnectFirst: ConformanceCase = {
  id: 'ws.handshake.not-connect-first',
  title: 'A first frame that is not connect closes the connection with 1008',
  rules: ['WS-4'],
  level: 'MUST',
  requires: RAW,
  procedure: 'After the challenge send {type:"req", id, method:"health"} as the first frame. Expect close 1008 within 5 s (real). An error response before the close is noted (OpenClaw sends one), not failed.',
  async run(ctx) {
    const { session, raw } = await openRaw(ctx);
    await waitChallenge(session, raw);
    raw.send(JSON.stringify({ type: 'req', id: 'first-1', method: 'health', params: {} }));
    const closed = await expectClosedWith(session, raw, 1008, 'WS-4', 'the connection closed with 1008 (invalid request frame)');
    const answered = raw.received.find((f) => isObject(f) && f.type === 'res');
    expectRule(answered === undefined || (isObject(answered) && answered.ok === false), 'WS-4', 'no successful response to a request before connect', show(answered));
    ctx.note(answered === undefined ? 'closed without a response' : `answered ${show(answered, 200)} before closing`);
  },
};

const secondConnect: ConformanceCase = {
  id: 'ws.handshake.second-connect',
  title: 'A second connect after hello-ok is refused; the connection stays open',
  rules: ['WS-4'],
  level: 'MUST',
  requires: RAW,
  procedure: 'Complete the handshake, send connect again. Expect an error response INVALID_REQUEST; then a health request is still answered.',
  async run(ctx) {
    const { session, raw } = await openRaw(ctx);
    await rawHello(session, raw);
    const clientInfo = (session as { clientInfo?: Record<string, string> }).clientInfo ?? {};
    const res = await rawRequest(raw, 'connect', connectParams(session.facts.token, clientInfo), real(session, 5_000));
    const err = errorOf(res);
    expectRule(err !== null && err.code === 'INVALID_REQUEST', 'WS-4', 'a second connect answered INVALID_REQUEST (already connected)', () => show(res ?? raw.received.slice(-3)));
    const next = await stillServes(session, raw);
    expectRule(next !== null, 'WS-4', 'the connection stays open and serves the next request', show((raw as Partial<WsRawSocket>).closeInfo ?? 'no response'));
    ctx.note(`second connect: ${show(err.message)}`);
  },
};

const handshakeTimeout: ConformanceCase = {
  id: 'ws.handshake.timeout',
  title: 'No connect within 15000 ms: the gateway closes the connection',
  rules: ['WS-4'],
  level: 'MUST',
  requires: RAW,
  procedure: `Open a socket and send nothing. The gateway must close it ${HANDSHAKE_TIMEOUT_MS} ms after opening (not much earlier, not much later), with 1008 (1000, as OpenClaw closes, is accepted). Only watched when that takes at most ${OBSERVE_REAL_MS / 1000} s of real time; otherwise n/a.`,
  async run(ctx) {
    const session = await ctx.gateway();
    const expected = livenessOf(session).handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    const late = lateBy(session, expected);
    if (toReal(session, expected + late) > OBSERVE_REAL_MS) {
      throw new NotApplicable(`the handshake timeout (${expected} ms) would take ${Math.round(toReal(session, expected + late) / 1000)} s of real time to watch (more than ${OBSERVE_REAL_MS / 1000} s)`);
    }
    if (session.raw === undefined) throw new NotApplicable('the target offers no raw socket');
    const raw = await session.raw();
    const opened = nowOf(session);
    const closed = await raw.waitClose(expected + late);
    const at = nowOf(session) - opened;
    expectRule(closed !== null, 'WS-4', `the connection closed ${expected} ms after opening without a connect`, `still open ${Math.round(at)} ms later`);
    const closedAt = (raw as Partial<WsRawSocket>).closeInfo?.at;
    const after = closedAt === undefined ? at : closedAt - opened;
    expectRule(after >= expected - earlyBy(session, expected), 'WS-4', `closed no earlier than ${expected} ms after opening`, `closed after ${Math.round(after)} ms`);
    expectRule(closed.code === 1008 || closed.code === 1000, 'WS-4', 'close code 1008 (handshake timeout; 1000 as OpenClaw closes is accepted)', `closed ${closed.code} ${show(closed.reason)}`);
    ctx.note(`closed after ${Math.round(after)} ms with ${closed.code} ${show(closed.reason)}`);
  },
};

const unknownMethod: ConformanceCase = {
  id: 'ws.request.unknown-method',
  title: 'Unknown method: an error response; the connection stays open',
  rules: ['WS-7'],
  level: 'MUST',
  requires: GW,
  procedure: 'Connect, request "lanesim.no-such-method". Expect ok:false with UNKNOWN_METHOD (or INVALID_REQUEST "unknown method: ...", as OpenClaw answers); the connection stays open and answers the next request.',
  async run(ctx) {
    const session = await ctx.gateway();
    const client = await session.connect('unknown-method');
    const res = await client.request('lanesim.no-such-method', {});
    const err = errorOf(res);
    expectRule(err !== null && (err.code === 'UNKNOWN_METHOD' || (err.code === 'INVALID_REQUEST' && /unknown method/i.test(err.message))), 'WS-7',
      'an error response UNKNOWN_METHOD "unknown method: lanesim.no-such-method"', show(res));
    const next = await client.request('health', {});
    expectRule(!client.closed && next.type === 'res', 'WS-7', 'the connection stays open and answers the next request', client.closed ? 'closed' : show(next));
    ctx.note(`answered ${err.code} ${show(err.message)}`);
  },
};

const badRequestParams: ConformanceCase = {
  id: 'ws.request.bad-params',
  title: 'Bad params: INVALID_REQUEST; the connection stays open',
  rules: ['WS-7', 'WS-13'],
  level: 'MUST',
  requires: GW,
  procedure: 'Connect, request chat.send with params {sessionKey: 42}. Expect ok:false with INVALID_REQUEST; the connection stays open and answers the next request.',
  async run(ctx) {
    const session = await ctx.gateway();
    const client = await session.connect('bad-params');
    const res = await client.request('chat.send', { sessionKey: 42 });
    const err = errorOf(res);
    expectRule(err !== null && err.code === 'INVALID_REQUEST', 'WS-7', 'an error response INVALID_REQUEST (invalid chat.send params)', show(res));
    const next = await client.request('health', {});
    expectRule(!client.closed && next.type === 'res', 'WS-7', 'the connection stays open and answers the next request', client.closed ? 'closed' : show(next));
    ctx.note(`answered ${show(err.message)}`);
  },
};

const invalidFrame: ConformanceCase = {
  id: 'ws.request.invalid-frame',
  title: 'A parsed frame that is not a request but has an id: INVALID_REQUEST; stays open',
  rules: ['WS-7'],
  level: 'MUST',
  requires: RAW,
  procedure: 'After hello-ok send {type:"nope", id:"bad-frame-1"}. Expect a response with that id, ok:false, code INVALID_REQUEST; then a health request is answered.',
  async run(ctx) {
    const { session, raw } = await openRaw(ctx);
    await rawHello(session, raw);
    raw.send(JSON.stringify({ type: 'nope', id: 'bad-frame-1' }));
    const res = (await raw.waitFrame((f) => isObject(f) && f.type === 'res' && f.id === 'bad-frame-1', real(session, 5_000))) as ResponseFrame | null;
    const err = errorOf(res);
    expectRule(err !== null && err.code === 'INVALID_REQUEST', 'WS-7', 'a response {id:"bad-frame-1", ok:false, error.code INVALID_REQUEST}', () => show(res ?? raw.received.slice(-3)));
    const next = await stillServes(session, raw);
    expectRule(next !== null, 'WS-7', 'the connection stays open and serves the next request', show((raw as Partial<WsRawSocket>).closeInfo ?? 'no response'));
  },
};

/** Sends something bad after hello-ok: closed with `code`, or ignored while the connection keeps serving. */
async function closedOrIgnored(ctx: CaseContext, rule: string, what: string, code: number, send: (raw: RawSocket) => void): Promise<void> {
  const { session, raw } = await openRaw(ctx);
  await rawHello(session, raw);
  const before = raw.received.length;
  send(raw);
  const closed = await raw.waitClose(real(session, 2_000));
  if (closed !== null) {
    expectRule(closed.code === code, rule, `${what} closes the connection with ${code} (or is ignored)`, `closed ${closed.code} ${show(closed.reason)}`);
    ctx.note(`closed ${closed.code} ${show(closed.reason)}`);
    return;
  }
  const res = await stillServes(session, raw);
  expectRule(res !== null, rule, `${what} closes the connection with ${code}, or is ignored and the connection keeps serving`, 'the connection stayed open but did not answer a health request within 5 s (real)');
  const replies = raw.received.slice(before).filter((f) => isObject(f) && f.type === 'res' && f.id !== res.id);
  ctx.note(`ignored (the connection stayed open and serves)${replies.length > 0 ? `; answered ${show(replies, 200)}` : ''}`);
}

const invalidJson: ConformanceCase = {
  id: 'ws.input.invalid-json',
  title: 'A frame that is not JSON closes with 1008 (or is ignored); never harms the gateway',
  rules: ['WS-7'],
  level: 'MUST',
  requires: RAW,
  procedure: 'After hello-ok send the text "this is {not json". Expect close 1008 (WS-7). OpenClaw ignores such frames and keeps the connection: accepted when the connection then still answers a health request. Any other close code fails.',
  run: (ctx) => closedOrIgnored(ctx, 'WS-7', 'a frame that is not JSON', 1008, (raw) => raw.send('this is {not json')),
};

const binaryFrame: ConformanceCase = {
  id: 'ws.input.binary',
  title: 'A binary frame closes with 1003 (or is ignored); never harms the gateway',
  rules: ['WS-1'],
  level: 'MUST',
  requires: RAW,
  procedure: 'After hello-ok send a binary frame [1,2,3]. Expect close 1003 (WS-1). OpenClaw ignores it and keeps the connection: accepted when the connection then still answers a health request. Any other close code fails.',
  run: (ctx) => closedOrIgnored(ctx, 'WS-1', 'a binary frame', 1003, (raw) => raw.send(Buffer.from([1, 2, 3]))),
};

const oversize: ConformanceCase = {
  id: 'ws.input.oversize',
  title: 'A frame larger than policy.maxPayload closes with 1009',
  rules: ['WS-8'],
  level: 'MUST',
  requires: RAW,
  procedure: `After hello-ok send one text frame of maxPayload + 1 bytes (a health request padded). Expect close 1009 within 10 s (real). n/a when maxPayload is unknown or over ${MAX_OVERSIZE_BYTES} bytes.`,
  async run(ctx) {
    const { session, raw } = await openRaw(ctx);
    const hello = await rawHello(session, raw);
    const policy = isObject(hello.policy) ? hello.policy : {};
    const max = session.facts.maxPayload ?? (typeof policy.maxPayload === 'number' ? policy.maxPayload : null);
    if (max === null) throw new NotApplicable('maxPayload is unknown (hello-ok.policy has none)');
    if (max > MAX_OVERSIZE_BYTES) throw new NotApplicable(`maxPayload ${max} is over ${MAX_OVERSIZE_BYTES} bytes: too large to send in a case`);
    const head = '{"type":"req","id":"oversize-1","method":"health","params":{"pad":"';
    const tail = '"}}';
    const frame = `${head}${'x'.repeat(max + 1 - head.length - tail.length)}${tail}`;
    raw.send(frame);
    const closed = await raw.waitClose(real(session, 10_000));
    expectRule(closed !== null && closed.code === 1009, 'WS-8', `a ${max + 1}-byte frame (maxPayload ${max}) closes the connection with 1009`,
      closed === null ? 'still open 10 s (real) later' : `closed ${closed.code} ${show(closed.reason)}`);
    ctx.note(`maxPayload ${max}; close reason ${show(closed.reason)}`);
  },
};

const seqCase: ConformanceCase = {
  id: 'ws.events.seq',
  title: 'Every event after hello-ok carries seq: 1, 2, 3, ... per connection',
  rules: ['WS-9'],
  level: 'MUST',
  requires: GW,
  procedure: 'Connect, send one chat message (a short scripted answer when the model can be scripted) and wait for its terminal chat frame. Every event the connection got carries an integer seq, the first 1, each next one +1; the chat.send response carries no seq.',
  async run(ctx) {
    const session = await ctx.gateway();
    await quickModel(session);
    const client = await session.connect('seq');
    const res = await client.request('chat.send', { sessionKey: session.sessionKey('seq'), message: 'lanesim seq check', idempotencyKey: `seq-${ctx.seed}-${Date.now()}` });
    expectRule(res.ok, 'WS-13', 'chat.send answered ok', show(res));
    expectRule((res as { seq?: unknown }).seq === undefined, 'WS-9', 'response frames carry no seq', show(res));
    const runId = isObject(res.payload) ? String(res.payload.runId) : '';
    const end = await client.waitFor((e) => isTerminalFor(e, runId), runBound(session));
    expectRule(end !== null, 'WS-15', `a terminal chat frame for run ${runId}`, `none within ${runBound(session)} ms; got ${client.events.length} events`);
    checkSeq(client, 'WS-9');
    ctx.note(`${client.events.length} events, seq 1..${client.events.length}`);
  },
};

function checkSeq(client: TestClient, rule: string): void {
  const seqs = client.events.map((e) => e.seq);
  expectRule(seqs.every((s) => typeof s === 'number' && Number.isInteger(s)), rule, 'every event after hello-ok carries an integer seq',
    () => show(client.events.filter((e) => typeof e.seq !== 'number').slice(0, 3)));
  if (seqs.length === 0) return;
  expectRule(seqs[0] === 1, rule, 'the first event after hello-ok has seq 1', `first seq ${String(seqs[0])} (${client.events[0]!.event})`);
  for (let i = 1; i < seqs.length; i++) {
    expectRule(seqs[i] === seqs[i - 1]! + 1, rule, 'each event\'s seq is the previous one + 1 (no gap, no repeat)',
      `seq ${String(seqs[i - 1])} (${client.events[i - 1]!.event}) then ${String(seqs[i])} (${client.events[i]!.event})`);
  }
}

const pings: ConformanceCase = {
  id: 'ws.heartbeat.pings',
  title: 'The gateway pings every connection every pingIntervalMs',
  rules: ['HB-5'],
  level: 'MUST',
  requires: RAW,
  procedure: `Complete a handshake on a raw socket (answering pings) and record WebSocket pings. With a known pingIntervalMs P: the first ping P after connecting and the next one P later (within tolerance). With P unknown: some ping within ${PING_UNKNOWN_REAL_MS / 1000} s real (the default P is ${DEFAULT_PING_INTERVAL_MS} ms); the observed time is noted. n/a when watching would take longer than ${OBSERVE_REAL_MS / 1000} s of real time.`,
  async run(ctx) {
    const { session, raw } = await openRaw(ctx);
    const x = extras(raw);
    if (x === null) throw new NotApplicable('the raw socket does not report WebSocket pings');
    await rawHello(session, raw);
    const connected = nowOf(session);
    const p = livenessOf(session).pingIntervalMs;
    if (p === undefined) {
      const bound = real(session, PING_UNKNOWN_REAL_MS);
      if (bound < DEFAULT_PING_INTERVAL_MS * 1.5) throw new NotApplicable(`pingIntervalMs is unknown and ${PING_UNKNOWN_REAL_MS / 1000} s real is only ${bound} ms of gateway time`);
      await waitUntilTrue(session, () => x.pings.length > 0, bound);
      expectRule(x.pings.length > 0, 'HB-5', `WebSocket pings every pingIntervalMs (default ${DEFAULT_PING_INTERVAL_MS} ms)`, `no ping within ${Math.round(bound)} ms of connecting`);
      ctx.note(`pingIntervalMs unknown; first ping ${Math.round(x.pings[0]! - connected)} ms after hello-ok`);
      return;
    }
    const late = lateBy(session, p);
    const two = toReal(session, 2 * p + late) <= OBSERVE_REAL_MS;
    if (!two && toReal(session, p + late) > OBSERVE_REAL_MS) throw new NotApplicable(`pingIntervalMs ${p} would take more than ${OBSERVE_REAL_MS / 1000} s of real time to watch`);
    const want = two ? 2 : 1;
    await waitUntilTrue(session, () => x.pings.length >= want, want * p + late);
    expectRule(x.pings.length >= want, 'HB-5', `${want} ping(s) within ${want * p} ms of connecting (pingIntervalMs ${p})`, `${x.pings.length} ping(s) at ${show(x.pings.map((t) => Math.round(t - connected)))} ms`);
    const first = x.pings[0]! - connected;
    expectRule(first >= p - earlyBy(session, p) - real(session, 50) && first <= p + late, 'HB-5', `the first ping ${p} ms after connecting`, `${Math.round(first)} ms`);
    if (two) {
      const gap = x.pings[1]! - x.pings[0]!;
      expectRule(Math.abs(gap - p) <= late, 'HB-5', `the next ping ${p} ms later`, `${Math.round(gap)} ms later`);
    }
    ctx.note(`pings at ${show(x.pings.map((t) => Math.round(t - connected)))} ms after hello-ok (pingIntervalMs ${p})`);
  },
};

async function waitUntilTrue(session: GatewaySession, check: () => boolean, withinMs: number): Promise<void> {
  const step = Math.max(real(session, 10), Math.min(withinMs / 50, real(session, 200)));
  for (let waited = 0; !check() && waited < withinMs; waited += step) await session.sleep(step);
}

const deadPeer: ConformanceCase = {
  id: 'ws.heartbeat.dead-peer',
  title: 'A peer that answers nothing is closed after deadAfterMs with 1001 "no pong"',
  rules: ['HB-6'],
  level: 'MUST',
  requires: RAW,
  procedure: `Complete a handshake on a raw socket that does not answer pings, then send nothing. With a known deadAfterMs D: closed D after the connect frame (not earlier), with 1001 (a terminated socket, 1006, is accepted: the gateway MAY skip the close handshake). With D unknown: watched ${OBSERVE_REAL_MS / 1000} s real; a close is checked as above, no close is n/a.`,
  async run(ctx) {
    const { session, raw } = await openRaw(ctx, { autoPong: false });
    if (extras(raw) === null) throw new NotApplicable('the raw socket cannot refuse to answer pings');
    const d = livenessOf(session).deadAfterMs;
    const late = d === undefined ? 0 : lateBy(session, d);
    if (d !== undefined && toReal(session, d + late) > OBSERVE_REAL_MS) throw new NotApplicable(`deadAfterMs ${d} would take more than ${OBSERVE_REAL_MS / 1000} s of real time to watch`);
    const sent = nowOf(session);
    await rawHello(session, raw);
    const bound = d === undefined ? real(session, OBSERVE_REAL_MS) : d + late;
    const closed = await raw.waitClose(bound);
    const closedAt = (raw as Partial<WsRawSocket>).closeInfo?.at ?? nowOf(session);
    if (closed === null) {
      if (d === undefined) throw new NotApplicable(`no close within ${OBSERVE_REAL_MS / 1000} s real of a silent peer (deadAfterMs unknown; lanesim's default is 45000 ms)`);
      expectRule(false, 'HB-6', `a silent peer closed ${d} ms after its last frame (1001 "no pong")`, `still open after ${Math.round(nowOf(session) - sent)} ms`);
    }
    const after = closedAt - sent;
    expectRule(closed.code === 1001 || closed.code === 1006, 'HB-6', 'closed with 1001 "no pong" (or terminated: 1006)', `closed ${closed.code} ${show(closed.reason)}`);
    if (d !== undefined) expectRule(after >= d - earlyBy(session, d), 'HB-6', `not before deadAfterMs (${d} ms) of silence`, `closed after ${Math.round(after)} ms`);
    ctx.note(`closed ${closed.code} ${show(closed.reason)} ${Math.round(after)} ms after the connect frame${d === undefined ? '' : ` (deadAfterMs ${d})`}`);
  },
};

const slowConsumer: ConformanceCase = {
  id: 'ws.backpressure.slow-consumer',
  title: 'A client that stops reading is cut off, never served with holes',
  rules: ['WS-10'],
  level: 'MUST',
  requires: RAW,
  procedure: 'Best effort. After hello-ok stop reading the socket, send enough requests with 1 MB ids (each answered by an error echoing the id) to exceed 1.75 x maxBufferedBytes of responses, wait 2.5 s real (1 s on a scaled gateway; under half of deadAfterMs when known: it asks for a gateway with a long deadAfterMs), read again. Expect the connection closed with 1008 "slow consumer" (a terminated socket, 1006, as OpenClaw does, is accepted). When every response arrives and the connection stays open, the gateway could not be provoked: n/a. A connection that stays open with responses missing fails (responses are never dropped).',
  async run(ctx) {
    // A paused reader cannot answer pings: ask for a gateway that waits long before calling a peer dead (HB-6),
    // so that the slow-consumer rule, not the dead-peer one, is what cuts it (a fixed gateway keeps its own).
    const session = await ctx.gateway({ config: { gateway: { heartbeat: { deadAfterMs: 3_600_000 } } } as unknown as Partial<LanesimConfig> });
    if (session.raw === undefined) throw new NotApplicable('the target offers no raw socket');
    const raw = await session.raw();
    const x = extras(raw);
    if (x === null) throw new NotApplicable('the raw socket cannot stop reading');
    const dead = livenessOf(session).deadAfterMs;
    // Long enough for the gateway to read the requests and pile up answers: 2.5 s for a gateway on its own
    // timers, 1 s for a scaled test gateway; always under half of deadAfterMs when known.
    const basePause = session.timeScale === 1 ? 2_500 : 1_000;
    const pauseMs = dead === undefined ? basePause : Math.min(basePause, toReal(session, dead) * 0.5);
    const hello = await rawHello(session, raw);
    const policy = isObject(hello.policy) ? hello.policy : {};
    const maxBuffered = typeof policy.maxBufferedBytes === 'number' ? policy.maxBufferedBytes : null;
    const maxPayload = session.facts.maxPayload ?? (typeof policy.maxPayload === 'number' ? policy.maxPayload : null);
    if (maxBuffered === null) throw new NotApplicable('maxBufferedBytes is unknown');
    if (maxBuffered > 128 * 1024 * 1024) throw new NotApplicable(`maxBufferedBytes ${maxBuffered} is too large to exceed in a case`);
    const idBytes = Math.min(1_000_000, maxPayload === null ? 1_000_000 : Math.floor(maxPayload / 2));
    const count = Math.ceil((maxBuffered * 1.75) / idBytes) + 4;
    const pad = 'x'.repeat(idBytes);
    const ids = new Set<string>();
    x.pause();
    for (let i = 0; i < count; i++) {
      const id = `${pad}${i}`;
      ids.add(id);
      raw.send(JSON.stringify({ type: 'req', id, method: 'lanesim.slow-consumer-probe' }));
      // Let the event loop breathe between megabytes (a gateway in this process, other clients' timers).
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    x.resume();
    const allAnswered = (): boolean => raw.received.filter((f) => isObject(f) && f.type === 'res' && typeof f.id === 'string' && ids.has(f.id)).length >= count;
    await Promise.race([raw.waitClose(real(session, 15_000)), waitUntilTrue(session, allAnswered, real(session, 15_000))]);
    const answered = raw.received.filter((f) => isObject(f) && f.type === 'res' && typeof f.id === 'string' && ids.has(f.id)).length;
    const closed = x.closeInfo;
    if (closed !== null && closed.code === 1001 && /pong/i.test(closed.reason)) {
      throw new NotApplicable(`the gateway closed the paused reader as a dead peer (1001 ${show(closed.reason)}) before it became a slow consumer`);
    }
    if (closed !== null) {
      expectRule(closed.code === 1008 || closed.code === 1006, 'WS-10', 'a slow consumer is closed with 1008 "slow consumer" (or its socket terminated: 1006)', `closed ${closed.code} ${show(closed.reason)} after ${answered}/${count} responses`);
      ctx.note(`closed ${closed.code} ${show(closed.reason)} after ${answered}/${count} responses of ${idBytes} bytes (maxBufferedBytes ${maxBuffered})`);
      return;
    }
    expectRule(answered >= count, 'WS-10', 'responses are never dropped: a connection that stays open gets every response', `${answered}/${count} responses and the connection is open`);
    throw new NotApplicable(`could not provoke a slow consumer: all ${count} responses (${Math.round((count * idBytes) / 1e6)} MB) arrived and the connection stayed open`);
  },
};

const tick: ConformanceCase = {
  id: 'ws.tick.present',
  title: 'tick events arrive every tickIntervalMs (reports the observed interval)',
  rules: ['WS-12'],
  level: 'INFORMATIONAL',
  requires: GW,
  procedure: `Connect and wait for tick events: the first within tickIntervalMs (hello-ok) of connecting, then a second one when it can arrive within ${TICK_BUDGET_REAL_MS / 1000} s of real time in all (a real gateway with 30 s ticks needs a case time limit over that); the observed offset and interval are noted. Fails only when no tick arrives within tickIntervalMs (plus tolerance).`,
  async run(ctx) {
    const session = await ctx.gateway();
    const t = session.facts.tickIntervalMs;
    if (t === null) throw new NotApplicable('hello-ok.policy has no tickIntervalMs');
    const late = lateBy(session, t);
    if (toReal(session, t + late) > TICK_BUDGET_REAL_MS) throw new NotApplicable(`tickIntervalMs ${t} would take more than ${TICK_BUDGET_REAL_MS / 1000} s of real time to watch`);
    const started = nowOf(session);
    const client = await session.connect('tick');
    const connected = nowOf(session);
    const isTick = (e: ReceivedEvent): boolean => e.event === 'tick';
    const first = await client.waitFor(isTick, t + late);
    expectRule(first !== null, 'WS-12', `a tick within tickIntervalMs (${t} ms) of connecting`, `none within ${Math.round(t + late)} ms`);
    const payload = first.payload;
    expectRule(isObject(payload) && typeof payload.ts === 'number', 'WS-12', 'tick payload {ts}', show(payload));
    const spent = toReal(session, nowOf(session) - started);
    const budget = TICK_BUDGET_REAL_MS - spent;
    if (toReal(session, t + late) > budget) {
      ctx.note(`first tick ${Math.round(first.at - connected)} ms after connecting; interval not measured (a second tick could take longer than the real-time budget)`);
      return;
    }
    const second = await client.waitFor((e) => isTick(e) && e !== first, t + late);
    if (second === null) {
      ctx.note(`first tick ${Math.round(first.at - connected)} ms after connecting; no second tick within ${Math.round(t + late)} ms`);
      expectRule(false, 'WS-12', `ticks every tickIntervalMs (${t} ms)`, `one tick, then none within ${Math.round(t + late)} ms`);
    }
    const interval = second.at - first.at;
    ctx.note(`tick interval ${Math.round(interval)} ms (policy ${t} ms); first tick ${Math.round(first.at - connected)} ms after connecting`);
    expectRule(Math.abs(interval - t) <= late, 'WS-12', `ticks ${t} ms apart`, `${Math.round(interval)} ms apart`);
  },
};

const idempotency: ConformanceCase = {
  id: 'ws.chat.idempotency',
  title: 'A repeated idempotencyKey is not accepted again: same runId, no second run',
  rules: ['WS-14'],
  level: 'MUST',
  requires: GW,
  procedure: 'Script a 3000 ms answer for a marked message (when the model can be scripted). Send it with key K, at once send the same (sessionKey, K) again: same runId, status in_flight. Wait for its terminal frame; send K a third time: same runId, status in_flight (OpenClaw answers "ok" once the run ended: accepted), and no new run starts (no chat frame of another runId for the session, one terminal frame, one model request for the message).',
  async run(ctx) {
    const session = await ctx.gateway();
    const tag = `lanesim-idem-${ctx.seed.toString(36)}`;
    if (session.setModel !== undefined) {
      await session.setModel({ rules: [{ name: tag, match: { marker: `[${tag}]` }, respond: { ttftMs: 3_000, tokensPerSec: 40, outputTokens: 4, chunkTokens: 1, jitter: 0 } }], default: QUICK_SCRIPT.default! });
    }
    const client = await session.connect('idem');
    const sessionKey = session.sessionKey('idem');
    const key = `idem-${ctx.seed}-${Date.now()}`;
    const params = { sessionKey, message: `[${tag}] idempotency check`, idempotencyKey: key };
    const r1 = await client.request('chat.send', params);
    const r2 = await client.request('chat.send', params);
    const p1 = isObject(r1.payload) ? r1.payload : {};
    const p2 = isObject(r2.payload) ? r2.payload : {};
    expectRule(r1.ok && typeof p1.runId === 'string', 'WS-13', 'the first chat.send is accepted with a runId', show(r1));
    const runId = p1.runId;
    expectRule(r2.ok && p2.runId === runId && p2.status === 'in_flight', 'WS-14', `the repeat answered {runId: ${runId}, status: in_flight}`, show(r2));
    const end = await client.waitFor((e) => isTerminalFor(e, runId), runBound(session));
    expectRule(end !== null, 'WS-15', `a terminal chat frame for run ${runId}`, `none within ${runBound(session)} ms`);
    const r3 = await client.request('chat.send', params);
    const p3 = isObject(r3.payload) ? r3.payload : {};
    expectRule(r3.ok && p3.runId === runId && (p3.status === 'in_flight' || p3.status === 'ok'), 'WS-14',
      `a repeat after the run ended answered {runId: ${runId}, status: in_flight} (OpenClaw's "ok" accepted)`, show(r3));
    await session.sleep(Math.max(2_000, real(session, 1_500)));
    const others = client.events.filter((e) => {
      const p = chatOf(e);
      return p !== null && p.sessionKey === sessionKey && p.runId !== runId;
    });
    expectRule(others.length === 0, 'WS-14', 'no second run for the repeated key', () => `chat frames of other runs: ${show(others.slice(0, 3))}`);
    const ends = client.events.filter((e) => isTerminalFor(e, runId));
    expectRule(ends.length === 1, 'WS-14', `exactly one terminal frame for ${runId}`, `${ends.length}`);
    if (session.modelRequests !== undefined && session.setModel !== undefined) {
      const requests = (await session.modelRequests()).filter((r) => r.rule === tag);
      expectRule(requests.length <= 1, 'WS-14', 'the model got exactly one request for the message', `${requests.length} requests`);
      // No request under the case's rule: the marker never reached the model's user turn (the gateway
      // rewrote the text beyond recognition), so the log cannot attribute requests to this message.
      if (requests.length === 0) ctx.note('model requests not attributable to the message (its marker was not in the user turn the model got)');
    }
    ctx.note(`repeat during the run: ${String(p2.status)}; after it: ${String(p3.status)}`);
  },
};

function textOfChat(p: Record<string, unknown>): string {
  const message = p.message;
  if (!isObject(message) || !Array.isArray(message.content)) return '';
  return message.content.map((c) => (isObject(c) && typeof c.text === 'string' ? c.text : '')).join('');
}

const followupOwnRunId: ConformanceCase = {
  id: 'ws.chat.followup-own-runid',
  title: 'A followup is answered under the runId its sender was told, not closed by an empty final',
  rules: ['WS-17', 'QUEUE-4', 'DEP-3'],
  level: 'MUST',
  requires: ['gateway', 'model-script'],
  procedure: 'Queue mode followup (asked for; n/a when the gateway runs another mode). Script a 3000 ms answer for message A and a short one for B. Send A, then B to the same session while A runs. B\'s sender must hear B answered under B\'s own runId: its first terminal frame for that runId carries the answer text (not an empty final before its run), and no run under another runId answers in the session.',
  async run(ctx) {
    const session = await ctx.gateway({ config: { messages: { queue: { mode: 'followup' } } } as unknown as Partial<LanesimConfig> });
    const mode = (session as { config?: { messages?: { queue?: { mode?: string } } } }).config?.messages?.queue?.mode;
    if (mode === undefined) throw new NotApplicable('the target does not tell its queue mode (session.config); this case needs followup');
    if (mode !== 'followup') throw new NotApplicable(`needs messages.queue.mode followup; the gateway runs ${mode}`);
    if (session.setModel === undefined) throw new NotApplicable('the target cannot script its model');
    const tag = `lanesim-fu-${ctx.seed.toString(36)}`;
    await session.setModel({
      rules: [
        { name: `${tag}-a`, match: { marker: `[${tag}-a]` }, respond: { ttftMs: 3_000, tokensPerSec: 40, outputTokens: 4, chunkTokens: 1, jitter: 0 } },
        { name: `${tag}-b`, match: { marker: `[${tag}-b]` }, respond: { ttftMs: 100, tokensPerSec: 40, text: 'followup answer', chunkTokens: 1, jitter: 0 } },
      ],
      default: QUICK_SCRIPT.default!,
    });
    const client = await session.connect('followup');
    const sessionKey = session.sessionKey('followup');
    const a = await client.request('chat.send', { sessionKey, message: `[${tag}-a] busy`, idempotencyKey: `fu-a-${ctx.seed}-${Date.now()}` });
    const b = await client.request('chat.send', { sessionKey, message: `[${tag}-b] while busy`, idempotencyKey: `fu-b-${ctx.seed}-${Date.now()}` });
    const runA = isObject(a.payload) ? String(a.payload.runId) : '';
    const runB = isObject(b.payload) ? String(b.payload.runId) : '';
    expectRule(a.ok && b.ok && runA !== '' && runB !== '' && runA !== runB, 'WS-13', 'both messages accepted with distinct runIds', `${show(a)} / ${show(b)}`);
    const inSession = (e: ReceivedEvent): Record<string, unknown> | null => {
      const p = chatOf(e);
      return p !== null && p.sessionKey === sessionKey ? p : null;
    };
    const answered = (): boolean => client.events.some((e) => {
      const p = inSession(e);
      return p !== null && p.runId !== runA && isTerminalChatState(p.state) && textOfChat(p) !== '';
    });
    const aEnded = (): boolean => client.events.some((e) => isTerminalFor(e, runA));
    await waitUntilTrue(session, () => aEnded() && answered(), runBound(session));
    await session.sleep(Math.max(3_000, real(session, 1_500)));
    const frames = client.events.map((e) => ({ e, p: inSession(e) })).filter((x): x is { e: ReceivedEvent; p: Record<string, unknown> } => x.p !== null);
    const story = (): string => frames.filter((x) => x.p.state !== 'delta').slice(0, 14)
      .map((x) => `${Math.round(x.e.at)}:${x.p.runId === runA ? 'A' : x.p.runId === runB ? 'B' : String(x.p.runId)} ${String(x.p.state)}${x.p.state === 'final' ? `(${JSON.stringify(textOfChat(x.p).slice(0, 20))})` : ''}`).join(', ');
    const firstB = frames.find((x) => x.p.runId === runB && isTerminalChatState(x.p.state));
    const aEnd = frames.find((x) => x.p.runId === runA && isTerminalChatState(x.p.state));
    const others = [...new Set(frames.filter((x) => x.p.runId !== runA && x.p.runId !== runB).map((x) => String(x.p.runId)))];
    expectRule(firstB === undefined || textOfChat(firstB.p) !== '' || firstB.p.state !== 'final', 'DEP-3',
      `B's runId ${runB} ends with its answer (QUEUE-4: the followup runs under the runId its sender was told; WS-17: its wait ends with that run's terminal frame)`,
      () => `an empty final for B at ${Math.round(firstB!.e.at)}${aEnd !== undefined && firstB!.e.at < aEnd.e.at ? ', before A ended' : ''}; ${others.length > 0 ? `then B was answered under another runId (${others.join(', ')})` : 'and no answer under its runId'}: ${story()}`);
    expectRule(firstB !== undefined, 'WS-17', `a terminal frame for B's runId ${runB}`, () => `none: ${story()}`);
    expectRule(others.length === 0, 'DEP-3', 'no run under a runId the sender was never told answers in the session', () => `runs ${others.join(', ')} answered: ${story()}`);
    ctx.note(`B answered under its own runId: ${story()}`);
  },
};

const isolation: ConformanceCase = {
  id: 'ws.isolation.bad-input',
  title: 'Bad input on one connection never affects another',
  rules: ['WS-7', 'WS-1', 'WS-8', 'WS-9'],
  level: 'MUST',
  requires: ['raw-socket', 'gateway'],
  procedure: 'Connect a bystander client. On a second, raw connection send after hello-ok: text that is not JSON, a binary frame, a non-request frame, an unknown method, a request without id, then (maxPayload up to 64 MiB) an oversized frame. The bystander still answers a health request, is not closed, its events keep seq +1, and a new client can connect.',
  async run(ctx) {
    const session = await ctx.gateway();
    if (session.raw === undefined) throw new NotApplicable('the target offers no raw socket');
    const bystander = await session.connect('bystander');
    const raw = await session.raw();
    const hello = await rawHello(session, raw);
    const send = (data: string | Buffer): void => raw.send(data);
    send('{"not json');
    send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    send(JSON.stringify({ type: 'nope', id: 'iso-1' }));
    send(JSON.stringify({ type: 'req', id: 'iso-2', method: 'lanesim.no-such-method' }));
    send(JSON.stringify({ type: 'req', method: 'health' }));
    const policy = isObject(hello.policy) ? hello.policy : {};
    const max = session.facts.maxPayload ?? (typeof policy.maxPayload === 'number' ? policy.maxPayload : null);
    if (max !== null && max <= MAX_OVERSIZE_BYTES) send(`{"type":"req","id":"iso-3","method":"health","params":{"pad":"${'y'.repeat(max)}"}}`);
    await raw.waitClose(real(session, 2_000));
    const res = await bystander.request('health', {});
    expectRule(!bystander.closed && res.type === 'res', 'WS-7', 'the bystander stays open and answers', bystander.closed ? 'the bystander was closed' : show(res));
    checkSeq(bystander, 'WS-9');
    const fresh = await session.connect('after-bad-input');
    const res2 = await fresh.request('health', {});
    expectRule(res2.type === 'res', 'WS-7', 'a new client connects and is answered', show(res2));
    const closeInfo = (raw as Partial<WsRawSocket>).closeInfo;
    ctx.note(`the bad connection ${closeInfo ? `was closed ${closeInfo.code} ${show(closeInfo.reason)}` : 'stayed open'}`);
  },
};

export const PROTOCOL_CASES: readonly ConformanceCase[] = [
  challengeFirst,
  helloShape,
  helloHeartbeat,
  badParams,
  protocolMismatch,
  wrongToken,
  notConnectFirst,
  secondConnect,
  handshakeTimeout,
  unknownMethod,
  badRequestParams,
  invalidFrame,
  invalidJson,
  binaryFrame,
  oversize,
  seqCase,
  pings,
  deadPeer,
  slowConsumer,
  tick,
  idempotency,
  followupOwnRunId,
  isolation,
];
