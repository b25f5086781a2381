/**
 * Replays one lane-level workload (test/arbitraries/lane-ops.ts) against a
 * LaneScheduler on a fake clock and lists everything wrong:
 * - INV-CAP, INV-SESSION-EXCLUSIVE, INV-FIFO, INV-ABORT-SETTLES (the checkers);
 * - every accepted task settles exactly once; refusals at the door are
 *   LaneErrors with a code and settle nothing;
 * - DIAG-2: each enqueue's queueAhead/activeAhead, and each lane.wait's
 *   fields, equal an independent count kept from the trace here; lane.wait is
 *   emitted exactly when waitedMs >= laneWaitWarnMs;
 * - diagnostics() agrees with that count after every operation.
 *
 * Shared by test/properties/scheduler.property.test.ts, the mutant tests and
 * test/fuzz/campaign.ts. `makeScheduler` swaps in a (deliberately broken)
 * variant.
 */
import FakeTimers from '@sinonjs/fake-timers';
import { clockFromFakeTimers } from '../../src/model/clock.ts';
import { LaneError } from '../../src/model/codes.ts';
import type { EnqueueEvent, TraceEvent } from '../../src/model/events.ts';
import { AbortSettlesChecker, FifoChecker, LaneOccupancyChecker, finishCheckers, type TraceChecker, type Violation } from '../../src/model/invariants/index.ts';
import { LaneScheduler, type LaneSchedulerOptions } from '../../src/reference-impl/lane-scheduler.ts';
import type { TaskContext, TaskOutcome } from '../../src/reference-impl/task.ts';
import type { LaneWorkload, TaskScript } from '../arbitraries/lane-ops.ts';

export type SchedulerFactory = (options: LaneSchedulerOptions) => LaneScheduler;

export interface LaneWorkloadResult {
  trace: TraceEvent[] | null;
  violations: Violation[];
  problems: string[];
  endT: number;
  submitted: number;
  refused: number;
}

export interface RunLaneWorkloadOptions {
  keepTrace?: boolean;
  makeScheduler?: SchedulerFactory;
  /** Also run the DIAG-2 and diagnostics() cross-checks (default true). */
  diagnostics?: boolean;
}

export function concurrencyOf(w: LaneWorkload): (lane: string) => number {
  return (lane) => {
    if (lane.startsWith('nested:')) return w.concurrency.nested;
    if (lane === 'main') return w.concurrency.main;
    if (lane === 'subagent') return w.concurrency.subagent;
    if (lane === 'cron') return w.concurrency.cron;
    return 1;
  };
}

/** An independent count of each lane's queue and holders, kept from trace events alone. */
class LaneCounts {
  readonly waiting = new Map<string, Set<string>>();
  readonly holders = new Map<string, Set<string>>();
  readonly caps = new Map<string, number>();
  /** task -> lane -> its enqueue event there */
  private readonly enqueues = new Map<string, Map<string, EnqueueEvent>>();
  private pendingGrant: { taskId: string; lane: string; waitedMs: number; enqueue: EnqueueEvent | undefined; activeNow: number; queueBehind: number; t: number } | null = null;

  constructor(private readonly laneWaitWarnMs: number, private readonly problems: string[]) {}

  private set(map: Map<string, Set<string>>, lane: string): Set<string> {
    let s = map.get(lane);
    if (s === undefined) map.set(lane, (s = new Set()));
    return s;
  }

