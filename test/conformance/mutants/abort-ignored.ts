/**
 * MUTANT: claims abortQueued but drops the AbortSignal (LANE-12): an aborted
 * queued task stays in line and runs.
 */
import { referenceLaneQueue, type ReferenceLaneQueue } from '../../../src/conformance/targets/lane-adapters.ts';

export function abortIgnoredQueue(): ReferenceLaneQueue {
  const base = referenceLaneQueue();
  return { ...base, enqueue: (lane, task) => base.enqueue(lane, task) }; // the bug: no signal
}
