/**
 * MUTANT (deliberately broken): the real LaneScheduler with ONE thing
 * broken: each lane grants its newest waiter first (LIFO) instead of the
 * oldest (LANE-4). Everything else is the unmodified scheduler code.
 *
 * How: an onLaneChange hook swaps a lane's queue, the first time a task
 * joins it, for a LifoDeque holding the same entries; the pump's shift()
 * then takes from the tail. INV-FIFO must catch it.
 */
import { Deque } from '../../src/reference-impl/deque.ts';
import { LaneScheduler, type LaneSchedulerOptions } from '../../src/reference-impl/lane-scheduler.ts';
import type { Lane } from '../../src/reference-impl/lane.ts';
import type { Task } from '../../src/reference-impl/task.ts';

/** A Deque whose shift()/peek() take the newest entry. */
export class LifoDeque<T> extends Deque<T> {
  override shift(): T | undefined {
    if (this.length === 0) return undefined;
    const items = [...this];
    const newest = items.pop()!;
    this.clear();
    for (const item of items) this.push(item);
    return newest;
  }

  override peek(): T | undefined {
    return this.length === 0 ? undefined : this.at(this.length - 1);
  }
}

export function createLifoScheduler(options: LaneSchedulerOptions): LaneScheduler {
  const hooks = options.hooks ?? {};
  const swapped = new WeakSet<Lane>();
  return new LaneScheduler({
    ...options,
    hooks: {
      ...hooks,
      onLaneChange(lane, reason, task) {
        if (reason === 'enqueue' && !swapped.has(lane)) {
          swapped.add(lane);
          const lifo = new LifoDeque<Task>();
          for (const entry of lane.queue) lifo.push(entry);
          (lane as { queue: Deque<Task> }).queue = lifo; // the bug
        }
        hooks.onLaneChange?.(lane, reason, task);
      },
    },
  });
}
