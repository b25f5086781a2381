/**
 * `lanesim/vitest`: the conformance catalogue as tests of the author's own
 * vitest suite, one `test` per case, in the manner of `@fast-check/vitest`
 * (vitest's own `test`/`it`, extended; failures carry the seed to replay):
 *
 *   import { test } from 'lanesim/vitest';
 *   import adapter from './lanesim-adapter.js';
 *
 *   test.conformance({ adapter });                               // in process
 *   test.conformance({ url: { url: 'ws://127.0.0.1:18789', token, modelControl } }, { only: ['ws'] });
 *   test.explore({ adapter }, { runs: 200, seed: 42 });           // generative: N random workloads, one test
 *
 * Each case becomes `<id> [<level>] <rules>: <title>` inside a describe named
 * after the gateway. A pass passes; a failure fails with every failed check's
 * rule, expected and observed text (as `lanesim conform` prints them), the
 * case's seed and the command that replays it; an n/a case is skipped with its
 * reason (`ctx.skip(reason)`), never passed; a harness or gateway error fails.
 * The target is built once in a beforeAll and disposed in an afterAll.
 */
import { afterAll, beforeAll, describe, it as vitestIt, test as vitestTest, type TestContext } from 'vitest';
import { checkRunOptions, resolveTarget, type ResolvedTarget, type TargetOptions } from '../conformance/api.ts';
import { explore as runExplore } from '../conformance/explore/explore.ts';
import { formatResult } from '../conformance/explore/report.ts';
import { runSuite } from '../conformance/runner.ts';
import type { CaseResult, ConformanceCase, Level } from '../conformance/types.ts';

export interface ConformanceTestOptions {
  /** Case ids or prefixes to run (`lane`, `queue.cap.drop-new`); default all. */
  only?: readonly string[];
  /** Case ids or prefixes to leave out. */
  skip?: readonly string[];
  /**
   * Levels that become tests; default all three. `['MUST']` mirrors the CLI's
   * exit code (which counts only MUST failures).
   */
  levels?: readonly Level[];
  /** Suite seed (each case derives its own from it and its id; failures print both). Default 1. */
  seed?: number;
  /** Wall-clock limit per case (default 60000 in process, 120000 over WebSocket); the vitest timeout is this plus 10 s. */
  caseTimeoutMs?: number;
  /** Name of the describe block; default `lanesim conformance: <gateway>`. */
  name?: string;
}

const LEVEL_NAMES: readonly Level[] = ['MUST', 'SHOULD', 'INFORMATIONAL'];

/** A failed case, as vitest shows it. */
export class ConformanceCaseError extends Error {
  readonly result: CaseResult;
  constructor(result: CaseResult, suiteSeed: number) {
    super(describeFailure(result, suiteSeed));
    this.name = result.status === 'fail' ? 'ConformanceFailure' : 'ConformanceError';
    this.result = result;
  }
}

/**
 * The text of a failed case: every failed check (rule, expected, observed,
 * the CLI's labels and text), the seeds and the replay command.
 */
export function describeFailure(r: CaseResult, suiteSeed: number): string {
  const lines = [`${r.id} [${r.level}] ${r.status === 'fail' ? 'failed' : 'ended in an error'}: ${r.title}`];
  const checks = r.checks ?? (r.rule !== undefined ? [{ rule: r.rule, expected: r.expected ?? '', observed: r.observed ?? '' }] : []);
  if (checks.length === 0) lines.push(`  reason:   ${r.reason}`);
  for (const check of checks) {
    lines.push(`  rule:     ${check.rule}`, `  expected: ${check.expected}`, `  observed: ${check.observed}`);
  }
  lines.push(`  seed:     ${r.seed} (case seed; suite seed ${suiteSeed})`, `  replay:   ${r.replay}`);
  for (const note of r.notes) lines.push(`  note:     ${note}`);
  return lines.join('\n');
}

function targetLabel(options: TargetOptions): string {
  if (options.adapter !== undefined) return typeof options.adapter?.name === 'string' ? options.adapter.name : 'adapter';
  if (options.url !== undefined) return `websocket ${typeof options.url === 'string' ? options.url : options.url.url}`;
  return 'lanesim reference gateway';
}

function testName(c: ConformanceCase): string {
  return `${c.id} [${c.level}] ${c.rules.join(' ')}: ${c.title}`;
}

/**
 * Registers one vitest test per selected case against `target` (an adapter,
 * a URL, or nothing for lanesim's reference gateway), in a describe block.
 * Options are checked at once (a bad one throws while the file is collected).
 */
