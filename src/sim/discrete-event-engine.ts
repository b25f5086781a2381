/**
 * The discrete-event engine: virtual time jumps from event to event through
 * an EventQueue (a calendar: a FIFO chain per time, a heap of times; see
 * event-queue.ts). Everything runs synchronously, so the code under
 * simulation must be callback-driven (the reference gateway is; a promise
 * would resolve only after run() returns).
 */
import type { Clock } from '../model/clock.ts';
import type { EngineRunResult, SimEngine } from './engine.ts';
import { EventQueue } from './event-queue.ts';

export class DiscreteEventEngine implements SimEngine {
  readonly name = 'discrete-event' as const;
  private readonly queue = new EventQueue(4096);
  private now = 0;
  private stopped = false;
  readonly clock: Clock;

  constructor() {
    const queue = this.queue;
    this.clock = {
      now: () => this.now,
      setTimeout: (callback, delayMs) => queue.push(this.now + Math.max(0, Number.isFinite(delayMs) ? delayMs : 0), callback),
      clearTimeout: (handle) => {
        if (typeof handle === 'number') queue.cancel(handle);
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
    const queue = this.queue;
    let events = 0;
    for (;;) {
      if (this.stopped) return { endMs: this.now, events, reason: 'stopped' };
      if (events >= maxEvents) return { endMs: this.now, events, reason: 'event-limit' };
      const callback = queue.popUntil(limitMs);
      if (callback === null) {
        if (queue.pending === 0) return { endMs: this.now, events, reason: 'idle' };
        this.now = limitMs;
        return { endMs: this.now, events, reason: 'time-limit' };
      }
      const time = queue.poppedTime;
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
    return this.queue.pending;
  }

  /** Timer events scheduled, and how many joined a millisecond already queued (see event-queue.ts). */
  get queueStats(): { pushes: number; joined: number } {
    return { ...this.queue.stats };
  }
}
