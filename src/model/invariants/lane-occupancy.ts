/**
 * INV-CAP (LANE-2, LANE-3): no lane ever has more holders than its
 * maxConcurrent (session lanes: 1).
 * INV-SESSION-EXCLUSIVE (LANE-2, LANE-23): at most one task runs in a session at any
 * time (a parked task does not run).
 */
import type { GrantEvent, StartEvent, TraceEvent } from '../events.ts';
import { CheckerBase, type Violation } from './types.ts';

interface Held {
  lanes: Map<string, GrantEvent>;
  running: StartEvent | null;
}

export class LaneOccupancyChecker extends CheckerBase {
  readonly invariant = 'INV-CAP';
  private readonly caps = new Map<string, number>();
  private readonly holders = new Map<string, Set<string>>();
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
        held.lanes.set(e.lane, e);
        let set = this.holders.get(e.lane);
        if (set === undefined) this.holders.set(e.lane, (set = new Set()));
        set.add(e.taskId);
        const cap = this.caps.get(e.lane) ?? (e.lane.startsWith('session:') ? 1 : Infinity);
        if (set.size > cap) {
          const others = [...set].filter((id) => id !== e.taskId).slice(0, 3);
          this.violations.add({
            invariant: 'INV-CAP', rule: e.lane.startsWith('session:') ? 'LANE-2' : 'LANE-3', t: e.t,
            message: `lane ${e.lane} has ${set.size} holders, maxConcurrent ${cap}: ${e.taskId} granted while ${others.join(', ')} held it`,
            events: [e, ...others.map((id) => this.tasks.get(id)?.lanes.get(e.lane)).filter((x): x is GrantEvent => x !== undefined)],
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
        const set = this.holders.get(e.lane);
        if (set !== undefined) {
          for (const id of set) this.tasks.get(id)?.lanes.delete(e.lane);
          set.clear();
        }
        return;
      }
      default:
        return;
    }
  }


  private task(id: string): Held {
    let held = this.tasks.get(id);
    if (held === undefined) this.tasks.set(id, (held = { lanes: new Map(), running: null }));
    return held;
  }

  private release(taskId: string, keep: boolean): void {
    const held = this.tasks.get(taskId);
    if (held === undefined) return;
    for (const lane of held.lanes.keys()) this.holders.get(lane)?.delete(taskId);
    held.lanes.clear();
    if (held.running !== null) {
      for (const lane of held.running.lanes) {
        if (this.runningInSession.get(lane)?.taskId === taskId) this.runningInSession.delete(lane);
      }
      held.running = null;
    }
    if (!keep) this.tasks.delete(taskId);
  }
}
