/**
 * STATUS-4 timing: tells when a wait crosses a threshold, at the crossing.
 * Waits are tracked in the order they began (which, time being monotonic,
 * is the order of their deadlines), so one timer for the earliest deadline
 * serves them all: O(1) per wait, however many wait.
 */
import type { Clock, TimerHandle } from '../model/clock.ts';
import { Deque } from './deque.ts';

export interface WaitWarningsOptions<T> {
  clock: Clock;
  thresholdMs: number;
  /** When the item's wait began, read when it is tracked. Items must be tracked in nondecreasing order of this. */
  startOf(item: T): number;
  /**
   * False once the item stopped waiting (started, settled), was already warned
   * about, or began a new wait since (`start` is the wait this entry was for).
   */
  stillWaiting(item: T, start: number): boolean;
  /** Items whose wait crossed the threshold, in the order they began waiting. */
  warn(items: T[]): void;
}

const MIN_COMPACT_AT = 1_024;

export class WaitWarnings<T> {
  private readonly queue = new Deque<{ item: T; start: number }>(16);
  private timer: TimerHandle | null = null;
  private timerDue = Infinity;
  /** Queue length at which entries that stopped waiting are dropped (see track). */
  private compactAt = MIN_COMPACT_AT;

  constructor(private readonly options: WaitWarningsOptions<T>) {}

  track(item: T): void {
    const start = this.options.startOf(item);
    this.queue.push({ item, start });
    const due = start + this.options.thresholdMs;
    if (this.timer === null || due < this.timerDue) this.arm(due);
    // Entries leave only when the timer passes them, so a busy gateway held every item of the last
    // thresholdMs (messages with their text) after they had stopped waiting (issue 15). Dropping
    // those now and then keeps the queue under twice what still waits, amortized O(1) per track;
    // the timer and the order of warnings are unchanged (onTimer skips such entries anyway).
    if (this.queue.length >= this.compactAt) {
      const { stillWaiting } = this.options;
      this.queue.filterInPlace((entry) => stillWaiting(entry.item, entry.start));
      this.compactAt = Math.max(MIN_COMPACT_AT, 2 * this.queue.length);
    }
  }

  close(): void {
    if (this.timer !== null) this.options.clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = Infinity;
    this.queue.clear();
  }

  private arm(due: number): void {
    const clock = this.options.clock;
    if (this.timer !== null) clock.clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = clock.setTimeout(() => this.onTimer(), Math.max(0, due - clock.now()));
  }

  private onTimer(): void {
    this.timer = null;
    this.timerDue = Infinity;
    const { thresholdMs, stillWaiting, warn, clock } = this.options;
    const now = clock.now();
    const crossed: T[] = [];
    let entry: { item: T; start: number } | undefined;
    while ((entry = this.queue.peek()) !== undefined) {
      if (!stillWaiting(entry.item, entry.start)) {
        this.queue.shift();
        continue;
      }
      const due = entry.start + thresholdMs;
      if (due > now) {
        this.arm(due);
        break;
      }
      this.queue.shift();
      crossed.push(entry.item);
    }
    if (crossed.length > 0) warn(crossed);
  }
}
