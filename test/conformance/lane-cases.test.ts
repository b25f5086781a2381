/**
 * The lane family of the conformance catalogue (src/conformance/cases/lane.ts):
 * - the catalogue is well formed (ids, levels, rules that exist in docs/SPEC.md);
 * - the reference lane queue passes every case;
 * - OpenClaw's real command queue (the installed peer) passes the cases it
 *   implements correctly (all of them, for 2026.9.6);
 * - every mutant (test/conformance/mutants/) is caught by exactly the cases
 *   listed below, each failing under the rule the mutant breaks, and no other
 *   lane case fails for it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LANE_BASE_RULES, LANE_CASES } from '../../src/conformance/cases/lane.ts';
import { runSuite, type SuiteReport } from '../../src/conformance/runner.ts';
import { laneTarget, openClawLaneQueue, referenceLaneQueue } from '../../src/conformance/targets/lane-adapters.ts';
import type { LaneQueueUnderTest } from '../../src/conformance/types.ts';
import { isOpenClawPeerInstalled } from '../../src/peers/openclaw/command-queue.ts';
import { openclawPeerPaths } from '../../src/peers/openclaw/paths.ts';
import { LANE_MUTANTS } from './mutants/index.ts';

const installed = isOpenClawPeerInstalled();
if (!installed) {
  console.warn(`[lanesim] OpenClaw peer not installed at ${openclawPeerPaths().openclawDir}: skipping its lane cases.`);
}

async function run(name: string, factory: () => LaneQueueUnderTest | Promise<LaneQueueUnderTest>): Promise<SuiteReport> {
  return runSuite({ target: laneTarget(name, factory), cases: LANE_CASES, seed: 1 });
}

/** Failing (or erroring) cases: id -> the rule of the failure ('error: ...' for harness errors). */
function failures(report: SuiteReport): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of report.results) {
    if (r.status === 'fail') out[r.id] = r.rule ?? '?';
    else if (r.status === 'error' || r.status === 'n/a') out[r.id] = `${r.status}: ${r.reason}`;
  }
  return out;
}

function explain(report: SuiteReport): string {
  return report.results
    .filter((r) => r.status !== 'pass')
    .map((r) => `  ${r.status} ${r.id}: ${r.reason}`)
    .join('\n');
}

describe('the lane catalogue', () => {
  const spec = readFileSync(new URL('../../docs/SPEC.md', import.meta.url), 'utf8');

  it('has stable, unique, hierarchical ids and well-formed metadata', () => {
    const ids = LANE_CASES.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of LANE_CASES) {
      expect(c.id).toMatch(/^lane\.[a-z0-9-]+\.[a-z0-9-]+$/);
      expect(c.requires).toEqual(['lanes']);
      expect(c.level).toBe('MUST');
      expect(c.title.length).toBeGreaterThan(10);
      expect(c.procedure.length).toBeGreaterThan(40);
      expect(c.rules.length).toBeGreaterThan(0);
      for (const rule of c.rules) {
        expect(rule).toMatch(/^(LANE|DIAG)-\d+$/);
        // The rule exists in the spec, as a MUST.
        expect(spec).toContain(`**${rule}** (MUST)`);
      }
    }
  });

  it('covers the lane MUSTs it can observe from outside', () => {
    const covered = new Set(LANE_CASES.flatMap((c) => c.rules));
    for (const rule of ['LANE-1', 'LANE-2', 'LANE-3', 'LANE-4', 'LANE-5', 'LANE-6', 'LANE-7', 'LANE-8', 'LANE-9', 'LANE-10', 'LANE-11', 'LANE-12', 'LANE-13', 'LANE-14', 'DIAG-1', 'DIAG-2']) {
      expect(covered, rule).toContain(rule);
    }
  });
});

describe('the reference lane queue', () => {
  it('passes every lane case', async () => {
    const report = await run('reference', () => referenceLaneQueue());
    expect(failures(report), explain(report)).toEqual({});
    expect(report.summary.pass).toBe(LANE_CASES.length);
  });

  it('gives the same results for another seed (the seeded cases draw other workloads)', async () => {
    const report = await runSuite({ target: laneTarget('reference', () => referenceLaneQueue()), cases: LANE_CASES, seed: 20261121 });
    expect(failures(report), explain(report)).toEqual({});
  });
});

