/** Helpers for unit tests: a fake clock as a lanesim Clock, a trace array, and a checker run. */
import FakeTimers from '@sinonjs/fake-timers';
import { clockFromFakeTimers, type Clock } from '../../src/model/clock.ts';
import type { TraceEvent } from '../../src/model/events.ts';
import { checkTrace, checkerSuite, type CheckerSuiteOptions, type Violation } from '../../src/model/invariants/index.ts';

export interface FakeClock {
  fake: FakeTimers.Clock;
  clock: Clock;
}

export function fakeClock(start = 0): FakeClock {
  const fake = FakeTimers.createClock(start, 1_000_000);
  return { fake, clock: clockFromFakeTimers(fake) };
}

export function recorder(): { trace: TraceEvent[]; sink: (e: TraceEvent) => void } {
  const trace: TraceEvent[] = [];
  return { trace, sink: (e) => trace.push(e) };
}

/** Lane checkers (INV-CAP, INV-SESSION-EXCLUSIVE, INV-FIFO, INV-ABORT-SETTLES) over a scheduler-only trace. */
export function laneViolations(trace: readonly TraceEvent[], endT?: number, options: CheckerSuiteOptions = {}): Violation[] {
  return checkTrace(trace, checkerSuite({ lanes: true, ...options }), endT);
}

export function formatViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.invariant} (${v.rule}) t=${v.t}: ${v.message}`).join('\n');
}

/** Events of one type, typed. */
export function ofType<K extends TraceEvent['type']>(trace: readonly TraceEvent[], type: K): Extract<TraceEvent, { type: K }>[] {
  return trace.filter((e): e is Extract<TraceEvent, { type: K }> => e.type === type);
}
