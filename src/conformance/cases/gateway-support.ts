/**
 * Shared vocabulary of the gateway-level cases (queue, status, heartbeat,
 * tools, cascade, session): opening a gateway with the config a case needs
 * (or finding out that a target cannot give it), sending messages, reading
 * what clients heard, waiting on both kinds of target, and the model scripts
 * the cases play.
 *
 * Time: every duration in a case is in the GATEWAY's time units (the units of
 * `ReceivedEvent.at`, of the config and of `GatewayFacts`). Scripts given to
 * `session.setModel` are in the same units: the fake model divides them by the
 * target's timeScale, as the session's sleep does. On a virtual-time target
 * checks are exact; on a real-time one they allow `slack()` (every real-clock
 * tolerance lives in src/conformance/tolerances.ts, re-exported here).
 *
 * Payloads: every event and answer a case reads passes its SPEC schema first
 * (src/conformance/schemas.ts); see "payloads, checked against their SPEC
 * shape" below for how cases read them (statuses/chats/heartbeats/agentEvents,
 * expectPayload, checkPayload).
 */
import type { RequestLogEntry } from '../../fake-model/server.ts';
import type { ResponsePlan, Rule } from '../../fake-model/script.ts';
import type { ConfigInput, DropPolicy, LanesimConfig, QueueMode } from '../../model/config-types.ts';
import type { LaneStatusPayload } from '../../model/events.ts';
import { isTerminalChatState, type AgentEventPayload, type ChatEventPayload, type ResponseFrame } from '../../model/protocol.ts';
import { PAYLOADS, payloadProblem, shown, type PayloadKind } from '../schemas.ts';
import {
  CaseFailure, NotApplicable, checkRule, expectRule,
  type Capability, type CaseContext, type GatewaySession, type ReceivedEvent, type TestClient,
} from '../types.ts';

/**
 * Real-clock tolerances live in src/conformance/tolerances.ts; re-exported
 * here for the cases that import them from this module.
 */
export { ABORT_GRACE_MS, REAL_NOISE_MS, abortBound, judgesAbortTiming, noise, pacingViolation, slack } from '../tolerances.ts';

export const GATEWAY: readonly Capability[] = ['gateway', 'model-script'];

/** HB-1's default bound (CFG-1) when a target does not advertise its own. */
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** WS-16: the reference paces a run's deltas at one per this many ms. */
export const DELTA_THROTTLE_MS = 150;
/** WS-16: the shortest delta pacing that conforms (OpenClaw 2026.9.6 paces live text at 75 ms, DEP-9). */
export const DELTA_PACING_FLOOR_MS = 75;

// ------------------------------------------------------------------ config

/** A config fragment for `ctx.gateway({config})` (which is typed as a shallow Partial). */
export function cfg(input: ConfigInput): Partial<LanesimConfig> {
  return input as Partial<LanesimConfig>;
}

/** The configuration a session's gateway runs with, when the target says (`session.config`). */
export function configOf(session: GatewaySession): LanesimConfig | null {
  const config = (session as { config?: unknown }).config;
  return config !== null && typeof config === 'object' ? (config as LanesimConfig) : null;
}

export type ConfigNeed = (config: LanesimConfig) => string | null;

/** A need on `messages.queue`: null when met, else why not (`needs ... ; the gateway runs ...`). */
export function needQueue(want: { mode?: QueueMode; drop?: DropPolicy; cap?: number; byChannel?: Record<string, QueueMode> }): ConfigNeed {
  return (config) => {
    const q = config.messages.queue;
    if (want.mode !== undefined && q.mode !== want.mode) return `needs messages.queue.mode ${want.mode}; the gateway runs ${q.mode}`;
    if (want.drop !== undefined && q.drop !== want.drop) return `needs messages.queue.drop ${want.drop}; the gateway runs ${q.drop}`;
    if (want.cap !== undefined && q.cap !== want.cap) return `needs messages.queue.cap ${want.cap}; the gateway runs ${q.cap}`;
    for (const [channel, mode] of Object.entries(want.byChannel ?? {})) {
      if (q.byChannel[channel] !== mode) return `needs messages.queue.byChannel.${channel} ${mode}; the gateway has ${q.byChannel[channel] ?? 'none'}`;
    }
    return null;
  };
}

/**
 * Opens a gateway with `config` (honoured by in-process targets). A target
 * that runs its own configuration must say what it is (`session.config`) and
 * meet every need, else the case is not applicable.
 */
export async function openGateway(ctx: CaseContext, config: ConfigInput, ...needs: ConfigNeed[]): Promise<{ session: GatewaySession; config: LanesimConfig | null }> {
  const session = await ctx.gateway({ config: cfg(config) });
  const actual = configOf(session);
  if (needs.length > 0) {
    if (actual === null) throw new NotApplicable('the target does not tell its gateway configuration (session.config), and this case needs a specific one');
    for (const need of needs) {
      const why = need(actual);
      if (why !== null) throw new NotApplicable(why);
    }
  }
  return { session, config: actual };
}

