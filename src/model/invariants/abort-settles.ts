/**
 * INV-ABORT-SETTLES (LANE-12): a task aborted while running settles (end or
 * error) within `graceMs`, so its lanes do not stay blocked.
 */
import type { AbortEvent, TraceEvent, TraceEventType } from '../events.ts';
import { CheckerBase, type Violation } from './types.ts';

export class AbortSettlesChecker extends CheckerBase {
  readonly invariant = 'INV-ABORT-SETTLES';
  readonly eventTypes: readonly TraceEventType[] = ['abort', 'end', 'error'];
  private readonly pending = new Map<string, AbortEvent>();

  constructor(private readonly graceMs = 1000) {
    super();
  }

  observe(e: TraceEvent): void {
    if (e.type === 'abort' && e.phase === 'running') {
      if (!this.pending.has(e.taskId)) this.pending.set(e.taskId, e);
      return;
    }
    if (e.type === 'end' || e.type === 'error') {
      const abort = this.pending.get(e.taskId);
      if (abort === undefined) return;
      this.pending.delete(e.taskId);
      if (e.t - abort.t > this.graceMs) this.report(abort, e.t, e);
    }
  }

  override finish(t: number): Violation[] {
    for (const abort of this.pending.values()) if (t - abort.t > this.graceMs) this.report(abort, t, null);
    return this.violations.items;
  }

  private report(abort: AbortEvent, t: number, end: TraceEvent | null): void {
    this.violations.add({
      invariant: this.invariant, rule: 'LANE-12', t,
      message: `task ${abort.taskId} aborted at t=${abort.t} ${end === null ? 'never settled' : `settled only at t=${t}`} (grace ${this.graceMs} ms): its lanes stayed blocked`,
      events: end === null ? [abort] : [abort, end],
    });
  }
}
