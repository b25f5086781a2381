/**
 * The lane-queue explorer (src/conformance/explore/lanes.ts) catches every
 * lane mutant (test/conformance/mutants/index.ts, which include the
 * schedulers of test/mutants/*) within LANE_BUDGET random lane workloads from
 * seed SEED, under the rule each breaks, and never fails the reference queue.
 * Lane workloads take ~2 ms each on the fake clock.
 */
import { describe, expect, it } from 'vitest';
import { exploreLanes, judgeLanes, playLanes } from '../../src/conformance/explore/lanes.ts';
import { laneTarget, referenceLaneQueue } from '../../src/conformance/targets/lane-adapters.ts';
import { createLifoScheduler } from '../mutants/lifo.ts';
import { createNoSessionLockScheduler } from '../mutants/no-session-lock.ts';
import { LANE_MUTANTS } from './mutants/index.ts';

const LANE_BUDGET = 1000;
const SEED = 42;

describe('lane explorer: every lane mutant is caught under its rule', () => {
  for (const mutant of LANE_MUTANTS) {
    it(`${mutant.name} (${mutant.breaks}) -> ${mutant.rule}, within ${LANE_BUDGET} workloads`, async () => {
      const result = await exploreLanes(laneTarget(mutant.name, () => mutant.create()), { runs: LANE_BUDGET, seed: SEED });
      if (result.failure === null) throw new Error(`${mutant.name}: not caught in ${result.runs} lane workloads (seed ${SEED})`);
      console.log(`[explore-lanes ${mutant.name}] workload #${result.failure.index + 1} (seed ${result.failure.seed}), shrunk to ${result.failure.workload.ops.length} op(s): ${result.failure.finding.rule} ${result.failure.finding.where}: expected ${result.failure.finding.expected}; observed ${result.failure.finding.observed}`);
      expect(result.failure.rule).toBe(mutant.rule);
      // The shrunk workload still fails that way, and passes on the reference queue.
      const onReference = await playLanes(() => referenceLaneQueue(), result.failure.workload);
      const onMutant = await playLanes(() => mutant.create(), result.failure.workload);
      expect(judgeLanes(result.failure.workload, onReference, onMutant)?.rule).toBe(mutant.rule);
      expect(onReference.violations).toEqual([]);
    }, 120_000);
  }

  it('the schedulers of test/mutants (LIFO, no session lock) behind the reference adapter: LANE-4, LANE-2', async () => {
    const lifo = await exploreLanes(laneTarget('lifo scheduler', () => referenceLaneQueue({ createScheduler: createLifoScheduler })), { runs: LANE_BUDGET, seed: SEED });
    const lockless = await exploreLanes(laneTarget('no-session-lock scheduler', () => referenceLaneQueue({ createScheduler: createNoSessionLockScheduler })), { runs: LANE_BUDGET, seed: SEED });
    expect(lifo.failure?.rule).toBe('LANE-4');
    expect(lockless.failure?.rule).toBe('LANE-2');
  }, 120_000);
});

describe('lane explorer: the reference queue', () => {
  it(`passes ${LANE_BUDGET * 2} lane workloads against itself`, async () => {
    const result = await exploreLanes(laneTarget('reference', () => referenceLaneQueue()), { runs: LANE_BUDGET * 2, seed: 7 });
    expect(result.failure).toBeNull();
    expect(result.runs).toBe(LANE_BUDGET * 2);
  }, 120_000);
});