export function requireConfig(session: GatewaySession, what: string): LanesimConfig {
  const config = configOf(session);
  if (config === null) throw new NotApplicable(`the target does not tell its gateway configuration (session.config); this case needs ${what}`);
  return config;
}

// ------------------------------------------------------------------ time

export function isVirtual(ctx: CaseContext): boolean {
  return ctx.target.capabilities.has('virtual-time');
}

/** The session's clock, in the units of ReceivedEvent.at. */
export function nowOf(session: GatewaySession): number {
  const now = (session as { now?: unknown }).now;
  if (typeof now === 'function') return (now as () => number).call(session);
  // A target without a clock of its own: epoch ms scaled like its events (best effort).
  return Date.now() * session.timeScale;
}

/**
 * A duration the gateway itself reports (elapsedMs, waitedMs, warnThresholdMs
 * in payloads) in session units: the gateway lives scripted durations divided
 * by timeScale, so its own numbers are multiplied back.
 */
export function gatewayMs(session: GatewaySession, value: number): number {
  return value * session.timeScale;
}

/**
 * Waits until `check` gives a value (not null/undefined/false), or `withinMs`
 * of gateway time passed: timer by timer on an in-process session, in steps
 * of `stepMs` elsewhere. Returns the value or null.
 */
export async function waitUntil<T>(
  session: GatewaySession, check: () => T | null | undefined | false | Promise<T | null | undefined | false>, withinMs: number, stepMs = 100,
): Promise<T | null> {
  const advance = (session as { advanceUntil?: unknown }).advanceUntil;
  if (typeof advance === 'function') {
    return (advance as (c: typeof check, w: number) => Promise<T | null>).call(session, check, withinMs);
  }
  let waited = 0;
  for (;;) {
    const value = await check();
    if (value !== null && value !== undefined && value !== false) return value;
    if (waited >= withinMs) return null;
    const step = Math.min(stepMs, withinMs - waited);
    await session.sleep(step);
    waited += step;
  }
}

// ------------------------------------------------------------------ model scripts

/** The marker of a case's message: rules match on it (`[<tag>]`). */
export function marker(tag: string): string {
  return `[${tag}]`;
}

/**
 * A turn: `ttftMs` of silence, then `tokens` words streamed evenly over
 * `streamMs` (one word per chunk), no jitter.
 */
export function turn(opts: { ttftMs: number; streamMs?: number; tokens?: number; text?: string }): ResponsePlan {
  const tokens = opts.text !== undefined ? Math.max(1, (opts.text.match(/\S+\s*/g) ?? []).length) : (opts.tokens ?? 8);
  const streamMs = opts.streamMs ?? 0;
  const plan: { -readonly [K in keyof ResponsePlan]: ResponsePlan[K] } = {
    ttftMs: opts.ttftMs,
    chunkTokens: 1,
    jitter: 0,
    // The first word comes at ttft, the last one streamMs later.
    tokensPerSec: streamMs > 0 && tokens > 1 ? ((tokens - 1) * 1000) / streamMs : 1000,
  };
  if (opts.text !== undefined) plan.text = opts.text;
  else plan.outputTokens = tokens;
  return plan;
}

/** A rule that answers messages containing `marker(tag)` with `plan`. */
export function on(tag: string, plan: ResponsePlan, extra: Partial<Rule> = {}): Rule {
  return { name: tag, match: { marker: marker(tag), afterToolResult: false }, ...extra, respond: plan };
}

/** A quick answer (the default of every case script). */
export const QUICK: ResponsePlan = turn({ ttftMs: 100, streamMs: 200, tokens: 5 });

export async function script(session: GatewaySession, rules: Rule[], fallback: ResponsePlan = QUICK): Promise<void> {
  if (session.setModel === undefined) throw new NotApplicable('the target cannot script its model');
  await session.setModel({ rules, default: fallback });
}

export async function modelLog(session: GatewaySession): Promise<RequestLogEntry[]> {
  if (session.modelRequests === undefined) throw new NotApplicable('the target does not show its model requests');
  return session.modelRequests();
}

/**
 * The model's request log once `ready` holds for it, or as it is after `withinMs`: a sender's wait may end before its
 * message reaches the model (OpenClaw closes a followup with an empty final, DEP-3), so a case that judges what reached the
 * model waits on the model's side.
 */
export async function modelLogWhen(session: GatewaySession, ready: (log: RequestLogEntry[]) => boolean, withinMs: number, pollMs?: number): Promise<RequestLogEntry[]> {
  const log = await waitUntil(session, async () => {
    const l = await modelLog(session);
    return ready(l) ? l : null;
  }, withinMs, pollMs);
  return log ?? modelLog(session);
}

