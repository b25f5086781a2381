/**
 * MUTANT: raising a lane's cap takes effect only at the lane's next pump (a
 * completion or an enqueue), not at once (LANE-10). The new cap is written
 * into the lane without waking it; creating a lane and lowering a cap behave
 * as in the reference.
 */
import { referenceLaneQueue, type ReferenceLaneQueue } from '../../../src/conformance/targets/lane-adapters.ts';

export function raiseDeferredQueue(): ReferenceLaneQueue {
  const base = referenceLaneQueue();
  return {
    ...base,
    setConcurrency: (lane, n) => {
      const existing = base.scheduler.getLane(lane);
      if (existing !== undefined && n > existing.maxConcurrent) existing.maxConcurrent = n; // the bug: no pump
      else base.setConcurrency(lane, n);
    },
  };
}
