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
 * Every tolerance comes from src/conformance/tolerances.ts (lateBy/earlyBy:
 * 5% of the span plus a few hundred real ms). A timer the target does not
 * describe is held to the spec's value on the gateway's own clock, in real
 * ms (a 15 s handshake timeout, 15 s pings): an unknown value is never a pass
 * by itself. The handshake and ping cases watch at most OBSERVE_REAL_MS /
 * PING_WATCH_REAL_MS real ms (a longer described timer is n/a, saying so);
 * the dead-peer case waits up to 2 x deadAfterMs, or 90 s real when it is not
 * described, and fails a gateway that never closes a silent peer.
 *
 * Payloads read here are checked against their schema first
 * (src/conformance/schemas.ts: hello-ok WS-5, connect.challenge WS-3,
 * response frames WS-2, chat.send WS-13).
 */
import { connectParams, type RawSocketOptions, type WsRawSocket } from '../targets/websocket.ts';
import { payloadProblem } from '../schemas.ts';
import {
  DEAD_PEER_DEFAULT_WAIT_REAL_MS, DEAD_PEER_WAIT_FACTOR, OBSERVE_REAL_MS, PING_WATCH_REAL_MS, SLOW_CONSUMER_MAX_BYTES, SLOW_CONSUMER_MAX_REAL_MS, TICK_BUDGET_REAL_MS,
  earlyBy, lateBy,
} from '../tolerances.ts';
import {
  NotApplicable, checkRule, expectRule, precondition,
  type Capability, type CaseContext, type ConformanceCase, type GatewaySession, type RawSocket, type ReceivedEvent, type TestClient,
} from '../types.ts';
import type { FakeModelScript } from '../../fake-model/script.ts';
import type { LanesimConfig } from '../../model/config-types.ts';
import { isTerminalChatState, type ResponseFrame } from '../../model/protocol.ts';
import { checkPayload, isObject, nowOf, real, show } from './gateway-support.ts';

const RAW: readonly Capability[] = ['raw-socket'];
const GW: readonly Capability[] = ['gateway'];

export { OBSERVE_REAL_MS, PING_WATCH_REAL_MS, TICK_BUDGET_REAL_MS } from '../tolerances.ts';
/** WS-4: no valid connect within this closes the connection (session units). */
export const HANDSHAKE_TIMEOUT_MS = 15_000;
/** CFG-1: gateway.heartbeat defaults (session units). */
export const DEFAULT_PING_INTERVAL_MS = 15_000;
/** Largest frame the oversize case will send. */
const MAX_OVERSIZE_BYTES = 64 * 1024 * 1024;

// ------------------------------------------------------------------ helpers

/** Session units as real milliseconds. */
function toReal(session: GatewaySession, ms: number): number {
  return ms / session.timeScale;
}

/**
 * What the target describes of the gateway's liveness timers (session units):
 * websocket.ts's Liveness (startReferenceOverWebSocket, `--config`'s
 * gateway.heartbeat, the CLI flags). deadPeerWaitMs: how long the dead-peer
 * case waits for a close when deadAfterMs is not described.
 */
interface Liveness {
  pingIntervalMs?: number;
  deadAfterMs?: number;
  handshakeTimeoutMs?: number;
  deadPeerWaitMs?: number;
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
    checkRule(f.seq === undefined, 'WS-3', 'connect.challenge carries no seq', `seq ${show(f.seq)}`);
    const p = f.payload;
    if (!checkPayload('challenge', p, 'connect.challenge')) return;
    const { ts } = p as { nonce: string; ts: number };
    checkRule(Math.abs(ts - Date.now()) < 600_000, 'WS-3', 'payload.ts: the gateway\'s time in ms since the epoch (within 10 min of ours)', `ts ${show(ts)}, ours ${Date.now()}`);
    const extra = Object.keys(p as object).filter((k) => k !== 'nonce' && k !== 'ts');
    if (extra.length > 0) ctx.note(`connect.challenge also carries: ${extra.join(', ')}`);
  },
};