// ------------------------------------------------------------------ messages

export interface Sent {
  client: TestClient;
  sessionKey: string;
  text: string;
  runId: string;
  status: string;
  code: string | null;
  /** Session time when the response came. */
  at: number;
  response: ResponseFrame;
  /** Retryable errors retried before this answer (send()). */
  retries: number;
}

let keySeq = 0;
/** Distinguishes this process's idempotency keys from another run's on a long-lived gateway (keys may be remembered gateway-wide). */
const KEY_TAG = `${Date.now().toString(36).slice(-5)}${Math.floor(Math.random() * 1296).toString(36).padStart(2, '0')}`;

/** An idempotency key no other send of this process (or, very likely, of another run) uses. */
export function uniqueKey(label: string): string {
  return `${label}-${KEY_TAG}-${++keySeq}`;
}

/** How many times send() tries a chat.send the gateway answered with a retryable error. */
export const SEND_ATTEMPTS = 5;

/**
 * A retryable error response: `error.retryable: true` (WS-2), or one that says
 * in words to retry the same request (OpenClaw 2026.9.6 answers a chat.send
 * that raced its own session bookkeeping with INVALID_REQUEST `session changed
 * before chat.send; retry the request`, details.code
 * SESSION_MUTATION_AUTHORIZATION_CHANGED, and no retryable flag).
 */
export function isRetryable(error: ResponseFrame['error'] | undefined): boolean {
  if (error === undefined || error === null) return false;
  if (error.retryable === true) return true;
  const details = (error as { details?: unknown }).details;
  if (details !== null && typeof details === 'object' && (details as { code?: unknown }).code === 'SESSION_MUTATION_AUTHORIZATION_CHANGED') return true;
  return typeof error.message === 'string' && /\bretry the (same )?request\b/i.test(error.message);
}

/**
 * chat.send; the response must be ok (WS-13: a refusal is still ok:true with
 * status rejected). A retryable error (isRetryable) is retried with the same
 * params, up to SEND_ATTEMPTS tries, after `retryAfterMs` or a short backoff
 * (100, 200, 400, ... real ms): only the last answer is judged.
 */
export async function send(
  session: GatewaySession, client: TestClient, sessionKey: string, text: string,
  opts: { idempotencyKey?: string; channel?: string; route?: string } = {},
): Promise<Sent> {
  const params: Record<string, unknown> = { sessionKey, message: text, idempotencyKey: opts.idempotencyKey ?? uniqueKey(`k-${client.name}`) };
  if (opts.channel !== undefined) params['channel'] = opts.channel;
  if (opts.route !== undefined) params['route'] = opts.route;
  let response = await client.request('chat.send', params);
  let retries = 0;
  while (!response.ok && isRetryable(response.error) && retries < SEND_ATTEMPTS - 1) {
    retries++;
    const after = response.error?.retryAfterMs;
    const realMs = typeof after === 'number' && Number.isFinite(after) && after >= 0 ? Math.min(after, 5_000) : 100 * 2 ** (retries - 1);
    // retryAfterMs is the gateway's own ms: session units are gateway ms x timeScale.
    await session.sleep(realMs * session.timeScale);
    response = await client.request('chat.send', params);
  }
  const at = nowOf(session);
  expectRule(response.ok, 'WS-13', 'chat.send answers ok:true with {runId, status} (a refused message is a response with status rejected)',
    () => `an error response ${JSON.stringify(response.error)}${retries > 0 ? ` (after ${retries} retr${retries === 1 ? 'y' : 'ies'} of a retryable error)` : ''}`);
  return sentOf(client, sessionKey, text, response, at, retries);
}

/** An ok chat.send answer as a Sent, its payload held to WS-13 (a hard check). */
function sentOf(client: TestClient, sessionKey: string, text: string, response: ResponseFrame, at: number, retries: number): Sent {
  const problem = payloadProblem('chatSend', response.payload);
  expectRule(problem === null, 'WS-13', 'chat.send answers {runId: non-empty string, status: started|queued|steered|rejected|in_flight, code: string when rejected}', () => problem!);
  const payload = response.payload as { runId: string; status: string; code?: unknown };
  return {
    client, sessionKey, text, runId: payload.runId, status: payload.status,
    code: typeof payload.code === 'string' ? payload.code : null, at, response, retries,
  };
}

/**
 * `send`, for a message a gateway may refuse as a request error instead of answering `rejected` (DEP-9: OpenClaw refuses a
 * blank message with INVALID_REQUEST): null when it was refused so; any other error response fails WS-13 as `send` does.
 */
