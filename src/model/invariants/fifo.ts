/**
 * INV-FIFO (LANE-4): each lane grants slots in the order tasks joined it;
 * tasks removed while waiting drop out, and a resuming parked task joins at
 * the front (LANE-22).
 */
import type { EnqueueEvent, TraceEvent, TraceEventType } from '../events.ts';
import { CheckerBase, type Violation } from './types.ts';

export class FifoChecker extends CheckerBase {
  readonly invariant = 'INV-FIFO';
  readonly eventTypes: readonly TraceEventType[] = ['enqueue', 'grant', 'abort', 'clear', 'end', 'error'];
  /** lane -> waiting task ids in expected grant order */
  private readonly queues = new Map<string, EnqueueEvent[]>();
  /** task -> lane it waits in */
  private readonly waitingIn = new Map<string, string>();

  observe(e: TraceEvent): void {
    switch (e.type) {
      case 'enqueue': {
        let queue = this.queues.get(e.lane);
        if (queue === undefined) this.queues.set(e.lane, (queue = []));
        if (e.front) queue.unshift(e);
        else queue.push(e);
        this.waitingIn.set(e.taskId, e.lane);
        return;
      }
      case 'grant': {
        const queue = this.queues.get(e.lane);
        this.waitingIn.delete(e.taskId);
        if (queue === undefined || queue.length === 0) return;
        const head = queue[0]!;
        if (head.taskId === e.taskId) {
          queue.shift();
          return;
        }
        const index = queue.findIndex((q) => q.taskId === e.taskId);
        if (index >= 0) queue.splice(index, 1);
        this.violations.add({
          invariant: 'INV-FIFO', rule: 'LANE-4', t: e.t,
          message: `lane ${e.lane} granted ${e.taskId} before ${head.taskId}, which joined earlier (t=${head.t})`,
          events: [head, ...(index >= 0 ? [queue[index - 1] ?? head] : []), e].slice(0, 3),
        });
        return;
      }
      case 'abort':
        if (e.phase === 'queued') this.remove(e.taskId);
        return;
      case 'clear':
        for (const id of e.taskIds) this.remove(id);
        return;
      case 'end':
      case 'error':
        // A task can settle while it waits (a resumed parked task that was aborted): it drops out.
        this.remove(e.taskId);
        return;
      default:
        return;
    }
  }


  private remove(taskId: string): void {
    const lane = this.waitingIn.get(taskId);
    if (lane === undefined) return;
    this.waitingIn.delete(taskId);
    const queue = this.queues.get(lane);
    if (queue === undefined) return;
    const index = queue.findIndex((q) => q.taskId === taskId);
    if (index >= 0) queue.splice(index, 1);
  }
}
