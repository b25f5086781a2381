/** MUTANT: a blank lane name is a lane of its own, not `main` (LANE-1). */
import { referenceLaneQueue, type ReferenceLaneQueue } from '../../../src/conformance/targets/lane-adapters.ts';

export function blankNotMainQueue(): ReferenceLaneQueue {
  const base = referenceLaneQueue();
  const rename = (lane: string): string => (lane.trim() === '' ? 'unnamed' : lane);
  return {
    ...base,
    enqueue: <T,>(lane: string, task: () => Promise<T> | T, options?: { signal?: AbortSignal }) => base.enqueue<T>(rename(lane), task, options),
    setConcurrency: (lane, max) => base.setConcurrency(rename(lane), max),
  };
}