export async function sendOrRefusedAsRequest(session: GatewaySession, client: TestClient, sessionKey: string, text: string): Promise<Sent | null> {
  const probe = await client.request('chat.send', { sessionKey, message: text, idempotencyKey: uniqueKey(`k-${client.name}`) });
  if (!probe.ok && probe.error?.code === 'INVALID_REQUEST') return null;
  const at = nowOf(session);
  expectRule(probe.ok, 'WS-13', 'chat.send answers ok:true with {runId, status}, or refuses the message as INVALID_REQUEST (DEP-9)', () => `an error response ${JSON.stringify(probe.error)}`);
  return sentOf(client, sessionKey, text, probe, at, 0);
}

// ------------------------------------------------------------------ small helpers of the protocol and access cases

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as JSON for a failure text, cut to `max` characters. */
export function show(value: unknown, max = 300): string {
  return shown(value, max);
}

/** Real milliseconds as session units. */
export function real(session: GatewaySession, ms: number): number {
  return ms * session.timeScale;
}

// ------------------------------------------------------------------ what clients heard

export type ChatEvent = ReceivedEvent & { payload: ChatEventPayload };
export type StatusEvent = ReceivedEvent & { payload: LaneStatusPayload };
export interface HeartbeatPayload { runId: string; elapsedMs: number; queued: boolean; sessionKey: string | null }
export type HeartbeatEvent = ReceivedEvent & { payload: HeartbeatPayload };
export type AgentEvent = ReceivedEvent & { payload: AgentEventPayload };

// ------------------------------------------------------------------ payloads, checked against their SPEC shape
//
// How a case reads a payload (cases-A and cases-B alike):
// - events: statuses(), chats(), heartbeats(), agentEvents() (and isStatus/isChat) return only
//   events whose payload passed its schema (src/conformance/schemas.ts); a malformed one is
//   recorded once as a SOFT failure of the rule that defines it (STATUS-2, WS-15, HB-4, WS-20),
//   naming the field path and value, and skipped. The case goes on with the well-formed ones,
//   so it never reads a missing field, and its own later checks still run.
// - responses: expectPayload(kind, res, what) for an answer the case depends on (a HARD check:
//   the payload, typed, or the case fails the defining rule); checkPayload(kind, value, what)
//   for one it only judges (soft; returns whether it conforms).
// - any other value: payloadProblem(kind, value) from schemas.ts (null, or the one-line problem).

/** Verdicts per received event and schema: each malformed frame is reported once, however often it is read. */
const verdicts = new WeakMap<object, Map<PayloadKind, boolean>>();

/**
 * Whether a received event's payload conforms to the `kind` schema. The first
 * time a malformed one is read, a soft failure of its rule is recorded
 * (`STATUS-2: lane.status payload /waiting is required; got {...}`).
 */
export function conforms(e: ReceivedEvent, kind: PayloadKind): boolean {
  let mine = verdicts.get(e);
  if (mine === undefined) verdicts.set(e, (mine = new Map()));
  const known = mine.get(kind);
  if (known !== undefined) return known;
  const problem = payloadProblem(kind, e.payload);
  mine.set(kind, problem === null);
  if (problem !== null) {
    const spec = PAYLOADS[kind];
    checkRule(false, spec.rule, `every ${e.event} event carries the ${spec.what} of ${spec.rule} (a malformed one is skipped)`, `at ${e.at}: ${problem}`);
  }
  return problem === null;
}

/** The agent events a client got whose payload conforms to WS-20, of `runId` when given. */
export function agentEvents(client: TestClient, runId?: string): AgentEvent[] {
  return client.events.filter((e): e is AgentEvent => e.event === 'agent' && conforms(e, 'agent') && (runId === undefined || (e.payload as AgentEventPayload).runId === runId));
}

/**
 * The payload of a successful response, checked against `kind`'s schema: a
 * HARD check (the case stops) for an answer the case depends on. An error
 * response fails `rule` (default: the schema's rule) with the error; a
 * malformed payload fails the schema's rule, naming the field.
 */
export function expectPayload<T = Record<string, unknown>>(kind: PayloadKind, res: ResponseFrame, what: string, rule: string = PAYLOADS[kind].rule): T {
  expectRule(res.ok === true, rule, `${what} answers ok`, () => `an error response ${shown(res.error)}`);
  const problem = payloadProblem(kind, res.payload);
  expectRule(problem === null, PAYLOADS[kind].rule, `${what} answers the ${PAYLOADS[kind].what} of ${PAYLOADS[kind].rule}`, () => problem!);
  return res.payload as T;
}

/** A SOFT check of any value against `kind`'s schema (recorded under the schema's rule); whether it conforms. */
export function checkPayload(kind: PayloadKind, value: unknown, what: string): boolean {
  const problem = payloadProblem(kind, value);
  return checkRule(problem === null, PAYLOADS[kind].rule, `${what}: the ${PAYLOADS[kind].what} of ${PAYLOADS[kind].rule}`, () => problem!);
}

