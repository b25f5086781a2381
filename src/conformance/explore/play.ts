/**
 * Plays one workload against a ConformanceTarget's gateway, through the same
 * API the catalogue's cases use (GatewaySession, TestClient), and records
 * only what is observable from outside: the frames each connection got, the
 * chat.send and chat.abort answers, and the requests the model got.
 *
 * The model side is a script built from the workload: each message carries a
 * marker `[w<k>]` (k: its number among the workload's sends) and the rule for
 * that marker plays its reply; a nested call's message carries `[n<k>]`.
 */
import type { RequestLogEntry } from '../../fake-model/server.ts';
import type { ResponsePlan, Rule } from '../../fake-model/script.ts';
import type { LanesimConfig } from '../../model/config-types.ts';
import type { ConformanceTarget, GatewayFacts, GatewaySession, ReceivedEvent, TestClient } from '../types.ts';
import { modeOf, workloadConfig, type ExploreWorkload, type Reply, type SendStep } from './workload.ts';

export const markerOf = (k: number): string => `[w${k}]`;
export const nestedMarkerOf = (k: number): string => `[n${k}]`;

/** After the last step, how long the explorer lets the gateway run until every wait ended (gateway ms). */
export const QUIESCENCE_LIMIT_MS = 900_000;
const QUIESCENCE_STEP_MS = 2_000;

export interface SendRecord {
  /** Number of the send among the workload's sends (its marker). */
  k: number;
  step: number;
  client: number;
  session: number;
  connId: string;
  /** When it was sent, and when it was answered (gateway ms; the same instant on a fake clock). */
  sentAt: number;
  at: number;
  mode: string;
  text: string;
  runId: string | null;
  status: string | null;
  code: string | null;
  /** An error response, or a failed request (JSON). */
  error: string | null;
}

export interface AbortRecord {
  step: number;
  at: number;
  client: number;
  session: number;
  /** The message whose runId was named, or null (whole session). */
  message: number | null;
  runIdParam: string | null;
  aborted: string[] | null;
  error: string | null;
}

export interface ClearRecord {
  step: number;
  at: number;
  session: number;
  /** What the operator hook answered: a count, `no count`, `no operator hook`, or `threw: ...`. */
  result: string;
}

/** A repeated chat.send (WS-14): the message it repeats and what the gateway answered. */
export interface ResendRecord {
  step: number;
  at: number;
  client: number;
  /** The send it repeats (k), or null when there was none yet (nothing was sent). */
  of: number | null;
  runId: string | null;
  status: string | null;
  code: string | null;
  error: string | null;
}

/** The graceful stop after the last step (ShutdownEnding). */
export interface ShutdownRecord {
  at: number;
  abortRunning: boolean;
  /** `completed`, `failed: ...`, or `still stopping` (not completed within the quiescence limit). */
  result: string;
}

export interface ConnectionRecord {
  connId: string;
  client: number;
  openedAt: number;
  closedAt: number | null;
  events: ReceivedEvent[];
}

export interface Observation {
  workload: ExploreWorkload;
  targetName: string;
  sessionKeys: string[];
  facts: GatewayFacts;
  /** Gateway ms per real ms (1 in process: the fake clock is the gateway's). */
  timeScale: number;
  sends: SendRecord[];
  aborts: AbortRecord[];
  clears: ClearRecord[];
  resends: ResendRecord[];
  /** The graceful stop, when the workload ends with one. */
  shutdown: ShutdownRecord | null;
  connections: ConnectionRecord[];
  model: RequestLogEntry[];
  /** When each connection subscribed to a session (its first chat.send there, or sessions.subscribe). */
  subscriptions: { connId: string; session: number; at: number }[];
  /** When the explorer stopped watching (every wait ended, or the quiescence limit). */
  endAt: number;
  /** false: something still waited after QUIESCENCE_LIMIT_MS. */
  quiet: boolean;
}

const WORD = 'word';

