/**
 * Fuzz campaign: the router and scheduler workload properties, for as many
 * runs as asked, with the same generators (test/arbitraries) and the same
 * predicates (test/support/run-workload.ts, run-lane-workload.ts) as the
 * vitest properties.
 *
 *   npm run fuzz -- --runs 1000000 [--seed N] [--property all|router-serial|router-parallel|scheduler]
 *   npm run fuzz -- --property router-serial --seed N --path "12:3:0"   # replay one failure
 *
 * Runs are split across the properties (router-serial 35%, router-parallel
 * 35%, scheduler 30%); property i uses seed + i. A progress line (runs done,
 * runs/s, elapsed) goes to stderr every few seconds. On failure it prints the
 * property, seed, path, the shrunk counterexample and its problems, and a
 * replay command, then exits 1. Bad arguments exit 2.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { MAX_SEED, parseSeed } from '../../src/model/prng.ts';
import { arbLaneWorkload, type LaneWorkload } from '../arbitraries/lane-ops.ts';
import { arbWorkload, type Workload } from '../arbitraries/workload.ts';
import { assertLaneWorkload, describeLaneProblems, runLaneWorkload } from '../support/run-lane-workload.ts';
import { assertWorkload, describeProblems, runWorkload } from '../support/run-workload.ts';

export interface CampaignProperty {
  name: string;
  weight: number;
  arbitrary: fc.Arbitrary<unknown>;
  predicate: (value: unknown) => void;
  /** The problems of a failing value, for the report. */
  explain: (value: unknown) => string;
}

export const PROPERTIES: readonly CampaignProperty[] = [
  {
    name: 'router-serial',
    weight: 0.35,
    arbitrary: arbWorkload({ nestedAgentParallel: false }),
    predicate: (w) => assertWorkload(w as Workload),
    explain: (w) => describeProblems(runWorkload(w as Workload), 20),
  },
  {
    name: 'router-parallel',
    weight: 0.35,
    arbitrary: arbWorkload({ nestedAgentParallel: true }),
    predicate: (w) => assertWorkload(w as Workload),
    explain: (w) => describeProblems(runWorkload(w as Workload), 20),
  },
  {
    name: 'scheduler',
    weight: 0.3,
    arbitrary: arbLaneWorkload(),
    predicate: (w) => assertLaneWorkload(w as LaneWorkload),
    explain: (w) => describeLaneProblems(runLaneWorkload(w as LaneWorkload), 20),
  },
];

const USAGE = `usage: npm run fuzz -- [--runs N] [--seed N] [--property NAME] [--path P] [--progress-ms N]
  --runs N         total workloads to run, split across the properties (default 100000)
  --seed N         campaign seed, 0..${MAX_SEED} (decimal or 0x-hex); property i uses seed + i (default: from the clock)
  --property NAME  all (default), ${PROPERTIES.map((p) => p.name).join(', ')}
  --path P         replay one failure (needs --seed and one --property): the path fast-check printed
  --progress-ms N  ms between progress lines on stderr (default 3000)`;

class UsageError extends Error {}

export interface CampaignOptions {
  runs: number;
  seed: number;
  properties: CampaignProperty[];
  path: string | undefined;
  progressMs: number;
}

function positiveInteger(flag: string, text: string, min: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${flag} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}

export function parseCampaignArgs(argv: string[]): CampaignOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        runs: { type: 'string' },
        seed: { type: 'string' },
        property: { type: 'string' },
        path: { type: 'string' },
        'progress-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    const message = (error as Error).message;
    const ambiguous = /Option '(--[\w-]+)' argument is ambiguous/.exec(message);
    throw new UsageError(ambiguous === null ? message : `${ambiguous[1]} got a value starting with "-": not a valid value here`);
  }
  const v = parsed.values;
  if (v.help === true) return 'help';
  const runs = v.runs === undefined ? 100_000 : positiveInteger('runs', v.runs, 1);
  let seed: number;
  if (v.seed === undefined) {
    seed = (Date.now() ^ (process.pid << 16)) >>> 0;
  } else {
    try {
      seed = parseSeed(v.seed);
    } catch (error) {
      throw new UsageError(`--seed: ${(error as Error).message}`);
    }
  }
  const name = v.property ?? 'all';
  const properties = name === 'all' ? [...PROPERTIES] : PROPERTIES.filter((p) => p.name === name);
  if (properties.length === 0) {
    throw new UsageError(`--property must be all or one of ${PROPERTIES.map((p) => p.name).join(', ')}, got ${JSON.stringify(name)}`);
  }
  if (v.path !== undefined) {
    if (!/^\d+(:\d+)*$/.test(v.path)) throw new UsageError(`--path must look like 12:0:3 (as fast-check prints it), got ${JSON.stringify(v.path)}`);
    if (v.seed === undefined || properties.length !== 1) throw new UsageError('--path needs --seed and a single --property (the ones the failure printed)');
  }
  const progressMs = v['progress-ms'] === undefined ? 3000 : positiveInteger('progress-ms', v['progress-ms'], 1);
  return { runs, seed, properties, path: v.path, progressMs };
}