const helloShape: ConformanceCase = {
  id: 'ws.hello.shape',
  title: 'hello-ok: protocol 4, server, features, snapshot, policy limits',
  rules: ['WS-5'],
  level: 'MUST',
  requires: RAW,
  procedure: 'Open a socket, wait for the challenge, send a valid connect. The response is ok with payload {type:"hello-ok", protocol:4, server:{version, connId}, features:{methods[], events[]} listing chat.send and chat, snapshot:{}, policy:{maxPayload, maxBufferedBytes, tickIntervalMs} (positive integers), checked against the WS-5 schema field by field (every broken field is reported).',
  async run(ctx) {
    const { session, raw } = await openRaw(ctx);
    const hello = await rawHello(session, raw);
    checkPayload('helloOk', hello, 'the connect answer');
    const server = isObject(hello.server) ? hello.server : {};
    if (typeof server.name !== 'string') ctx.note(`server has no name (${show(hello.server, 200)}); OpenClaw 2026.9.6 sends none, so it is not required`);
    const features = isObject(hello.features) ? hello.features : {};
    const methods = Array.isArray(features.methods) ? features.methods.filter((m): m is string => typeof m === 'string') : [];
    const events = Array.isArray(features.events) ? features.events.filter((e): e is string => typeof e === 'string') : [];
    checkRule(methods.includes('chat.send') && events.includes('chat'), 'WS-5', 'features list what the gateway implements, at least chat.send and the chat event',
      `methods ${show(methods, 200)}, events ${show(events, 200)}`);
    ctx.note(`policy ${show(hello.policy, 400)}; ${methods.length} methods, ${events.length} events`);
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
      checkRule(Math.abs(scaled - want) <= 1e-6 * Math.max(1, want), 'HB-4', `heartbeatIntervalMs equal to gateway.heartbeat.intervalMs (${want} ms)`, `${scaled} ms`);
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
    checkRule(err !== null && err.code === 'INVALID_REQUEST', 'WS-6', 'an error response with code INVALID_REQUEST (invalid connect params)', () => show(res ?? raw.received));
    const closed = await expectClosedWith(session, raw, 1008, 'WS-6', 'then the connection closed with 1008');
    ctx.note(`error message ${show(err?.message)}; close reason ${show(closed.reason)}`);
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
    checkRule(err !== null && err.code === 'INVALID_REQUEST' && err.details.code === 'AUTH_TOKEN_MISMATCH', 'WS-6',
      'an error response {code: INVALID_REQUEST, details: {code: AUTH_TOKEN_MISMATCH}}', () => show(res ?? raw.received));
    const closed = await expectClosedWith(session, raw, 1008, 'WS-6', 'then the connection closed with 1008');
    ctx.note(`error message ${show(err?.message)}; close reason ${show(closed.reason)}`);
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
    checkRule(answered === undefined || (isObject(answered) && answered.ok === false), 'WS-4', 'no successful response to a request before connect', show(answered));
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
    checkRule(err !== null && err.code === 'INVALID_REQUEST', 'WS-4', 'a second connect answered INVALID_REQUEST (already connected)', () => show(res ?? raw.received.slice(-3)));
    const next = await stillServes(session, raw);
    checkRule(next !== null, 'WS-4', 'the connection stays open and serves the next request', show((raw as Partial<WsRawSocket>).closeInfo ?? 'no response'));
    ctx.note(`second connect: ${show(err?.message)}`);
  },
};

const handshakeTimeout: ConformanceCase = {
  id: 'ws.handshake.timeout',
  title: `No connect within the handshake timeout (${HANDSHAKE_TIMEOUT_MS} ms by default): the gateway closes the connection`,
  rules: ['WS-4'],
  level: 'MUST',
  requires: RAW,
  procedure:
    'Open a socket and send nothing. The gateway must close it T after opening (not much earlier, not much later), with 1008 (1000, as OpenClaw closes, is accepted). ' +
    'T is what describes the gateway: the target\'s liveness.handshakeTimeoutMs (session units; `lanesim conform --handshake-timeout-ms`, in the gateway\'s own ms), else hello-ok.policy.handshakeTimeoutMs ' +
    `(the gateway's ms), else WS-4's ${HANDSHAKE_TIMEOUT_MS} ms of the gateway's own clock: real milliseconds, whatever --time-scale says (a gateway such as \`lanesim serve\` does not scale its handshake timeout). ` +
    `Only watched when that takes at most ${OBSERVE_REAL_MS / 1000} s of real time; otherwise n/a.`,
  async run(ctx) {
    const session = await ctx.gateway();
    const described = livenessOf(session).handshakeTimeoutMs;
    const helloPolicy = (session as { hello?: { policy?: { handshakeTimeoutMs?: unknown } } }).hello?.policy;
    const advertised = typeof helloPolicy?.handshakeTimeoutMs === 'number' && helloPolicy.handshakeTimeoutMs > 0 ? real(session, helloPolicy.handshakeTimeoutMs) : undefined;
    const expected = described ?? advertised ?? real(session, HANDSHAKE_TIMEOUT_MS);
    const source = described !== undefined ? 'described by the target' : advertised !== undefined ? 'hello-ok.policy.handshakeTimeoutMs' : `WS-4's ${HANDSHAKE_TIMEOUT_MS} ms on the gateway's own clock`;
    const late = lateBy(session, expected);
    if (toReal(session, expected + late) > OBSERVE_REAL_MS) {
      throw new NotApplicable(`the handshake timeout (${expected} ms, ${source}) would take ${Math.round(toReal(session, expected + late) / 1000)} s of real time to watch (more than ${OBSERVE_REAL_MS / 1000} s)`);
    }
    if (session.raw === undefined) throw new NotApplicable('the target offers no raw socket');
    const raw = await session.raw();
    const opened = (raw as Partial<WsRawSocket>).openedAt ?? nowOf(session);
    const closed = await raw.waitClose(expected + late);
    const at = nowOf(session) - opened;
    expectRule(closed !== null, 'WS-4', `the connection closed ${expected} ms after opening without a connect (${source})`, `still open ${Math.round(at)} ms later`);
    const closedAt = (raw as Partial<WsRawSocket>).closeInfo?.at;
    const after = closedAt === undefined ? at : closedAt - opened;
    checkRule(after >= expected - earlyBy(session, expected), 'WS-4', `closed no earlier than ${expected} ms after opening (${source})`, `closed after ${Math.round(after)} ms`);
    checkRule(closed.code === 1008 || closed.code === 1000, 'WS-4', 'close code 1008 (handshake timeout; 1000 as OpenClaw closes is accepted)', `closed ${closed.code} ${show(closed.reason)}`);
    ctx.note(`closed after ${Math.round(after)} ms with ${closed.code} ${show(closed.reason)} (expected ${expected}: ${source})`);
  },
};