function replyPlan(reply: Reply, toolCalls: NonNullable<ResponsePlan['toolCalls']> | undefined): ResponsePlan {
  const plan: { -readonly [K in keyof ResponsePlan]: ResponsePlan[K] } = {
    ttftMs: reply.ttftMs,
    chunkTokens: 1,
    jitter: 0,
    tokensPerSec: 1000 / reply.wordMs,
    text: Array.from({ length: reply.tokens }, (_, i) => `${WORD}${i + 1}`).join(' '),
  };
  if (toolCalls !== undefined) plan.toolCalls = toolCalls;
  if (reply.stall !== null) plan.stall = { afterTokens: Math.min(reply.stall.afterTokens, reply.tokens), ms: reply.stall.ms };
  if (reply.fail === 'http') plan.error = { status: 500, message: 'scripted failure' };
  else if (reply.fail === 'cut') plan.error = { afterTokens: Math.min(2, reply.tokens), message: 'scripted cut' };
  return plan;
}

const QUICK: ResponsePlan = { ttftMs: 100, chunkTokens: 1, jitter: 0, tokensPerSec: 10, text: 'done here' };

/** The model script of a workload (one per gateway session; identical on every target). */
export function workloadScript(w: ExploreWorkload, sessionKeys: readonly string[]): { rules: Rule[]; default: ResponsePlan } {
  const rules: Rule[] = [];
  const sends = w.steps.filter((s): s is SendStep => s.kind === 'send');
  sends.forEach((s, k) => {
    if (s.reply.nested !== null) rules.push({ name: `n${k}`, match: { marker: nestedMarkerOf(k) }, respond: QUICK });
  });
  sends.forEach((s, k) => {
    const r = s.reply;
    rules.push({ name: `w${k}-after-tool`, match: { marker: markerOf(k), afterToolResult: true }, respond: QUICK });
    let calls: NonNullable<ResponsePlan['toolCalls']> | undefined;
    if (r.tool !== null) calls = [{ name: r.tool.name, arguments: r.tool.args, id: `call_w${k}` }];
    else if (r.nested !== null) {
      calls = [{
        name: 'sessions_send',
        arguments: JSON.stringify({ targetSessionKey: sessionKeys[r.nested.session], message: `${nestedMarkerOf(k)} please look at it` }),
        id: `call_n${k}`,
      }];
    }
    rules.push({ name: `w${k}`, match: { marker: markerOf(k), afterToolResult: false }, respond: replyPlan(r, calls) });
  });
  return { rules, default: QUICK };
}

/** The text a send carries: its marker, then the workload's text. */
export function sendText(k: number, s: SendStep): string {
  return `${markerOf(k)} ${s.text}`;
}

/**
 * The target's operator action that clears a session's queue (QUEUE-11 names no protocol method):
 * the session's own `clearQueue`, or its in-process gateway's (InProcessGateway.clearQueue); null if none.
 */
export function operatorClearQueue(session: GatewaySession): ((sessionKey: string) => Promise<number | null>) | null {
  const count = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
  const own = (session as { clearQueue?: unknown }).clearQueue;
  if (typeof own === 'function') return async (key) => count(await (own as (k: string) => unknown).call(session, key));
  const gateway = (session as { gateway?: { clearQueue?: unknown } | null }).gateway;
  const hook = gateway !== null && typeof gateway === 'object' ? gateway.clearQueue : undefined;
  if (typeof hook === 'function') return async (key) => count(await (hook as (k: string) => unknown).call(gateway, key));
  return null;
}

type Stop = (options: { abortRunning: boolean }) => Promise<void>;

/**
 * How the harness stops a session's gateway gracefully (WS-23): the session's own `stopGateway` (a
 * gateway the WebSocket target provisioned), or its in-process gateway's `stop`; null if neither.
 */
