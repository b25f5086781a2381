/**
 * Runs cases against a target: filters (--only / --skip by id or prefix),
 * checks capabilities (missing ones: n/a, naming the flag that would give
 * them), gives each case a fresh lane queue under fake timers or a fresh
 * gateway session, a seed derived from the suite seed and its id, a time
 * limit, a transcript of what it sent and received, and turns what it throws
 * into a result.
 *
 * Concurrency (`concurrency`, --concurrency): over WebSocket, cases run side
 * by side on their own sessions (own session keys, own connections) where
 * they share no state (scheduleClass): a case that uses the gateway's runs
 * shares the fake model's one script and the gateway's global lanes, so those
 * run one at a time per gateway (give the suite more gateways like the first,
 * each with its own fake model, `pool`, to run that many at once);
 * connection-level cases (raw sockets only) run beside them; a case marked
 * `exclusive` runs alone (the exclusive ones last). In process everything is serial:
 * lane cases and in-process gateways install one global fake clock. Results
 * come back in catalogue order whatever the order they finished in.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import FakeTimers from '@sinonjs/fake-timers';
import { explainNotApplicable, missingCapabilityReason } from './plan.ts';
import { FULL_SUPPORT, unsupportedByDeclaration } from './support.ts';
import { TranscriptRecorder, runInCaseScope } from './transcript.ts';
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
  /** Cases run at once at most (websocket targets; in process always 1). Default 1. */
  concurrency?: number;
  /**
   * More gateways like `target` (same implementation, same configuration, each
   * with its own model): a case that uses the gateway's runs takes one of them
   * (target or a pool member) for itself, so that many such cases run at once
   * without sharing a lane or a model script. Connection-level and exclusive
   * cases use `target`.
   */
  pool?: readonly ConformanceTarget[];
  /** Keep every case's transcript in its result ('all'), or only failed and errored cases' ('failed', the default). */
  transcripts?: 'all' | 'failed';
  onProgress?: (done: number, total: number, result: CaseResult) => void;
}

export interface SuiteReport {
  target: string;
  targetKind: string;
  seed: number;
  startedAt: string;
  durationMs: number;
  /** Cases run at once at most. */
  concurrency: number;
  results: CaseResult[];
  summary: Record<'pass' | 'fail' | 'n/a' | 'error', number> & { mustFailed: number };
}

/**
 * How a case may share the run with others:
 * - exclusive: alone (marked by the case, or any in-process case: one global fake clock);
 * - gateway-runs: it may script the fake model (one script for the whole gateway)
 *   and its runs take the gateway's global lane slots: one such case at a time;
 * - connection: raw connections only (handshake, bad input, pings), or a case marked
 *   `connectionOnly` (no run, no script): beside anything that is not exclusive.
 */
export type ScheduleClass = 'exclusive' | 'gateway-runs' | 'connection';

export function scheduleClass(c: ConformanceCase, target: ConformanceTarget): ScheduleClass {
  if (c.exclusive === true || target.kind === 'in-process') return 'exclusive';
  if (c.connectionOnly === true && !c.requires.includes('model-script')) return 'connection';
  if (c.requires.includes('gateway') || c.requires.includes('model-script')) return 'gateway-runs';
  return 'connection';
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
  const concurrency = options.target.kind === 'in-process' ? 1 : Math.max(1, Math.floor(options.concurrency ?? 1));
  const gateways = [options.target, ...(options.target.kind === 'in-process' ? [] : options.pool ?? [])];
  const started = process.hrtime.bigint();
  const startedAt = new Date().toISOString();
  const results = await schedule(selected, concurrency, (c) => scheduleClass(c, options.target), (c, gateway) => runCase(c, options, seed, gateways[gateway]!), (done, result) => options.onProgress?.(done, selected.length, result), gateways.length);
  const summary = { pass: 0, fail: 0, 'n/a': 0, error: 0, mustFailed: 0 };
  for (const r of results) {
    summary[r.status]++;
    if (r.level === 'MUST' && (r.status === 'fail' || r.status === 'error')) summary.mustFailed++;
  }
  return {
    target: gateways.length > 1 ? `${options.target.name} (+${gateways.length - 1} like it)` : options.target.name,
    targetKind: options.target.kind,
    seed,
    startedAt,
    durationMs: Number(process.hrtime.bigint() - started) / 1e6,
    concurrency,
    results,
    summary,
  };
}

/**
 * Runs `items` with at most `limit` at once, honouring their classes (see
 * ScheduleClass); returns the results in the order of `items`. The first
 * waiting item that can start starts; exclusive items come last, one by one,
 * each alone once everything else has finished.
 * `gateways` gateways alike: a gateway-runs item takes one (its index is
 * passed to `run`) and no other gateway-runs item runs on it meanwhile; the
 * other classes run on gateway 0.
 */
