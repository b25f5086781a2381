/**
 * Runs cases against a target: filters (--only / --skip by id or prefix),
 * checks capabilities (missing ones: n/a), gives each case a fresh lane queue
 * under fake timers or a fresh gateway session, a seed derived from the suite
 * seed and its id, a time limit, and turns what it throws into a result.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import FakeTimers from '@sinonjs/fake-timers';
import { FULL_SUPPORT, unsupportedByDeclaration } from './support.ts';
import {
  CaseFailure, NotApplicable, setCheckSinkLookup,
  type CaseContext, type CaseResult, type CheckSink, type ConformanceCase, type ConformanceTarget, type FailedCheck, type GatewaySession, type LaneQueueUnderTest,
} from './types.ts';

/** The soft-check sink of the case running in this async context. */
const caseChecks = new AsyncLocalStorage<CheckSink>();
setCheckSinkLookup(() => caseChecks.getStore());

class FailedChecks implements CheckSink {
  readonly list: FailedCheck[] = [];
  record(failure: CaseFailure): void {
    this.list.push({ rule: failure.rule, expected: failure.expected, observed: failure.observed });
  }
}

type InstalledClock = ReturnType<typeof FakeTimers.install>;

export interface SuiteOptions {
  target: ConformanceTarget;
  cases: readonly ConformanceCase[];
  only?: readonly string[];
  skip?: readonly string[];
  seed?: number;
  /** Wall-clock limit per case. */
  caseTimeoutMs?: number;
  /** The command line that selects this target, for replay commands. */
  replayPrefix?: string;
  onProgress?: (done: number, total: number, result: CaseResult) => void;
}

export interface SuiteReport {
  target: string;
  targetKind: string;
  seed: number;
  startedAt: string;
  durationMs: number;
  results: CaseResult[];
  summary: Record<'pass' | 'fail' | 'n/a' | 'error', number> & { mustFailed: number };
}

/** `lane.session` matches `lane.session` and `lane.session.exclusive`, not `lane.sessionx`. */
export function matchesFilter(id: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => id === p || id.startsWith(p.endsWith('.') ? p : `${p}.`) || (p.endsWith('*') && id.startsWith(p.slice(0, -1))));
}

export function selectCases(cases: readonly ConformanceCase[], only?: readonly string[], skip?: readonly string[]): ConformanceCase[] {
  return cases.filter((c) => (only === undefined || only.length === 0 || matchesFilter(c.id, only)) && !(skip !== undefined && matchesFilter(c.id, skip)));
}

