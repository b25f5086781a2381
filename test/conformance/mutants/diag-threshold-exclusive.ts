/**
 * MUTANT: a lane wait is reported only when it EXCEEDS 2000 ms (DIAG-1: at
 * least 2000 ms). The reference scheduler with laneWaitWarnMs 2001.
 */
import { referenceLaneQueue, type ReferenceLaneQueue } from '../../../src/conformance/targets/lane-adapters.ts';
import { LaneScheduler } from '../../../src/reference-impl/lane-scheduler.ts';

export function diagThresholdExclusiveQueue(): ReferenceLaneQueue {
  return referenceLaneQueue({ createScheduler: (options) => new LaneScheduler({ ...options, laneWaitWarnMs: 2001 }) }); // the bug
}