export async function schedule<T, R>(
  items: readonly T[],
  limit: number,
  classOf: (item: T) => ScheduleClass,
  run: (item: T, gateway: number) => Promise<R>,
  onDone?: (done: number, result: R) => void,
  gateways = 1,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const classes = items.map(classOf);
  // Exclusive items last: one met mid-way would wait for every running item to finish (a case
  // watching heartbeats for two minutes) with the other gateways idle, and what an exclusive case
  // leaves behind (a wrong-token throttle still refilling, megabytes in socket buffers) must not
  // meet the cases after it.
  const waiting = [...items.keys()].sort((a, b) => Number(classes[a] === 'exclusive') - Number(classes[b] === 'exclusive') || a - b);
  const running = new Map<number, ScheduleClass>();
  /** Gateway index -> the gateway-runs item on it. */
  const busy = new Map<number, number>();
  let done = 0;
  return new Promise<R[]>((resolve, reject) => {
    const freeGateway = (): number => {
      for (let g = 0; g < gateways; g++) if (!busy.has(g)) return g;
      return -1;
    };
    const canStart = (cls: ScheduleClass): boolean => {
      if (running.size >= limit) return false;
      if (cls === 'exclusive') return running.size === 0;
      for (const other of running.values()) if (other === 'exclusive') return false;
      return cls !== 'gateway-runs' || freeGateway() >= 0;
    };
    const pump = (): void => {
      if (waiting.length === 0 && running.size === 0) {
        resolve(results);
        return;
      }
      for (let k = 0; k < waiting.length && running.size < limit;) {
        const i = waiting[k]!;
        const cls = classes[i]!;
        if (!canStart(cls)) {
          if (cls === 'exclusive') break;
          k++;
          continue;
        }
        waiting.splice(k, 1);
        running.set(i, cls);
        const gateway = cls === 'gateway-runs' ? freeGateway() : 0;
        if (cls === 'gateway-runs') busy.set(gateway, i);
        run(items[i]!, gateway).then((result) => {
          results[i] = result;
          running.delete(i);
          if (cls === 'gateway-runs') busy.delete(gateway);
          done++;
          onDone?.(done, result);
          pump();
        }, reject);
      }
    };
    pump();
  });
}

async function runCase(c: ConformanceCase, options: SuiteOptions, suiteSeed: number, target: ConformanceTarget): Promise<CaseResult> {
  const seed = caseSeed(suiteSeed, c.id);
  const notes: string[] = [];
  const base = {
    id: c.id, title: c.title, level: c.level, rules: c.rules, seed, notes,
    replay: `${options.replayPrefix ?? 'npx lanesim conform'} --only ${c.id} --seed ${suiteSeed}`,
  };
  const missing = c.requires.filter((cap) => !target.capabilities.has(cap));
  if (missing.length > 0) {
    return { ...base, checks: [], status: 'n/a', reason: missingCapabilityReason(missing, target), durationMs: 0 };
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
  const transcript = new TranscriptRecorder();
  const t0 = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e6;
  const limit = options.caseTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  // The real timer functions, taken before a case installs fake ones.
  const realSetTimeout = globalThis.setTimeout;
  const realClearTimeout = globalThis.clearTimeout;
  let thrown: unknown = null;
  try {
    await runInCaseScope({ caseId: c.id, transcript }, () => caseChecks.run(checks, () => Promise.race([
      c.run(ctx),
      new Promise<never>((_, reject) => {
        timer = realSetTimeout(() => reject(new Error(`case did not finish within ${limit} ms (wall clock)`)), limit);
      }),
    ])));
  } catch (error) {
    thrown = error;
  } finally {
    if (timer !== undefined) realClearTimeout(timer);
    const keep = options.transcripts === 'all' || checks.list.length > 0 || (thrown !== null && !(thrown instanceof NotApplicable));
    if (keep) for (const session of sessions) await recordModelRequests(session, transcript, realSetTimeout, realClearTimeout);
    // The case's own cleanup never decides its outcome: errors closing sessions are ignored.
    for (const session of sessions) await session.close().catch(() => {});
    for (const queue of queues) await Promise.resolve(queue.dispose?.()).catch(() => {});
    if (clock !== null) (clock as InstalledClock).uninstall();
  }
  const result = verdict(base, checks.list, thrown, elapsed());
  if (result.status === 'n/a') result.reason = explainNotApplicable(result.reason, target);
  if (options.transcripts === 'all' || result.status === 'fail' || result.status === 'error') result.transcript = transcript.snapshot();
  return result;
}

/** The requests the model got during the case, into its transcript (bounded: 5 s; a failure is noted, never thrown). */
async function recordModelRequests(session: GatewaySession, transcript: TranscriptRecorder, setT: typeof setTimeout, clearT: typeof clearTimeout): Promise<void> {
  if (session.modelRequests === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    const log = await Promise.race([
      session.modelRequests(),
      new Promise<null>((resolve) => {
        timer = setT(() => resolve(null), 5_000);
      }),
    ]);
    if (log === null) {
      transcript.record('note', 'harness', 'the model request log did not answer within 5 s');
      return;
    }
    for (const e of log) {
      transcript.record('model', 'model', {
        index: e.index, rule: e.rule, model: e.model, stream: e.stream, outcome: (e as { outcome?: unknown }).outcome,
        durationMs: e.durationMs, userMessages: e.userMessages, lastToolResult: e.lastToolResult,
      }, e.t);
    }
  } catch (error) {
    transcript.record('note', 'harness', `could not read the model request log: ${(error as Error).message}`);
  } finally {
    if (timer !== undefined) clearT(timer);
  }
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
