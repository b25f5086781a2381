/**
 * The discrete-event engine: virtual time jumps from event to event through
 * an EventHeap (a calendar: a FIFO chain per time, a heap of times; see
 * event-heap.ts). Everything runs synchronously, so the code under
 * simulation must be callback-driven (the reference gateway is; a promise
 * would resolve only after run() returns).
 */
import type { Clock } from '../model/clock.ts';
import type { EngineRunResult, SimEngine } from './engine.ts';
import { EventHeap } from './event-heap.ts';

export class DiscreteEventEngine implements SimEngine {
  readonly name = 'discrete-event' as const;
  private readonly heap = new EventHeap(4096);
  private now = 0;
  private stopped = false;
  readonly clock: Clock;

  constructor() {
    const heap = this.heap;
    this.clock = {
      now: () => this.now,
      setTimeout: (callback, delayMs) => heap.push(this.now + Math.max(0, Number.isFinite(delayMs) ? delayMs : 0), callback),
      clearTimeout: (handle) => {
        if (typeof handle === 'number') heap.cancel(handle);
      },
    };
  }

  start(): void {}

  async run(limitMs: number, maxEvents = Number.MAX_SAFE_INTEGER): Promise<EngineRunResult> {
    return this.runSync(limitMs, maxEvents);
  }

  /** run() without the promise, for callers that want the loop inline. */
  runSync(limitMs: number, maxEvents = Number.MAX_SAFE_INTEGER): EngineRunResult {
    this.stopped = false;
    const heap = this.heap;
    let events = 0;
    for (;;) {
      if (this.stopped) return { endMs: this.now, events, reason: 'stopped' };
      if (events >= maxEvents) return { endMs: this.now, events, reason: 'event-limit' };
      const callback = heap.popUntil(limitMs);
      if (callback === null) {
        if (heap.pending === 0) return { endMs: this.now, events, reason: 'idle' };
        this.now = limitMs;
        return { endMs: this.now, events, reason: 'time-limit' };
      }
      const time = heap.poppedTime;
      if (time > this.now) this.now = time;
      events++;
      callback();
    }
  }

  stop(): void {
    this.stopped = true;
  }

  dispose(): void {
    this.stopped = true;
  }

  get pending(): number {
    return this.heap.pending;
  }

  /** Timer events scheduled, and how many joined a millisecond already queued (see event-heap.ts). */
  get queueStats(): { pushes: number; joined: number } {
    return { ...this.heap.stats };
  }
}
