/**
 * MUTANT: drain() does nothing (LANE-13): new tasks are still accepted.
 */
import { referenceLaneQueue, type ReferenceLaneQueue } from '../../../src/conformance/targets/lane-adapters.ts';

export function drainNoopQueue(): ReferenceLaneQueue {
  return { ...referenceLaneQueue(), drain: () => {} }; // the bug
}
