/**
 * The only source of time for lanesim code. Everything that waits or stamps
 * events goes through a Clock, so the same code runs on the wall clock, under
 * @sinonjs/fake-timers (which swaps the globals read below), or inside the
 * discrete-event engine (which supplies its own Clock).
 */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds; virtual under a fake clock. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Reads the globals at call time (not at import time) so that a fake-timers
 * clock installed after this module loaded still takes effect.
 */
export const globalClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => globalThis.setTimeout(callback, delayMs),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The shape of a @sinonjs/fake-timers clock (whose `now` is a property, not a method). */
export interface FakeTimersLike {
  now: number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: never): void;
}

/** A Clock over a fake-timers clock from `createClock()` or `install()`. */
export function clockFromFakeTimers(fake: FakeTimersLike): Clock {
  return {
    now: () => fake.now,
    setTimeout: (callback, delayMs) => fake.setTimeout(callback, delayMs),
    clearTimeout: (handle) => fake.clearTimeout(handle as never),
  };
}
