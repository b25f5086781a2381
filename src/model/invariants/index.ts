/** The invariant checkers and a helper that runs a set of them over a trace. */
import type { TraceEvent } from '../events.ts';
import { AbortSettlesChecker } from './abort-settles.ts';
import { TraceFanout } from './fanout.ts';
import { FifoChecker } from './fifo.ts';
import { HeartbeatWaitChecker } from './heartbeat-waits.ts';
import { LaneOccupancyChecker } from './lane-occupancy.ts';
import { NothingLostChecker } from './nothing-lost.ts';
import { SilenceChecker } from './silence.ts';
import { StatusValuesChecker } from './status-values.ts';
import { ToolResultChecker } from './tool-results.ts';
import type { TraceChecker, Violation } from './types.ts';
import { WaitWarningChecker } from './wait-warning.ts';

export { TraceFanout };
export { AbortSettlesChecker, FifoChecker, HeartbeatWaitChecker, LaneOccupancyChecker, NothingLostChecker, SilenceChecker, StatusValuesChecker, ToolResultChecker, WaitWarningChecker };
export type { TraceChecker, Violation };

export interface CheckerSuiteOptions {
  /** Lane-level invariants only hold for implementations that emit lane events. */
  lanes?: boolean;
  /** Check lane.status warnings (the fix); null skips (baseline). */
  warnThresholdMs?: number | null;
  /** Check the client silence bound; null skips. */
  silenceBoundMs?: number | null;
  senderMustHear?: boolean;
  tools?: boolean;
  toleranceMs?: number;
  abortGraceMs?: number;
  /** Check lane.status values (INV-STATUS-VALUES); off by default so simulation reports stay as they were. */
  statusValues?: boolean;
  /** Check that heartbeats go only to waiting connections and name a run they wait on (INV-HEARTBEAT-WAIT); off by default. */
  heartbeatWaits?: boolean;
}

export function checkerSuite(options: CheckerSuiteOptions = {}): TraceChecker[] {
  const checkers: TraceChecker[] = [];
  if (options.lanes ?? true) checkers.push(new LaneOccupancyChecker(), new FifoChecker(), new AbortSettlesChecker(options.abortGraceMs));
  checkers.push(new NothingLostChecker({ senderMustHear: options.senderMustHear ?? false }));
  if (options.warnThresholdMs != null) {
    checkers.push(new WaitWarningChecker({ warnThresholdMs: options.warnThresholdMs, toleranceMs: options.toleranceMs ?? 0 }));
  }
  if (options.silenceBoundMs != null) {
    checkers.push(new SilenceChecker({ boundMs: options.silenceBoundMs, toleranceMs: options.toleranceMs ?? 0 }));
  }
  if (options.tools ?? false) checkers.push(new ToolResultChecker());
  if (options.statusValues ?? false) checkers.push(new StatusValuesChecker());
  if (options.heartbeatWaits ?? false) checkers.push(new HeartbeatWaitChecker());
  return checkers;
}

/** Feeds `events` to every checker and returns all violations, in time order. */
export function checkTrace(events: Iterable<TraceEvent>, checkers: TraceChecker[], endT?: number): Violation[] {
  let last = 0;
  const fanout = new TraceFanout(checkers);
  for (const event of events) {
    last = event.t;
    fanout.observe(event);
  }
  return finishCheckers(checkers, endT ?? last);
}

export function finishCheckers(checkers: TraceChecker[], endT: number): Violation[] {
  const all: Violation[] = [];
  for (const checker of checkers) all.push(...checker.finish(endT));
  return all.sort((a, b) => a.t - b.t);
}