export function gatewayStopper(session: GatewaySession): Stop | null {
  const own = (session as { stopGateway?: unknown }).stopGateway;
  if (typeof own === 'function') return (options) => Promise.resolve((own as Stop).call(session, options));
  const gateway = (session as { gateway?: { stop?: unknown } | null }).gateway;
  if (gateway !== null && gateway !== undefined && typeof gateway === 'object' && typeof gateway.stop === 'function') {
    const stop = gateway.stop as (o: { abortRunning: boolean }) => unknown;
    return (options) => Promise.resolve(stop.call(gateway, options)).then(() => undefined);
  }
  return null;
}

function nowOf(session: GatewaySession): number {
  const now = (session as { now?: unknown }).now;
  if (typeof now === 'function') return (now as () => number).call(session);
  return Date.now() * session.timeScale;
}

function terminal(state: unknown): boolean {
  return state === 'final' || state === 'error' || state === 'aborted';
}

/** Whether every accepted message's wait ended, as any connection heard it (WS-17). */
function allEnded(sends: readonly SendRecord[], connections: readonly ConnectionRecord[]): boolean {
  const carried = new Map<string, string>();
  const ended = new Set<string>();
  for (const c of connections) {
    for (const e of c.events) {
      if (e.event !== 'chat') continue;
      const p = e.payload as { runId?: string; state?: string; carriedBy?: string };
      if (typeof p.runId !== 'string') continue;
      if (p.state === 'status' && typeof p.carriedBy === 'string') carried.set(p.runId, p.carriedBy);
      else if (terminal(p.state)) ended.add(p.runId);
    }
  }
  const closed = new Set(connections.filter((c) => c.closedAt !== null).map((c) => c.connId));
  for (const s of sends) {
    if (s.runId === null || s.status === 'rejected' || s.status === 'in_flight') continue;
    // A sender that left hears nothing more: its message is not waited for.
    if (closed.has(s.connId)) continue;
    if (ended.has(s.runId)) continue;
    const by = carried.get(s.runId);
    if (by !== undefined && ended.has(by)) continue;
    return false;
  }
  return true;
}

export interface PlayOptions {
  /** Gateway time the explorer waits, after the last step, for every wait to end. */
  quiescenceLimitMs?: number;
  /**
   * Real clock: each step is played at its due time (the sum of the gaps before it) measured from the
   * first step, not `gap` after the previous step returned, so round trips do not pile up into drift
   * against the model's timeline (the fake-clock reference has none). Default false (gaps).
   */
  absoluteSchedule?: boolean;
}

/** Opens a fresh gateway session of `target` configured for `w`. */
export async function openFor(target: ConformanceTarget, w: ExploreWorkload): Promise<GatewaySession> {
  if (target.openGateway === undefined) throw new Error(`target ${target.name} has no gateway to explore`);
  return target.openGateway({ config: workloadConfig(w) as Partial<LanesimConfig> });
}

/** Plays `w` on a fresh gateway session of `target` and returns what was observed. */
export async function playWorkload(target: ConformanceTarget, w: ExploreWorkload, options: PlayOptions = {}): Promise<Observation> {
  const session = await openFor(target, w);
  try {
    return await playOn(session, target.name, w, options);
  } finally {
    await session.close();
  }
}

