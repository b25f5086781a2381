/**
 * Replays one random workload (test/arbitraries/workload.ts) against the
 * reference SessionRouter + LaneScheduler on a fake clock, feeds the trace to
 * the invariant checkers, and lists everything that went wrong.
 *
 * Shared by test/properties/router.property.test.ts and test/fuzz/campaign.ts:
 * both call runWorkload() and fail when `problems` is not empty.
 */
import FakeTimers from '@sinonjs/fake-timers';
import { clockFromFakeTimers } from '../../src/model/clock.ts';
import { parseConfig } from '../../src/model/config.ts';
import type { LanesimConfig } from '../../src/model/config-types.ts';
import type { LaneStatusPayload, MessageOutcome, TraceEvent } from '../../src/model/events.ts';
import { checkerSuite, finishCheckers, type Violation } from '../../src/model/invariants/index.ts';
import type { InboundMessage } from '../../src/reference-impl/run.ts';
import { SessionRouter, type Receipt } from '../../src/reference-impl/session-router.ts';
import { workloadConfigInput, type Workload } from '../arbitraries/workload.ts';
import { ScriptedExecutor } from './scripted-executor.ts';

export interface WorkloadResult {
  /** The whole trace (only when `keepTrace`). */
  trace: TraceEvent[] | null;
  violations: Violation[];
  /** Everything wrong, as one line each: checker violations first. Empty means the workload passed. */
  problems: string[];
  endT: number;
  events: number;
  messages: number;
  runsStarted: number;
}

export interface RunWorkloadOptions {
  keepTrace?: boolean;
}

/** The first few problems, for a property's failure message. */
export function describeProblems(result: WorkloadResult, max = 8): string {
  const shown = result.problems.slice(0, max);
  const more = result.problems.length > max ? `\n  ... and ${result.problems.length - max} more` : '';
  return `${result.problems.length} problem(s):\n  ${shown.join('\n  ')}${more}`;
}

interface Sent {
  msg: InboundMessage;
  receipt: Receipt;
  settles: { outcome: MessageOutcome; runId: string | null; code: string | null; t: number }[];
}

export function runWorkload(workload: Workload, options: RunWorkloadOptions = {}): WorkloadResult {
  const fake = FakeTimers.createClock(0, 1_000_000);
  const clock = clockFromFakeTimers(fake);
  const config: LanesimConfig = parseConfig(workloadConfigInput(workload.config));
  const threshold = config.agents.defaults.lane.warnThresholdMs;
  const checkers = checkerSuite({ lanes: true, warnThresholdMs: threshold });
  const trace: TraceEvent[] | null = options.keepTrace === true ? [] : null;
  const problems: string[] = [];
  const lastStatus = new Map<string, LaneStatusPayload>();
  let events = 0;

  const sink = (event: TraceEvent): void => {
    events++;
    trace?.push(event);
    for (const checker of checkers) checker.observe(event);
    if (event.type === 'lane.status') {
      lastStatus.set(event.sessionKey, event.status);
      checkStatusShape(event.status, event.t, threshold, problems);
    }
  };

  const executor = new ScriptedExecutor(clock, workload.scripts);
  const sent = new Map<string, Sent>();
  const router = new SessionRouter({
    config,
    executor,
    clock,
    trace: sink,
    events: {
      settle: (msg, outcome, runId, code) => {
        const entry = sent.get(msg.msgId);
        if (entry === undefined) problems.push(`settle for unknown message ${msg.msgId}`);
        else entry.settles.push({ outcome, runId, code, t: clock.now() });
      },
    },
  });
  executor.router = router;

  /** Run ids a chat.abort may name: message run ids in send order, then runs as they start. */
  const knownRunIds: { runId: string; sessionKey: string }[] = [];
  let at = 0;
  let nextMsg = 0;
  for (const action of workload.actions) {
    at += action.gap;
    fake.setTimeout(() => {
      switch (action.kind) {
        case 'send': {
          const i = nextMsg++;
          const msg: InboundMessage = {
            msgId: `m${i}`, runId: `r${i}`, sessionKey: `s${action.session}`, text: action.text,
            connId: `c${action.session}`, channel: action.channel, route: action.route, agentId: null,
          };
          const entry: Sent = { msg, receipt: null as unknown as Receipt, settles: [] };
          sent.set(msg.msgId, entry);
          knownRunIds.push({ runId: msg.runId, sessionKey: msg.sessionKey });
          entry.receipt = router.accept(msg);
          return;
        }
        case 'abort': {
          const all = [...knownRunIds, ...executor.started.map((r) => ({ runId: r.runId, sessionKey: r.sessionKey }))];
          const target = all[action.pick % Math.max(1, all.length)];
          if (target === undefined) return;
          router.abort(target.sessionKey, action.all ? undefined : target.runId);
          return;
        }
        case 'clear':
          router.clear(`s${action.session}`);
          return;
        case 'shutdown':
          router.shutdown({ abortRunning: action.abortRunning });
          return;
      }
    }, at);
  }

  fake.runAll();
  const endT = fake.now;
  const violations = finishCheckers(checkers, endT);
  for (const v of violations) problems.unshift(`${v.invariant} (${v.rule}) at t=${v.t}: ${v.message}`);

  // Every accepted message settled exactly once, consistently with its receipt.
  const startedIds = new Map(executor.started.map((r) => [r.runId, r]));
  for (const { msg, receipt, settles } of sent.values()) {
    if (settles.length !== 1) {
      problems.push(`message ${msg.msgId} settled ${settles.length} times: ${JSON.stringify(settles)}`);
      continue;
    }
    const s = settles[0]!;
    const expect = receiptOutcome(receipt.status);
    if (expect !== null && s.outcome !== expect) {
      problems.push(`message ${msg.msgId}: receipt ${receipt.status} but settled ${s.outcome}`);
    }
    if (receipt.status === 'rejected' && s.code !== receipt.code) {
      problems.push(`message ${msg.msgId}: receipt code ${receipt.code} but settle code ${s.code}`);
    }
    if (s.outcome === 'ran' || s.outcome === 'merged' || s.outcome === 'summarized') {
      const run = s.runId === null ? undefined : startedIds.get(s.runId);
      if (run === undefined) problems.push(`message ${msg.msgId} ${s.outcome} into ${s.runId}, which never started`);
      else if (run.t !== s.t) problems.push(`message ${msg.msgId} ${s.outcome} at t=${s.t} but its run ${s.runId} started at t=${run.t}`);
      else if (s.outcome === 'summarized' ? !run.summarized.includes(msg.msgId) : !run.msgIds.includes(msg.msgId)) {
        problems.push(`message ${msg.msgId} ${s.outcome} into ${s.runId}, which does not carry it`);
      }
    }
  }
  // Everything drained.
  if (router.scheduler.liveTasks !== 0) problems.push(`scheduler still has ${router.scheduler.liveTasks} live task(s) at the end`);
  if (router.activeSessions !== 0) problems.push(`router still tracks ${router.activeSessions} session(s) at the end`);
  if (executor.liveRuns !== 0) problems.push(`${executor.liveRuns} run(s) never settled`);
  problems.push(...executor.anomalies);
  for (const [sessionKey, status] of lastStatus) {
    if (status.state !== 'idle' || status.waiting.length > 0 || status.queued !== 0) {
      problems.push(`session ${sessionKey}: last lane.status is not idle: ${JSON.stringify(status)}`);
    }
  }

  return { trace, violations, problems, endT, events, messages: sent.size, runsStarted: executor.started.length };
}

