/**
 * MUTANT: session lanes admit 2 holders instead of 1 (no session lock, LANE-2).
 * The reference adapter over test/mutants/no-session-lock.ts's scheduler (an
 * onLaneChange hook raises every `session:` lane's cap to 2 when a task joins).
 */
import { referenceLaneQueue, type ReferenceLaneQueue } from '../../../src/conformance/targets/lane-adapters.ts';
import { createNoSessionLockScheduler } from '../../mutants/no-session-lock.ts';

export function noSessionLockQueue(): ReferenceLaneQueue {
  return referenceLaneQueue({ createScheduler: createNoSessionLockScheduler });
}
