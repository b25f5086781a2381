/**
 * `npm run bench -- explore`: the explorer's rate in process on a fake clock
 * (workloads per minute, each played on the target AND on the reference and
 * judged both ways), against the catalogue's per-case rate measured in the
 * same run (the whole catalogue against the reference, in process).
 * Target: at least 1,000 workloads a minute.
 */
import { ALL_CASES } from '../src/conformance/cases/index.ts';
import { explore } from '../src/conformance/explore/explore.ts';
import { runSuite } from '../src/conformance/runner.ts';
import { referenceTarget } from '../src/conformance/targets/reference.ts';
import { startReferenceOverWebSocket } from '../src/conformance/targets/websocket.ts';
import { table } from '../src/report/format.ts';

export const EXPLORE_TARGET_PER_MIN = 1_000;

export interface ExploreBenchResult {
  workloads: number;
  exploreMs: number;
  workloadsPerMin: number;
  cases: number;
  catalogueMs: number;
  casesPerMin: number;
  failures: number;
  /** The catalogue's verdicts in that run (pass, fail, n/a, error). */
  catalogueSummary: Record<string, number>;
}

export async function runExploreBench(workloads = 1_000): Promise<ExploreBenchResult> {
  // Warm-up: the JIT, the first fake-timer installs.
  await explore({ target: referenceTarget(), runs: 50, seed: 99 });
  const started = performance.now();
  const result = await explore({ target: referenceTarget(), runs: workloads, seed: 1, stopAtFirst: false });
  const exploreMs = performance.now() - started;
  const catStarted = performance.now();
  const report = await runSuite({ target: referenceTarget(), cases: ALL_CASES, seed: 1, replayPrefix: 'npx lanesim conform' });
  const catalogueMs = performance.now() - catStarted;
  const cases = report.results.length;
  return {
    workloads, exploreMs, workloadsPerMin: workloads / (exploreMs / 60_000),
    cases, catalogueMs, casesPerMin: cases / (catalogueMs / 60_000), failures: result.failures.length,
    catalogueSummary: { pass: report.summary.pass, fail: report.summary.fail, 'n/a': report.summary['n/a'], error: report.summary.error },
  };
}

/**
 * Over WebSocket: `concurrency` references served on loopback at time scale `scale` (each its own fake
 * model; each workload provisions a gateway with its configuration), `workloads` workloads spread over
 * them (explore's `pool`: one workload per reference at a time), judged against the in-process reference.
 */
export async function runExploreWsBench(scale: number, workloads: number, concurrency = 1): Promise<{ workloads: number; wallMs: number; perMin: number; concurrency: number; failures: string[] }> {
  const refs = await Promise.all(Array.from({ length: concurrency }, () => startReferenceOverWebSocket({ scale })));
  try {
    const started = performance.now();
    const result = await explore({ target: refs[0]!.target, pool: refs.slice(1).map((r) => r.target), runs: workloads, seed: 3, stopAtFirst: false, shrinkBudget: 0 });
    const wallMs = performance.now() - started;
    return {
      workloads: result.runs, wallMs, perMin: result.runs / (wallMs / 60_000), concurrency: result.concurrency,
      failures: result.failures.map((f) => `#${f.index + 1} ${f.rule}: ${f.original.findings[0]?.what ?? ''}: ${f.original.findings[0]?.expected ?? ''} | ${f.original.findings[0]?.observed ?? ''}`.slice(0, 300)),
    };
  } finally {
    await Promise.all(refs.map((r) => r.stop()));
  }
}

/** `npm run bench -- explore [--workloads N] [--ws-scale X --ws-workloads N --ws-concurrency K]`. */
export async function exploreMain(argv: readonly string[]): Promise<number> {
  const i = argv.indexOf('--workloads');
  const raw = i >= 0 ? argv[i + 1] : undefined;
  const workloads = raw === undefined ? 1_000 : Number(raw);
  if (!Number.isInteger(workloads) || workloads < 10) {
    process.stderr.write(`bench explore: --workloads must be an integer >= 10, got ${JSON.stringify(raw)}\n`);
    return 2;
  }
  process.stderr.write(`explore: ${workloads} workloads (target + reference each), then the catalogue, in process ...\n`);
  const r = await runExploreBench(workloads);
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  console.log(table([
    ['measure', 'count', 'wall s', 'per minute', 'target', 'result'],
    ['explorer workloads (target + reference, judged both ways)', fmt(r.workloads), (r.exploreMs / 1000).toFixed(1), fmt(r.workloadsPerMin), `>= ${fmt(EXPLORE_TARGET_PER_MIN)}`, r.workloadsPerMin >= EXPLORE_TARGET_PER_MIN ? 'PASS' : 'MISS'],
    [`catalogue cases (reference, in process: ${Object.entries(r.catalogueSummary).map(([k, v]) => `${v} ${k}`).join(', ')})`, fmt(r.cases), (r.catalogueMs / 1000).toFixed(1), fmt(r.casesPerMin), '-', '-'],
  ]));
  console.log(`explorer / catalogue: ${(r.workloadsPerMin / r.casesPerMin).toFixed(1)}x as many workloads per minute as cases; ${r.failures} failing workload(s) on the reference`);
  const si = argv.indexOf('--ws-scale');
  if (si >= 0) {
    const scale = Number(argv[si + 1]);
    const wi = argv.indexOf('--ws-workloads');
    const n = wi >= 0 ? Number(argv[wi + 1]) : 40;
    const ci = argv.indexOf('--ws-concurrency');
    const k = ci >= 0 ? Number(argv[ci + 1]) : 4;
    if (!Number.isFinite(scale) || scale <= 0 || !Number.isInteger(n) || n < 1 || !Number.isInteger(k) || k < 1 || k > 16) {
      process.stderr.write('bench explore: --ws-scale must be a number > 0, --ws-workloads an integer >= 1 and --ws-concurrency an integer 1..16\n');
      return 2;
    }
    process.stderr.write(`explore over WebSocket: ${n} workloads at time scale ${scale}, ${k} at once ...\n`);
    const w = await runExploreWsBench(scale, n, k);
    console.log(`over WebSocket (reference on loopback, time scale ${scale}, ${w.concurrency} workload(s) at once, each on its own gateway and fake model): ${w.workloads} workloads in ${(w.wallMs / 1000).toFixed(1)} s = ${w.perMin.toFixed(1)} a minute; ${w.failures.length} differed from the fake-clock reference`);
    for (const f of w.failures) console.log(`  ${f}`);
  }
  return r.failures === 0 ? 0 : 1;
}