describe.skipIf(!installed)("OpenClaw's command queue (installed peer, in process)", () => {
  /**
   * openclaw@2026.9.6 passes every lane case. (Checked against its source:
   * dist/command-queue-*.mjs; see docs/PEERS.md for the table.)
   */
  const EXPECTED_FAILURES: Record<string, string> = {};

  it('passes the lane cases it implements correctly', async () => {
    const report = await run('openclaw', () => openClawLaneQueue());
    expect(failures(report), explain(report)).toEqual(EXPECTED_FAILURES);
  });

  it('exposes every optional part the cases use (drain, reset, diagnostics, abort)', async () => {
    const target = laneTarget('openclaw', () => openClawLaneQueue());
    // Outside runSuite: no fake clock needed to inspect the adapter.
    const queue = await target.createLaneQueue!();
    try {
      expect(typeof queue.drain).toBe('function');
      expect(typeof queue.resetLane).toBe('function');
      expect(typeof queue.laneWaits).toBe('function');
      expect(queue.abortQueued).toBe(true);
    } finally {
      await queue.dispose?.();
    }
  });
});

/**
 * Mutant -> the cases that must fail and the rule each reports. Every other
 * lane case must pass for that mutant.
 */
const EXPECTED_CATCHES: Record<string, Record<string, string>> = {
  'blank-not-main': { 'lane.name.blank-is-main': 'LANE-1' },
  'no-session-lock': {
    'lane.session.exclusive': 'LANE-2',
    'lane.session.held-while-waiting': 'LANE-2',
    'lane.fifo.main-across-sessions': 'LANE-2',
    'lane.error.isolated': 'LANE-2',
    'lane.clear.releases-session': 'LANE-2',
    'lane.nested.no-deadlock': 'LANE-2',
    'lane.bulk.thousand': 'LANE-2',
  },
  'global-cap-off-by-one': {
    'lane.name.blank-is-main': 'LANE-3',
    'lane.session.held-while-waiting': 'LANE-3',
    'lane.global.cap': 'LANE-3',
    'lane.fifo.main-across-sessions': 'LANE-3',
    'lane.concurrency.raise': 'LANE-3',
    'lane.clear.releases-session': 'LANE-3',
    'lane.nested.sixty-seconds': 'LANE-3',
    'lane.nested.no-deadlock': 'LANE-3',
    'lane.bulk.thousand': 'LANE-3',
  },
  lifo: {
    'lane.fifo.single-lane': 'LANE-4',
    'lane.fifo.main-across-sessions': 'LANE-4',
    'lane.bulk.thousand': 'LANE-4',
  },
  'error-poisons-lane': {
    'lane.error.isolated': 'LANE-9',
    'lane.clear.releases-session': 'LANE-9',
  },
  'raise-deferred': { 'lane.concurrency.raise': 'LANE-10' },
  'clear-kills-running': { 'lane.clear.queued-only': 'LANE-11', 'lane.clear.releases-session': 'LANE-11' },
  'clear-leaves-queued': { 'lane.clear.queued-only': 'LANE-11', 'lane.clear.releases-session': 'LANE-11' },
  'abort-ignored': { 'lane.abort.queued': 'LANE-12' },
  'drain-noop': { 'lane.drain.refuses-new': 'LANE-13' },
  'reset-double-free': { 'lane.reset.forgets-holders': 'LANE-14' },
  'diag-threshold-exclusive': { 'lane.diag.threshold': 'DIAG-1' },
  'queue-ahead-quirk': { 'lane.diag.queue-ahead': 'DIAG-2' },
};

describe('mutants are caught by the cases naming their rule, and only by them', () => {
  it('every mutant has an expectation', () => {
    expect(LANE_MUTANTS.map((m) => m.name).sort()).toEqual(Object.keys(EXPECTED_CATCHES).sort());
  });

  for (const mutant of LANE_MUTANTS) {
    it(`${mutant.name} (${mutant.breaks}) -> ${mutant.rule}`, async () => {
      const report = await run(mutant.name, () => mutant.create());
      const failed = failures(report);
      const detail = report.results
        .filter((r) => r.status !== 'pass')
        .map((r) => `  ${r.id} [${r.rule ?? r.status}] expected ${r.expected ?? '-'}; observed ${r.observed ?? r.reason}`)
        .join('\n');
      console.info(`[mutant ${mutant.name}] caught by ${Object.keys(failed).length} case(s):\n${detail}`);
      expect(failed, detail).toEqual(EXPECTED_CATCHES[mutant.name]);
      // The mutant's own rule is among what it is caught by, and a case naming that rule catches it.
      const byRule = report.results.filter((r) => r.status === 'fail' && r.rule === mutant.rule);
      expect(byRule.length).toBeGreaterThan(0);
      expect(byRule.some((r) => r.rules.includes(mutant.rule))).toBe(true);
      // Every failure names one of its case's rules (or an invariant every case checks), with an expectation and an observation.
      for (const r of report.results.filter((x) => x.status === 'fail')) {
        expect([...r.rules, ...LANE_BASE_RULES], `${r.id} failed under ${r.rule}`).toContain(r.rule);
        expect(r.expected).toBeTruthy();
        expect(r.observed).toBeTruthy();
      }
    });
  }
});
