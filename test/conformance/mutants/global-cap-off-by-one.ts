/**
 * MUTANT: `main` admits one task more than its cap (LANE-3). Its default cap
 * and every setConcurrency('main', n) become n + 1 in the scheduler; every
 * other lane is untouched.
 */
import { referenceLaneQueue, type ReferenceLaneQueue } from '../../../src/conformance/targets/lane-adapters.ts';
import { LaneScheduler } from '../../../src/reference-impl/lane-scheduler.ts';
import { normalizeLaneName } from '../../../src/reference-impl/lane.ts';

const extra = (lane: string): number => (normalizeLaneName(lane) === 'main' ? 1 : 0); // the bug

export function globalCapOffByOneQueue(): ReferenceLaneQueue {
  const base = referenceLaneQueue({
    createScheduler: (options) =>
      new LaneScheduler({ ...options, concurrency: (lane) => (options.concurrency?.(lane) ?? 1) + extra(lane) }),
  });
  return { ...base, setConcurrency: (lane, n) => base.setConcurrency(lane, n + extra(lane)) };
}