function receiptOutcome(status: Receipt['status']): MessageOutcome | null {
  switch (status) {
    case 'started':
      return 'ran';
    case 'steered':
      return 'steered';
    case 'rejected':
      return 'rejected';
    case 'queued':
      return null;
  }
}

/** STATUS-*: a payload is consistent with itself. */
function checkStatusShape(status: LaneStatusPayload, t: number, threshold: number, problems: string[]): void {
  const bad = (what: string): void => {
    problems.push(`lane.status for ${status.sessionKey} at t=${t}: ${what}: ${JSON.stringify(status)}`);
  };
  if (status.lane !== `session:${status.sessionKey}`) bad('lane is not the session lane');
  status.waiting.forEach((w, i) => {
    if (w.position !== i + 1) bad(`waiting[${i}].position is ${w.position}`);
    if (w.warning !== w.waitedMs >= threshold) bad(`waiting[${i}].warning ${w.warning} with waitedMs ${w.waitedMs}`);
    if (w.waitedMs < 0) bad(`waiting[${i}].waitedMs < 0`);
  });
  if (status.warning !== status.waiting.some((w) => w.warning)) bad('warning is not the OR of the waiting warnings');
  if (status.processing.total !== status.processing.index + status.waiting.length) bad('processing.total != index + waiting');
  const expectedState = status.active !== null ? 'active' : status.waiting.length > 0 ? 'waiting' : 'idle';
  if (status.state !== expectedState) bad(`state ${status.state}, expected ${expectedState}`);
  const runId = status.active?.runId ?? null;
  if ((status.actions.cancel?.params.runId ?? null) !== runId) bad('actions.cancel does not point at the active run');
  if ((status.actions.viewPartial?.params.runId ?? null) !== runId) bad('actions.viewPartial does not point at the active run');
  if (status.warnThresholdMs !== threshold) bad('warnThresholdMs is not the configured one');
  if (status.queued !== status.waiting.length) bad(`queued ${status.queued} but ${status.waiting.length} waiting entries`);
}

/** The router property's predicate: throws with the problems when a workload fails. */
export function assertWorkload(workload: Workload): void {
  const result = runWorkload(workload);
  if (result.problems.length > 0) throw new Error(describeProblems(result));
}
