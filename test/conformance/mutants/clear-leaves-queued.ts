/**
 * MUTANT: clear() reports how many entries are queued but removes none of
 * them (LANE-11): they stay queued and run later.
 */
import { referenceLaneQueue, type ReferenceLaneQueue } from '../../../src/conformance/targets/lane-adapters.ts';

export function clearLeavesQueuedQueue(): ReferenceLaneQueue {
  const base = referenceLaneQueue();
  return { ...base, clear: (lane) => base.scheduler.getLane(lane)?.queued ?? 0 }; // the bug: nothing removed
}
