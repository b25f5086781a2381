/**
 * Lane-queue mutants: the reference lane queue (or its LaneScheduler) with
 * ONE thing broken each. test/conformance/lane-cases.test.ts checks that the
 * lane cases catch every one, under the rule it breaks, and nothing else.
 */
import type { LaneQueueUnderTest } from '../../../src/conformance/types.ts';
import { abortIgnoredQueue } from './abort-ignored.ts';
import { blankNotMainQueue } from './blank-not-main.ts';
import { clearKillsRunningQueue } from './clear-kills-running.ts';
import { clearLeavesQueuedQueue } from './clear-leaves-queued.ts';
import { diagThresholdExclusiveQueue } from './diag-threshold-exclusive.ts';
import { drainNoopQueue } from './drain-noop.ts';
import { errorPoisonsLaneQueue } from './error-poisons-lane.ts';
import { globalCapOffByOneQueue } from './global-cap-off-by-one.ts';
import { lifoQueue } from './lifo.ts';
import { noSessionLockQueue } from './no-session-lock.ts';
import { queueAheadQuirkQueue } from './queue-ahead-quirk.ts';
import { raiseDeferredQueue } from './raise-deferred.ts';
import { resetDoubleFreeQueue } from './reset-double-free.ts';

export interface LaneMutant {
  readonly name: string;
  /** The rule it breaks. */
  readonly rule: string;
  readonly breaks: string;
  create(): LaneQueueUnderTest;
}

export const LANE_MUTANTS: readonly LaneMutant[] = [
  { name: 'blank-not-main', rule: 'LANE-1', breaks: 'a blank lane name is a lane of its own', create: blankNotMainQueue },
  { name: 'no-session-lock', rule: 'LANE-2', breaks: 'session lanes admit 2 holders', create: noSessionLockQueue },
  { name: 'global-cap-off-by-one', rule: 'LANE-3', breaks: 'main admits cap + 1', create: globalCapOffByOneQueue },
  { name: 'lifo', rule: 'LANE-4', breaks: 'lanes grant the newest waiter first', create: lifoQueue },
  { name: 'error-poisons-lane', rule: 'LANE-9', breaks: "a task error rejects the lane's next task", create: errorPoisonsLaneQueue },
  { name: 'raise-deferred', rule: 'LANE-10', breaks: 'a raised cap waits for the next completion', create: raiseDeferredQueue },
  { name: 'clear-kills-running', rule: 'LANE-11', breaks: 'clear also rejects the running tasks', create: clearKillsRunningQueue },
  { name: 'clear-leaves-queued', rule: 'LANE-11', breaks: 'clear removes nothing', create: clearLeavesQueuedQueue },
  { name: 'abort-ignored', rule: 'LANE-12', breaks: 'the AbortSignal is dropped', create: abortIgnoredQueue },
  { name: 'drain-noop', rule: 'LANE-13', breaks: 'drain() does nothing', create: drainNoopQueue },
  { name: 'reset-double-free', rule: 'LANE-14', breaks: "an old holder's completion frees a slot after reset", create: resetDoubleFreeQueue },
  { name: 'diag-threshold-exclusive', rule: 'DIAG-1', breaks: 'waits are reported only above 2000 ms', create: diagThresholdExclusiveQueue },
  { name: 'queue-ahead-quirk', rule: 'DIAG-2', breaks: 'queueAhead counts the entries left behind', create: queueAheadQuirkQueue },
];