  observe(e: TraceEvent): void {
    // A grant is followed by its lane.wait (if any) before anything else.
    if (this.pendingGrant !== null && e.type !== 'lane.wait') this.closeGrant(false, null);
    switch (e.type) {
      case 'lane.open':
        this.caps.set(e.lane, e.maxConcurrent);
        return;
      case 'enqueue': {
        const waiting = this.set(this.waiting, e.lane);
        const holders = this.set(this.holders, e.lane);
        const queueAhead = e.front ? 0 : waiting.size;
        if (e.queueAhead !== queueAhead || e.activeAhead !== holders.size) {
          this.problems.push(
            `DIAG-2: enqueue of ${e.taskId} in ${e.lane} at t=${e.t} says queueAhead=${e.queueAhead} activeAhead=${e.activeAhead}; counted ${queueAhead} and ${holders.size}`,
          );
        }
        waiting.add(e.taskId);
        let byLane = this.enqueues.get(e.taskId);
        if (byLane === undefined) this.enqueues.set(e.taskId, (byLane = new Map()));
        byLane.set(e.lane, e);
        return;
      }
      case 'grant': {
        const waiting = this.set(this.waiting, e.lane);
        const holders = this.set(this.holders, e.lane);
        if (!waiting.delete(e.taskId)) this.problems.push(`grant of ${e.taskId} in ${e.lane} at t=${e.t}, which was not waiting there`);
        const enqueue = this.enqueues.get(e.taskId)?.get(e.lane);
        if (enqueue !== undefined && e.waitedMs !== e.t - enqueue.t) {
          this.problems.push(`grant of ${e.taskId} in ${e.lane}: waitedMs ${e.waitedMs}, but it joined at t=${enqueue.t} (now t=${e.t})`);
        }
        this.pendingGrant = { taskId: e.taskId, lane: e.lane, waitedMs: e.waitedMs, enqueue, activeNow: holders.size, queueBehind: waiting.size, t: e.t };
        holders.add(e.taskId);
        return;
      }
      case 'lane.wait':
        this.closeGrant(true, e);
        return;
      case 'end':
      case 'error':
      case 'park':
        this.releaseAll(e.taskId, true);
        return;
      case 'abort':
        if (e.phase === 'queued') this.releaseAll(e.taskId, true);
        return;
      case 'clear':
        for (const id of e.taskIds) this.releaseAll(id, true);
        return;
      case 'reset':
        this.holders.get(e.lane)?.clear();
        return;
      default:
        return;
    }
  }

  finish(): void {
    if (this.pendingGrant !== null) this.closeGrant(false, null);
  }

  private closeGrant(seen: boolean, e: Extract<TraceEvent, { type: 'lane.wait' }> | null): void {
    const g = this.pendingGrant;
    this.pendingGrant = null;
    if (g === null) {
      if (e !== null) this.problems.push(`lane.wait for ${e.taskId} in ${e.lane} at t=${e.t} without a grant just before`);
      return;
    }
    const due = g.waitedMs >= this.laneWaitWarnMs;
    if (!seen) {
      if (due) this.problems.push(`DIAG-1: ${g.taskId} waited ${g.waitedMs} ms in ${g.lane} (>= ${this.laneWaitWarnMs}) and no lane.wait at t=${g.t}`);
      return;
    }
    if (!due) this.problems.push(`DIAG-1: lane.wait for ${g.taskId} in ${g.lane} after only ${g.waitedMs} ms (< ${this.laneWaitWarnMs})`);
    const expected = {
      lane: g.lane, taskId: g.taskId, waitedMs: g.waitedMs,
      queueAhead: g.enqueue?.queueAhead, activeAhead: g.enqueue?.activeAhead, activeNow: g.activeNow, queueBehind: g.queueBehind,
    };
    const got = { lane: e!.lane, taskId: e!.taskId, waitedMs: e!.waitedMs, queueAhead: e!.queueAhead, activeAhead: e!.activeAhead, activeNow: e!.activeNow, queueBehind: e!.queueBehind };
    if (JSON.stringify(expected) !== JSON.stringify(got)) {
      this.problems.push(`DIAG-3: lane.wait at t=${e!.t} is ${JSON.stringify(got)}; counted ${JSON.stringify(expected)}`);
    }
  }

  private releaseAll(taskId: string, alsoWaiting: boolean): void {
    for (const set of this.holders.values()) set.delete(taskId);
    if (alsoWaiting) for (const set of this.waiting.values()) set.delete(taskId);
  }
}

