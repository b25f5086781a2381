/**
 * A clock whose delays run `factor` times faster than they say, for playing
 * modelled agents against real sockets quickly: a scripted 60 s stream takes
 * 60/factor s of wall time. `now()` reports scaled time, so elapsed figures
 * read in the model's units.
 */
import type { Clock } from '../model/clock.ts';

export function scaledClock(base: Clock, factor: number): Clock {
  if (!Number.isFinite(factor) || factor <= 0) throw new RangeError(`time scale must be a number > 0, got ${String(factor)}`);
  const origin = base.now();
  return {
    now: () => origin + (base.now() - origin) * factor,
    setTimeout: (callback, delayMs) => base.setTimeout(callback, delayMs / factor),
    clearTimeout: (handle) => base.clearTimeout(handle),
  };
}
