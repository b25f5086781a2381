/**
 * The invariants must catch deliberately broken schedulers: a property over
 * random lane workloads (the same generator and runner as
 * test/properties/scheduler.property.test.ts) must FIND a counterexample for
 * each mutant. The shrunk counterexample and the violations are printed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Violation } from '../../src/model/invariants/index.ts';
import { arbLaneWorkload, type LaneWorkload } from '../arbitraries/lane-ops.ts';
import { propertySeed } from '../support/property-runs.ts';
import { runLaneWorkload, type SchedulerFactory } from '../support/run-lane-workload.ts';
import { createLifoScheduler } from './lifo.ts';
import { createNoSessionLockScheduler } from './no-session-lock.ts';

const describe_ = (violations: readonly Violation[]): string =>
  `violations:\n${violations.map((v) => `  ${v.invariant} (${v.rule}) at t=${v.t}: ${v.message}`).join('\n')}`;

/** Up to this many workloads to find the bug (it is found in a handful). */
const BUDGET = 2000;

function hunt(makeScheduler: SchedulerFactory, invariants: readonly string[]) {
  const property = fc.property(arbLaneWorkload(), (w: LaneWorkload) => {
    // Only the named invariants count: the mutant must be caught by them.
    const result = runLaneWorkload(w, { makeScheduler, diagnostics: false });
    const hits = result.violations.filter((v) => invariants.includes(v.invariant));
    if (hits.length > 0) throw new Error(hits.map((v) => `${v.invariant} (${v.rule}) at t=${v.t}: ${v.message}`).join('\n'));
  });
  const seed = propertySeed();
  const result = fc.check(property, { numRuns: BUDGET, ...(seed === undefined ? {} : { seed }) });
  return result;
}

describe('mutants are caught by the invariants', () => {
  it('no session lock (session lanes admit 2): INV-CAP / INV-SESSION-EXCLUSIVE find a counterexample', () => {
    const result = hunt(createNoSessionLockScheduler, ['INV-CAP', 'INV-SESSION-EXCLUSIVE']);
    expect(result.failed).toBe(true);
    const replay = runLaneWorkload(result.counterexample![0], { makeScheduler: createNoSessionLockScheduler, diagnostics: false });
    console.log(`[mutant no-session-lock] caught after ${result.numRuns} workload(s):\n${fc.defaultReportMessage(result)}\n${describe_(replay.violations)}`);
    expect(replay.violations.some((v) => v.invariant === 'INV-CAP' || v.invariant === 'INV-SESSION-EXCLUSIVE')).toBe(true);
    // The unbroken scheduler passes the same workload.
    expect(runLaneWorkload(result.counterexample![0]).problems).toEqual([]);
  });

  it('LIFO lanes: INV-FIFO finds a counterexample', () => {
    const result = hunt(createLifoScheduler, ['INV-FIFO']);
    expect(result.failed).toBe(true);
    const replay = runLaneWorkload(result.counterexample![0], { makeScheduler: createLifoScheduler, diagnostics: false });
    console.log(`[mutant lifo] caught after ${result.numRuns} workload(s):\n${fc.defaultReportMessage(result)}\n${describe_(replay.violations)}`);
    expect(replay.violations.some((v) => v.invariant === 'INV-FIFO')).toBe(true);
    expect(runLaneWorkload(result.counterexample![0]).problems).toEqual([]);
  });
});