const unknownMethod: ConformanceCase = {
  id: 'ws.request.unknown-method',
  title: 'Unknown method: an error response; the connection stays open',
  rules: ['WS-7', 'WS-2'],
  level: 'MUST',
  requires: GW,
  // Starts no run and scripts no model: runs beside the cases that do (runner scheduleClass).
  connectionOnly: true,
  procedure: 'Connect, request "lanesim.no-such-method". Expect ok:false with UNKNOWN_METHOD (or INVALID_REQUEST "unknown method: ...", as OpenClaw answers), the response frame in WS-2\'s shape (its id, ok false, error {code, message} and no payload); the connection stays open and answers the next request.',
  async run(ctx) {
    const session = await ctx.gateway();
    const client = await session.connect('unknown-method');
    const res = await client.request('lanesim.no-such-method', {});
    checkPayload('response', res, 'the answer to an unknown method');
    const err = errorOf(res);
    checkRule(err !== null && (err.code === 'UNKNOWN_METHOD' || (err.code === 'INVALID_REQUEST' && /unknown method/i.test(err.message))), 'WS-7',
      'an error response UNKNOWN_METHOD "unknown method: lanesim.no-such-method"', show(res));
    const next = await client.request('health', {});
    checkRule(!client.closed && next.type === 'res', 'WS-7', 'the connection stays open and answers the next request', client.closed ? 'closed' : show(next));
    ctx.note(`answered ${err?.code ?? '-'} ${show(err?.message)}`);
  },
};

