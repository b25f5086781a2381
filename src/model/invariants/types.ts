/**
 * Checkers read a trace, one event at a time, and name every violation with
 * the events that show it. They live apart from any implementation (as
 * TigerBeetle's cluster checkers do) and stream, so a simulated hour with
 * millions of events never has to be held in memory to be checked.
 */
import type { TraceEvent, TraceEventType } from '../events.ts';

export interface Violation {
  /** The invariant, e.g. `INV-CAP`. */
  invariant: string;
  /** The docs/SPEC.md rule it enforces. */
  rule: string;
  /** Virtual time of the violation. */
  t: number;
  message: string;
  /** The offending events (at most a few). */
  events: TraceEvent[];
}

export interface TraceChecker {
  readonly invariant: string;
  observe(event: TraceEvent): void;
  /** The event types observe() reads (a TraceFanout delivers only those); absent: every type. */
  readonly eventTypes?: readonly TraceEventType[];
  /** Call once at the end of the trace; `t` is the time the run stopped. */
  finish(t: number): Violation[];
  /** Violations found beyond the ones kept (each checker keeps the first 50). */
  droppedCount(): number;
}

/** Keeps at most `limit` violations per checker so a broken run does not fill memory. */
export class ViolationList {
  readonly items: Violation[] = [];
  dropped = 0;
  constructor(private readonly limit = 50) {}

  add(violation: Violation): void {
    if (this.items.length < this.limit) this.items.push(violation);
    else this.dropped++;
  }
}

/**
 * What every checker shares: its (capped) violation list. A checker with
 * nothing to conclude at the end of a trace need not override finish().
 */
export abstract class CheckerBase implements TraceChecker {
  abstract readonly invariant: string;
  protected readonly violations = new ViolationList();
  abstract observe(event: TraceEvent): void;

  finish(_t: number): Violation[] {
    return this.violations.items;
  }

  droppedCount(): number {
    return this.violations.dropped;
  }
}
