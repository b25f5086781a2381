/** The gateway's clock, pushed forward at will (timers stay real): windows such as BOUND-1/3 pass without waiting. */
import { globalClock, type Clock } from '../../src/model/clock.ts';

export function skewedClock(): Clock & { skip(ms: number): void } {
  let skew = 0;
  return {
    now: () => Date.now() + skew,
    setTimeout: globalClock.setTimeout,
    clearTimeout: globalClock.clearTimeout,
    skip: (ms) => {
      skew += ms;
    },
  };
}
