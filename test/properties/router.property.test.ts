/**
 * SessionRouter + LaneScheduler under random gateway workloads
 * (test/arbitraries/workload.ts), replayed on a fake clock by
 * test/support/run-workload.ts with the trace going into the invariant
 * checkers (lanes, warnThresholdMs from the config, nothing-lost): every
 * invariant holds and every message settles exactly once, with
 * nestedAgentParallel off and on. And the same seed gives a byte-identical
 * JSON trace.
 *
 * Volume: test/support/property-runs.ts. Replay a failure with
 * LANESIM_SEED=<seed> npx vitest run test/properties/router.property.test.ts
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/model/events.ts';
import { arbWorkload } from '../arbitraries/workload.ts';
import { DEFAULT_TOTAL_RUNS, WORKLOAD_WEIGHTS, propertyParams, propertyRuns, totalWorkloadWeight } from '../support/property-runs.ts';
import { assertWorkload, runWorkload } from '../support/run-workload.ts';

describe('router: random workloads', () => {
  for (const nestedAgentParallel of [false, true]) {
    it(`every invariant holds and every message settles exactly once (nestedAgentParallel ${nestedAgentParallel})`, () => {
      fc.assert(
        fc.property(arbWorkload({ nestedAgentParallel }), assertWorkload),
        propertyParams(WORKLOAD_WEIGHTS[nestedAgentParallel ? 'routerParallel' : 'routerSerial']),
      );
    });
  }

  it('the same seed gives a byte-identical JSON trace', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        // Generate the workload from the seed twice and replay each: generation and replay are both deterministic.
        const first = fc.sample(arbWorkload(), { seed, numRuns: 1 })[0]!;
        const second = fc.sample(arbWorkload(), { seed, numRuns: 1 })[0]!;
        const a = JSON.stringify(runWorkload(first, { keepTrace: true }).trace);
        const b = JSON.stringify(runWorkload(second, { keepTrace: true }).trace);
        if (a !== b) {
          let i = 0;
          while (i < a.length && a[i] === b[i]) i++;
          throw new Error(`traces differ at character ${i}:\n  ${a.slice(Math.max(0, i - 200), i + 200)}\n  ${b.slice(Math.max(0, i - 200), i + 200)}`);
        }
      }),
      propertyParams(WORKLOAD_WEIGHTS.routerDeterminism),
    );
  });

  it('the workloads reach every message outcome and the interesting lane events (generator sanity)', () => {
    const seen = new Set<string>();
    const note = (e: TraceEvent): void => {
      if (e.type === 'settle') seen.add(`settle:${e.outcome}`);
      else if (e.type === 'lane.status') seen.add(e.status.warning ? 'status:warning' : `status:${e.status.state}`);
      else if (e.type === 'abort') seen.add(`abort:${e.phase}`);
      else if (e.type === 'drop') seen.add(`drop:${e.policy}`);
      else seen.add(e.type);
    };
    for (const workload of fc.sample(arbWorkload(), { seed: 20_251_121, numRuns: 400 })) {
      for (const e of runWorkload(workload, { keepTrace: true }).trace!) note(e);
    }
    for (const outcome of ['ran', 'merged', 'steered', 'summarized', 'rejected', 'aborted']) expect(seen).toContain(`settle:${outcome}`);
    for (const kind of ['park', 'merge', 'steer', 'lane.wait', 'drain', 'error', 'end']) expect(seen).toContain(kind);
    for (const kind of ['abort:queued', 'abort:running', 'drop:old', 'drop:summarize', 'status:warning', 'status:idle', 'status:waiting', 'status:active']) {
      expect(seen).toContain(kind);
    }
  });

  it('the workload properties add up to at least LANESIM_PROPERTY_RUNS (10,000 by default) random workloads', () => {
    expect(totalWorkloadWeight()).toBeGreaterThanOrEqual(1);
    const runs = Object.values(WORKLOAD_WEIGHTS).reduce((sum, weight) => sum + propertyRuns(weight), 0);
    const total = Number(process.env.LANESIM_PROPERTY_RUNS ?? DEFAULT_TOTAL_RUNS);
    expect(runs).toBeGreaterThanOrEqual(Math.floor(total));
  });
});