export function conformance(target: TargetOptions, options: ConformanceTestOptions = {}): void {
  const levels = options.levels ?? LEVEL_NAMES;
  if (!Array.isArray(levels) || levels.length === 0 || !levels.every((l) => LEVEL_NAMES.includes(l))) {
    throw new TypeError(`lanesim/vitest: levels must be a non-empty list of ${LEVEL_NAMES.join(', ')}, got ${JSON.stringify(options.levels)}`);
  }
  const selected = checkRunOptions(options).filter((c) => levels.includes(c.level));
  if (selected.length === 0) throw new TypeError(`lanesim/vitest: no case has a level in ${levels.join(', ')} among those only/skip select`);
  const seed = options.seed ?? 1;
  const inProcess = target.url === undefined;
  const caseTimeoutMs = options.caseTimeoutMs ?? (inProcess ? 60_000 : 120_000);

  describe(options.name ?? `lanesim conformance: ${targetLabel(target)}`, () => {
    let resolved: Promise<ResolvedTarget> | null = null;
    beforeAll(() => {
      resolved = resolveTarget(target);
      // Built once; a bad target fails every test with its own message (below), not the hook.
      resolved.catch(() => {});
    });
    afterAll(async () => {
      const r = await resolved?.catch(() => null);
      await r?.target.dispose?.();
    });
    for (const c of selected) {
      vitestTest(testName(c), async (ctx: TestContext) => {
        if (resolved === null) throw new Error('lanesim/vitest: the target was not built (beforeAll did not run)');
        const { target: built, replayPrefix } = await resolved;
        const report = await runSuite({ target: built, cases: [c], seed, replayPrefix, caseTimeoutMs });
        const result = report.results[0];
        if (result === undefined) throw new Error(`lanesim/vitest: case ${c.id} produced no result`);
        if (result.status === 'pass') return;
        if (result.status === 'n/a') ctx.skip(`n/a: ${result.reason}`);
        throw new ConformanceCaseError(result, seed);
      }, caseTimeoutMs + 10_000);
    }
  });
}

export interface ExploreTestOptions {
  /** Random workloads to play (docs/CONFORMANCE.md). Default 200. */
  runs?: number;
  /** Seed of the first workload; a failure prints the seed that replays it. Default 1. */
  seed?: number;
  /** Steps per workload (default 14). */
  maxSteps?: number;
  /** vitest timeout of the one test (default 120000 in process, 900000 over WebSocket). */
  timeoutMs?: number;
  name?: string;
}

/**
 * Registers ONE vitest test that plays `runs` random workloads against
 * `target` (`lanesim conform --explore N`), judged by the invariant checkers
 * and against the reference; it fails with the shrunk timeline, the rule and
 * the `--replay` command of the first failing workload.
 */
export function explore(target: TargetOptions, options: ExploreTestOptions = {}): void {
  const runs = options.runs ?? 200;
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(runs) || runs < 1) throw new TypeError(`lanesim/vitest: explore runs must be a whole number >= 1, got ${JSON.stringify(options.runs)}`);
  if (!Number.isSafeInteger(seed)) throw new TypeError(`lanesim/vitest: explore seed must be an integer, got ${JSON.stringify(options.seed)}`);
  const timeout = options.timeoutMs ?? (target.url === undefined ? 120_000 : 900_000);
  vitestTest(options.name ?? `lanesim explore: ${runs} workloads against ${targetLabel(target)} (seed ${seed})`, async () => {
    const { target: built, replayPrefix } = await resolveTarget(target);
    try {
      const result = await runExplore({ target: built, runs, seed, ...(options.maxSteps !== undefined ? { maxSteps: options.maxSteps } : {}) });
      if (result.failures.length > 0) throw new Error(formatResult(result, replayPrefix));
    } finally {
      await built.dispose?.();
    }
  }, timeout);
}

type ConformanceApi = { conformance: typeof conformance; explore: typeof explore };

function extend<T extends object>(base: T): T & ConformanceApi {
  // vitest's own test function, untouched, with two more properties (test.conformance, test.explore).
  return new Proxy(base, {
    get: (t, property, receiver) => (property === 'conformance' ? conformance : property === 'explore' ? explore : Reflect.get(t, property, receiver)),
    has: (t, property) => property === 'conformance' || property === 'explore' || Reflect.has(t, property),
  }) as T & ConformanceApi;
}

/** vitest's `test`, plus `test.conformance(target, options)` and `test.explore(target, options)`. */
export const test: typeof vitestTest & ConformanceApi = extend(vitestTest);
/** vitest's `it`, plus `it.conformance(target, options)`. */
export const it: typeof vitestIt & ConformanceApi = extend(vitestIt);

export type { TargetOptions, UrlTargetOptions } from '../conformance/api.ts';
