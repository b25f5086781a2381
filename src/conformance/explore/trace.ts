/**
 * An observation rebuilt into lanesim's trace (src/model/events.ts), so the
 * invariant checkers of src/model/invariants judge a gateway they cannot see
 * inside, from what its clients and its model saw:
 *
 * - `conn` open/closed: the explorer's connections;
 * - `message`: each chat.send answered with a runId (msgId = that runId);
 * - `settle`: read from the SENDER's frames (WS-17, QUEUE-21): a `status`
 *   frame naming `carriedBy` (merged / steered / summarized), a refusal
 *   (`error`/`aborted` with errorCode, seq 0; or the answer `rejected`), or
 *   the first frame of its own run's stream (ran). Every such frame is a
 *   settle: a message told twice is settled twice (INV-NOTHING-LOST);
 *   messages whose sender left before hearing anything are not judged;
 * - `start`: the first stream frame (seq >= 1) of a run, heard by anyone;
 * - `drop`: when a message dropped into a summary left the session's
 *   lane.status listing (its wait ends there, QUEUE-15);
 * - `frame`: every frame every connection got (and `heartbeat` for each
 *   heartbeat, with its runId and elapsedMs); `lane.status`: each distinct
 *   status of a session (one status to several subscribers counts once);
 * - `tool_call` / `tool_result`: from the model's requests: a scripted tool
 *   call (validity judged by the reference validator, i.e. by TOOL-*) and the
 *   tool result the next request of that turn carried.
 *
 * Lane events (enqueue, grant, ...) are not observable and not rebuilt.
 */
import { payloadProblem } from '../schemas.ts';
import type { LaneStatusPayload, MessageOutcome, TraceEvent } from '../../model/events.ts';
import {
  AbortSettlesChecker, HeartbeatWaitChecker, NothingLostChecker, SilenceChecker, StatusValuesChecker, ToolResultChecker, WaitWarningChecker, checkTrace, type TraceChecker, type Violation,
} from '../../model/invariants/index.ts';
import type { QueueMode } from '../../model/config-types.ts';
import { ToolRegistry } from '../../reference-impl/tool-validator.ts';
import { ABORT_GRACE_MS } from './equivalence.ts';
import type { Observation, SendRecord } from './play.ts';
import type { SendStep } from './workload.ts';

interface Chat { runId?: string; state?: string; seq?: number; status?: string; carriedBy?: string; errorCode?: string }

/** Order of trace events at one instant: what exists before what is said about it. */
const RANK: Partial<Record<TraceEvent['type'], number>> = { conn: 0, message: 1, settle: 2, start: 2, drop: 2 };

function terminal(state: string | undefined): boolean {
  return state === 'final' || state === 'error' || state === 'aborted';
}

const validator = new ToolRegistry();