/** A chat event whose payload conforms to WS-15 (a malformed one is recorded as a WS-15 failure and skipped). */
export function isChat(e: ReceivedEvent): e is ChatEvent {
  if (e.event !== 'chat' || !conforms(e, 'chat')) return false;
  // What its state carries (a final's message, an error's errorMessage): a failure is recorded, the frame still read.
  conforms(e, 'chatState');
  return true;
}

/** A lane.status event whose payload conforms to STATUS-2 (a malformed one is recorded as a STATUS-2 failure and skipped), of `sessionKey` when given. */
export function isStatus(e: ReceivedEvent, sessionKey?: string): e is StatusEvent {
  return e.event === 'lane.status' && conforms(e, 'laneStatus') &&
    (sessionKey === undefined || (e.payload as LaneStatusPayload).sessionKey === sessionKey);
}

export function chats(client: TestClient, runId?: string): ChatEvent[] {
  return client.events.filter((e): e is ChatEvent => isChat(e) && (runId === undefined || e.payload.runId === runId));
}

export function statuses(client: TestClient, sessionKey: string): StatusEvent[] {
  return client.events.filter((e): e is StatusEvent => isStatus(e, sessionKey));
}

/** The heartbeat events a client got whose payload conforms to HB-4 (a malformed one is recorded as an HB-4 failure and skipped). */
export function heartbeats(client: TestClient): HeartbeatEvent[] {
  return client.events.filter((e): e is HeartbeatEvent => e.event === 'heartbeat' && conforms(e, 'heartbeat'));
}

/** Every heartbeat event a client got, well-formed or not (for counting frames: HB-1 counts any frame). */
export function heartbeatFrames(client: TestClient): ReceivedEvent[] {
  return client.events.filter((e) => e.event === 'heartbeat');
}

export function isTerminal(state: string | undefined): boolean {
  return isTerminalChatState(state);
}

/**
 * QUEUE-7 in a collect setup: each of `later`, sent while `first`'s run had
 * not ended, is answered queued. An answer of `started` then breaks QUEUE-7
 * (a failure of the gateway, not of the setup); only if `first` had already
 * ended (its sender heard its terminal frame before the answer) did the
 * setup's timing fail.
 */
export function expectBufferedWhileBusy(first: Sent, later: readonly Sent[]): void {
  for (const s of later) {
    if (s.status === 'queued') continue;
    const ended = terminals(first.client, first.runId).find((e) => e.at <= s.at);
    if (ended !== undefined) {
      throw new Error(`setup: "${s.text}" was answered at ${s.at}, after ${first.runId} had ended (${ended.at}): answered ${s.status}`);
    }
    expectRule(false, 'QUEUE-7', `a message sent while ${first.runId} runs (collect) is answered queued ("${s.text}")`, `answered ${s.status}`);
  }
}

/** The terminal frames a client got for a run. */
export function terminals(client: TestClient, runId: string): ChatEvent[] {
  return chats(client, runId).filter((e) => isTerminal(e.payload.state) && e.payload.seq !== 0);
}

/**
 * How a sender's wait for one message ended (WS-17), from what it heard:
 * - `ran`: a terminal frame of its own runId (a run's stream: seq >= 1);
 * - `carried`: a `status` frame naming `carriedBy`, then that run's terminal frame;
 * - `refused`: a chat `error`/`aborted` frame for its runId with `errorCode` (seq 0);
 * null while it still waits.
 */
export interface WaitEnd {
  kind: 'ran' | 'carried' | 'refused';
  at: number;
  state: string;
  /** The run that answered (own runId, or carriedBy). */
  runId: string;
  status: string | null;
  errorCode: string | null;
  text: string;
}

function textOf(p: ChatEventPayload): string {
  return (p.message?.content ?? []).map((c) => c.text).join('');
}

export function waitEnd(sent: Pick<Sent, 'client' | 'runId'>): WaitEnd | null {
  const { client, runId } = sent;
  let carrier: string | null = null;
  let carriedStatus: string | null = null;
  for (const e of client.events) {
    if (!isChat(e)) continue;
    const p = e.payload;
    if (p.runId === runId) {
      if (p.state === 'status' && typeof p.carriedBy === 'string') {
        carrier = p.carriedBy;
        carriedStatus = p.status ?? null;
        continue;
      }
      if (isTerminal(p.state)) {
        const refused = p.seq === 0 && typeof p.errorCode === 'string';
        return { kind: refused ? 'refused' : 'ran', at: e.at, state: p.state, runId, status: null, errorCode: p.errorCode ?? null, text: textOf(p) };
      }
    }
    if (carrier !== null && p.runId === carrier && isTerminal(p.state) && p.seq !== 0) {
      return { kind: 'carried', at: e.at, state: p.state, runId: carrier, status: carriedStatus, errorCode: p.errorCode ?? null, text: textOf(p) };
    }
  }
  return null;
}