const badRequestParams: ConformanceCase = {
  id: 'ws.request.bad-params',
  title: 'Bad params: INVALID_REQUEST; the connection stays open',
  rules: ['WS-7', 'WS-13'],
  level: 'MUST',
  requires: GW,
  // Starts no run and scripts no model: runs beside the cases that do (runner scheduleClass).
  connectionOnly: true,
  procedure: 'Connect, request chat.send with params {sessionKey: 42}. Expect ok:false with INVALID_REQUEST; the connection stays open and answers the next request.',
  async run(ctx) {
    const session = await ctx.gateway();
    const client = await session.connect('bad-params');
    const res = await client.request('chat.send', { sessionKey: 42 });
    const err = errorOf(res);
    checkRule(err !== null && err.code === 'INVALID_REQUEST', 'WS-7', 'an error response INVALID_REQUEST (invalid chat.send params)', show(res));
    const next = await client.request('health', {});
    checkRule(!client.closed && next.type === 'res', 'WS-7', 'the connection stays open and answers the next request', client.closed ? 'closed' : show(next));
    ctx.note(`answered ${show(err?.message)}`);
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
    checkRule(err !== null && err.code === 'INVALID_REQUEST', 'WS-7', 'a response {id:"bad-frame-1", ok:false, error.code INVALID_REQUEST}', () => show(res ?? raw.received.slice(-3)));
    const next = await stillServes(session, raw);
    checkRule(next !== null, 'WS-7', 'the connection stays open and serves the next request', show((raw as Partial<WsRawSocket>).closeInfo ?? 'no response'));
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
  // Pushes megabytes through both event loops: run alone, so no other case's timing is judged beside it.
  exclusive: true,
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
    checkRule((res as { seq?: unknown }).seq === undefined, 'WS-9', 'response frames carry no seq', show(res));
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
  checkRule(seqs[0] === 1, rule, 'the first event after hello-ok has seq 1', `first seq ${String(seqs[0])} (${client.events[0]!.event})`);
  for (let i = 1; i < seqs.length; i++) {
    if (!checkRule(seqs[i] === seqs[i - 1]! + 1, rule, 'each event\'s seq is the previous one + 1 (no gap, no repeat)',
      `seq ${String(seqs[i - 1])} (${client.events[i - 1]!.event}) then ${String(seqs[i])} (${client.events[i]!.event})`)) return;
  }
}

const pings: ConformanceCase = {
  id: 'ws.heartbeat.pings',
  title: 'The gateway pings every connection every pingIntervalMs',
  rules: ['HB-5'],
  level: 'MUST',
  requires: RAW,
  procedure:
    `Complete a handshake on a raw socket (answering pings) and record WebSocket pings. The interval P is the described pingIntervalMs (--config gateway.heartbeat.pingIntervalMs, or the target's liveness); ` +
    `when nothing describes it, the spec's default ${DEFAULT_PING_INTERVAL_MS} ms (CFG-1) is what HB-5 holds the gateway to: an unknown interval is never a pass by itself. ` +
    `The first ping must come P after connecting and the next one P later (within the timer tolerance of src/conformance/tolerances.ts); the observed times are noted. ` +
    `Watched for at most ${PING_WATCH_REAL_MS / 1000} s of real time: a described P too long for that is n/a.`,
  async run(ctx) {
    const { session, raw } = await openRaw(ctx);
    const x = extras(raw);
    if (x === null) throw new NotApplicable('the raw socket does not report WebSocket pings');
    await rawHello(session, raw);
    const connected = nowOf(session);
    const described = livenessOf(session).pingIntervalMs;
    // Undescribed: the spec default, in the gateway's own (real) ms.
    const p = described ?? real(session, DEFAULT_PING_INTERVAL_MS);
    const source = described !== undefined ? `pingIntervalMs ${p}` : `pingIntervalMs not described: the spec default ${DEFAULT_PING_INTERVAL_MS} ms (CFG-1) applies`;
    const late = lateBy(session, p);
    const early = earlyBy(session, p);
    const budget = real(session, PING_WATCH_REAL_MS);
    if (p + late > budget) throw new NotApplicable(`${source} would take more than ${PING_WATCH_REAL_MS / 1000} s of real time to watch`);
    const two = 2 * p + late <= budget;
    await waitUntilTrue(session, () => x.pings.length >= 1, p + late);
    // No ping when it was due: keep watching (within the budget) to say when it does come.
    if (x.pings.length === 0) await waitUntilTrue(session, () => x.pings.length >= 1, budget - (p + late));
    else if (two) await waitUntilTrue(session, () => x.pings.length >= 2, 2 * p + late - (nowOf(session) - connected));
    const at = x.pings.map((t) => Math.round(t - connected));
    const first = x.pings.length > 0 ? x.pings[0]! - connected : null;
    const firstOk = checkRule(first !== null && first >= p - early && first <= p + late, 'HB-5', `the first ping ${p} ms after connecting (${source}; tolerance -${Math.round(early)}/+${Math.round(late)})`,
      () => (first === null ? `no ping within ${Math.round(budget)} ms of connecting` : `the first ping ${Math.round(first)} ms after connecting`));
    if (two && firstOk) {
      const gap = x.pings.length >= 2 ? x.pings[1]! - x.pings[0]! : null;
      checkRule(gap !== null && Math.abs(gap - p) <= late, 'HB-5', `the next ping ${p} ms later`,
        () => (gap === null ? `no second ping within ${Math.round(2 * p + late)} ms of connecting` : `${Math.round(gap)} ms later`));
    }
    ctx.note(`pings at ${show(at)} ms after hello-ok (${source})`);
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
  procedure:
    `Complete a handshake on a raw socket that does not answer pings, then send nothing. With a described deadAfterMs D (--config gateway.heartbeat.deadAfterMs, or the target's liveness): ` +
    `closed D after the connect frame (not earlier, not later than the timer tolerance), watched up to ${DEAD_PEER_WAIT_FACTOR} x D. With D not described: watched up to ` +
    `${DEAD_PEER_DEFAULT_WAIT_REAL_MS / 1000} s of real time (liveness.deadPeerWaitMs, \`lanesim conform --dead-peer-wait-ms\`, changes it). The close must be 1001 (a terminated socket, 1006, is accepted: ` +
    'the gateway MAY skip the close handshake). A gateway that never closes the silent peer within the wait FAILS HB-6: it has no dead-peer detection.',
  async run(ctx) {
    const { session, raw } = await openRaw(ctx, { autoPong: false });
    if (extras(raw) === null) throw new NotApplicable('the raw socket cannot refuse to answer pings');
    const liveness = livenessOf(session);
    const d = liveness.deadAfterMs;
    const late = d === undefined ? 0 : lateBy(session, d);
    const bound = d !== undefined ? Math.max(DEAD_PEER_WAIT_FACTOR * d, d + late) : (liveness.deadPeerWaitMs ?? real(session, DEAD_PEER_DEFAULT_WAIT_REAL_MS));
    const source = d !== undefined ? `deadAfterMs ${d}` : `deadAfterMs not described; watched ${Math.round(bound)} ms (${Math.round(toReal(session, bound) / 1000)} s real)`;
    const sent = nowOf(session);
    await rawHello(session, raw);
    const closed = await raw.waitClose(bound);
    const closedAt = (raw as Partial<WsRawSocket>).closeInfo?.at ?? nowOf(session);
    expectRule(closed !== null, 'HB-6', `a peer silent since its connect frame is closed ${d !== undefined ? `${d} ms after it (1001 "no pong")` : `(1001 "no pong") within ${Math.round(bound)} ms`} (${source})`,
      () => `still open ${Math.round(nowOf(session) - sent)} ms after its connect frame: the gateway does not detect dead peers`);
    const after = closedAt - sent;
    checkRule(closed.code === 1001 || closed.code === 1006, 'HB-6', 'closed with 1001 "no pong" (or terminated: 1006)', `closed ${closed.code} ${show(closed.reason)}`);
    if (d !== undefined) {
      checkRule(after >= d - earlyBy(session, d), 'HB-6', `not before deadAfterMs (${d} ms) of silence`, `closed after ${Math.round(after)} ms`);
      checkRule(after <= d + late, 'HB-6', `at deadAfterMs (${d} ms) of silence, not later (tolerance ${Math.round(late)})`, `closed after ${Math.round(after)} ms`);
    }
    ctx.note(`closed ${closed.code} ${show(closed.reason)} ${Math.round(after)} ms after the connect frame (${source})`);
  },
};

const slowConsumer: ConformanceCase = {
  id: 'ws.backpressure.slow-consumer',
  title: 'A client that stops reading is cut off, never served with holes',
  rules: ['WS-10'],
  level: 'MUST',
  // Pushes megabytes through both event loops: run alone, so no other case's timing is judged beside it.
  exclusive: true,
  requires: RAW,
  procedure:
    `After hello-ok stop reading the socket and keep sending requests with 1 MB ids (each answered by an error echoing the id), so the gateway owes the reader ever more bytes, ` +
    `until the gateway acts (closes or terminates the connection, or stops reading), or it owes max(${SLOW_CONSUMER_MAX_BYTES / 2 ** 20} MiB, maxBufferedBytes + 16 MiB), or ${SLOW_CONSUMER_MAX_REAL_MS / 1000} s (real) passed; ` +
    'then read again. Expect the connection closed with 1008 "slow consumer" (a terminated socket, 1006, as OpenClaw does, is accepted). ' +
    'A connection that stays open and delivers every response although the reader owed more than the bound FAILS (the gateway buffers without limit); one that stays open with responses missing fails (responses are never dropped). ' +
    'Precondition: the backlog was built (the gateway read the requests); a gateway that did not read them leaves the case n/a, saying so.',
  async run(ctx) {
    // A paused reader cannot answer pings: ask for a gateway that waits long before calling a peer dead (HB-6),
    // so that the slow-consumer rule, not the dead-peer one, is what cuts it (a fixed gateway keeps its own).
    const session = await ctx.gateway({ config: { gateway: { heartbeat: { deadAfterMs: 3_600_000 } } } as unknown as Partial<LanesimConfig> });
    if (session.raw === undefined) throw new NotApplicable('the target offers no raw socket');
    const raw = await session.raw();
    const x = extras(raw);
    if (x === null) throw new NotApplicable('the raw socket cannot stop reading');
    const hello = await rawHello(session, raw);
    const policy = isObject(hello.policy) ? hello.policy : {};
    const maxBuffered = typeof policy.maxBufferedBytes === 'number' ? policy.maxBufferedBytes : null;
    const maxPayload = session.facts.maxPayload ?? (typeof policy.maxPayload === 'number' ? policy.maxPayload : null);
    const boundBytes = Math.max(SLOW_CONSUMER_MAX_BYTES, maxBuffered === null ? 0 : maxBuffered + 16 * 2 ** 20);
    if (boundBytes > 4 * SLOW_CONSUMER_MAX_BYTES) throw new NotApplicable(`maxBufferedBytes ${maxBuffered} is too large to exceed in a case (bound ${boundBytes} bytes)`);
    const idBytes = Math.min(1_000_000, maxPayload === null ? 1_000_000 : Math.floor(maxPayload / 2));
    const ws = (raw as unknown as { ws?: { bufferedAmount?: number } }).ws;
    const unsent = (): number => (typeof ws?.bufferedAmount === 'number' ? ws.bufferedAmount : 0);
    const pad = 'x'.repeat(idBytes);
    const ids = new Set<string>();
    const started = Date.now();
    let owed = 0;
    let stalled = false;
    x.pause();
    let waitingSince: number | null = null;
    while (owed < boundBytes && Date.now() - started < SLOW_CONSUMER_MAX_REAL_MS && x.closeInfo === null) {
      // Our own send buffer holds what the gateway has not read yet: wait for it to drain. If it does not for 3 s,
      // the gateway stopped reading the requests (it does not build the backlog the case needs).
      if (unsent() > 8 * idBytes) {
        waitingSince ??= Date.now();
        if (Date.now() - waitingSince > 3_000) {
          stalled = true;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      waitingSince = null;
      const id = `${pad}${ids.size}`;
      ids.add(id);
      raw.send(JSON.stringify({ type: 'req', id, method: 'lanesim.slow-consumer-probe' }));
      owed += id.length;
      // Let the event loop breathe between megabytes (a gateway in this process, other clients' timers).
      await new Promise((resolve) => setImmediate(resolve));
    }
    const pushedMs = Date.now() - started;
    // Give the gateway a moment to read the last requests and answer (or act) before reading again.
    await new Promise((resolve) => setTimeout(resolve, session.timeScale === 1 ? 1_000 : 300));
    x.resume();
    const count = ids.size;
    const answeredCount = (): number => raw.received.filter((f) => isObject(f) && f.type === 'res' && typeof f.id === 'string' && ids.has(f.id)).length;
    await Promise.race([raw.waitClose(real(session, 15_000)), waitUntilTrue(session, () => answeredCount() >= count, real(session, 15_000))]);
    const answered = answeredCount();
    const closed = x.closeInfo;
    const mb = (n: number): string => `${Math.round(n / 1e5) / 10} MB`;
    const pushed = `${count} requests, ${mb(owed)} of responses owed to a reader that read nothing for ${Math.round(pushedMs / 100) / 10} s`;
    if (closed !== null && closed.code === 1001 && /pong/i.test(closed.reason)) {
      throw new NotApplicable(`the gateway closed the paused reader as a dead peer (1001 ${show(closed.reason)}) before it became a slow consumer`);
    }
    if (closed !== null) {
      checkRule(closed.code === 1008 || closed.code === 1006, 'WS-10', 'a slow consumer is closed with 1008 "slow consumer" (or its socket terminated: 1006)', `closed ${closed.code} ${show(closed.reason)} after ${answered}/${count} responses (${pushed})`);
      ctx.note(`closed ${closed.code} ${show(closed.reason)} after ${answered}/${count} responses (${pushed}; maxBufferedBytes ${maxBuffered ?? 'unknown'})`);
      return;
    }
    expectRule(answered >= count, 'WS-10', 'responses are never dropped: a connection that stays open gets every response', `${answered}/${count} responses and the connection is open (${pushed})`);
    precondition(!stalled || owed >= boundBytes, `no backlog was built: the gateway stopped reading the requests after ${mb(owed)} of responses were owed (${mb(unsent())} of requests still unsent after ${Math.round(pushedMs / 1000)} s)`);
    precondition(owed >= boundBytes || pushedMs >= SLOW_CONSUMER_MAX_REAL_MS, `the push ended early (${pushed})`);
    checkRule(false, 'WS-10', `a reader that stops reading is cut off once the gateway's buffer for it exceeds maxBufferedBytes (${maxBuffered ?? 'unknown'}): at the latest when it owes ${mb(boundBytes)}`,
      `the connection stayed open and delivered all ${count} responses afterwards: the gateway buffered ${pushed}`);
  },
};

const tick: ConformanceCase = {
  id: 'ws.tick.present',
  title: 'tick events arrive every tickIntervalMs (reports the observed interval)',
  rules: ['WS-12'],
  level: 'INFORMATIONAL',
  requires: GW,
  // Starts no run and scripts no model: runs beside the cases that do (runner scheduleClass).
  connectionOnly: true,
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
    checkRule(isObject(payload) && typeof payload.ts === 'number', 'WS-12', 'tick payload {ts}', show(payload));
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
    checkRule(r2.ok && p2.runId === runId && p2.status === 'in_flight', 'WS-14', `the repeat answered {runId: ${runId}, status: in_flight}`, show(r2));
    const end = await client.waitFor((e) => isTerminalFor(e, runId), runBound(session));
    expectRule(end !== null, 'WS-15', `a terminal chat frame for run ${runId}`, `none within ${runBound(session)} ms`);
    const r3 = await client.request('chat.send', params);
    const p3 = isObject(r3.payload) ? r3.payload : {};
    checkRule(r3.ok && p3.runId === runId && (p3.status === 'in_flight' || p3.status === 'ok'), 'WS-14',
      `a repeat after the run ended answered {runId: ${runId}, status: in_flight} (OpenClaw's "ok" accepted)`, show(r3));
    await session.sleep(Math.max(2_000, real(session, 1_500)));
    const others = client.events.filter((e) => {
      const p = chatOf(e);
      return p !== null && p.sessionKey === sessionKey && p.runId !== runId;
    });
    checkRule(others.length === 0, 'WS-14', 'no second run for the repeated key', () => `chat frames of other runs: ${show(others.slice(0, 3))}`);
    const ends = client.events.filter((e) => isTerminalFor(e, runId));
    checkRule(ends.length === 1, 'WS-14', `exactly one terminal frame for ${runId}`, `${ends.length}`);
    if (session.modelRequests !== undefined && session.setModel !== undefined) {
      const requests = (await session.modelRequests()).filter((r) => r.rule === tag);
      checkRule(requests.length <= 1, 'WS-14', 'the model got exactly one request for the message', `${requests.length} requests`);
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
    checkRule(firstB === undefined || textOfChat(firstB.p) !== '' || firstB.p.state !== 'final', 'DEP-3',
      `B's runId ${runB} ends with its answer (QUEUE-4: the followup runs under the runId its sender was told; WS-17: its wait ends with that run's terminal frame)`,
      () => `an empty final for B at ${Math.round(firstB!.e.at)}${aEnd !== undefined && firstB!.e.at < aEnd.e.at ? ', before A ended' : ''}; ${others.length > 0 ? `then B was answered under another runId (${others.join(', ')})` : 'and no answer under its runId'}: ${story()}`);
    checkRule(firstB !== undefined, 'WS-17', `a terminal frame for B's runId ${runB}`, () => `none: ${story()}`);
    checkRule(others.length === 0, 'DEP-3', 'no run under a runId the sender was never told answers in the session', () => `runs ${others.join(', ')} answered: ${story()}`);
    ctx.note(`B answered under its own runId: ${story()}`);
  },
};

const isolation: ConformanceCase = {
  id: 'ws.isolation.bad-input',
  title: 'Bad input on one connection never affects another',
  rules: ['WS-7', 'WS-1', 'WS-8', 'WS-9'],
  level: 'MUST',
  // Pushes megabytes through both event loops: run alone, so no other case's timing is judged beside it.
  exclusive: true,
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
    checkRule(!bystander.closed && res.type === 'res', 'WS-7', 'the bystander stays open and answers', bystander.closed ? 'the bystander was closed' : show(res));
    checkSeq(bystander, 'WS-9');
    const fresh = await session.connect('after-bad-input');
    const res2 = await fresh.request('health', {});
    checkRule(res2.type === 'res', 'WS-7', 'a new client connects and is answered', show(res2));
    const closeInfo = (raw as Partial<WsRawSocket>).closeInfo;
    ctx.note(`the bad connection ${closeInfo ? `was closed ${closeInfo.code} ${show(closeInfo.reason)}` : 'stayed open'}`);
  },
};

const invalidJsonFirst: ConformanceCase = {
  id: 'ws.handshake.invalid-json-first',
  title: 'A first frame that is not JSON closes the connection with 1008, without a successful response',
  rules: ['WS-4', 'WS-1'],
  level: 'MUST',
  requires: RAW,
  procedure:
    'After the challenge send the text "this is {not json" as the very first frame. WS-4: a first frame that is not a well-formed connect request closes the connection with 1008 ' +
    '(an error response before the close also conforms, DEP-9); before hello-ok there is no "ignored" form (that is only for frames after hello-ok). Expect close 1008 within 5 s (real), no ok response.',
  async run(ctx) {
    const { session, raw } = await openRaw(ctx);
    await waitChallenge(session, raw);
    raw.send('this is {not json');
    const closed = await raw.waitClose(real(session, 5_000));
    const answered = raw.received.find((f) => isObject(f) && f.type === 'res');
    checkRule(answered === undefined || (isObject(answered) && answered.ok === false), 'WS-4', 'no successful response to a frame that is not a connect request', show(answered));
    expectRule(closed !== null, 'WS-4', 'the connection closed with 1008 (invalid request frame)', () => `still open 5 s (real) later${answered !== undefined ? `; answered ${show(answered, 200)}` : ''}`);
    checkRule(closed.code === 1008, 'WS-4', 'close code 1008 (invalid request frame)', `closed ${closed.code} ${show(closed.reason)}`);
    ctx.note(`closed ${closed.code} ${show(closed.reason)}${answered === undefined ? ' without a response' : `, after answering ${show(answered, 200)}`}`);
  },
};

const idempotencyAcrossSessions: ConformanceCase = {
  id: 'ws.chat.idempotency-across-sessions',
  title: 'An idempotency key reused in another session is a new message there (or refused with an error), never taken for the other session\'s message',
  rules: ['WS-14', 'WS-13'],
  level: 'MUST',
  requires: GW,
  procedure:
    'Send message A to session S1 with key K; then message B to session S2 with the same key K. WS-14: keys are per (sessionKey, idempotencyKey): B is accepted as a message of S2 ' +
    '(its own runId, not A\'s; its run answers in S2), or, by a gateway that scopes keys gateway-wide, refused with an error response (OpenClaw: chat-request-conflict, DEP-9). ' +
    'Fails when B is answered with A\'s runId or in_flight (the message to S2 silently taken for S1\'s), or accepted but never answered in S2.',
  async run(ctx) {
    const session = await ctx.gateway();
    await quickModel(session);
    const client = await session.connect('idem-x');
    const s1 = session.sessionKey('idem-x1');
    const s2 = session.sessionKey('idem-x2');
    const key = `idem-x-${ctx.seed}-${Date.now()}`;
    const r1 = await client.request('chat.send', { sessionKey: s1, message: 'lanesim idempotency across sessions: first', idempotencyKey: key });
    expectRule(r1.ok && payloadProblem('chatSend', r1.payload) === null, 'WS-13', 'the first chat.send is accepted with {runId, status}', show(r1));
    const runA = (r1.payload as { runId: string }).runId;
    const r2 = await client.request('chat.send', { sessionKey: s2, message: 'lanesim idempotency across sessions: second', idempotencyKey: key });
    if (!r2.ok) {
      checkPayload('response', r2, 'the refusal');
      ctx.note(`the key reused in another session was refused: ${show(r2.error, 200)} (keys scoped gateway-wide, DEP-9)`);
      const end = await client.waitFor((e) => isTerminalFor(e, runA), runBound(session));
      checkRule(end !== null, 'WS-15', `the first message's run ${runA} still ends (a terminal chat frame)`, `none within ${runBound(session)} ms`);
      return;
    }
    expectRule(payloadProblem('chatSend', r2.payload) === null, 'WS-13', 'chat.send answers {runId, status}', show(r2.payload));
    const p2 = r2.payload as { runId: string; status: string };
    expectRule(p2.runId !== runA && p2.status !== 'in_flight' && p2.status !== 'ok', 'WS-14',
      `a key is seen per (sessionKey, idempotencyKey): the same key in session ${s2} is a new message there (its own runId), or refused with an error`,
      `answered ${show(p2)}: taken for the message ${runA} of session ${s1}, so nothing runs in ${s2}`);
    const end = await client.waitFor((e) => isTerminalFor(e, p2.runId), runBound(session));
    checkRule(end !== null, 'WS-14', `the message to ${s2} is answered (a terminal chat frame for ${p2.runId})`, `none within ${runBound(session)} ms`);
    const endA = await client.waitFor((e) => isTerminalFor(e, runA), runBound(session));
    checkRule(endA !== null, 'WS-15', `the first message's run ${runA} ends too`, `none within ${runBound(session)} ms`);
    if (end !== null) {
      const p = chatOf(end)!;
      checkRule(p.sessionKey === s2, 'WS-14', `its run answers in ${s2}`, `its terminal frame names session ${show(p.sessionKey)}`);
    }
    ctx.note(`the key reused in another session was accepted there as ${p2.runId} (${p2.status}); keys scoped per session`);
  },
};

const missingIdempotencyKey: ConformanceCase = {
  id: 'ws.chat.missing-idempotency-key',
  title: 'chat.send without idempotencyKey is refused INVALID_REQUEST; nothing runs; the connection stays open',
  rules: ['WS-13', 'WS-7'],
  level: 'MUST',
  requires: GW,
  procedure:
    'Send chat.send {sessionKey, message} with no idempotencyKey (WS-13 requires it: a non-empty string). Expect an error response INVALID_REQUEST (WS-7, bad params); ' +
    'no chat frame for the session follows within 2 s (real) (no message was accepted), and the connection answers the next request.',
  async run(ctx) {
    const session = await ctx.gateway();
    await quickModel(session);
    const client = await session.connect('no-idem');
    const sessionKey = session.sessionKey('no-idem');
    const res = await client.request('chat.send', { sessionKey, message: 'lanesim: a message without an idempotency key' });
    const err = errorOf(res);
    checkRule(err !== null && err.code === 'INVALID_REQUEST', 'WS-13', 'an error response INVALID_REQUEST (idempotencyKey is a required non-empty string)', show(res));
    await session.sleep(Math.max(2_000, real(session, 2_000)));
    const frames = client.events.filter((e) => {
      const p = chatOf(e);
      return p !== null && p.sessionKey === sessionKey;
    });
    checkRule(frames.length === 0, 'WS-13', 'no message is accepted: no chat frame for the session', () => `${frames.length} chat frames: ${show(frames.slice(0, 2).map((e) => e.payload))}`);
    const next = await client.request('health', {});
    checkRule(!client.closed && next.type === 'res', 'WS-7', 'the connection stays open and answers the next request', client.closed ? 'closed' : show(next));
    ctx.note(res.ok ? `accepted: ${show(res.payload, 120)}` : `answered ${err?.code} ${show(err?.message)}`);
  },
};

/**
 * A gateway the harness starts for one case, not ready yet (WS-6's "gateway
 * starting" row): offered by a target that provisions gateways, as
 * `session.startGateway({ready: false})`.
 */
interface StartedGateway {
  url: string;
  markReady(): void;
  stop(): Promise<void>;
}

/** One connect attempt on a fresh socket to `url`: the response (null: none) and how the socket closed (null: still open). */
async function connectOnce(session: GatewaySession, url: string, withinRealMs: number): Promise<{ res: ResponseFrame | null; closed: { code: number; reason: string } | null; frames: unknown[] }> {
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const frames: unknown[] = [];
  let closed: { code: number; reason: string } | null = null;
  let res: ResponseFrame | null = null;
  const clientInfo = (session as { clientInfo?: Record<string, string> }).clientInfo ?? {};
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, withinRealMs);
    ws.on('message', (data) => {
      let frame: unknown;
      try {
        frame = JSON.parse(String(data));
      } catch {
        return;
      }
      frames.push(frame);
      if (isObject(frame) && frame.type === 'event' && frame.event === 'connect.challenge') {
        ws.send(JSON.stringify({ type: 'req', id: 'start-1', method: 'connect', params: connectParams(session.facts.token, clientInfo) }));
      } else if (isObject(frame) && frame.type === 'res' && frame.id === 'start-1') {
        res = frame as unknown as ResponseFrame;
        if (res.ok) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    ws.on('close', (code, reason) => {
      closed = { code, reason: reason.toString() };
      clearTimeout(timer);
      resolve();
    });
    ws.on('error', () => {});
  });
  if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
  return { res, closed, frames };
}

const gatewayStarting: ConformanceCase = {
  id: 'ws.handshake.gateway-starting',
  title: 'A gateway still starting refuses connect with UNAVAILABLE (retryable, retryAfterMs), closes 1013, and accepts once ready',
  rules: ['WS-6'],
  level: 'MUST',
  requires: RAW,
  needs: [{ feature: 'shutdown' }],
  procedure:
    'Needs a target that starts (and stops) gateways for the harness: session.startGateway({ready: false}) (a --url gateway cannot be restarted by the suite: n/a, naming that). ' +
    'A connect to the gateway while it is starting is answered {code: UNAVAILABLE, retryable: true, retryAfterMs: number} and the connection closed with 1013; once the gateway is ready, the same connect is answered hello-ok.',
  async run(ctx) {
    const session = await ctx.gateway();
    const start = (session as { startGateway?: unknown }).startGateway;
    if (typeof start !== 'function') {
      throw new NotApplicable('the harness cannot start this gateway: start-up is checked on a gateway the target provisions with session.startGateway({ready: false}); a --url gateway it did not start cannot be (declare supports.shutdown: false to say so)');
    }
    const g = await (start as (o: { ready: boolean }) => Promise<StartedGateway>).call(session, { ready: false });
    try {
      const early = await connectOnce(session, g.url, 5_000);
      const err = errorOf(early.res);
      checkRule(err !== null && err.code === 'UNAVAILABLE', 'WS-6', 'a connect while the gateway starts is answered with an error UNAVAILABLE', () => show(early.res ?? early.frames));
      const e = (early.res?.error ?? {}) as { retryable?: unknown; retryAfterMs?: unknown };
      checkRule(e.retryable === true && typeof e.retryAfterMs === 'number' && e.retryAfterMs >= 0, 'WS-6', 'with retryable: true and retryAfterMs (a number >= 0)', () => show(early.res?.error));
      checkRule(early.closed !== null && early.closed.code === 1013, 'WS-6', 'then the connection closed with 1013 (gateway starting)', () => (early.closed === null ? 'still open 5 s (real) later' : `closed ${early.closed.code} ${show(early.closed.reason)}`));
      g.markReady();
      const later = await connectOnce(session, g.url, 5_000);
      checkRule(later.res !== null && later.res.ok === true, 'WS-6', 'once the gateway is ready, the same connect is answered hello-ok', () => show(later.res ?? later.closed ?? later.frames));
      ctx.note(`starting: ${show(early.res?.error, 160)}, closed ${early.closed?.code ?? '-'}; ready: ${later.res?.ok === true ? 'hello-ok' : 'refused'}`);
    } finally {
      await g.stop();
    }
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
  invalidJsonFirst,
  gatewayStarting,
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
  idempotencyAcrossSessions,
  missingIdempotencyKey,
  followupOwnRunId,
  isolation,
];
