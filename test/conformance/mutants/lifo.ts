/**
 * MUTANT: every lane grants its newest waiter first (LIFO, LANE-4).
 * The reference adapter over test/mutants/lifo.ts's scheduler (each lane's
 * queue swapped for a deque whose shift() takes the tail).
 */
import { referenceLaneQueue, type ReferenceLaneQueue } from '../../../src/conformance/targets/lane-adapters.ts';
import { createLifoScheduler } from '../../mutants/lifo.ts';

export function lifoQueue(): ReferenceLaneQueue {
  return referenceLaneQueue({ createScheduler: createLifoScheduler });
}