/** Waits until every sender's wait ended; fails QUEUE-20 / WS-17 with the ones still waiting. */
export async function waitAllEnded(session: GatewaySession, sent: readonly Sent[], withinMs: number, rule = 'QUEUE-20'): Promise<Map<Sent, WaitEnd>> {
  const pending = sent.filter((s) => s.status !== 'rejected' && s.status !== 'in_flight');
  await waitUntil(session, () => pending.every((s) => waitEnd(s) !== null), withinMs);
  const ends = new Map<Sent, WaitEnd>();
  const missing: string[] = [];
  for (const s of pending) {
    const end = waitEnd(s);
    if (end === null) missing.push(`${s.runId} (${JSON.stringify(s.text.slice(0, 40))}, answered ${s.status})`);
    else ends.set(s, end);
  }
  expectRule(missing.length === 0, rule,
    `every accepted message's sender hears how it ended within ${withinMs} ms (its own terminal frame, a status frame naming carriedBy then that run's terminal, or an error/aborted frame)`,
    `still waiting: ${missing.join(', ')}`);
  return ends;
}

/**
 * When a sender's wait really ended. WS-17 ends it with its runId's terminal
 * frame; a gateway that closes a waiting message with an empty `final` at
 * once and answers it later under another runId (OpenClaw's followups, DEP-3)
 * leaves its sender waiting for that answer all the same: then the wait ends
 * when the model has finished answering the message (its requests, found by
 * the marker `tag`; up to `withinMs` is waited for them).
 */
export async function realWaitEnd(session: GatewaySession, end: WaitEnd, tag: string, withinMs: number): Promise<WaitEnd & { emptyFinal: boolean }> {
  if (!(end.kind === 'ran' && end.state === 'final' && end.text === '')) return { ...end, emptyFinal: false };
  const log = await waitRequestsDone(session, [tag], withinMs);
  if (log === null) return { ...end, emptyFinal: true };
  const answered = Math.max(...requestsWith(log, tag).map((e) => e.t + (e.durationMs ?? 0)));
  return { ...end, at: Math.round(Math.max(end.at, answered) * 1000) / 1000, emptyFinal: true };
}

/** Waits for a chat frame of `runId` in one of `states`. */
export async function waitChat(session: GatewaySession, client: TestClient, runId: string, states: readonly string[], withinMs: number): Promise<ChatEvent | null> {
  return waitUntil(session, () => chats(client, runId).find((e) => states.includes(e.payload.state)) ?? null, withinMs);
}

/** The first status for a session (already received or within `withinMs`) that matches. */
export async function waitStatus(session: GatewaySession, client: TestClient, sessionKey: string, pred: (s: LaneStatusPayload, e: StatusEvent) => boolean, withinMs: number): Promise<StatusEvent | null> {
  return waitUntil(session, () => statuses(client, sessionKey).find((e) => pred(e.payload, e)) ?? null, withinMs);
}

/** Gaps between consecutive frames a client received within [from, to], the start and the end counted as frames. */
export function silences(client: TestClient, from: number, to: number): { gap: number; after: number }[] {
  const times = [from, ...client.events.map((e) => e.at).filter((t) => t > from && t < to), to];
  const gaps: { gap: number; after: number }[] = [];
  for (let i = 1; i < times.length; i++) gaps.push({ gap: times[i]! - times[i - 1]!, after: times[i - 1]! });
  return gaps;
}

/** A short description of what a client heard (for failure texts). */
export function heard(client: TestClient, from = -Infinity, max = 12): string {
  const events = client.events.filter((e) => e.at >= from);
  const shown = events.slice(0, max).map((e) => {
    const p = e.payload as Record<string, unknown> | null;
    if (e.event === 'chat') return `${e.at}:chat ${String(p?.['runId'])} ${String(p?.['state'])}${p?.['status'] !== undefined ? `/${String(p['status'])}` : ''}`;
    if (e.event === 'lane.status') return `${e.at}:lane.status ${String(p?.['state'])} (${String(p?.['reason'])})`;
    return `${e.at}:${e.event}`;
  });
  return `[${shown.join(', ')}${events.length > max ? `, … ${events.length - max} more` : ''}]`;
}

export function fail(rule: string, expected: string, observed: string): never {
  throw new CaseFailure(rule, expected, observed);
}

// ------------------------------------------------------------------ the model's requests

/**
 * The user messages of a request's user turn (the log's `userMessages`: the
 * user messages after the last assistant message before the last user
 * message, full text), falling back to the 200-character `lastUserMessage`
 * excerpt for a log that predates them.
 */
