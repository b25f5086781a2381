/**
 * The project's own properties over the explorer's workload space (issue 12):
 * the router-level workloads of test/arbitraries/workload.ts cannot express
 * clients joining and leaving, tool calls as a model writes them, stalls,
 * nested calls or shutdown, so the reference gateway is also driven, through
 * its in-process adapter on a fake clock, by the same generated workloads the
 * explorer plays against a gateway under test (arbExploreWorkload): sessions
 * and channels, bursts beside collect buffers in one session, aborts and
 * clears at any moment (also of runs holding their session slot while they
 * wait for `main`), interrupts, malformed tool calls in realistic JSON,
 * several messages per client, clients joining and leaving, nested calls with
 * nestedAgentParallel on and off, a graceful stop at the end.
 *
 * Every such workload must break no invariant checker on the reference
 * (Judgement.referenceProblems; the checkers live apart from the system, in
 * src/model/invariants). fast-check prints the seed and the shrunk workload of
 * a failure; LANESIM_SEED replays it.
 *
 * It can fail: with a mutant of the reference in its place (test/conformance/mutants,
 * seed 1, 300 workloads) 9 of the 11 gateway mutants break an invariant in 2 to 184
 * of the workloads; the other two (wrong tool-error text, collect answered started)
 * break no invariant and are caught by the explorer's differential half
 * (test/conformance/explore.test.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { judgeWorkload } from '../../src/conformance/explore/explore.ts';
import { arbExploreWorkload } from '../../src/conformance/explore/workload.ts';
import { FULL_SUPPORT } from '../../src/conformance/support.ts';
import { referenceTarget } from '../../src/conformance/targets/reference.ts';
import { propertySeed } from '../support/property-runs.ts';

/** Each workload is a whole gateway run on a fake clock (~5 ms): a few hundred per `npm test`. */
const RUNS = 300;

describe('the reference under the explorer\'s workloads', () => {
  it('breaks no invariant on any generated workload (every feature supported)', async () => {
    const reference = referenceTarget();
    const seed = propertySeed();
    await fc.assert(
      fc.asyncProperty(arbExploreWorkload({ support: FULL_SUPPORT }), async (workload) => {
        const judged = await judgeWorkload(reference, reference, workload);
        expect(judged.referenceProblems.map((f) => `${f.rule}: ${f.observed}`)).toEqual([]);
        // The same code on both sides: any difference would be the harness's own nondeterminism.
        expect(judged.findings.map((f) => `${f.rule}: ${f.observed}`)).toEqual([]);
      }),
      { numRuns: RUNS, ...(seed !== undefined ? { seed } : {}) },
    );
  }, 120_000);
});