/** FNV-1a over the suite seed and the case id: a stable per-case seed. */
export function caseSeed(suiteSeed: number, id: string): number {
  let h = 0x811c9dc5 ^ suiteSeed;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export async function runSuite(options: SuiteOptions): Promise<SuiteReport> {
  const seed = options.seed ?? 1;
  const selected = selectCases(options.cases, options.only, options.skip);
  const started = process.hrtime.bigint();
  const startedAt = new Date().toISOString();
  const results: CaseResult[] = [];
  for (const c of selected) {
    const result = await runCase(c, options, seed);
    results.push(result);
    options.onProgress?.(results.length, selected.length, result);
  }
  const summary = { pass: 0, fail: 0, 'n/a': 0, error: 0, mustFailed: 0 };
  for (const r of results) {
    summary[r.status]++;
    if (r.level === 'MUST' && (r.status === 'fail' || r.status === 'error')) summary.mustFailed++;
  }
  return {
    target: options.target.name,
    targetKind: options.target.kind,
    seed,
    startedAt,
    durationMs: Number(process.hrtime.bigint() - started) / 1e6,
    results,
    summary,
  };
}

async function runCase(c: ConformanceCase, options: SuiteOptions, suiteSeed: number): Promise<CaseResult> {
  const target = options.target;
  const seed = caseSeed(suiteSeed, c.id);
  const notes: string[] = [];
  const base = {
    id: c.id, title: c.title, level: c.level, rules: c.rules, seed, notes,
    replay: `${options.replayPrefix ?? 'npx lanesim conform'} --only ${c.id} --seed ${suiteSeed}`,
  };
  const missing = c.requires.filter((cap) => !target.capabilities.has(cap));
  if (missing.length > 0) {
    return { ...base, checks: [], status: 'n/a', reason: `the target does not expose ${missing.join(', ')}`, durationMs: 0 };
  }
  const supports = target.supports ?? FULL_SUPPORT;
  const undeclared = unsupportedByDeclaration(supports, c.needs ?? []);
  if (undeclared !== null) return { ...base, checks: [], status: 'n/a', reason: undeclared, durationMs: 0 };
  let clock: InstalledClock | null = null;
  const queues: LaneQueueUnderTest[] = [];
  const sessions: GatewaySession[] = [];
  const ctx: CaseContext = {
    target,
    seed,
    lanes: async () => {
      if (target.createLaneQueue === undefined) throw new NotApplicable('the target has no lane queue');
      if (clock === null) clock = FakeTimers.install({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date'], loopLimit: 10_000_000 });
      const queue = await target.createLaneQueue();
      queues.push(queue);
      return queue;
    },
    advance: async (ms) => {
      if (clock === null) throw new Error('advance() before lanes(): no fake clock');
      await clock.tickAsync(ms);
    },
    now: () => (clock === null ? 0 : clock.now),
    gateway: async (opts) => {
      if (target.openGateway === undefined) throw new NotApplicable('the target has no gateway');
      const session = await target.openGateway(opts ?? {});
      sessions.push(session);
      return session;
    },
    note: (text) => void notes.push(text),
    supports,
  };
  const checks = new FailedChecks();
  const t0 = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e6;
  const limit = options.caseTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  // The real timer functions, taken before a case installs fake ones.
  const realSetTimeout = globalThis.setTimeout;
  const realClearTimeout = globalThis.clearTimeout;
  let thrown: unknown = null;
  try {
    await caseChecks.run(checks, () => Promise.race([
      c.run(ctx),
      new Promise<never>((_, reject) => {
        timer = realSetTimeout(() => reject(new Error(`case did not finish within ${limit} ms (wall clock)`)), limit);
      }),
    ]));
  } catch (error) {
    thrown = error;
  } finally {
    if (timer !== undefined) realClearTimeout(timer);
    // The case's own cleanup never decides its outcome: errors closing sessions are ignored.
    for (const session of sessions) await session.close().catch(() => {});
    for (const queue of queues) await Promise.resolve(queue.dispose?.()).catch(() => {});
    if (clock !== null) (clock as InstalledClock).uninstall();
  }
  return verdict(base, checks.list, thrown, elapsed());
}

type ResultBase = Omit<CaseResult, 'status' | 'reason' | 'durationMs' | 'checks' | 'rule' | 'expected' | 'observed'>;

/**
 * The case's verdict is the worst of its checks: any failed check (soft or
 * the hard one that stopped it) fails it; only then does a stop for a missing
 * precondition or capability (n/a) or a harness error count, and it is kept
 * as a note so nothing is hidden.
 */
export function verdict(base: ResultBase, soft: readonly FailedCheck[], thrown: unknown, durationMs: number): CaseResult {
  const checks = [...soft];
  if (thrown instanceof CaseFailure) checks.push({ rule: thrown.rule, expected: thrown.expected, observed: thrown.observed });
  const stopped = thrown === null || thrown instanceof CaseFailure ? null
    : thrown instanceof NotApplicable ? thrown.message
    : `harness or gateway error: ${(thrown instanceof Error ? thrown.message : String(thrown)).split('\n')[0]}`;
  if (checks.length > 0) {
    const first = checks[0]!;
    const notes = stopped === null ? base.notes : [...base.notes, `the case stopped early: ${stopped}`];
    const reason = checks.length === 1 ? `${first.rule}: expected ${first.expected}; observed ${first.observed}`
      : `${checks.length} failed checks (${[...new Set(checks.map((k) => k.rule))].join(', ')}); first ${first.rule}: expected ${first.expected}; observed ${first.observed}`;
    return { ...base, notes, checks, status: 'fail', reason, rule: first.rule, expected: first.expected, observed: first.observed, durationMs };
  }
  if (thrown === null) return { ...base, checks, status: 'pass', reason: 'ok', durationMs };
  if (thrown instanceof NotApplicable) return { ...base, checks, status: 'n/a', reason: thrown.message, durationMs };
  return { ...base, checks, status: 'error', reason: stopped!, durationMs };
}