/** Plays `w` on a session already opened for it (openFor); the caller closes it. */
export async function playOn(session: GatewaySession, targetName: string, w: ExploreWorkload, options: PlayOptions): Promise<Observation> {
  const sessionKeys = Array.from({ length: w.sessions }, (_, i) => session.sessionKey(`s${i}`));
  if (session.setModel === undefined || session.modelRequests === undefined) throw new Error(`target ${targetName} cannot script its model (capability model-script)`);
  await session.setModel(workloadScript(w, sessionKeys));
  const connections: ConnectionRecord[] = [];
  const live: (TestClient | null)[] = Array.from({ length: w.clients }, () => null);
  const liveRecord: (ConnectionRecord | null)[] = Array.from({ length: w.clients }, () => null);
  const connCount = Array.from({ length: w.clients }, () => 0);
  const connect = async (client: number): Promise<TestClient> => {
    const existing = live[client];
    if (existing !== null && existing !== undefined && !existing.closed) return existing;
    const connId = `c${client}.${++connCount[client]!}`;
    const tc = await session.connect(connId);
    const record: ConnectionRecord = { connId, client, openedAt: nowOf(session), closedAt: null, events: tc.events };
    connections.push(record);
    live[client] = tc;
    liveRecord[client] = record;
    return tc;
  };
  for (let c = 0; c < w.clients; c++) await connect(c);

  const sends: SendRecord[] = [];
  const aborts: AbortRecord[] = [];
  const subscriptions: Observation['subscriptions'] = [];
  const clears: ClearRecord[] = [];
  const resends: ResendRecord[] = [];
  const sendParams: Record<string, unknown>[] = [];
  const clearHook = operatorClearQueue(session);
  const subscribe = (client: number, sessionIndex: number): void => {
    const connId = liveRecord[client]!.connId;
    if (!subscriptions.some((x) => x.connId === connId && x.session === sessionIndex)) subscriptions.push({ connId, session: sessionIndex, at: nowOf(session) });
  };
  let k = 0;
  // A chat.send and its answer into `record` (a send or a resend): when it was answered, its runId, status and code, or the error.
  const sendAndRecord = async (tc: TestClient, params: Record<string, unknown>, record: Pick<SendRecord, 'at' | 'runId' | 'status' | 'code' | 'error'>): Promise<void> => {
    try {
      const res = await tc.request('chat.send', params);
      record.at = nowOf(session);
      if (res.ok) {
        const p = res.payload as { runId?: unknown; status?: unknown; code?: unknown } | null;
        record.runId = typeof p?.runId === 'string' ? p.runId : null;
        record.status = typeof p?.status === 'string' ? p.status : null;
        record.code = typeof p?.code === 'string' ? p.code : null;
      } else record.error = JSON.stringify(res.error);
    } catch (error) {
      record.error = (error as Error).message;
    }
  };
  const scheduleStart = nowOf(session);
  let due = 0;
  for (let i = 0; i < w.steps.length; i++) {
    const step = w.steps[i]!;
    due += step.gap;
    if (options.absoluteSchedule === true) {
      const wait = scheduleStart + due - nowOf(session);
      if (wait > 0) await session.sleep(wait);
    } else if (step.gap > 0) await session.sleep(step.gap);
    switch (step.kind) {
      case 'send': {
        const tc = await connect(step.client);
        subscribe(step.client, step.session);
        const text = sendText(k, step);
        const params: Record<string, unknown> = { sessionKey: sessionKeys[step.session], message: text, idempotencyKey: `x${k}` };
        if (step.channel !== null) params['channel'] = step.channel;
        if (step.route !== null) params['route'] = step.route;
        const record: SendRecord = {
          k, step: i, client: step.client, session: step.session, connId: liveRecord[step.client]!.connId, sentAt: nowOf(session), at: nowOf(session),
          mode: modeOf(w, step), text, runId: null, status: null, code: null, error: null,
        };
        await sendAndRecord(tc, params, record);
        sends.push(record);
        sendParams.push(params);
        k++;
        break;
      }
      case 'resend': {
        const record: ResendRecord = { step: i, at: nowOf(session), client: step.client, of: null, runId: null, status: null, code: null, error: null };
        if (sends.length > 0) {
          const of = step.message % sends.length;
          record.of = of;
          const tc = await connect(step.client);
          subscribe(step.client, sends[of]!.session);
          await sendAndRecord(tc, sendParams[of]!, record);
        }
        resends.push(record);
        break;
      }
      case 'abort': {
        const tc = await connect(step.client);
        const named = step.message === null || sends.length === 0 ? null : sends[step.message % sends.length]!;
        const sessionIndex = named === null ? step.session : named.session;
        const params: Record<string, unknown> = { sessionKey: sessionKeys[sessionIndex] };
        if (named !== null && named.runId !== null) params['runId'] = named.runId;
        const record: AbortRecord = {
          step: i, at: nowOf(session), client: step.client, session: sessionIndex, message: named === null ? null : named.k,
          runIdParam: (params['runId'] as string | undefined) ?? null, aborted: null, error: null,
        };
        try {
          const res = await tc.request('chat.abort', params);
          record.at = nowOf(session);
          const list = (res.payload as { aborted?: unknown } | null)?.aborted;
          if (res.ok && Array.isArray(list)) record.aborted = list.filter((x): x is string => typeof x === 'string');
          else record.error = JSON.stringify(res.ok ? res.payload : res.error);
        } catch (error) {
          record.error = (error as Error).message;
        }
        aborts.push(record);
        break;
      }
      case 'join': {
        const tc = await connect(step.client);
        subscribe(step.client, step.session);
        await tc.request('sessions.subscribe', { sessionKey: sessionKeys[step.session] });
        break;
      }
      case 'clear': {
        const record: ClearRecord = { step: i, at: nowOf(session), session: step.session, result: 'no operator hook' };
        if (clearHook !== null) {
          try {
            const count = await clearHook(sessionKeys[step.session]!);
            record.result = count === null ? 'no count' : String(count);
          } catch (error) {
            record.result = `threw: ${(error as Error).message}`;
          }
        }
        clears.push(record);
        break;
      }
      case 'leave': {
        const tc = live[step.client];
        if (tc !== null && tc !== undefined && !tc.closed) {
          await tc.close();
          liveRecord[step.client]!.closedAt = nowOf(session);
        }
        live[step.client] = null;
        break;
      }
    }
  }

  // The graceful stop (WS-23): begun, not awaited here (it completes once no run is live; the loop below waits).
  let shutdown: ShutdownRecord | null = null;
  const ending = w.ending ?? null;
  if (ending !== null) {
    due += ending.gap;
    if (options.absoluteSchedule === true) {
      const wait = scheduleStart + due - nowOf(session);
      if (wait > 0) await session.sleep(wait);
    } else if (ending.gap > 0) await session.sleep(ending.gap);
    const stop = gatewayStopper(session);
    const record: ShutdownRecord = { at: nowOf(session), abortRunning: ending.abortRunning, result: stop === null ? 'failed: the harness cannot stop this gateway' : 'still stopping' };
    shutdown = record;
    if (stop !== null) {
      void stop({ abortRunning: ending.abortRunning }).then(() => void (record.result = 'completed'), (error: unknown) => void (record.result = `failed: ${(error as Error)?.message ?? String(error)}`));
    }
  }

  // Let the gateway finish: until every accepted message's wait ended and the model is idle (and a stop completed).
  const limit = options.quiescenceLimitMs ?? QUIESCENCE_LIMIT_MS;
  let waited = 0;
  let quiet = false;
  for (;;) {
    const log = await session.modelRequests();
    if (allEnded(sends, connections) && log.every((e) => e.durationMs !== null) && (shutdown === null || shutdown.result !== 'still stopping')) {
      quiet = true;
      break;
    }
    if (waited >= limit) break;
    await session.sleep(QUIESCENCE_STEP_MS);
    waited += QUIESCENCE_STEP_MS;
  }
  const endAt = nowOf(session);
  const model = await session.modelRequests();
  // Events are copied: closing the session may still deliver frames (shutdown) to the live arrays.
  const frozen = connections.map((c) => ({ ...c, events: c.events.slice() }));
  return { workload: w, targetName, sessionKeys, facts: session.facts, timeScale: session.timeScale, sends, aborts, clears, resends, shutdown: shutdown === null ? null : { ...shutdown }, connections: frozen, model, subscriptions, endAt, quiet };
}
