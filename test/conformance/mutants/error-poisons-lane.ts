/**
 * MUTANT: a task error poisons its lane (LANE-9): the next task to start in
 * that lane is rejected with the same error instead of running.
 */
import { referenceLaneQueue, type ReferenceLaneQueue } from '../../../src/conformance/targets/lane-adapters.ts';
import { normalizeLaneName } from '../../../src/reference-impl/lane.ts';

export function errorPoisonsLaneQueue(): ReferenceLaneQueue {
  const base = referenceLaneQueue();
  const poison = new Map<string, unknown>();
  return {
    ...base,
    enqueue: <T>(lane: string, task: () => Promise<T> | T, options?: { signal?: AbortSignal }): Promise<T> => {
      const name = normalizeLaneName(lane);
      const wrapped = (): Promise<T> | T => {
        if (poison.has(name)) {
          const error = poison.get(name);
          poison.delete(name);
          throw error; // the bug: this task pays for the previous one's error
        }
        let result: Promise<T> | T;
        try {
          result = task();
        } catch (error) {
          poison.set(name, error);
          throw error;
        }
        if (result instanceof Promise) {
          return result.catch((error: unknown) => {
            poison.set(name, error);
            throw error;
          });
        }
        return result;
      };
      return base.enqueue(lane, wrapped, options);
    },
  };
}
