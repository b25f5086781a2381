/**
 * Delivers each trace event only to the observers that read its type. A
 * simulated hour has 1.3 million events and a checker suite of nine; most
 * checkers read a few types (the lane checkers never look at the 600,000
 * frames), so a call per observer per event was a fifth of the hour's time.
 */
import type { TraceEvent, TraceEventType } from '../events.ts';

export interface TraceObserver {
  observe(event: TraceEvent): void;
  /** The event types observe() reads; absent: every type. */
  readonly eventTypes?: readonly TraceEventType[];
}

export class TraceFanout {
  private readonly byType = new Map<string, TraceObserver[]>();
  /** Observers of every type: what an event of a type nobody listed goes to. */
  private readonly everyType: TraceObserver[];

  constructor(observers: readonly TraceObserver[]) {
    this.everyType = observers.filter((o) => o.eventTypes === undefined);
    for (const observer of observers) {
      for (const type of observer.eventTypes ?? []) {
        if (!this.byType.has(type)) this.byType.set(type, []);
      }
    }
    // Each type's list keeps the observers' order (a checker never depends on another, but traces read the same).
    for (const [type, list] of this.byType) {
      for (const observer of observers) {
        if (observer.eventTypes === undefined || observer.eventTypes.includes(type as TraceEventType)) list.push(observer);
      }
    }
  }

  observe(event: TraceEvent): void {
    const list = this.byType.get(event.type) ?? this.everyType;
    for (let i = 0; i < list.length; i++) list[i]!.observe(event);
  }
}