export function runLaneWorkload(w: LaneWorkload, options: RunLaneWorkloadOptions = {}): LaneWorkloadResult {
  const fake = FakeTimers.createClock(0, 1_000_000);
  const clock = clockFromFakeTimers(fake);
  const problems: string[] = [];
  const checkers: TraceChecker[] = [new LaneOccupancyChecker(), new FifoChecker(), new AbortSettlesChecker()];
  const withDiagnostics = options.diagnostics ?? true;
  const counts = new LaneCounts(w.laneWaitWarnMs, problems);
  const trace: TraceEvent[] | null = options.keepTrace === true ? [] : null;
  const sink = (e: TraceEvent): void => {
    trace?.push(e);
    for (const c of checkers) c.observe(e);
    if (withDiagnostics) counts.observe(e);
  };
  const schedulerOptions: LaneSchedulerOptions = {
    clock, trace: sink, concurrency: concurrencyOf(w), laneWaitWarnMs: w.laneWaitWarnMs, warnThresholdMs: null,
    onCallbackError: (error) => problems.push(`a settle callback threw: ${String(error)}`),
  };
  const scheduler = options.makeScheduler?.(schedulerOptions) ?? new LaneScheduler(schedulerOptions);

  const settles = new Map<string, TaskOutcome[]>();
  const ids: string[] = [];
  let submitted = 0;
  let refused = 0;
  const compareDiagnostics = (when: string): void => {
    if (!withDiagnostics) return;
    const seen = new Set<string>();
    for (const d of scheduler.diagnostics()) {
      seen.add(d.lane);
      const queued = counts.waiting.get(d.lane)?.size ?? 0;
      const active = counts.holders.get(d.lane)?.size ?? 0;
      if (d.queuedCount !== queued || d.activeCount !== active) {
        problems.push(`diagnostics() ${when}: ${d.lane} queuedCount=${d.queuedCount} activeCount=${d.activeCount}; counted ${queued} and ${active}`);
      }
      const cap = counts.caps.get(d.lane);
      if (cap !== undefined && d.maxConcurrent !== cap) problems.push(`diagnostics() ${when}: ${d.lane} maxConcurrent ${d.maxConcurrent}, last lane.open said ${cap}`);
      const expectBlocked = active >= d.maxConcurrent && queued > 0 ? [...(counts.holders.get(d.lane) ?? [])].sort() : [];
      if (JSON.stringify([...d.blockedBy].sort()) !== JSON.stringify(expectBlocked)) {
        problems.push(`diagnostics() ${when}: ${d.lane} blockedBy ${JSON.stringify(d.blockedBy)}; expected ${JSON.stringify(expectBlocked)}`);
      }
    }
    for (const [lane, set] of counts.waiting) if (set.size > 0 && !seen.has(lane)) problems.push(`diagnostics() ${when}: ${lane} has waiting tasks but is not listed`);
    for (const [lane, set] of counts.holders) if (set.size > 0 && !seen.has(lane)) problems.push(`diagnostics() ${when}: ${lane} has holders but is not listed`);
  };

  const taskFn = (id: string, script: TaskScript) => (ctx: TaskContext): unknown => {
    if (script.style === 'sync') {
      if (script.error) throw new Error(`scripted failure in ${id}`);
      return `value of ${id}`;
    }
    const completion = ctx.detach();
    let settled = false;
    let timer: unknown = null;
    const settle = (how: 'ok' | 'error' | 'aborted'): void => {
      if (settled) return;
      settled = true;
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      if (how === 'ok') completion.done(`value of ${id}`);
      else completion.fail(how === 'error' ? new Error(`scripted failure in ${id}`) : ctx.signal.reason);
    };
    const work = (ms: number): void => {
      timer = clock.setTimeout(() => {
        timer = null;
        settle(script.error ? 'error' : 'ok');
      }, ms);
    };
    ctx.signal.addEventListener('abort', () => {
      if (settled) return;
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      if (script.abortSettle === 'sync') settle('aborted');
      else timer = clock.setTimeout(() => settle('aborted'), 0);
    }, { once: true });
    const park = script.park;
    if (park === null) {
      work(script.durationMs);
    } else {
      timer = clock.setTimeout(() => {
        timer = null;
        if (settled) return;
        const resume = ctx.park(`await-${id}`);
        timer = clock.setTimeout(() => {
          timer = null;
          if (settled) return;
          resume(() => {
            if (!settled) work(script.durationMs - park.atMs);
          });
        }, park.forMs);
      }, park.atMs);
    }
    return undefined;
  };

  let at = 0;
  w.ops.forEach((op, index) => {
    at += op.gap;
    fake.setTimeout(() => {
      switch (op.kind) {
        case 'submit': {
          const id = `k${index}`;
          settles.set(id, []); // before submit: a sync task settles inside it
          try {
            scheduler.submit(op.path, taskFn(id, op.task), {
              id,
              onSettled: (outcome) => {
                const list = settles.get(id);
                if (list === undefined) problems.push(`task ${id} settled (${outcome}) but was never accepted`);
                else list.push(outcome);
              },
            });
            ids.push(id);
            submitted++;
          } catch (error) {
            refused++;
            if (!(error instanceof LaneError)) problems.push(`submit of ${id} threw a non-LaneError: ${String(error)}`);
            else if (error.code !== 'LANE_DRAINING') problems.push(`submit of ${id} refused with ${error.code}: ${error.message}`);
            if ((settles.get(id) ?? []).length > 0) problems.push(`refused task ${id} settled`);
            settles.delete(id);
          }
          break;
        }
        case 'abort': {
          const id = ids[op.pick % Math.max(1, ids.length)];
          if (id !== undefined) scheduler.abort(id, 'test abort');
          break;
        }
        case 'clear':
          scheduler.clearLane(op.lane, 'test clear');
          break;
        case 'reset':
          scheduler.resetLane(op.lane);
          break;
        case 'setConcurrency':
          scheduler.setLaneConcurrency(op.lane, op.maxConcurrent);
          break;
        case 'drain': {
          const lane = op.lane ?? undefined;
          scheduler.startDraining(lane);
          clock.setTimeout(() => scheduler.stopDraining(lane), op.forMs);
          break;
        }
      }
      compareDiagnostics(`after op ${index} (${op.kind}) at t=${clock.now()}`);
    }, at);
  });

  fake.runAll();
  counts.finish();
  const endT = fake.now;
  const violations = finishCheckers(checkers, endT);
  for (const v of violations) problems.unshift(`${v.invariant} (${v.rule}) at t=${v.t}: ${v.message}`);
  for (const [id, list] of settles) {
    if (list.length !== 1) problems.push(`task ${id} settled ${list.length} times: ${list.join(', ')}`);
  }
  if (scheduler.liveTasks !== 0) problems.push(`scheduler still has ${scheduler.liveTasks} live task(s) at the end`);
  compareDiagnostics('at the end');
  for (const d of scheduler.diagnostics()) {
    if (d.queuedCount !== 0 || d.activeCount !== 0) problems.push(`lane ${d.lane} not empty at the end: ${JSON.stringify(d)}`);
  }
  return { trace, violations, problems, endT, submitted, refused };
}

export function describeLaneProblems(result: LaneWorkloadResult, max = 8): string {
  const shown = result.problems.slice(0, max);
  const more = result.problems.length > max ? `\n  ... and ${result.problems.length - max} more` : '';
  return `${result.problems.length} problem(s):\n  ${shown.join('\n  ')}${more}`;
}

/** The scheduler property's predicate: throws with the problems when a workload fails. */
export function assertLaneWorkload(workload: LaneWorkload): void {
  const result = runLaneWorkload(workload);
  if (result.problems.length > 0) throw new Error(describeLaneProblems(result));
}
