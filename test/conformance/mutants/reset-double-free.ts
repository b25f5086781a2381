/**
 * MUTANT: after resetLane, a forgotten holder's completion still frees a slot
 * (LANE-14: no double free). The reference reset runs; when a task that was
 * running at the reset ends, the wrapper drops one (newer) holder from the
 * lane's count and pumps the lane, as a generation-blind queue would.
 */
import { referenceLaneQueue, type ReferenceLaneQueue } from '../../../src/conformance/targets/lane-adapters.ts';
import { normalizeLaneName } from '../../../src/reference-impl/lane.ts';

export function resetDoubleFreeQueue(): ReferenceLaneQueue {
  const base = referenceLaneQueue();
  const running = new Map<string, Set<object>>();
  const stale = new Set<object>();
  const runningIn = (lane: string): Set<object> => {
    let set = running.get(lane);
    if (set === undefined) running.set(lane, (set = new Set()));
    return set;
  };
  const freeOne = (lane: string): void => {
    const state = base.scheduler.getLane(lane);
    if (state === undefined || state.holders.length === 0) return;
    state.holders.pop(); // the bug: the old generation's completion frees a current holder's slot
    base.scheduler.setLaneConcurrency(lane, state.maxConcurrent); // pump
  };
  return {
    ...base,
    enqueue: <T>(lane: string, task: () => Promise<T> | T, options?: { signal?: AbortSignal }): Promise<T> => {
      const name = normalizeLaneName(lane);
      const wrapped = async (): Promise<T> => {
        const token = {};
        runningIn(name).add(token);
        try {
          return await task();
        } finally {
          runningIn(name).delete(token);
          if (stale.delete(token)) freeOne(name);
        }
      };
      return base.enqueue(lane, wrapped, options);
    },
    resetLane: (lane) => {
      for (const token of runningIn(normalizeLaneName(lane))) stale.add(token);
      base.resetLane(lane);
    },
  };
}
