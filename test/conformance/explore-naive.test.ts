/**
 * The explorer over the wire against an independent gateway (issue 12): the
 * naive gateway of test/naive-gateway (its own code, not the reference with a
 * switch), run as a black box through lanesim's WebSocket target with its
 * `supports` declaration (followup only, drop new, no channels, routes,
 * nested agents or operator clears), once per fault of NAIVE_FAULTS that
 * lives in the explorer's generation space. Each fault must be caught within
 * BUDGET workloads from SEED, reported under the rule its doc comment in
 * naive-gateway.ts names; the corrected gateway must pass the same BUDGET
 * workloads (a catch is the fault's doing, not a comparison that fails
 * everything).
 *
 * Faults outside the generation space, and why: heartbeat-late, pings-late,
 * no-dead-peer (timers the catalogue's protocol cases watch for tens of
 * seconds; a workload ends when its messages settle), accepts-wrong-token
 * (the explorer connects with the right token). warns-at-dequeue breaks
 * STATUS-4, which the explorer judges over the wire too, but with every
 * gateway of this file and the in-process reference sharing one loaded
 * event loop, the corrected gateway's warn timer can itself fire late
 * (KNOWN_NAIVE_BUGS), so a catch could not be told apart: the catalogue's
 * status.warn.at-crossing catches it (naive-gateway.test.ts), and the
 * in-process explorer catches gateway-late-warning under STATUS-4.
 *
 * Real time: every gateway lives at SCALE gateway ms per real ms; the
 * faults and the corrected gateway run concurrently, each with its own
 * gateway and fake model (a workload's model script is per fake model).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explore, type ExploreResult } from '../../src/conformance/explore/explore.ts';
import { formatResult } from '../../src/conformance/explore/report.ts';
import { startNaive, type NaiveUnderTest } from '../naive-gateway/harness.ts';
import type { NaiveFault } from '../naive-gateway/naive-gateway.ts';

/** Gateway ms per real ms. */
const SCALE = 10;
/** Workloads per gateway, from SEED, all of them played (a failure is not shrunk: each shrink step is a workload over the wire). */
const BUDGET = 16;
const SEED = 42;
/** Steps per workload: small workloads settle sooner in real time. */
const MAX_STEPS = 8;

/** The faults in the generation space, each with the rule its doc comment names. */
const FAULTS: readonly { fault: NaiveFault; rule: string }[] = [
  { fault: 'no-session-lock', rule: 'LANE-2' },
  { fault: 'abort-ignores-queued', rule: 'QUEUE-18' },
  { fault: 'loses-second-followup', rule: 'QUEUE-20' },
  { fault: 'ignores-idempotency', rule: 'WS-14' },
  { fault: 'status-without-waiting', rule: 'STATUS-2' },
  { fault: 'swallows-tool-errors', rule: 'TOOL-1' },
  { fault: 'deltas-unpaced', rule: 'WS-16' },
];

/**
 * What the explorer finds in the corrected naive gateway that breaks the SPEC, each reported as a
 * naive-gateway bug (not papered over by the comparison): a fault's run may show them beside the fault's
 * own rule. `always`: found by every run of this budget (so this test fails when it is fixed: then delete
 * the entry); otherwise it depends on real timing. What once was here (TOOL-3, STATUS-4 on fractional thresholds) is fixed: since the naive gateway checks TOOL-3's types and
 * minimums and marks STATUS-4's crossing when its (rounded-up) warn timer fires; what remains is load.
 */
const KNOWN_NAIVE_BUGS: Readonly<Record<string, { always: boolean; what: string }>> = {
  'STATUS-4': {
    always: false,
    what: 'under this test\'s load (nine gateways, their clients and the in-process reference in one process) a warn timer can fire past the ' +
      'tolerance; alone, the same workloads pass (seed 42, workload #13: replay it against startNaive(null, 10))',
  },
};
const gateways = new Map<NaiveFault | 'corrected', NaiveUnderTest>();
const results = new Map<NaiveFault | 'corrected', ExploreResult>();
let wallMs = 0;

async function exploreNaive(name: NaiveFault | 'corrected'): Promise<void> {
  const naive = await startNaive(name === 'corrected' ? null : name, SCALE);
  gateways.set(name, naive);
  const result = await explore({ target: naive.target, runs: BUDGET, seed: SEED, maxSteps: MAX_STEPS, shrinkBudget: 0, stopAtFirst: false });
  results.set(name, result);
}

beforeAll(async () => {
  const started = performance.now();
  // All at once: each is mostly waiting on real time, and each has its own gateway and fake model.
  await Promise.all([...FAULTS.map((f) => f.fault), 'corrected' as const].map((name) => exploreNaive(name)));
  wallMs = performance.now() - started;
  console.log(`[explore-naive] ${FAULTS.length} faults and the corrected gateway, ${BUDGET} workloads each at most, scale ${SCALE}: ${(wallMs / 1000).toFixed(1)} s wall`);
}, 170_000);

afterAll(async () => {
  await Promise.all([...gateways.values()].map((g) => g.stop()));
});

function rulesOf(result: ExploreResult): string[] {
  return [...new Set(result.failures.map((f) => f.rule))].sort();
}

function details(result: ExploreResult): string {
  return formatResult(result, 'npx lanesim conform');
}

describe(`explorer over WebSocket vs the naive gateway (scale ${SCALE}, ${BUDGET} workloads, seed ${SEED})`, () => {
  for (const { fault, rule } of FAULTS) {
    it(`${fault} is caught under ${rule}`, () => {
      const result = results.get(fault);
      expect(result, `${fault}: the explorer did not run`).toBeDefined();
      console.log(`[explore-naive ${fault}] ${result!.failures.length} of ${result!.runs} workloads failed: ${result!.failures.map((f) => `#${f.index + 1} ${f.rule}`).join(', ')}`);
      // Caught: a failing workload reports the fault's rule first, or reports a known bug of the naive gateway
      // first (earlier in time in that workload) and the fault's rule among its findings.
      const caught = result!.failures.filter((f) => f.rule === rule || (f.rule in KNOWN_NAIVE_BUGS && f.original.findings.some((x) => x.rule === rule)));
      expect(caught.length, `${fault}: no workload reports ${rule}\n${details(result!)}`).toBeGreaterThan(0);
      // Every other failure is the fault's rule again or a known bug of the naive gateway itself.
      for (const other of rulesOf(result!)) if (other !== rule) expect(Object.keys(KNOWN_NAIVE_BUGS), `${fault}: ${other}\n${details(result!)}`).toContain(other);
    });
  }

  it('the corrected naive gateway fails nothing (but its known bugs, if any)', () => {
    const result = results.get('corrected');
    expect(result, 'the explorer did not run').toBeDefined();
    expect(result!.runs).toBe(BUDGET);
    console.log(`[explore-naive corrected] ${result!.failures.length} of ${result!.runs} workloads failed: ${result!.failures.map((f) => `#${f.index + 1} ${f.rule}`).join(', ')}`);
    for (const rule of rulesOf(result!)) expect(Object.keys(KNOWN_NAIVE_BUGS), `${rule}\n${details(result!)}`).toContain(rule);
    for (const [rule, bug] of Object.entries(KNOWN_NAIVE_BUGS)) if (bug.always) expect(rulesOf(result!), `known bug ${rule} not found: ${bug.what}`).toContain(rule);
  });
});
