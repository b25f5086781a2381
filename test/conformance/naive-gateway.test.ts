/**
 * Proof of the verdict over the real transport (issue 11, point 10): a small
 * naive gateway of its own (test/naive-gateway, not the reference with a
 * switch) is run as a black box through lanesim's WebSocket target, once per
 * fault. Each fault breaks one SPEC rule the way an independent author might;
 * some case that names that rule must fail on it, with that rule among its
 * failed checks. The corrected gateway must then pass every case it can run
 * (n/a only for what it declares unsupported or cannot be configured for),
 * including each case that caught a fault: so a catch is the rule's doing,
 * not a case that fails everything.
 *
 * Cases are chosen by rule, not by id, so a renamed or split case still counts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ALL_CASES } from '../../src/conformance/cases/index.ts';
import { runSuite, type SuiteReport } from '../../src/conformance/runner.ts';
import type { CaseResult, ConformanceCase } from '../../src/conformance/types.ts';
import { startNaive } from '../naive-gateway/harness.ts';
import type { NaiveFault } from '../naive-gateway/naive-gateway.ts';

/**
 * Gateway ms per real ms. HB-1's 15 s bound is judged at x10: at x25 the 150 ms of real timer
 * noise a loaded machine is allowed would be 3.75 s of gateway time, more than the 3 s by which
 * the late heartbeat misses it (tolerances.ts).
 */
const SCALE = 25;
const CASE_TIMEOUT_MS = 60_000;

interface Expectation {
  fault: NaiveFault;
  rule: string;
  scale: number;
}

const EXPECTED: readonly Expectation[] = [
  { fault: 'deltas-unpaced', rule: 'WS-16', scale: SCALE },
  { fault: 'heartbeat-late', rule: 'HB-1', scale: 10 },
  { fault: 'status-without-waiting', rule: 'STATUS-2', scale: SCALE },
  { fault: 'pings-late', rule: 'HB-5', scale: SCALE },
  { fault: 'no-dead-peer', rule: 'HB-6', scale: SCALE },
  { fault: 'accepts-wrong-token', rule: 'WS-6', scale: SCALE },
  { fault: 'no-session-lock', rule: 'LANE-2', scale: SCALE },
  { fault: 'abort-ignores-queued', rule: 'QUEUE-18', scale: SCALE },
  { fault: 'loses-second-followup', rule: 'QUEUE-20', scale: SCALE },
  { fault: 'ignores-idempotency', rule: 'WS-14', scale: SCALE },
  { fault: 'warns-at-dequeue', rule: 'STATUS-4', scale: SCALE },
  { fault: 'swallows-tool-errors', rule: 'TOOL-1', scale: SCALE },
];

/** Cases a black box over WebSocket can run (lane and validator cases need an in-process target). */
const WIRE_CASES: readonly ConformanceCase[] = ALL_CASES.filter((c) => !c.requires.includes('lanes') && !c.requires.includes('tools'));

function casesFor(rule: string): ConformanceCase[] {
  return WIRE_CASES.filter((c) => c.rules.includes(rule));
}

function describeResults(results: readonly CaseResult[]): string {
  return results.map((r) => `${r.id} ${r.status}${r.checks.length > 0 ? ` [${r.checks.map((k) => k.rule).join(', ')}]` : ''}: ${r.reason.slice(0, 300)}`).join('\n');
}

async function runAgainst(fault: NaiveFault | null, scale: number, cases: readonly ConformanceCase[]): Promise<SuiteReport> {
  const naive = await startNaive(fault, scale);
  try {
    return await runSuite({ target: naive.target, cases, seed: 1, caseTimeoutMs: CASE_TIMEOUT_MS });
  } finally {
    await naive.stop();
  }
}

/** Each fault's report, and the corrected gateway's. */
const caught = new Map<NaiveFault, SuiteReport>();
let report: SuiteReport;

beforeAll(async () => {
  // The corrected gateway runs the whole wire catalogue beside the faults; the faulty gateways go three
  // at a time: each is mostly waiting on timers, and their timing checks stay apart.
  const faults = async (): Promise<void> => {
    for (let i = 0; i < EXPECTED.length; i += 3) {
      const batch = EXPECTED.slice(i, i + 3);
      const reports = await Promise.all(batch.map((e) => runAgainst(e.fault, e.scale, casesFor(e.rule))));
      batch.forEach((e, j) => caught.set(e.fault, reports[j]!));
    }
  };
  const corrected = async (): Promise<void> => {
    report = await runAgainst(null, SCALE, WIRE_CASES);
  };
  await Promise.all([faults(), corrected()]);
}, 600_000);

describe('a naive gateway over a real WebSocket: each fault is caught by the rule it breaks', () => {
  for (const { fault, rule } of EXPECTED) {
    it(`${fault}: fails a case under ${rule}`, () => {
      expect(casesFor(rule).length, `no wire case names ${rule}`).toBeGreaterThan(0);
      const results = caught.get(fault)!.results;
      const catching = results.filter((r) => r.status === 'fail' && r.checks.some((k) => k.rule === rule));
      expect(catching.length, `fault ${fault} (breaks ${rule}) escaped; seed 1; results:\n${describeResults(results)}`).toBeGreaterThan(0);
    });
  }
});

describe('the corrected naive gateway', () => {
  it('fails no case and errs in none (n/a only for what it does not support)', () => {
    const bad = report.results.filter((r) => r.status === 'fail' || r.status === 'error');
    expect(bad, `seed 1:\n${describeResults(bad)}`).toEqual([]);
  });

  it('passes each case that caught a fault: the catch was the rule, not a case that fails everything', () => {
    for (const { fault, rule } of EXPECTED) {
      const catchers = (caught.get(fault)?.results ?? []).filter((r) => r.status === 'fail' && r.checks.some((k) => k.rule === rule)).map((r) => r.id);
      const passed = report.results.filter((r) => r.status === 'pass' && r.rules.includes(rule)).map((r) => r.id);
      expect(passed.length, `no case under ${rule} (fault ${fault}) passed on the corrected gateway:\n${describeResults(report.results.filter((r) => r.rules.includes(rule)))}`).toBeGreaterThan(0);
      for (const id of catchers) expect(passed, `${id} caught ${fault} but does not pass the corrected gateway`).toContain(id);
    }
  });
});

