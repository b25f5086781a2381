/**
 * MUTANT: OpenClaw's old diagnostics quirk (DIAG-2, DEP-1): the lane-wait
 * record's queueAhead counts the entries left BEHIND at the grant instead of
 * those ahead at enqueue.
 */
import { referenceLaneQueue, type ReferenceLaneQueue } from '../../../src/conformance/targets/lane-adapters.ts';

export function queueAheadQuirkQueue(): ReferenceLaneQueue {
  const base = referenceLaneQueue();
  return {
    ...base,
    laneWaits: () => base.laneWaits().map((record) => ({ ...record, queueAhead: record.queueBehind ?? record.queueAhead })), // the bug
  };
}
