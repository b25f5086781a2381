/**
 * Deterministic means deterministic: the same seed gives the same trace,
 * byte for byte, and both engines give the same trace for the same scenario.
 */
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../src/scenarios/index.ts';
import { runSimulation } from '../../src/sim/simulation.ts';

const small = SCENARIOS.filter((s) => !s.large);

describe('determinism', () => {
  for (const scenario of small) {
    it(`${scenario.name}: same seed, same trace hash; both engines agree; another seed differs`, async () => {
      const variant = scenario.variants[scenario.variants.length - 1]!;
      const a = await runSimulation({ scenario, variant, engine: 'fake-timers' });
      const b = await runSimulation({ scenario, variant, engine: 'fake-timers' });
      const des = await runSimulation({ scenario, variant, engine: 'discrete-event' });
      expect(a.traceHash).toMatch(/^[0-9a-f]{64}$/);
      expect(b.traceHash).toBe(a.traceHash);
      expect(des.traceHash).toBe(a.traceHash);
      expect(des.violationCount).toBe(a.violationCount);
      expect(des.metrics).toEqual(a.metrics);
      const other = await runSimulation({ scenario, variant, engine: 'discrete-event', seed: scenario.defaultSeed + 1 });
      expect(other.traceHash).not.toBe(a.traceHash);
    });
  }
});
