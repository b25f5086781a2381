/**
 * The explorer (src/conformance/explore) catches every gateway mutant of the
 * reference (test/conformance/mutants/gateway-*.ts) within a fixed budget,
 * under the rule the mutant breaks, shrinks it to a small workload that
 * replays, and never fails the unmodified reference.
 *
 * Budget: BUDGET workloads per mutant from seed SEED (a failing workload is
 * shrunk with at most SHRINK executions). On a fake clock, no real time.
 * Replay one by hand: npx lanesim conform --adapter <mutant> --replay <seed>
 */
import { describe, expect, it } from 'vitest';
import { explore, replayWorkload } from '../../src/conformance/explore/explore.ts';
import { formatResult } from '../../src/conformance/explore/report.ts';
import { parseWorkload } from '../../src/conformance/explore/workload.ts';
import { targetFromAdapter } from '../../src/conformance/in-process.ts';
import { createReferenceAdapter, referenceTarget } from '../../src/conformance/targets/reference.ts';
import { GATEWAY_MUTANTS } from './mutants/gateway-mutants.ts';

const BUDGET = 200;
const SEED = 42;
const SHRINK = 150;
/** Reference workloads in this test (the 10,000-workload run is in docs/CONFORMANCE.md). */
const REFERENCE_RUNS = 300;

/**
 * Mutants whose explorer rule is a better attribution than the one the mutant file names (the rule of
 * the catalogue case that catches it), with why. The test asserts the explorer's rule.
 */
const BETTER_ATTRIBUTION: Readonly<Record<string, { rule: string; why: string }>> = {
  'gateway-no-lane-status': {
    rule: 'STATUS-1',
    why: 'the mutant computes every status and delivers none: STATUS-1 (Delivery: "the gateway sends the event lane.status ... to every connection subscribed") is the rule it breaks; ' +
      'STATUS-3 (a waiting message is listed) is about the content of a status, which this mutant gets right. The catalogue names STATUS-3 because its case status.enqueue.lists-waiting is the one that notices',
  },
};

describe('explorer: every gateway mutant is caught within the budget', () => {
  for (const mutant of GATEWAY_MUTANTS) {
    const better = BETTER_ATTRIBUTION[mutant.name];
    const title = `${mutant.name} (${mutant.breaks}): caught within ${BUDGET} workloads, seed ${SEED}`;
    it(title, async () => {
      const result = await explore({ target: targetFromAdapter(mutant.adapter), runs: BUDGET, seed: SEED, shrinkBudget: SHRINK });
      const failure = result.failures[0];
      if (failure === undefined) throw new Error(`${mutant.name}: not caught in ${result.runs} workloads (seed ${SEED})`);
      console.log(`[explore ${mutant.name}] ${formatResult(result, `npx lanesim conform --adapter <${mutant.name}>`).split('\n').slice(0, 2).join(' | ')}`);
      // The shrunk workload still breaks the same rule, and is no larger than the original.
      expect(failure.shrunk.findings.map((f) => f.rule)).toContain(failure.rule);
      expect(failure.shrunk.workload.steps.length).toBeLessThanOrEqual(failure.original.workload.steps.length);
      // Its replay token gives the same workload and the same failure.
      const [seed, ...path] = failure.replayToken.split(':');
      const again = await replayWorkload(targetFromAdapter(mutant.adapter), path.length === 0 ? { seed: Number(seed) } : { seed: Number(seed), path: path.join(':') });
      expect(again.workload).toEqual(failure.shrunk.workload);
      expect(again.findings.map((f) => f.rule)).toContain(failure.rule);
      if (better === undefined) expect(mutant.caughtBy.rules).toContain(failure.rule);
      else {
        console.log(`[explore ${mutant.name}] reported ${failure.rule} (the mutant file names ${mutant.caughtBy.rules.join('/')}): ${better.why}`);
        expect(failure.rule).toBe(better.rule);
      }
    }, 240_000);
  }
});

describe('explorer: operator clears (QUEUE-11) are explored where supports.queueClear', () => {
  it('an operator hook that clears nothing is caught under QUEUE-11', async () => {
    const adapter = createReferenceAdapter({ name: 'clear removes nothing', wrapGateway: (inner) => ({ ...inner, clearQueue: () => 0 }) });
    const result = await explore({ target: targetFromAdapter(adapter), runs: BUDGET, seed: SEED, shrinkBudget: SHRINK });
    expect(result.failures[0]?.rule).toBe('QUEUE-11');
    expect(result.failures[0]!.shrunk.workload.steps.some((s) => s.kind === 'clear')).toBe(true);
  }, 240_000);

  it('a target declaring supports.queueClear false gets no clear steps', async () => {
    const adapter = { ...createReferenceAdapter({ name: 'no clears' }), supports: { queueClear: false } };
    const result = await explore({ target: targetFromAdapter(adapter), runs: 100, seed: SEED });
    expect(result.failures).toEqual([]);
    const { workloadFromSeed, workloadSeed } = await import('../../src/conformance/explore/explore.ts');
    for (let i = 0; i < 100; i++) {
      expect(workloadFromSeed(targetFromAdapter(adapter), workloadSeed(SEED, i)).steps.every((s) => s.kind !== 'clear')).toBe(true);
    }
  }, 240_000);
});