export function rebuildTrace(o: Observation): TraceEvent[] {
  const out: { e: TraceEvent; rank: number; order: number }[] = [];
  let order = 0;
  const add = (e: TraceEvent, rank?: number): void => {
    out.push({ e, rank: rank ?? RANK[e.type] ?? 3, order: order++ });
  };
  const sessionName = (key: string): string => {
    const i = o.sessionKeys.indexOf(key);
    return i < 0 ? key : `s${i}`;
  };

  for (const c of o.connections) {
    add({ type: 'conn', t: c.openedAt, connId: c.connId, state: 'open' });
    if (c.closedAt !== null) add({ type: 'conn', t: c.closedAt, connId: c.connId, state: 'closed' }, 4);
  }

  // Runs: first stream frame (start) and how each ended, heard by anyone.
  const started = new Map<string, number>();
  const endState = new Map<string, string>();
  for (const c of o.connections) {
    for (const e of c.events) {
      if (e.event !== 'chat' && e.event !== 'agent') continue;
      const p = e.payload as Chat;
      if (typeof p.runId !== 'string' || typeof p.seq !== 'number' || p.seq < 1) continue;
      const first = started.get(p.runId);
      if (first === undefined || e.at < first) started.set(p.runId, e.at);
      if (e.event === 'chat' && terminal(p.state) && !endState.has(p.runId)) endState.set(p.runId, p.state!);
    }
  }
  for (const [runId, t] of started) add({ type: 'start', t, taskId: runId, lanes: [], waitedMs: 0 });
  // LANE-12: a run chat.abort named while it ran must settle (its terminal frame) within the grace.
  const endAt = new Map<string, number>();
  for (const c of o.connections) {
    for (const e of c.events) {
      const p = e.payload as Chat;
      if (e.event !== 'chat' || typeof p.runId !== 'string' || typeof p.seq !== 'number' || p.seq < 1 || !terminal(p.state)) continue;
      const first = endAt.get(p.runId);
      if (first === undefined || e.at < first) endAt.set(p.runId, e.at);
    }
  }
  const abortedRunning = new Set<string>();
  // Judged only where someone would hear the end: a connection subscribed to the session by then and open to the end.
  const watched = (session: number, at: number): boolean => o.subscriptions.some((x) => x.session === session && x.at <= at &&
    o.connections.some((c) => c.connId === x.connId && c.closedAt === null));
  for (const a of o.aborts) {
    if (!watched(a.session, a.at)) continue;
    for (const runId of a.aborted ?? []) {
      const began = started.get(runId);
      const ended = endAt.get(runId);
      if (began === undefined || began > a.at || (ended !== undefined && ended < a.at) || abortedRunning.has(runId)) continue;
      abortedRunning.add(runId);
      add({ type: 'abort', t: a.at, taskId: runId, phase: 'running', reason: 'chat.abort' }, 2);
    }
  }
  for (const runId of abortedRunning) {
    const ended = endAt.get(runId);
    if (ended !== undefined) add({ type: 'end', t: ended, taskId: runId }, 3);
  }

  // Messages and their settles, from what each sender heard.
  const carrierOf = new Map<string, string>();
  const summarized: SendRecord[] = [];
  const firstSettleAt = new Map<string, number>();
  const unjudged = new Set<string>();
  for (const s of o.sends) {
    if (s.runId === null || s.error !== null || s.status === 'in_flight') continue;
    const runId = s.runId;
    const conn = o.connections.find((c) => c.connId === s.connId);
    const settles: { t: number; outcome: MessageOutcome; runId: string | null; code: string | null }[] = [];
    // Decided while the request was handled: its QUEUE-21 frame may reach the sender before the answer does.
    if (s.status === 'rejected') settles.push({ t: s.sentAt, outcome: 'rejected', runId: null, code: s.code });
    let ranSeen = false;
    let refusalAnswered = s.status === 'rejected';
    for (const e of conn?.events ?? []) {
      if ((e.event !== 'chat' && e.event !== 'agent') || e.at < s.sentAt) continue;
      const p = e.payload as Chat;
      if (p.runId !== runId) continue;
      if (e.event === 'chat' && p.state === 'status' && typeof p.carriedBy === 'string') {
        const outcome = (['merged', 'steered', 'summarized'] as const).find((x) => x === p.status);
        if (outcome !== undefined) {
          settles.push({ t: e.at, outcome, runId: p.carriedBy, code: null });
          carrierOf.set(runId, p.carriedBy);
          if (outcome === 'summarized') summarized.push(s);
        }
        continue;
      }
      if (e.event === 'chat' && p.seq === 0 && terminal(p.state) && typeof p.errorCode === 'string') {
        // WS-13: a refusal answered `rejected` is told again by a chat error frame: one outcome, heard twice.
        if (refusalAnswered && p.state === 'error' && p.errorCode === s.code) {
          refusalAnswered = false;
          continue;
        }
        settles.push({ t: e.at, outcome: p.state === 'aborted' ? 'aborted' : 'rejected', runId: null, code: p.errorCode });
        continue;
      }
      if (!ranSeen && typeof p.seq === 'number' && p.seq >= 1) {
        ranSeen = true;
        settles.push({ t: e.at, outcome: 'ran', runId, code: null });
      }
    }
    // A sender that left before hearing anything cannot tell: not judged.
    // Its wait is not judged either: the heartbeats it was sent are left out with it (HB-3 would see them
    // go to a connection that waits on nothing).
    if (settles.length === 0 && (conn === undefined || conn.closedAt !== null)) {
      unjudged.add(runId);
      continue;
    }
    if (settles.length > 0) firstSettleAt.set(runId, Math.min(...settles.map((x) => x.t)));
    // Accepted while the request was handled (a status listing it may come before the answer).
    add({ type: 'message', t: s.sentAt, msgId: runId, runId, sessionKey: `s${s.session}`, connId: s.connId, mode: s.mode as QueueMode });
    for (const x of settles) add({ type: 'settle', t: x.t, msgId: runId, outcome: x.outcome, runId: x.runId, code: x.code });
  }

  // Frames and distinct statuses.
  const statusSeen = new Set<string>();
  const statuses: { t: number; session: string; status: LaneStatusPayload }[] = [];
  for (const c of o.connections) {
    for (const e of c.events) {
      const p = (e.payload ?? {}) as Record<string, unknown>;
      let runId: string | null = typeof p['runId'] === 'string' ? p['runId'] : null;
      // A malformed status is reported by its shape (STATUS-2, explore.ts shapeFindings), not rebuilt.
      if (e.event === 'lane.status' && payloadProblem('laneStatus', e.payload) === null) {
        const status = e.payload as LaneStatusPayload;
        runId = status.active?.runId ?? null;
        const id = `${status.sessionKey}|${e.at}|${JSON.stringify({ ...status, reason: null })}`;
        if (!statusSeen.has(id)) {
          statusSeen.add(id);
          const session = sessionName(status.sessionKey);
          statuses.push({ t: e.at, session, status });
          add({ type: 'lane.status', t: e.at, sessionKey: session, status });
        }
      }
      const state = e.event === 'chat' && typeof p['state'] === 'string' ? p['state'] : null;
      add({ type: 'frame', t: e.at, connId: c.connId, event: e.event, runId, state });
      if (e.event === 'heartbeat' && !(runId !== null && unjudged.has(runId))) {
        add({ type: 'heartbeat', t: e.at, connId: c.connId, runId, elapsedMs: typeof p['elapsedMs'] === 'number' ? p['elapsedMs'] : 0 });
      }
    }
  }

  // Messages dropped under the cap (QUEUE-14/15): their wait ended when a status stopped listing them.
  // In time order: statuses were gathered connection by connection, and a connection that joined later
  // may be listed first (stable: one instant keeps its order).
  statuses.sort((a, b) => a.t - b.t);
  const dropped = new Set<string>();
  for (const session of new Set(statuses.map((x) => x.session))) {
    let previous: readonly string[] = [];
    for (const x of statuses.filter((y) => y.session === session)) {
      const now = x.status.waiting.map((w) => w.runId);
      {
        // Left the listing without having settled or started: dropped (told or not; INV-NOTHING-LOST judges the telling).
        for (const runId of previous) {
          if (now.includes(runId) || dropped.has(runId) || summarized.some((m) => m.runId === runId)) continue;
          const send = o.sends.find((m) => m.runId === runId);
          if (send === undefined) continue;
          if ((firstSettleAt.get(runId) ?? Infinity) <= x.t || (started.get(runId) ?? Infinity) <= x.t) continue;
          dropped.add(runId);
          // Its settle (told or not) is judged by INV-NOTHING-LOST; its wait for a warning ends here.
          add({ type: 'drop', t: x.t, msgId: runId, sessionKey: session, policy: o.workload.config.drop, gist: '' });
        }
      }
      previous = now;
    }
  }
  // Summarized messages: their wait ended when they left the session's listing (QUEUE-15).
  for (const s of summarized) {
    const mine = statuses.filter((x) => x.session === `s${s.session}` && x.t >= s.sentAt);
    let listed = false;
    let droppedAt = s.sentAt;
    for (const x of mine) {
      const has = x.status.waiting.some((w) => w.runId === s.runId);
      if (has) listed = true;
      else if (listed) {
        droppedAt = x.t;
        break;
      }
    }
    add({ type: 'drop', t: droppedAt, msgId: s.runId!, sessionKey: `s${s.session}`, policy: 'summarize', gist: '' });
  }

  // Tool calls the script made, and the results the model got back.
  const sends = o.workload.steps.filter((x): x is SendStep => x.kind === 'send');
  for (const entry of o.model) {
    const m = /^w(\d+)$/.exec(entry.rule);
    if (m === null || entry.durationMs === null || entry.outcome !== 'completed') continue;
    const k = Number(m[1]);
    const tool = sends[k]?.reply.tool;
    if (tool === null || tool === undefined) continue;
    const callId = `call_w${k}#${entry.matchIndex}`;
    const valid = validator.validate({ id: callId, name: tool.name, arguments: tool.args }).ok;
    // The same turn goes on with the tool result (steered messages may have joined it since).
    const first = entry.userMessages[0];
    const next = o.model.find((x) => x.index > entry.index && x.userMessages[0] === first && x.toolResults > entry.toolResults);
    const send = o.sends.find((x) => x.k === k);
    const runId = send?.runId ?? `w${k}`;
    const answerRun = carrierOf.get(runId) ?? runId;
    const t = entry.t + entry.durationMs;
    // Judged only where the turn went on (a later request) or its run ended normally: an abort may cut a turn short.
    if (next === undefined && endState.get(answerRun) !== 'final') continue;
    add({ type: 'tool_call', t, runId: answerRun, callId, tool: tool.name, valid });
    if (next !== undefined) {
      // The model cannot see an is_error flag: an empty result is one the agent never heard (TOOL-1); the text itself is compared with the reference's.
      const text = next.lastToolResult ?? '';
      add({ type: 'tool_result', t: next.t, runId: answerRun, callId, tool: tool.name, isError: text !== '', delivery: 'returned', text });
    }
  }

  out.sort((a, b) => a.e.t - b.e.t || a.rank - b.rank || a.order - b.order);
  return out.map((x) => x.e);
}

export interface InvariantOptions {
  /** Allowed lateness of timed invariants (0 on a fake clock). */
  toleranceMs?: number;
}

/** The checkers an observation is judged by. */
export function observationCheckers(o: Observation, options: InvariantOptions = {}): TraceChecker[] {
  const tolerance = options.toleranceMs ?? 0;
  const checkers: TraceChecker[] = [
    new NothingLostChecker({ senderMustHear: true }),
    new AbortSettlesChecker(ABORT_GRACE_MS + tolerance),
    new StatusValuesChecker(),
    new HeartbeatWaitChecker(),
    new ToolResultChecker(),
    new WaitWarningChecker({ warnThresholdMs: o.facts.warnThresholdMs, toleranceMs: tolerance }),
  ];
  if (o.facts.heartbeatIntervalMs !== null) checkers.push(new SilenceChecker({ boundMs: o.facts.heartbeatIntervalMs, toleranceMs: tolerance }));
  return checkers;
}

/** The invariant violations of an observation, in time order. */
export function checkObservation(o: Observation, options: InvariantOptions = {}): Violation[] {
  return checkTrace(rebuildTrace(o), observationCheckers(o, options), o.endAt);
}
