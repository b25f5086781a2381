/**
 * The ONE place the volume of lanesim's workload properties is set.
 *
 * Every workload property (router, scheduler, model-based, interleavings)
 * asks for `propertyRuns(weight)`: its share of LANESIM_PROPERTY_RUNS
 * (default 10,000). The weights of all of them sum to >= 1.0 (see
 * WORKLOAD_WEIGHTS), so `npm test` runs at least that many random workloads.
 *
 *   LANESIM_PROPERTY_RUNS=100000 npx vitest run test/properties   # heavier
 *   LANESIM_SEED=123 npx vitest run test/properties/router.property.test.ts  # replay
 *
 * The tool-validator / heartbeat / config properties have their own counts.
 */
import type fc from 'fast-check';
import { parseSeed } from '../../src/model/prng.ts';

export const DEFAULT_TOTAL_RUNS = 10_000;

function readTotal(): number {
  const raw = process.env.LANESIM_PROPERTY_RUNS;
  if (raw === undefined || raw.trim() === '') return DEFAULT_TOTAL_RUNS;
  const total = Number(raw);
  if (!Number.isFinite(total) || total < 0) {
    throw new RangeError(`LANESIM_PROPERTY_RUNS must be a number >= 0, got ${JSON.stringify(raw)}`);
  }
  return total;
}

/** The seed from LANESIM_SEED (decimal or 0x-hex), or undefined: fast-check picks one and prints it on failure. */
export function propertySeed(): number | undefined {
  const raw = process.env.LANESIM_SEED;
  if (raw === undefined || raw.trim() === '') return undefined;
  // fast-check prints seeds as signed 32-bit integers; accept those as well as lanesim's [0, 2^32) seeds.
  const trimmed = raw.trim();
  if (/^-\d+$/.test(trimmed)) {
    const seed = Number(trimmed);
    if (seed >= -0x8000_0000) return seed;
    throw new RangeError(`LANESIM_SEED must be an integer from -2147483648 to 4294967295, got ${JSON.stringify(raw)}`);
  }
  return parseSeed(trimmed) | 0;
}

/** This property's share of the total volume: at least 1 run. */
export function propertyRuns(weight: number): number {
  return Math.max(1, Math.round(readTotal() * weight));
}

/** fast-check parameters for a property of the given weight (seed from LANESIM_SEED when set). */
export function propertyParams<Ts>(weight: number): fc.Parameters<Ts> {
  const seed = propertySeed();
  const params: fc.Parameters<Ts> = { numRuns: propertyRuns(weight), verbose: 1 };
  if (seed !== undefined) params.seed = seed;
  return params;
}

/**
 * Every workload property's weight, by name. The test files read their
 * weight from here; test/properties/router.property.test.ts checks the sum.
 */
export const WORKLOAD_WEIGHTS = {
  /** router.property: random message workloads, nestedAgentParallel off. */
  routerSerial: 0.28,
  /** router.property: the same, nestedAgentParallel on. */
  routerParallel: 0.28,
  /** router.property: same seed, byte-identical trace (each run replays a workload twice). */
  routerDeterminism: 0.02,
  /** scheduler.property (a): random lane-level workloads. */
  schedulerWorkload: 0.26,
  /** scheduler.property (b): fc.scheduler() completion orders of async tasks. */
  schedulerInterleavings: 0.06,
  /** scheduler.property (c): model-based fc.commands against test/support/lane-model.ts. */
  schedulerModel: 0.1,
} as const;

export type WorkloadPropertyName = keyof typeof WORKLOAD_WEIGHTS;

export function totalWorkloadWeight(): number {
  return Object.values(WORKLOAD_WEIGHTS).reduce((a, b) => a + b, 0);
}