/** Splits `total` by weight; the last property takes the rounding remainder. */
function split(total: number, properties: readonly CampaignProperty[]): number[] {
  const sum = properties.reduce((a, p) => a + p.weight, 0);
  const counts = properties.map((p) => Math.floor((total * p.weight) / sum));
  const last = counts.length - 1;
  counts[last] = counts[last]! + total - counts.reduce((a, b) => a + b, 0);
  return counts;
}

export function runCampaign(options: CampaignOptions, log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): number {
  const started = Date.now();
  const counts = options.path === undefined ? split(options.runs, options.properties) : [1];
  let done = 0;
  let lastLine = started;
  const progress = (force: boolean, label: string): void => {
    const now = Date.now();
    if (!force && now - lastLine < options.progressMs) return;
    lastLine = now;
    const elapsed = (now - started) / 1000;
    log(`[fuzz] ${label}: ${done}/${options.runs} runs, ${(done / Math.max(elapsed, 1e-3)).toFixed(0)} runs/s, ${elapsed.toFixed(1)} s elapsed`);
  };
  log(`[fuzz] seed ${options.seed}, ${options.runs} runs: ${options.properties.map((p, i) => `${p.name} ${counts[i]}`).join(', ')}`);
  for (let i = 0; i < options.properties.length; i++) {
    const property = options.properties[i]!;
    const numRuns = counts[i]!;
    if (numRuns === 0) continue;
    // Property i runs with seed + i (wrapped into fast-check's 32-bit range).
    const seed = options.path === undefined ? (options.seed + PROPERTIES.indexOf(property)) | 0 : options.seed | 0;
    let shrinking = false;
    const result = fc.check(
      fc.property(property.arbitrary, (value) => {
        if (!shrinking) done++;
        progress(false, shrinking ? `${property.name} (shrinking)` : property.name);
        try {
          property.predicate(value);
        } catch (error) {
          shrinking = true;
          throw error;
        }
      }),
      { numRuns, seed, ...(options.path === undefined ? {} : { path: options.path }) },
    );
    if (result.failed) {
      const counterexample = result.counterexample?.[0];
      log(`[fuzz] FAILED: ${property.name} after ${result.numRuns} run(s), ${result.numShrinks} shrink(s)`);
      log(`[fuzz] seed ${result.seed} path ${result.counterexample === null ? '-' : result.counterexamplePath}`);
      log(`[fuzz] counterexample: ${JSON.stringify(counterexample)}`);
      if (counterexample !== undefined) log(`[fuzz] ${property.explain(counterexample)}`);
      log(fc.defaultReportMessage(result) ?? '');
      log(
        `[fuzz] replay: npm run fuzz -- --property ${property.name} --seed ${result.seed >>> 0} --path ${result.counterexamplePath ?? ''}`,
      );
      return 1;
    }
    progress(true, `${property.name} done`);
  }
  const elapsed = (Date.now() - started) / 1000;
  log(`[fuzz] OK: ${done} runs in ${elapsed.toFixed(1)} s (${(done / Math.max(elapsed, 1e-3)).toFixed(0)} runs/s), seed ${options.seed}`);
  return 0;
}

function main(): void {
  let options: CampaignOptions | 'help';
  try {
    options = parseCampaignArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`fuzz: ${error.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  process.exitCode = runCampaign(options);
}

// Run only as a script (npm run fuzz), not when imported.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
