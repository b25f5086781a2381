/**
 * `npm run bench -- sim`: the simulator's speed.
 * - the discrete-event engine's raw rate: timer events with trivial callbacks,
 *   each rescheduling itself (a steady heap of `live` events), events/s;
 * - the nested-agent cascade (baseline and fixed) on the fake-timers engine,
 *   wall ms per pair after warm-up (target < 100 ms);
 * - the 10,000-session hour on the discrete-event engine, wall s (target < 10 s).
 */
import { nestedAgentCascade } from '../src/scenarios/nested-agent-cascade.ts';
import { largeHour } from '../src/scenarios/large-hour.ts';
import { DiscreteEventEngine } from '../src/sim/discrete-event-engine.ts';
import { runSimulation } from '../src/sim/simulation.ts';

export function engineEventsPerSec(events = 5_000_000, live = 10_000): number {
  const engine = new DiscreteEventEngine();
  const clock = engine.clock;
  let left = events;
  let x = 1;
  const tick = (): void => {
    if (--left <= 0) {
      engine.stop();
      return;
    }
    // A pseudo-random delay (xorshift), so the heap really reorders.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    clock.setTimeout(tick, (x >>> 0) % 1000);
  };
  for (let i = 0; i < live; i++) clock.setTimeout(tick, i % 1000);
  const t0 = process.hrtime.bigint();
  engine.runSync(Number.MAX_SAFE_INTEGER);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return events / seconds;
}

export interface CascadeTiming {
  pairMs: number[];
  bestPairMs: number;
  medianPairMs: number;
}

export async function cascadeWallMs(repeats = 7): Promise<CascadeTiming> {
  const variants = nestedAgentCascade.variants.filter((v) => v.name === 'baseline' || v.name === 'fixed');
  // Warm-up: JIT and module loading are not the simulator.
  for (const variant of variants) await runSimulation({ scenario: nestedAgentCascade, variant, engine: 'fake-timers', hashTrace: false });
  const pairMs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    for (const variant of variants) await runSimulation({ scenario: nestedAgentCascade, variant, engine: 'fake-timers', hashTrace: false });
    pairMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const sorted = [...pairMs].sort((a, b) => a - b);
  return { pairMs, bestPairMs: sorted[0]!, medianPairMs: sorted[Math.floor(sorted.length / 2)]! };
}

export async function largeHourWall(): Promise<{ wallMs: number; engineEvents: number; traceEvents: number; messages: number; violations: number }> {
  const result = await runSimulation({ scenario: largeHour, variant: largeHour.variants[0]!, engine: 'discrete-event' });
  return {
    wallMs: result.wallMs,
    engineEvents: result.engineEvents,
    traceEvents: result.traceEvents,
    messages: result.metrics.messages,
    violations: result.violations.length,
  };
}
