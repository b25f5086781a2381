/**
 * INV-CAP (LANE-2, LANE-3): no lane ever has more holders than its
 * maxConcurrent (session lanes: 1).
 * INV-SESSION-EXCLUSIVE (LANE-2, LANE-23): at most one task runs in a session at any
 * time (a parked task does not run).
 */
import type { GrantEvent, StartEvent, TraceEvent, TraceEventType } from '../events.ts';
import { CheckerBase, type Violation } from './types.ts';

interface Held {
  /** The grants of the lanes it holds (a path has at most three). */
  grants: GrantEvent[];
  running: StartEvent | null;
}

export class LaneOccupancyChecker extends CheckerBase {
  readonly invariant = 'INV-CAP';
  readonly eventTypes: readonly TraceEventType[] = ['lane.open', 'grant', 'start', 'park', 'end', 'error', 'abort', 'clear', 'reset'];
  private readonly caps = new Map<string, number>();
  /** lane -> tasks holding it (a count: who they are is only looked up for a violation). */
  private readonly holders = new Map<string, number>();
  private readonly tasks = new Map<string, Held>();
  /** session lane -> task running in it */
  private readonly runningInSession = new Map<string, StartEvent>();

  observe(e: TraceEvent): void {
    switch (e.type) {
      case 'lane.open':
        this.caps.set(e.lane, e.maxConcurrent);
        return;
      case 'grant': {
        const held = this.task(e.taskId);
        if (held.grants.some((g) => g.lane === e.lane)) return; // holds it already: not a second holder
        held.grants.push(e);
        const holders = (this.holders.get(e.lane) ?? 0) + 1;
        this.holders.set(e.lane, holders);
        const cap = this.caps.get(e.lane) ?? (e.lane.startsWith('session:') ? 1 : Infinity);
        if (holders > cap) {
          const others: GrantEvent[] = [];
          for (const [id, other] of this.tasks) {
            const grant = id === e.taskId ? undefined : other.grants.find((g) => g.lane === e.lane);
            if (grant !== undefined && others.length < 3) others.push(grant);
          }
          this.violations.add({
            invariant: 'INV-CAP', rule: e.lane.startsWith('session:') ? 'LANE-2' : 'LANE-3', t: e.t,
            message: `lane ${e.lane} has ${holders} holders, maxConcurrent ${cap}: ${e.taskId} granted while ${others.map((g) => g.taskId).join(', ')} held it`,
            events: [e, ...others],
          });
        }
        return;
      }
      case 'start': {
        const held = this.task(e.taskId);
        held.running = e;
        for (const lane of e.lanes) {
          if (!lane.startsWith('session:')) continue;
          const other = this.runningInSession.get(lane);
          if (other !== undefined && other.taskId !== e.taskId) {
            this.violations.add({
              invariant: 'INV-SESSION-EXCLUSIVE', rule: 'LANE-2', t: e.t,
              message: `two runs at once in ${lane}: ${e.taskId} started while ${other.taskId} (started t=${other.t}) still runs`,
              events: [other, e],
            });
          }
          this.runningInSession.set(lane, e);
        }
        return;
      }
      case 'end':
      case 'error':
      case 'park':
        this.release(e.taskId, e.type === 'park');
        return;
      case 'abort':
        if (e.phase === 'queued') this.release(e.taskId, false);
        return;
      case 'clear':
        // Cleared while waiting in one lane: the lanes it held before that are free again.
        for (const id of e.taskIds) this.release(id, false);
        return;
      case 'reset': {
        // LANE-14: the lane forgets its holders (rare: a scan is fine).
        if ((this.holders.get(e.lane) ?? 0) === 0) return;
        for (const held of this.tasks.values()) {
          const i = held.grants.findIndex((g) => g.lane === e.lane);
          if (i >= 0) held.grants.splice(i, 1);
        }
        this.holders.set(e.lane, 0);
        return;
      }
      default:
        return;
    }
  }


  private task(id: string): Held {
    let held = this.tasks.get(id);
    if (held === undefined) this.tasks.set(id, (held = { grants: [], running: null }));
    return held;
  }

  private release(taskId: string, keep: boolean): void {
    const held = this.tasks.get(taskId);
    if (held === undefined) return;
    for (const grant of held.grants) this.holders.set(grant.lane, this.holders.get(grant.lane)! - 1);
    held.grants.length = 0;
    if (held.running !== null) {
      for (const lane of held.running.lanes) {
        if (this.runningInSession.get(lane)?.taskId === taskId) this.runningInSession.delete(lane);
      }
      held.running = null;
    }
    if (!keep) this.tasks.delete(taskId);
  }
}