export function userTexts(entry: RequestLogEntry): readonly string[] {
  const list = (entry as { userMessages?: unknown }).userMessages;
  return Array.isArray(list) ? (list as string[]) : [entry.lastUserMessage];
}

/**
 * Whether the request's user turn carries `text`. Containment, not equality:
 * a gateway may wrap the user's text (OpenClaw sends `[<date> UTC] <text>\n\nRuntime: ...`)
 * and append user messages of its own; the text itself must be there whole.
 */
export function asks(entry: RequestLogEntry, text: string): boolean {
  return userTexts(entry).some((t) => t.includes(text));
}

/** Whether one user message of the request's user turn is exactly `text` (no wrapping). */
export function asksExactly(entry: RequestLogEntry, text: string): boolean {
  return userTexts(entry).some((t) => t === text);
}

/**
 * Requests of the model log that carry a case's marker (`[tag]`): answered by
 * the rule named `tag`, or with the marker among the script's markers found in
 * the user turn (`markers`), or in the user turn's text.
 */
export function requestsWith(log: readonly RequestLogEntry[], tag: string): RequestLogEntry[] {
  const m = marker(tag);
  return log.filter((e) => e.rule === tag || (e as { markers?: readonly string[] }).markers?.includes(m) === true || asks(e, m));
}

/**
 * The tool result a request answers (the log's `lastToolResult`), or null.
 * Not `lastMessage`: a gateway may append user messages after a tool result
 * (OpenClaw appends its internal context), so the last message need not be it.
 */
export function toolResultOf(entry: RequestLogEntry): string | null {
  const r = (entry as { lastToolResult?: unknown }).lastToolResult;
  if (typeof r === 'string') return r;
  if (r === null) return null;
  return entry.lastRole === 'tool' ? entry.lastMessage : null;
}

/** What the model's requests carried, for failure texts: each request's user turn, cut. */
export function describeRequests(log: readonly RequestLogEntry[], max = 8, chars = 60): string {
  const shown = log.slice(-max).map((e) => `#${e.index} ${e.rule}: ${userTexts(e).map((t) => JSON.stringify(t.length > chars ? `${t.slice(0, chars)}…` : t)).join(' + ')}`);
  return `${log.length > max ? `… ${log.length - max} earlier, ` : ''}${shown.join('; ') || 'no requests'}`;
}

/** When the first request carrying `tag` reached the model (log time, session units), or null. */
export function firstRequestAt(log: readonly RequestLogEntry[], tag: string): number | null {
  const hits = requestsWith(log, tag);
  return hits.length === 0 ? null : Math.min(...hits.map((e) => e.t));
}

/** Waits until the model got a request carrying each tag; returns the log then (or null after withinMs). */
export async function waitRequests(session: GatewaySession, tags: readonly string[], withinMs: number, stepMs = 100): Promise<RequestLogEntry[] | null> {
  return waitUntil(session, async () => {
    const log = await modelLog(session);
    return tags.every((tag) => requestsWith(log, tag).length > 0) ? log : null;
  }, withinMs, stepMs);
}

/**
 * Waits until the model got a request carrying each tag and every request
 * carrying one of them has ended (durationMs known); the log then, or null.
 * A sender's wait may end before its message reaches the model (OpenClaw closes
 * a followup with an empty final at once, DEP-3): cases that judge what the
 * model saw wait on the model's side.
 */
export async function waitRequestsDone(session: GatewaySession, tags: readonly string[], withinMs: number, stepMs = 200): Promise<RequestLogEntry[] | null> {
  return waitUntil(session, async () => {
    const log = await modelLog(session);
    return tags.every((tag) => {
      const hits = requestsWith(log, tag);
      return hits.length > 0 && hits.every((e) => e.durationMs !== null);
    }) ? log : null;
  }, withinMs, stepMs);
}

/**
 * Did the message marked `laterTag` wait behind the requests marked
 * `aheadTag`? Read from the model's side: its first request came only after
 * the requests ahead (those that reached the model before it) had ended:
 * all of them (`until: 'all'`, the default: one run ahead in its session), or
 * the first of them (`'first'`: several runs filling a global lane, one of
 * which has to end to free a slot). Waits (up to `withinMs`) for both to
 * reach the model and the requests ahead to end. null when that cannot be
 * told (one never reached the model).
 */