describe('explorer: heartbeats are judged per wait (INV-HEARTBEAT-WAIT)', () => {
  it('a gateway whose heartbeats name the session instead of the run is caught under HB-4', async () => {
    const adapter = createReferenceAdapter({
      name: 'heartbeat names the session',
      wrapGateway: (inner) => ({
        ...inner,
        open(connId, send) {
          inner.open(connId, (event, payload, seq) => send(event, event === 'heartbeat' ? { ...(payload as object), runId: (payload as { sessionKey?: unknown }).sessionKey } : payload, seq));
        },
      }),
    });
    const result = await explore({ target: targetFromAdapter(adapter), runs: BUDGET, seed: SEED, shrinkBudget: SHRINK });
    expect(result.failures[0]?.rule).toBe('HB-4');
    expect(result.failures[0]!.shrunk.findings.some((f) => f.what === 'INV-HEARTBEAT-WAIT')).toBe(true);
  }, 240_000);
});

describe('explorer: a graceful stop ends workloads where supports.shutdown (WS-23, QUEUE-19)', () => {
  it('a gateway whose stop tells no client (no shutdown event) is caught under WS-23', async () => {
    const adapter = createReferenceAdapter({
      name: 'stop tells nobody',
      wrapGateway: (inner) => ({
        ...inner,
        open(connId, send) {
          inner.open(connId, (event, payload, seq) => (event === 'shutdown' ? undefined : send(event, payload, seq)));
        },
      }),
    });
    const result = await explore({ target: targetFromAdapter(adapter), runs: BUDGET, seed: SEED, shrinkBudget: SHRINK });
    expect(result.failures[0]?.rule).toBe('WS-23');
    expect(result.failures[0]!.shrunk.workload.ending?.kind).toBe('shutdown');
  }, 240_000);

  it('a target declaring supports.shutdown false gets no shutdown ending, and the steps a seed generates do not depend on it', async () => {
    const full = targetFromAdapter(createReferenceAdapter({ name: 'with shutdown' }));
    const without = targetFromAdapter({ ...createReferenceAdapter({ name: 'no shutdown' }), supports: { shutdown: false } });
    const { workloadFromSeed, workloadSeed } = await import('../../src/conformance/explore/explore.ts');
    let endings = 0;
    for (let i = 0; i < 100; i++) {
      const a = workloadFromSeed(full, workloadSeed(SEED, i));
      const b = workloadFromSeed(without, workloadSeed(SEED, i));
      expect(b.ending ?? null).toBeNull();
      expect(b.steps).toEqual(a.steps);
      if ((a.ending ?? null) !== null) endings++;
    }
    expect(endings).toBeGreaterThan(0);
  });
});

describe('explorer: the unmodified reference', () => {
  it(`passes ${REFERENCE_RUNS} workloads against itself (no divergence, no invariant violated)`, async () => {
    const result = await explore({ target: referenceTarget(), runs: REFERENCE_RUNS, seed: 7, stopAtFirst: false });
    expect(result.runs).toBe(REFERENCE_RUNS);
    expect(result.referenceProblems).toBe(0);
    expect(formatResult(result, 'npx lanesim conform')).toContain('no divergence');
    expect(result.failures).toEqual([]);
  }, 240_000);

  it('a workload written to a file replays as the same workload (JSON round trip, checked field by field)', async () => {
    const first = await explore({ target: targetFromAdapter(GATEWAY_MUTANTS.find((m) => m.name === 'gateway-tool-wrong-text')!.adapter), runs: BUDGET, seed: SEED, shrinkBudget: SHRINK });
    const failure = first.failures[0]!;
    const file = JSON.parse(JSON.stringify({ workload: failure.shrunk.workload })) as { workload: unknown };
    const w = parseWorkload(file.workload);
    const onReference = await replayWorkload(referenceTarget(), { workload: w });
    expect(onReference.findings).toEqual([]);
    expect(() => parseWorkload({ ...w, steps: [{ kind: 'send', gap: -1 }] })).toThrow(/steps\[0\]\.gap/);
  }, 240_000);
});
