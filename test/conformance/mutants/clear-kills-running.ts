/**
 * MUTANT: clearing a lane also rejects the callers of the tasks RUNNING in it
 * (LANE-11: running ones must go on). Queued entries are cleared as in the
 * reference; the running tasks keep running, but their callers are told
 * "cleared" at once.
 */
import { referenceLaneQueue, type ReferenceLaneQueue } from '../../../src/conformance/targets/lane-adapters.ts';
import { normalizeLaneName } from '../../../src/reference-impl/lane.ts';

interface Running {
  lane: string;
  reject: (error: unknown) => void;
}

export function clearKillsRunningQueue(): ReferenceLaneQueue {
  const base = referenceLaneQueue();
  const running = new Set<Running>();
  return {
    ...base,
    enqueue: <T>(lane: string, task: () => Promise<T> | T, options?: { signal?: AbortSignal }): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const entry: Running = { lane: normalizeLaneName(lane), reject };
        const wrapped = async (): Promise<T> => {
          running.add(entry);
          try {
            return await task();
          } finally {
            running.delete(entry);
          }
        };
        base.enqueue(lane, wrapped, options).then(resolve, reject);
      }),
    clear: (lane) => {
      const count = base.clear(lane);
      for (const entry of [...running]) {
        if (entry.lane !== normalizeLaneName(lane)) continue;
        running.delete(entry);
        entry.reject(new Error(`lane ${entry.lane} cleared: running task killed`)); // the bug
      }
      return count;
    },
  };
}