export async function waitedBehind(
  session: GatewaySession, aheadTag: string, laterTag: string, withinMs: number, until: 'all' | 'first' = 'all',
): Promise<{ waited: boolean; aheadEnd: number; laterStart: number } | null> {
  const log = await waitUntil(session, async () => {
    const l = await modelLog(session);
    const later = requestsWith(l, laterTag)[0];
    if (later === undefined) return null;
    const ahead = requestsWith(l, aheadTag).filter((e) => e.index < later.index);
    return ahead.length > 0 && (until === 'first' ? ahead.some((e) => e.durationMs !== null) : ahead.every((e) => e.durationMs !== null)) ? l : null;
  }, withinMs, 200);
  if (log === null) return null;
  const later = requestsWith(log, laterTag)[0]!;
  const ahead = requestsWith(log, aheadTag).filter((e) => e.index < later.index);
  const ends = ahead.map((e) => e.t + (e.durationMs ?? Infinity));
  const aheadEnd = until === 'first' ? Math.min(...ends) : Math.max(...ends);
  const eps = session.timeScale;
  const shown = (v: number): number => Math.round(v * 10) / 10;
  return { waited: later.t >= aheadEnd - eps, aheadEnd: shown(aheadEnd), laterStart: shown(later.t) };
}

// ------------------------------------------------------------------ bystanders

export interface Bystander {
  client: TestClient;
  sessionKey: string;
  /** sessions.subscribe {sessionKey} answered ok. */
  subscribed: boolean;
  /** The error it answered instead (JSON), when refused. */
  refusal: string | null;
}

/**
 * Makes `client` a bystander of `sessionKey` (WS-11): it asks
 * `sessions.subscribe {sessionKey}`. A gateway may refuse that form and still
 * send every session's events to every operator connection (OpenClaw
 * 2026.9.6 answers `unexpected property 'sessionKey'` and broadcasts chat and
 * agent events): the case goes on, and `observes()` tells afterwards whether
 * the bystander heard the session at all.
 */
export async function bystander(client: TestClient, sessionKey: string): Promise<Bystander> {
  const res = await client.request('sessions.subscribe', { sessionKey });
  return { client, sessionKey, subscribed: res.ok, refusal: res.ok ? null : JSON.stringify(res.error) };
}

/** Whether a bystander heard any chat/agent/lane.status event of its session. */
export function observes(b: Bystander): boolean {
  return b.client.events.some((e) => {
    const p = e.payload as { sessionKey?: unknown } | null;
    return (e.event === 'chat' || e.event === 'agent' || e.event === 'lane.status') && p !== null && typeof p === 'object' && p.sessionKey === b.sessionKey;
  });
}

/** How a bystander came to hear the session, for notes. */
export function describeBystander(b: Bystander): string {
  return b.subscribed ? 'subscribed with sessions.subscribe {sessionKey}' :
    `sessions.subscribe {sessionKey} refused (${b.refusal ?? '?'}); ${observes(b) ? 'it heard the session\'s events anyway (the gateway sends them to every operator connection)' : 'it heard none of the session\'s events'}`;
}

// ------------------------------------------------------------------ operator actions (cases-B)

/**
 * The operator action of QUEUE-11, when the target offers one: clearing a
 * session's queue. SPEC names no protocol method for it, so it is reached
 * through the session (`session.clearQueue`) or the in-process gateway the
 * session wraps (InProcessGateway.clearQueue, src/conformance/adapter.ts);
 * null when the target has neither.
 */
export function operatorClearQueue(session: GatewaySession): ((sessionKey: string) => Promise<number | null>) | null {
  const own = (session as { clearQueue?: unknown }).clearQueue;
  if (typeof own === 'function') return async (key) => toCount(await (own as (k: string) => unknown).call(session, key));
  const gateway = (session as { gateway?: { clearQueue?: unknown } | null }).gateway;
  const hook = gateway !== null && typeof gateway === 'object' ? gateway.clearQueue : undefined;
  if (typeof hook === 'function') return async (key) => toCount(await (hook as (k: string) => unknown).call(gateway, key));
  return null;
}

function toCount(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * The queue configuration a case runs with in process when any mode in which
 * a message waits will do: the first of `prefer` the gateway declares
 * (supports.queueModes), and its first declared drop policy of `drops`. An
 * in-process gateway is configured with it, so a gateway declaring e.g. only
 * followup is never run in a mode it declared unsupported (the same gateway
 * over the wire runs its own configuration). n/a when it declares none of them.
 */
export function declaredQueue(
  supports: { readonly queueModes: readonly QueueMode[]; readonly dropPolicies: readonly DropPolicy[] },
  prefer: readonly QueueMode[] = ['followup', 'collect', 'steer-backlog', 'steer'],
  drops: readonly DropPolicy[] = ['summarize', 'old', 'new'],
): { mode: QueueMode; drop: DropPolicy } {
  const mode = prefer.find((m) => supports.queueModes.includes(m));
  if (mode === undefined) throw new NotApplicable(`declared unsupported: supports.queueModes lists none of ${prefer.join(', ')}`);
  const drop = drops.find((d) => supports.dropPolicies.includes(d));
  if (drop === undefined) throw new NotApplicable(`declared unsupported: supports.dropPolicies lists none of ${drops.join(', ')}`);
  return { mode, drop };
}
