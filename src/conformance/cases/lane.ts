/**
 * The lane family of the conformance catalogue (docs/SPEC.md §2 LANE-*, §3
 * DIAG-*), run against any LaneQueueUnderTest.
 *
 * What a case may observe: only what the harness itself controls. Its task
 * functions record when they start and end (Date.now(): the fake clock) and
 * in which lane and session; the promises enqueue() returns tell how each
 * task settled; laneWaits() (where the queue offers it) gives the lane-wait
 * diagnostics. A case never asks the queue how many tasks it holds.
 *
 * A *message run* is enqueued the OpenClaw way (LANE-5, LANE-7):
 *   queue.enqueue('session:<k>', () => queue.enqueue('main', task))
 * so its session slot is held while it waits for `main`.
 *
 * Caps: a case only relies on caps it sets itself with setConcurrency();
 * defaults (main, subagent, cron, nested) are the adapter's business.
 *
 * Besides its own rules, every case checks the invariants the harness can
 * see in any run (LANE_BASE_RULES): no two holders of a session lane (LANE-2),
 * no task started while its lane's running tasks number the cap the case set
 * (LANE-3; LANE-10 right after a lowering), no task function entered twice
 * (LANE-8), no task rejected with another task's error (LANE-9). A breach is
 * reported under that rule even when the case lists other rules.
 *
 * Every check names one rule and says exactly what it expected and what it
 * observed, in virtual milliseconds. The order of checks inside a case is
 * deliberate: the most basic rule a misbehaviour breaks is reported (a lane
 * over its cap is reported as LANE-3 before the timing it also disturbs).
 */
import { Prng } from '../../model/prng.ts';
import { NotApplicable, checkRule, expectRule, type CaseContext, type ConformanceCase, type LaneQueueUnderTest, type LaneWaitRecord } from '../types.ts';

// ------------------------------------------------------------------ the probe

/** LANE-1: a blank lane name means `main`. */
function laneName(name: string): string {
  const trimmed = name.trim();
  return trimmed === '' ? 'main' : trimmed;
}

/** What a task does once started: run `ms` of virtual time, then resolve with its id or fail. */
interface Work {
  ms?: number;
  /** 'sync': throws as soon as it is called; 'async': its promise rejects after `ms`. */
  fail?: 'sync' | 'async';
}

type Status = 'pending' | 'ok' | 'error';

/** One task (or message run) the case enqueued, and everything the harness saw of it. */
interface Entry {
  readonly id: string;
  /** Where its task function runs (normalized); for a message run, the global lane. */
  readonly lane: string;
  /** Message runs: the session key. */
  readonly session: string | null;
  readonly enqueuedAt: number;
  /** The error this task throws when its Work says fail. */
  readonly ownError: Error;
  /** Message runs: when the outer task got `session:<k>` and joined `lane`. */
  arrivedAt: number | null;
  arrivalSeq: number;
  startedAt: number | null;
  startSeq: number;
  endedAt: number | null;
  /** How many times the task function was entered. */
  runs: number;
  status: Status;
  value: unknown;
  error: unknown;
  settledAt: number | null;
  settleCount: number;
  /** enqueue() threw instead of returning a promise. */
  refusedSync: boolean;
}

interface CapViolation {
  lane: string;
  at: number;
  cap: number;
  lowered: boolean;
  ids: string[];
}

function describeValue(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === 'object' && value !== null && 'message' in value) return `${String((value as { message: unknown }).message)}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function isErrorLike(value: unknown): boolean {
  return value instanceof Error || (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string');
}

class LaneProbe {
  readonly entries = new Map<string, Entry>();
  private readonly caps = new Map<string, number>();
  private readonly lowered = new Set<string>();
  private readonly running = new Map<string, Set<string>>();
  private readonly sessionHolders = new Map<string, Set<string>>();
  private capViolation: CapViolation | null = null;
  private sessionViolation: { lane: string; at: number; ids: string[] } | null = null;
  private seq = 0;

  constructor(
    readonly q: LaneQueueUnderTest,
    readonly ctx: CaseContext,
  ) {}

  now(): number {
    return this.ctx.now();
  }

  /** Lets virtual time run to `t` (timers and the microtasks between them). */
  async until(t: number): Promise<void> {
    const now = this.now();
    if (t < now) throw new Error(`harness: until(${t}) is in the past (now ${now})`);
    await this.ctx.advance(t - now);
    // Let promise chains started by the last timers settle at this same instant.
    await this.ctx.advance(0);
  }

  setCap(lane: string, maxConcurrent: number): void {
    const name = laneName(lane);
    const previous = this.caps.get(name);
    // Recorded first: a queue may grant synchronously inside setConcurrency (LANE-10).
    this.caps.set(name, maxConcurrent);
    if (previous !== undefined && maxConcurrent < previous) this.lowered.add(name);
    else this.lowered.delete(name);
    this.q.setConcurrency(lane, maxConcurrent);
  }

  /** LANE-14: reset the lane; the harness, like the lane, stops counting its running tasks (first: a queue may grant inside resetLane). */
  resetLane(lane: string): string[] {
    const reset = this.q.resetLane;
    if (reset === undefined) throw new NotApplicable('the lane queue has no resetLane()');
    const set = this.runningIn(laneName(lane));
    const ids = [...set];
    set.clear();
    reset.call(this.q, lane);
    return ids;
  }

  get(id: string): Entry {
    const entry = this.entries.get(id);
    if (entry === undefined) throw new Error(`harness: no entry ${id}`);
    return entry;
  }

  /** Running (task function entered, not yet ended) in `lane`, by the harness's count. */
  runningIn(lane: string): Set<string> {
    let set = this.running.get(lane);
    if (set === undefined) {
      set = new Set();
      this.running.set(lane, set);
    }
    return set;
  }

  private newEntry(id: string, lane: string, session: string | null): Entry {
    if (this.entries.has(id)) throw new Error(`harness: duplicate id ${id}`);
    const entry: Entry = {
      id, lane: laneName(lane), session, enqueuedAt: this.now(), ownError: new Error(`task ${id} failed`),
      arrivedAt: null, arrivalSeq: -1, startedAt: null, startSeq: -1, endedAt: null, runs: 0,
      status: 'pending', value: undefined, error: undefined, settledAt: null, settleCount: 0, refusedSync: false,
    };
    this.entries.set(id, entry);
    return entry;
  }

  private holdSession(lane: string, entry: Entry): void {
    let holders = this.sessionHolders.get(lane);
    if (holders === undefined) {
      holders = new Set();
      this.sessionHolders.set(lane, holders);
    }
    if (holders.size >= 1 && this.sessionViolation === null) {
      this.sessionViolation = { lane, at: this.now(), ids: [...holders, entry.id] };
    }
    holders.add(entry.id);
  }

  private releaseSession(lane: string, entry: Entry): void {
    this.sessionHolders.get(lane)?.delete(entry.id);
  }

  private onStart(entry: Entry): void {
    entry.runs++;
    entry.startedAt ??= this.now();
    entry.startSeq = this.seq++;
    if (entry.lane.startsWith('session:')) this.holdSession(entry.lane, entry);
    const set = this.runningIn(entry.lane);
    const cap = this.caps.get(entry.lane);
    if (cap !== undefined && set.size >= cap && this.capViolation === null) {
      this.capViolation = { lane: entry.lane, at: this.now(), cap, lowered: this.lowered.has(entry.lane), ids: [...set, entry.id] };
    }
    set.add(entry.id);
  }

  private onEnd(entry: Entry): void {
    entry.endedAt = this.now();
    this.runningIn(entry.lane).delete(entry.id);
    if (entry.lane.startsWith('session:')) this.releaseSession(entry.lane, entry);
  }

  /** The task function the harness hands to enqueue(). */
  private body(entry: Entry, work: Work): () => unknown {
    return () => {
      this.onStart(entry);
      if (work.fail === 'sync') {
        this.onEnd(entry);
        throw entry.ownError;
      }
      const ms = work.ms ?? 0;
      const finish = (): unknown => {
        this.onEnd(entry);
        if (work.fail === 'async') throw entry.ownError;
        return entry.id;
      };
      if (ms === 0) return Promise.resolve().then(finish);
      return new Promise((resolve, reject) => {
        setTimeout(() => {
          try {
            resolve(finish());
          } catch (error) {
            reject(error);
          }
        }, ms);
      });
    };
  }

  private settle(entry: Entry, status: 'ok' | 'error', value: unknown): void {
    entry.settleCount++;
    if (entry.settleCount > 1) return;
    entry.status = status;
    entry.settledAt = this.now();
    if (status === 'ok') entry.value = value;
    else entry.error = value;
  }

  private track(entry: Entry, submit: () => Promise<unknown>): void {
    let promise: Promise<unknown>;
    try {
      promise = submit();
    } catch (error) {
      entry.refusedSync = true;
      this.settle(entry, 'error', error);
      return;
    }
    promise.then(
      (value) => this.settle(entry, 'ok', value),
      (error: unknown) => this.settle(entry, 'error', error),
    );
  }

  /** A single-lane task. */
  enqueue(id: string, lane: string, work: Work = {}, options?: { signal?: AbortSignal }): Entry {
    const entry = this.newEntry(id, lane, null);
    this.track(entry, () => this.q.enqueue(lane, this.body(entry, work), options));
    return entry;
  }

  /** A message run: `session:<key>`, then, inside that slot, `lane` (default main). */
  message(id: string, session: string, work: Work = {}, lane = 'main'): Entry {
    const entry = this.newEntry(id, lane, session);
    const sessionLane = `session:${session}`;
    const outer = (): Promise<unknown> => {
      entry.arrivedAt = this.now();
      entry.arrivalSeq = this.seq++;
      this.holdSession(sessionLane, entry);
      let inner: Promise<unknown>;
      try {
        inner = this.q.enqueue(lane, this.body(entry, work));
      } catch (error) {
        this.releaseSession(sessionLane, entry);
        throw error;
      }
      return inner.finally(() => this.releaseSession(sessionLane, entry));
    };
    this.track(entry, () => this.q.enqueue(sessionLane, outer));
    return entry;
  }

  // ---------------------------------------------------------------- checks

  /** LANE-2: no two holders of a session lane at once (message runs hold it from arrival to settlement). */
  checkSessions(): void {
    const v = this.sessionViolation;
    if (v !== null) {
      checkRule(false,
        'LANE-2',
        `at most one task at a time holding ${v.lane} (the session lock, maxConcurrent 1)`,
        `${v.ids.join(' and ')} held ${v.lane} at the same time at t=${v.at}`,
      );
    }
  }

  /** LANE-3 (LANE-10 after a lowering): no task starts while its lane's running tasks number its cap. */
  checkCaps(): void {
    const v = this.capViolation;
    if (v !== null) {
      checkRule(false,
        v.lowered ? 'LANE-10' : 'LANE-3',
        `at most ${v.cap} task(s) running in ${v.lane} (cap ${v.cap}${v.lowered ? ', just lowered: no grant until fewer than that run' : ''})`,
        `${v.ids.length} running at t=${v.at}: ${v.ids.join(', ')}`,
      );
    }
  }

  /** LANE-9: an error reaches only its own caller: no entry rejects with another entry's error object. */
  checkErrorsLocal(): void {
    const seen = new Map<unknown, Entry>();
    for (const entry of this.entries.values()) seen.set(entry.ownError, entry);
    const rejectedWith = new Map<unknown, Entry>();
    for (const entry of this.entries.values()) {
      if (entry.status !== 'error' || entry.error === null || typeof entry.error !== 'object') continue;
      const owner = seen.get(entry.error);
      if (owner !== undefined && owner !== entry) {
        checkRule(false,
          'LANE-9',
          `${entry.id} to settle with its own outcome (an error reaches only its own caller)`,
          `${entry.id} ${this.describeOutcome(entry)}: the error thrown by ${owner.id}'s task${entry.runs === 0 ? `; ${entry.id}'s task never ran` : ''}`,
        );
        return; // one LANE-9 failure tells it; the rest follow from it
      }
      const twin = rejectedWith.get(entry.error);
      if (twin !== undefined) {
        checkRule(false,
          'LANE-9',
          `${entry.id} to settle with its own outcome (an error reaches only its own caller)`,
          `${entry.id} ${this.describeOutcome(entry)}: the same error object ${twin.id} was rejected with${entry.runs === 0 ? `; ${entry.id}'s task never ran` : ''}`,
        );
        return;
      }
      rejectedWith.set(entry.error, entry);
    }
  }

  /** LANE-8: every task function entered at most once. */
  checkRunsOnce(): void {
    for (const entry of this.entries.values()) {
      if (!checkRule(entry.runs <= 1, 'LANE-8', `${entry.id}'s task to run once`, `it ran ${entry.runs} times`)) return;
    }
  }

  /** Every check that holds in every case. */
  checkBasics(): void {
    this.checkSessions();
    this.checkCaps();
    this.checkErrorsLocal();
    this.checkRunsOnce();
  }

  describeStart(entry: Entry): string {
    if (entry.startedAt !== null) return `${entry.id} started at t=${entry.startedAt}`;
    if (entry.status !== 'pending') return `${entry.id} never started (it ${this.describeOutcome(entry)})`;
    return `${entry.id} had not started by t=${this.now()}`;
  }

  describeOutcome(entry: Entry): string {
    if (entry.status === 'pending') return `was still pending at t=${this.now()}`;
    const how = entry.refusedSync ? 'threw from enqueue()' : entry.status === 'ok' ? `resolved with ${describeValue(entry.value)}` : `rejected with ${describeValue(entry.error)}`;
    return `${how} at t=${entry.settledAt}`;
  }

  expectStart(entry: Entry, t: number, rule: string, because: string): void {
    checkRule(entry.startedAt === t, rule, `${entry.id} to start at t=${t} (${because})`, () => this.describeStart(entry));
  }

  /** Resolved with its own value (its id) at `at`. */
  expectOk(entry: Entry, at: number, rule: string, because: string): void {
    checkRule(
      entry.status === 'ok' && entry.value === entry.id && entry.settledAt === at,
      rule,
      `${entry.id} to resolve with ${JSON.stringify(entry.id)} at t=${at} (${because})`,
      () => `${entry.id} ${this.describeOutcome(entry)}`,
    );
  }

  /** Rejected (or refused at enqueue) with an Error, by `by`, and its task never ran. */
  expectRemoved(entry: Entry, by: number, rule: string, because: string): void {
    checkRule(
      entry.runs === 0,
      rule,
      `${entry.id} never to run (${because})`,
      () => `${this.describeStart(entry)}; it ${this.describeOutcome(entry)}`,
    );
    checkRule(
      entry.status === 'error' && entry.settledAt !== null && entry.settledAt <= by && isErrorLike(entry.error),
      rule,
      `${entry.id} to be rejected with an Error by t=${by} (${because})`,
      () => `${entry.id} ${this.describeOutcome(entry)}`,
    );
  }

  /** Start times of the entries, sorted. */
  startTimes(entries: readonly Entry[]): (number | null)[] {
    return entries.map((e) => e.startedAt).sort((a, b) => (a ?? Infinity) - (b ?? Infinity));
  }
}

async function probeFor(ctx: CaseContext): Promise<LaneProbe> {
  return new LaneProbe(await ctx.lanes(), ctx);
}

function list(values: readonly unknown[]): string {
  return `[${values.map((v) => (v === null ? 'never' : String(v))).join(', ')}]`;
}

function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The ids in the order their task functions started (only those that started). */
function startOrderOf(entries: readonly Entry[]): string[] {
  return entries.filter((e) => e.startedAt !== null).sort((a, b) => a.startSeq - b.startSeq).map((e) => e.id);
}

function laneWaitsOf(q: LaneQueueUnderTest): () => LaneWaitRecord[] {
  const read = q.laneWaits;
  if (read === undefined) throw new NotApplicable('the lane queue does not expose lane-wait diagnostics (laneWaits)');
  return () => read.call(q);
}

function describeRecords(records: readonly LaneWaitRecord[]): string {
  if (records.length === 0) return 'no record';
  return records
    .map((r) => `{lane=${r.lane} waitedMs=${r.waitedMs} queueAhead=${r.queueAhead}${r.activeAhead === undefined ? '' : ` activeAhead=${r.activeAhead}`}${r.activeNow === undefined ? '' : ` activeNow=${r.activeNow}`}${r.queueBehind === undefined ? '' : ` queueBehind=${r.queueBehind}`}}`)
    .join(', ');
}

// ------------------------------------------------------------------ cases

/** Checked in every lane case (see the module doc), whatever the case's own `rules`. */
export const LANE_BASE_RULES: readonly string[] = ['LANE-2', 'LANE-3', 'LANE-8', 'LANE-9', 'LANE-10'];

const REQUIRES = ['lanes'] as const;

const blankIsMain: ConformanceCase = {
  id: 'lane.name.blank-is-main',
  title: 'A blank lane name is the lane `main`',
  rules: ['LANE-1', 'LANE-3'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Set main to 1. At t=0 enqueue A and B into "main", then C into "" and D into "   " (1000 ms each). ' +
    'A and B (exact names) judge the cap: B does not start before A ends (LANE-3). If the cap held, the blank names judge LANE-1: ' +
    'C and D join the same cap-1 lane, so the four run one after the other (starts 0, 1000, 2000, 3000); a blank-named task running beside another is a lane of its own.',
  async run(ctx) {
    const p = await probeFor(ctx);
    p.setCap('main', 1);
    const a = p.enqueue('A', 'main', { ms: 1000 });
    const b = p.enqueue('B', 'main', { ms: 1000 });
    const c = p.enqueue('C', '', { ms: 1000 });
    const d = p.enqueue('D', '   ', { ms: 1000 });
    await p.until(4000);
    // Not checkCaps(): the probe counts "" and "   " as main, so a blank name that is a lane of its own would look like a
    // cap breach of main. The cap is judged on the exact name only; the blank names under LANE-1.
    p.checkSessions();
    p.checkErrorsLocal();
    p.checkRunsOnce();
    p.expectStart(a, 0, 'LANE-3', 'main is free');
    // Only the cap: B must not run beside A (when it starts after that is FIFO's business, LANE-4).
    const capHeld = checkRule(b.startedAt === null || b.startedAt >= 1000, 'LANE-3', 'B not to start before A ends at t=1000 ("main" has cap 1)', () => p.describeStart(b));
    if (!capHeld) {
      ctx.note('main did not keep its cap with exact names: the blank names are not judged (LANE-1 would only repeat the cap breach)');
      return;
    }
    const all = [a, b, c, d];
    const overlapping = [c, d].filter((x) => x.startedAt !== null && all.some((y) => y !== x && y.startedAt !== null && y.startedAt < x.startedAt! + 1000 && x.startedAt! < y.startedAt + 1000));
    const starts = p.startTimes(all);
    checkRule(
      overlapping.length === 0 && sameList(starts, [0, 1000, 2000, 3000]),
      'LANE-1',
      'start times [0, 1000, 2000, 3000]: lanes "", "   " and "main" are one lane with cap 1',
      `start times A ${a.startedAt ?? 'never'}, B ${b.startedAt ?? 'never'}, C ("") ${c.startedAt ?? 'never'}, D ("   ") ${d.startedAt ?? 'never'}` +
        (overlapping.length > 0 ? `: ${overlapping.map((x) => x.id).join(' and ')} ran beside a task of main (a lane of their own)` : ''),
    );
    ctx.note(`"main", the empty name and an all-spaces name shared one cap-1 lane: A, B, C, D started at t=${a.startedAt}, ${b.startedAt}, ${c.startedAt}, ${d.startedAt}`);
  },
};

const sessionExclusive: ConformanceCase = {
  id: 'lane.session.exclusive',
  title: 'Two runs of one session never overlap (session lock)',
  rules: ['LANE-2', 'LANE-5'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Set main to 4. At t=0 send message runs s1, s2, s3 in session s and t1 in session t (1000 ms each), ' +
    'each enqueued into session:<k> and, inside that slot, into main. Never two holders of session:s; ' +
    'session s runs one at a time although main has room (starts 0, 1000, 2000); t1 runs at t=0.',
  async run(ctx) {
    const p = await probeFor(ctx);
    p.setCap('main', 4);
    const s = [p.message('s1', 's', { ms: 1000 }), p.message('s2', 's', { ms: 1000 }), p.message('s3', 's', { ms: 1000 })];
    const t1 = p.message('t1', 't', { ms: 1000 });
    await p.until(3000);
    p.checkBasics();
    const starts = p.startTimes(s);
    checkRule(
      sameList(starts, [0, 1000, 2000]),
      'LANE-2',
      'the runs of session s to start at t=0, 1000, 2000, one after the other (main has room for all)',
      `start times ${list(starts)}`,
    );
    p.expectStart(t1, 0, 'LANE-2', 'session t is another lock; main has room');
    ctx.note(`session s ran one at a time (starts ${list(starts)}) with main at cap 4; t1 started at t=0`);
  },
};

const sessionHeld: ConformanceCase = {
  id: 'lane.session.held-while-waiting',
  title: 'A run keeps its session slot while it waits for main',
  rules: ['LANE-7', 'LANE-2', 'LANE-5', 'LANE-3'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Set main to 1. At t=0 send X (session x, 5000 ms), then A and B (session s, 1000 ms each). ' +
    'X takes main; A gets session:s and waits for main until t=5000, holding session:s; ' +
    'B must not even enter session:s before A ends at t=6000; B runs 6000-7000.',
  async run(ctx) {
    const p = await probeFor(ctx);
    p.setCap('main', 1);
    const x = p.message('X', 'x', { ms: 5000 });
    const a = p.message('A', 's', { ms: 1000 });
    const b = p.message('B', 's', { ms: 1000 });
    await p.until(7000);
    // A holds session:s from t=0 (waiting for main) until its run ends: B entering before that is a second holder.
    p.checkBasics();
    p.expectStart(x, 0, 'LANE-7', 'main is free');
    checkRule(a.arrivedAt === 0, 'LANE-7', 'A to get session:s at t=0 and join main', () => `A got session:s at t=${a.arrivedAt}`);
    p.expectStart(a, 5000, 'LANE-7', 'A waits in main until X ends at t=5000');
    checkRule(b.arrivedAt === 6000, 'LANE-7', 'B to enter session:s at t=6000, when A ends', () => `B entered session:s at ${b.arrivedAt === null ? 'no time' : `t=${b.arrivedAt}`}`);
    p.expectStart(b, 6000, 'LANE-7', 'B joins main at t=6000, which is free');
    ctx.note('A held session:s while waiting for main 0-5000 ms; B entered session:s only at t=6000 and ran at t=6000');
  },
};

const globalCap: ConformanceCase = {
  id: 'lane.global.cap',
  title: 'main never runs more tasks than its cap; the next one waits',
  rules: ['LANE-3'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Set main to 2. At t=0 enqueue M1, M2, M3 into main (1000 ms each). ' +
    'M1 and M2 start at t=0; M3 waits and starts at t=1000; never more than 2 run.',
  async run(ctx) {
    const p = await probeFor(ctx);
    p.setCap('main', 2);
    const m = [p.enqueue('M1', 'main', { ms: 1000 }), p.enqueue('M2', 'main', { ms: 1000 }), p.enqueue('M3', 'main', { ms: 1000 })];
    await p.until(2000);
    p.checkBasics();
    p.expectStart(m[0]!, 0, 'LANE-3', 'main has 2 free slots');
    p.expectStart(m[1]!, 0, 'LANE-3', 'main has a second free slot');
    p.expectStart(m[2]!, 1000, 'LANE-3', 'the 3rd waits for a slot: M1 and M2 end at t=1000');
    ctx.note('main at cap 2: M1, M2 started at t=0, M3 waited until t=1000; never 3 running');
  },
};

const globalCapOther: ConformanceCase = {
  id: 'lane.global.cap-other-lanes',
  title: 'Other global lanes keep their own caps, independently',
  rules: ['LANE-3', 'LANE-1'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Set subagent to 3 and cron to 2. At t=0 enqueue 6 tasks into each (1000 ms). ' +
    'subagent starts 3 at t=0 and 3 at t=1000; cron 2 at t=0, 2 at t=1000, 2 at t=2000.',
  async run(ctx) {
    const p = await probeFor(ctx);
    p.setCap('subagent', 3);
    p.setCap('cron', 2);
    const sub: Entry[] = [];
    const cron: Entry[] = [];
    for (let i = 0; i < 6; i++) {
      sub.push(p.enqueue(`sub${i}`, 'subagent', { ms: 1000 }));
      cron.push(p.enqueue(`cron${i}`, 'cron', { ms: 1000 }));
    }
    await p.until(3000);
    p.checkBasics();
    const subStarts = p.startTimes(sub);
    const cronStarts = p.startTimes(cron);
    checkRule(sameList(subStarts, [0, 0, 0, 1000, 1000, 1000]), 'LANE-3', 'subagent (cap 3) starts at [0, 0, 0, 1000, 1000, 1000]', `starts at ${list(subStarts)}`);
    checkRule(sameList(cronStarts, [0, 0, 1000, 1000, 2000, 2000]), 'LANE-3', 'cron (cap 2) starts at [0, 0, 1000, 1000, 2000, 2000]', `starts at ${list(cronStarts)}`);
    ctx.note(`subagent (cap 3) started ${list(subStarts)}; cron (cap 2) started ${list(cronStarts)}`);
  },
};

const fifoSingle: ConformanceCase = {
  id: 'lane.fifo.single-lane',
  title: 'A lane grants slots in the order tasks joined it',
  rules: ['LANE-4', 'LANE-3'],
  level: 'MUST',
  requires: REQUIRES,
  procedure: 'Set lane `fifo` to 1. At t=0 enqueue F0..F9 (100 ms each). They start in order F0..F9, Fi at t=100*i.',
  async run(ctx) {
    const p = await probeFor(ctx);
    p.setCap('fifo', 1);
    const f: Entry[] = [];
    for (let i = 0; i < 10; i++) f.push(p.enqueue(`F${i}`, 'fifo', { ms: 100 }));
    await p.until(1000);
    p.checkBasics();
    const order = startOrderOf(f);
    const expected = f.map((e) => e.id);
    checkRule(sameList(order, expected), 'LANE-4', `start order ${expected.join(', ')} (enqueue order)`, `start order ${order.join(', ')}`);
    for (let i = 0; i < f.length; i++) p.expectStart(f[i]!, 100 * i, 'LANE-4', `F${i} is ${i}th in line behind 100 ms tasks`);
    ctx.note('F0..F9 started in enqueue order, every 100 ms');
  },
};

const fifoMain: ConformanceCase = {
  id: 'lane.fifo.main-across-sessions',
  title: 'Runs of different sessions take main in the order they arrived at main',
  rules: ['LANE-4', 'LANE-5', 'LANE-3'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Set main to 1. t=0: message H (session h, 1000 ms) takes main; a plain task P holds session:s1 for 500 ms. ' +
    't=5: message s1m (session s1) queues behind P. t=10,20,30,40,50: messages of sessions s3, s2, s4, s0, s5 (100 ms each) arrive at main. ' +
    's1m reaches main only at t=500, after them. main must grant in arrival order: H, s3, s2, s4, s0, s5, s1m, from t=1000 every 100 ms.',
  async run(ctx) {
    const p = await probeFor(ctx);
    p.setCap('main', 1);
    const h = p.message('H', 'h', { ms: 1000 });
    p.enqueue('P', 'session:s1', { ms: 500 });
    await p.until(5);
    const late = p.message('s1m', 's1', { ms: 100 });
    const runs: Entry[] = [h];
    for (const [i, key] of ['s3', 's2', 's4', 's0', 's5'].entries()) {
      await p.until(10 * (i + 1));
      runs.push(p.message(`${key}m`, key, { ms: 100 }));
    }
    runs.push(late);
    await p.until(1700);
    p.checkBasics();
    const arrival = [...runs].filter((e) => e.arrivedAt !== null).sort((a, b) => a.arrivalSeq - b.arrivalSeq).map((e) => e.id);
    const expectedArrival = runs.map((e) => e.id);
    checkRule(
      sameList(arrival, expectedArrival),
      'LANE-5',
      `arrival at main in the order ${expectedArrival.join(', ')} (s1m only once P releases session:s1 at t=500)`,
      `arrival order ${arrival.join(', ')} (s1m got session:s1 at t=${late.arrivedAt})`,
    );
    const order = startOrderOf(runs);
    checkRule(sameList(order, arrival), 'LANE-4', `main to start runs in arrival order ${arrival.join(', ')}`, `start order ${order.join(', ')}`);
    for (let i = 0; i < runs.length; i++) {
      p.expectStart(runs[i]!, i === 0 ? 0 : 900 + 100 * i, 'LANE-4', i === 0 ? 'main is free' : `${i}th in main's line behind H (1000 ms) and 100 ms runs`);
    }
    ctx.note(`main started runs in arrival order ${order.join(', ')}; s1m (enqueued at t=5) reached main at t=${late.arrivedAt} and went last`);
  },
};

const errorsIsolated: ConformanceCase = {
  id: 'lane.error.isolated',
  title: 'A failing task rejects only its own caller; the lane keeps draining',
  rules: ['LANE-9'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Set lane `errors` and main to 1. T1 (ok, 100 ms) at t=0; T2 (throws synchronously) at t=50, starts t=100; ' +
    'T3 (rejects after 100 ms) at t=150; T4 (ok, 100 ms) at t=200, starts t=250. ' +
    'Then message E1 (session e, inner task rejects after 100 ms) at t=400 and E2 (session e, ok 100 ms) at t=450. ' +
    'Each settles with its own outcome (T2/T3/E1 with their own Error objects); T3, T4 and E2 run.',
  async run(ctx) {
    const p = await probeFor(ctx);
    p.setCap('errors', 1);
    p.setCap('main', 1);
    const t1 = p.enqueue('T1', 'errors', { ms: 100 });
    await p.until(50);
    const t2 = p.enqueue('T2', 'errors', { fail: 'sync' });
    await p.until(150);
    const t3 = p.enqueue('T3', 'errors', { ms: 100, fail: 'async' });
    await p.until(200);
    const t4 = p.enqueue('T4', 'errors', { ms: 100 });
    await p.until(400);
    const e1 = p.message('E1', 'e', { ms: 100, fail: 'async' });
    await p.until(450);
    const e2 = p.message('E2', 'e', { ms: 100 });
    await p.until(700);
    p.checkBasics();
    const ownError = (entry: Entry, at: number, because: string): void => {
      checkRule(
        entry.runs === 1 && entry.status === 'error' && entry.error === entry.ownError && entry.settledAt === at,
        'LANE-9',
        `${entry.id} to run and reject with its own error "${entry.ownError.message}" at t=${at} (${because})`,
        () => `${p.describeStart(entry)}; it ${p.describeOutcome(entry)}`,
      );
    };
    p.expectOk(t1, 100, 'LANE-9', 'it succeeds');
    ownError(t2, 100, 'it starts at t=100 and throws');
    ownError(t3, 250, 'it starts at t=150 on a free lane and rejects 100 ms later');
    p.expectStart(t4, 250, 'LANE-9', 'the lane keeps draining after T3 fails at t=250');
    p.expectOk(t4, 350, 'LANE-9', 'its own result, unaffected by the failures before it');
    ownError(e1, 500, 'a failing run rejects its own caller through its session task');
    checkRule(e2.arrivedAt === 500, 'LANE-9', 'E2 to get session:e at t=500, when E1 fails', () => `E2 got session:e at ${e2.arrivedAt === null ? 'no time' : `t=${e2.arrivedAt}`}`);
    p.expectOk(e2, 600, 'LANE-9', 'the session lane keeps draining after E1 failed');
    ctx.note('T2 (sync throw), T3 and E1 (rejections) each rejected with their own Error object; T4 and E2 ran and resolved');
  },
};

const raiseCap: ConformanceCase = {
  id: 'lane.concurrency.raise',
  title: 'Raising a cap grants queued tasks at once',
  rules: ['LANE-10', 'LANE-3'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Set main to 1. At t=0 enqueue 6 tasks (10000 ms each): 1 runs, 5 wait. At t=1000 raise main to 3: ' +
    'exactly 3 run at t=1000. Start times: [0, 1000, 1000, 10000, 11000, 11000].',
  async run(ctx) {
    const p = await probeFor(ctx);
    p.setCap('main', 1);
    const tasks: Entry[] = [];
    for (let i = 0; i < 6; i++) tasks.push(p.enqueue(`R${i}`, 'main', { ms: 10_000 }));
    await p.until(1000);
    p.setCap('main', 3);
    await p.until(1000);
    p.checkCaps();
    const runningNow = [...p.runningIn('main')];
    checkRule(
      runningNow.length === 3,
      'LANE-10',
      '3 tasks running in main at t=1000, right after raising its cap from 1 to 3 with 5 waiting',
      `${runningNow.length} running at t=1000 (${runningNow.join(', ')})`,
    );
    await p.until(21_000);
    p.checkBasics();
    const starts = p.startTimes(tasks);
    checkRule(sameList(starts, [0, 1000, 1000, 10_000, 11_000, 11_000]), 'LANE-10', 'start times [0, 1000, 1000, 10000, 11000, 11000]', `start times ${list(starts)}`);
    ctx.note(`raising main 1 -> 3 at t=1000 started 2 waiting tasks at t=1000; start times ${list(starts)}`);
  },
};

const lowerCap: ConformanceCase = {
  id: 'lane.concurrency.lower',
  title: 'Lowering a cap preempts nobody and grants nothing until fewer than the cap run',
  rules: ['LANE-10'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Set lane `batch` to 3. At t=0 enqueue W0 (1000 ms), W1 (2000), W2 (3000), W3 and W4 (1000 each): W0-W2 run. ' +
    'At t=500 lower batch to 1. W0-W2 finish normally; nothing starts at t=1000 or t=2000; ' +
    'one task starts at t=3000 and the last at t=4000.',
  async run(ctx) {
    const p = await probeFor(ctx);
    p.setCap('batch', 3);
    const w = [
      p.enqueue('W0', 'batch', { ms: 1000 }),
      p.enqueue('W1', 'batch', { ms: 2000 }),
      p.enqueue('W2', 'batch', { ms: 3000 }),
      p.enqueue('W3', 'batch', { ms: 1000 }),
      p.enqueue('W4', 'batch', { ms: 1000 }),
    ];
    await p.until(500);
    p.setCap('batch', 1);
    await p.until(5000);
    p.checkBasics();
    p.expectOk(w[0]!, 1000, 'LANE-10', 'lowering preempts no holder');
    p.expectOk(w[1]!, 2000, 'LANE-10', 'lowering preempts no holder');
    p.expectOk(w[2]!, 3000, 'LANE-10', 'lowering preempts no holder');
    const starts = p.startTimes(w);
    checkRule(sameList(starts, [0, 0, 0, 3000, 4000]), 'LANE-10', 'start times [0, 0, 0, 3000, 4000] (no grant until no holder is left under cap 1)', `start times ${list(starts)}`);
    ctx.note(`lowering 3 -> 1 at t=500 preempted nobody; next grants at t=3000 and t=4000 (start times ${list(starts)})`);
  },
};

const clearQueued: ConformanceCase = {
  id: 'lane.clear.queued-only',
  title: 'Clearing a lane rejects its queued tasks; the running one finishes',
  rules: ['LANE-11'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Set lane `clear` to 1. At t=0 enqueue R (1000 ms), Q1, Q2, Q3. At t=100 clear the lane: it returns 3; ' +
    'Q1-Q3 are rejected with an Error at once and never run; R resolves at t=1000. ' +
    'N, enqueued at t=200, starts at t=1000.',
  async run(ctx) {
    const p = await probeFor(ctx);
    p.setCap('clear', 1);
    const r = p.enqueue('R', 'clear', { ms: 1000 });
    const q = [p.enqueue('Q1', 'clear', { ms: 1000 }), p.enqueue('Q2', 'clear', { ms: 1000 }), p.enqueue('Q3', 'clear', { ms: 1000 })];
    await p.until(100);
    const count = p.q.clear('clear');
    await p.until(200);
    const n = p.enqueue('N', 'clear', { ms: 100 });
    await p.until(2000);
    p.checkBasics();
    p.expectOk(r, 1000, 'LANE-11', 'R was running when the lane was cleared: running tasks go on');
    for (const entry of q) p.expectRemoved(entry, 100, 'LANE-11', 'it was queued when the lane was cleared at t=100');
    checkRule(count === 3, 'LANE-11', 'clear() to return 3 (the queued entries it removed)', `clear() returned ${String(count)}`);
    p.expectStart(n, 1000, 'LANE-11', 'the cleared tasks are gone: N waits only for R');
    ctx.note(`clear() returned 3 at t=100; Q1-Q3 rejected at once (${describeValue(q[0]!.error)}); R finished at t=1000; N ran at t=1000`);
  },
};

const clearNested: ConformanceCase = {
  id: 'lane.clear.releases-session',
  title: 'Clearing main rejects a waiting run, which frees its session for the next message',
  rules: ['LANE-11', 'LANE-7', 'LANE-9'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Set main to 1. At t=0 send X (session x, 1000 ms), then A and B (session s, 100 ms). X runs; A holds session:s ' +
    'and waits in main; B waits in session:s. At t=100 clear main: it returns 1; A is rejected with an Error and never runs; ' +
    'B gets session:s at t=100 and runs in main at t=1000; X resolves at t=1000.',
  async run(ctx) {
    const p = await probeFor(ctx);
    p.setCap('main', 1);
    const x = p.message('X', 'x', { ms: 1000 });
    const a = p.message('A', 's', { ms: 100 });
    const b = p.message('B', 's', { ms: 100 });
    await p.until(100);
    const count = p.q.clear('main');
    await p.until(1200);
    p.checkBasics();
    p.expectOk(x, 1000, 'LANE-11', 'X was running in main when main was cleared');
    p.expectRemoved(a, 100, 'LANE-11', 'A was waiting in main when main was cleared at t=100');
    checkRule(count === 1, 'LANE-11', 'clear("main") to return 1 (A)', `clear("main") returned ${String(count)}`);
    checkRule(b.arrivedAt === 100, 'LANE-11', 'B to get session:s at t=100, when A is rejected and its session task ends', () => `B got session:s at ${b.arrivedAt === null ? 'no time' : `t=${b.arrivedAt}`}`);
    p.expectStart(b, 1000, 'LANE-11', 'B waits in main for X');
    ctx.note(`clear("main") returned 1; A rejected at t=100 (${describeValue(a.error)}); B got session:s at t=100 and ran at t=1000`);
  },
};

const abortQueued: ConformanceCase = {
  id: 'lane.abort.queued',
  title: 'Aborting a queued task removes it; aborting a running one does not stop it',
  rules: ['LANE-12'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Needs abortQueued. Set lane `abort` to 1. At t=0 enqueue R (1000 ms), Q1 and Q2 (1000 ms) with AbortSignals. ' +
    'At t=100 abort Q1: rejected with an Error at once, never runs; Q2 starts at t=1000. At t=1500 abort Q2 (running): ' +
    'it resolves normally at t=2000. At t=2500 enqueue Q3 with an already aborted signal: rejected, never runs.',
  async run(ctx) {
    const q = await ctx.lanes();
    if (q.abortQueued !== true) throw new NotApplicable('the lane queue does not support aborting queued entries (abortQueued)');
    const p = new LaneProbe(q, ctx);
    p.setCap('abort', 1);
    const c1 = new AbortController();
    const c2 = new AbortController();
    const r = p.enqueue('R', 'abort', { ms: 1000 });
    const q1 = p.enqueue('Q1', 'abort', { ms: 1000 }, { signal: c1.signal });
    const q2 = p.enqueue('Q2', 'abort', { ms: 1000 }, { signal: c2.signal });
    await p.until(100);
    c1.abort();
    await p.until(1500);
    c2.abort();
    await p.until(2500);
    const c3 = new AbortController();
    c3.abort();
    const q3 = p.enqueue('Q3', 'abort', { ms: 100 }, { signal: c3.signal });
    await p.until(3000);
    p.checkBasics();
    p.expectRemoved(q1, 100, 'LANE-12', 'Q1 was aborted at t=100 while queued');
    p.expectOk(r, 1000, 'LANE-12', 'R is unaffected');
    p.expectStart(q2, 1000, 'LANE-12', 'the aborted Q1 left the line: Q2 is next after R');
    p.expectOk(q2, 2000, 'LANE-12', 'aborting a started task has no effect on its outcome');
    p.expectRemoved(q3, 2500, 'LANE-12', 'its signal was already aborted when it was enqueued at t=2500');
    ctx.note(`queued Q1 aborted: rejected at t=100 (${describeValue(q1.error)}), never ran; Q2 aborted while running resolved normally; pre-aborted Q3 rejected${q3.refusedSync ? ' by a throw' : ''}`);
  },
};

const drainRefuses: ConformanceCase = {
  id: 'lane.drain.refuses-new',
  title: 'While draining, new tasks are refused; queued and running ones go on',
  rules: ['LANE-13'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Needs drain. Set lane `drain` to 1. At t=0 enqueue R and Q (1000 ms). At t=100 drain; then enqueue N: ' +
    'N is refused with an Error (rejected promise or thrown) at once and never runs; R resolves at t=1000; Q starts at t=1000 and resolves at t=2000.',
  async run(ctx) {
    const q = await ctx.lanes();
    if (q.drain === undefined) throw new NotApplicable('the lane queue has no drain()');
    const p = new LaneProbe(q, ctx);
    p.setCap('drain', 1);
    const r = p.enqueue('R', 'drain', { ms: 1000 });
    const queued = p.enqueue('Q', 'drain', { ms: 1000 });
    await p.until(100);
    q.drain();
    const n = p.enqueue('N', 'drain', { ms: 100 });
    await p.until(2500);
    p.checkBasics();
    p.expectRemoved(n, 100, 'LANE-13', 'N was enqueued at t=100, after drain()');
    p.expectOk(r, 1000, 'LANE-13', 'running tasks go on while draining');
    p.expectStart(queued, 1000, 'LANE-13', 'queued tasks keep their place while draining');
    p.expectOk(queued, 2000, 'LANE-13', 'queued tasks still run while draining');
    ctx.note(`after drain() N was refused ${n.refusedSync ? 'by a throw from enqueue()' : 'by a rejected promise'} (${describeValue(n.error)}); R and the queued Q ran to the end`);
  },
};

const resetLane: ConformanceCase = {
  id: 'lane.reset.forgets-holders',
  title: 'Resetting a lane frees its slots at once; the old holder does not free one again',
  rules: ['LANE-14'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Needs resetLane. Set lane `reset` to 1. At t=0 enqueue O (10000 ms) and Q (20000 ms): O runs, Q waits. ' +
    'At t=1000 reset the lane: Q starts at t=1000 while O still runs. At t=2000 enqueue S (1000 ms): it waits for Q. ' +
    'O resolves at t=10000 but frees no slot: S starts at t=21000, when Q ends.',
  async run(ctx) {
    const q = await ctx.lanes();
    if (q.resetLane === undefined) throw new NotApplicable('the lane queue has no resetLane()');
    const p = new LaneProbe(q, ctx);
    p.setCap('reset', 1);
    const o = p.enqueue('O', 'reset', { ms: 10_000 });
    const queued = p.enqueue('Q', 'reset', { ms: 20_000 });
    await p.until(1000);
    p.resetLane('reset');
    await p.until(2000);
    p.expectStart(queued, 1000, 'LANE-14', 'the reset forgets O: its slot is free at once');
    const s = p.enqueue('S', 'reset', { ms: 1000 });
    await p.until(22_000);
    p.expectStart(s, 21_000, 'LANE-14', "S waits for Q, which ends at t=21000; O's completion at t=10000 must not free a slot in the reset lane");
    p.checkBasics();
    p.expectOk(o, 10_000, 'LANE-14', 'a forgotten holder keeps running and its caller is settled');
    p.expectOk(queued, 21_000, 'LANE-14', 'Q runs its full 20000 ms');
    ctx.note('reset at t=1000 started Q at once; O resolved at t=10000 freeing nothing; S started at t=21000');
  },
};

/**
 * Lane `diag` (cap 1): A (5000 ms) at t=0, then B, C, D, E (1000 ms each) at t=0, 100, 200, 300.
 * In FIFO order they are granted at 5000..8000 after waits of 5000, 5900, 6800, 7700 ms.
 */
async function diagScenario(ctx: CaseContext): Promise<{ waiters: Entry[]; records: LaneWaitRecord[]; atFirstGrant: LaneWaitRecord[] }> {
  const q = await ctx.lanes();
  const read = laneWaitsOf(q);
  const p = new LaneProbe(q, ctx);
  p.setCap('diag', 1);
  p.enqueue('A', 'diag', { ms: 5000 });
  const waiters: Entry[] = [];
  for (const [i, id] of ['B', 'C', 'D', 'E'].entries()) {
    await p.until(100 * i);
    waiters.push(p.enqueue(id, 'diag', { ms: 1000 }));
  }
  await p.until(5000);
  const atFirstGrant = read().filter((r) => r.lane === 'diag');
  await p.until(9000);
  p.checkBasics();
  return { waiters, records: read().filter((r) => r.lane === 'diag'), atFirstGrant };
}

/** The waiter a record belongs to: the one whose observed wait (start - enqueue) equals its waitedMs. */
function recordOwner(record: LaneWaitRecord, waiters: readonly Entry[]): Entry | undefined {
  return waiters.find((e) => e.startedAt !== null && e.startedAt - e.enqueuedAt === record.waitedMs);
}

const diagRecord: ConformanceCase = {
  id: 'lane.diag.wait-record',
  title: 'A wait of 2000 ms or more is reported when the slot is granted, with the exact wait',
  rules: ['DIAG-1'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Needs laneWaits. Set lane `diag` to 1. Enqueue A (5000 ms) at t=0, then B, C, D, E (1000 ms) at t=0, 100, 200, 300. ' +
    'Each of B-E waits over 2000 ms: exactly one record each for lane diag, waitedMs = its start minus its enqueue time ' +
    '(exact virtual ms: 5000, 5900, 6800, 7700 in FIFO order); the first exists at t=5000, the moment it is granted; A (no wait) has none.',
  async run(ctx) {
    const { waiters, records, atFirstGrant } = await diagScenario(ctx);
    const expected = waiters.map((e) => (e.startedAt === null ? null : e.startedAt - e.enqueuedAt)).sort((x, y) => (x ?? 0) - (y ?? 0));
    const waited = records.map((r) => r.waitedMs).sort((x, y) => x - y);
    checkRule(
      sameList(waited, expected),
      'DIAG-1',
      `exactly ${waiters.length} records for lane diag, waitedMs ${list(expected)} (B-E: start minus enqueue; A did not wait)`,
      `${records.length} record(s): ${describeRecords(records)}`,
    );
    const first = [...waiters].sort((x, y) => (x.startedAt ?? Infinity) - (y.startedAt ?? Infinity))[0]!;
    const firstWait = (first.startedAt ?? 0) - first.enqueuedAt;
    checkRule(
      atFirstGrant.length === 1 && atFirstGrant[0]!.waitedMs === firstWait,
      'DIAG-1',
      `${first.id}'s record (waitedMs ${firstWait}) present at t=5000, when ${first.id} is granted`,
      `at t=5000: ${describeRecords(atFirstGrant)}`,
    );
    ctx.note(`one record per waiting task, waitedMs ${records.map((r) => r.waitedMs).join(', ')}; the first present at t=5000, its grant`);
  },
};

const diagQueueAhead: ConformanceCase = {
  id: 'lane.diag.queue-ahead',
  title: 'queueAhead counts the entries ahead at enqueue (not those left behind)',
  rules: ['DIAG-2'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Needs laneWaits. Same scenario as lane.diag.wait-record. Each record is matched to its task by waitedMs. ' +
    'queueAhead of B, C, D, E = 0, 1, 2, 3 (entries queued ahead when each joined); ' +
    "OpenClaw's old quirk (entries left behind at dequeue) gives 3, 2, 1, 0. Where the records carry them: activeAhead 1 " +
    '(A ran when each joined), activeNow 0, queueBehind = live entries still waiting just after the grant.',
  async run(ctx) {
    const { waiters, records } = await diagScenario(ctx);
    expectRule(records.length === waiters.length, 'DIAG-2', `${waiters.length} records for lane diag (B, C, D, E) to read the fields from`, `${records.length} record(s): ${describeRecords(records)}`);
    for (const record of records) {
      const owner = recordOwner(record, waiters);
      expectRule(owner !== undefined, 'DIAG-2', `each record's waitedMs to match one waiting task's observed wait`, `no task waited ${record.waitedMs} ms: ${describeRecords([record])}`);
      const ahead = waiters.indexOf(owner);
      const start = owner.startedAt!;
      const behind = waiters.filter((e) => e !== owner && e.enqueuedAt <= start && (e.startedAt === null || e.startedAt > start || (e.startedAt === start && e.startSeq > owner.startSeq))).length;
      checkRule(
        record.queueAhead === ahead,
        'DIAG-2',
        `the record for ${owner.id} (waitedMs ${record.waitedMs}) to have queueAhead=${ahead} (entries queued ahead of it when it joined the lane)`,
        `queueAhead=${record.queueAhead}${record.queueAhead === behind && behind !== ahead ? ' (the number left behind at its grant: the old quirk, DEP-1)' : ''}`,
      );
      const optional: [keyof LaneWaitRecord, number][] = [['activeAhead', 1], ['activeNow', 0], ['queueBehind', behind]];
      for (const [field, want] of optional) {
        const got = record[field];
        if (got === undefined) continue;
        checkRule(got === want, 'DIAG-2', `the record for ${owner.id} to have ${field}=${want}`, `${field}=${String(got)}: ${describeRecords([record])}`);
      }
    }
    if (records.some((r) => r.activeAhead === undefined || r.activeNow === undefined || r.queueBehind === undefined)) {
      ctx.note('records lack activeAhead/activeNow/queueBehind: only queueAhead checked');
    }
    const field = (name: keyof LaneWaitRecord): string => records.map((r) => String(r[name] ?? '-')).join(',');
    ctx.note(`in grant order: queueAhead ${field('queueAhead')}; activeAhead ${field('activeAhead')}; activeNow ${field('activeNow')}; queueBehind ${field('queueBehind')}`);
  },
};

const diagThreshold: ConformanceCase = {
  id: 'lane.diag.threshold',
  title: 'No record for a wait under 2000 ms; one for a wait of exactly 2000 ms',
  rules: ['DIAG-1'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Needs laneWaits. Set lane `diag` to 1. At t=0 enqueue A (1999 ms), B (1 ms), C (1 ms). ' +
    'B waits 1999 ms: no record. C waits exactly 2000 ms: one record, waitedMs 2000.',
  async run(ctx) {
    const q = await ctx.lanes();
    const read = laneWaitsOf(q);
    const p = new LaneProbe(q, ctx);
    p.setCap('diag', 1);
    p.enqueue('A', 'diag', { ms: 1999 });
    p.enqueue('B', 'diag', { ms: 1 });
    p.enqueue('C', 'diag', { ms: 1 });
    await p.until(3000);
    p.checkBasics();
    const records = read().filter((r) => r.lane === 'diag');
    checkRule(
      records.length === 1 && records[0]!.waitedMs === 2000,
      'DIAG-1',
      'exactly one record for lane diag, waitedMs 2000 (C; B waited 1999 ms: below the 2000 ms threshold)',
      `${records.length} record(s): ${describeRecords(records)}`,
    );
    ctx.note(`1999 ms wait: no record; 2000 ms wait: ${describeRecords(records)}`);
  },
};

const nested60s: ConformanceCase = {
  id: 'lane.nested.sixty-seconds',
  title: "A 60 s run in one session holds another session's message on main for exactly 60 s",
  rules: ['LANE-7', 'LANE-5', 'LANE-3'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Set main to 1. At t=0 send a (session a, 60000 ms) and b (session b, 0 ms). a runs 0-60000. ' +
    'b gets session:b at t=0 and holds it while it waits for main; its task starts at t=60000: 60,000 virtual ms later.',
  async run(ctx) {
    const p = await probeFor(ctx);
    p.setCap('main', 1);
    const a = p.message('a', 'a', { ms: 60_000 });
    const b = p.message('b', 'b', { ms: 0 });
    await p.until(60_000);
    p.checkBasics();
    p.expectStart(a, 0, 'LANE-7', 'main is free');
    checkRule(b.arrivedAt === 0, 'LANE-7', 'b to get session:b at t=0 and join main', () => `b got session:b at ${b.arrivedAt === null ? 'no time' : `t=${b.arrivedAt}`}`);
    checkRule(
      b.startedAt === 60_000,
      'LANE-7',
      'b to start after a ended at t=60000 (waiting in main with session:b held for 60000 ms)',
      () => p.describeStart(b),
    );
    p.expectOk(b, 60_000, 'LANE-7', 'b takes no time');
    ctx.note(`b entered session:b at t=${b.arrivedAt} and started in main at t=${b.startedAt}: held ${b.startedAt! - b.arrivedAt!} virtual ms`);
  },
};

const noDeadlock: ConformanceCase = {
  id: 'lane.nested.no-deadlock',
  title: 'Two sessions nesting into main (cap 1): 50 interleaved runs all settle',
  rules: ['LANE-6', 'LANE-7', 'LANE-8'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Set main to 1. At t=0 send 50 message runs alternating sessions s1 and s2 (durations 1-500 ms from the case seed). ' +
    'main is never idle while work remains, so all 50 resolve, each once, by t = sum of durations.',
  async run(ctx) {
    const p = await probeFor(ctx);
    p.setCap('main', 1);
    const rng = new Prng(ctx.seed);
    const runs: Entry[] = [];
    let total = 0;
    for (let i = 0; i < 50; i++) {
      const ms = rng.int(1, 500);
      total += ms;
      runs.push(p.message(`m${i}`, i % 2 === 0 ? 's1' : 's2', { ms }));
    }
    await p.until(total);
    p.checkBasics();
    const pending = runs.filter((e) => e.status === 'pending');
    checkRule(
      pending.length === 0,
      'LANE-8',
      `all 50 runs settled by t=${total} (main busy throughout)`,
      () => `${50 - pending.length} settled, ${pending.length} pending at t=${total}; first pending: ${pending[0]!.id} (session:${pending[0]!.session}, ${pending[0]!.arrivedAt === null ? 'never got its session slot' : `joined main at t=${pending[0]!.arrivedAt}`}, ${pending[0]!.startedAt === null ? 'never started' : `started at t=${pending[0]!.startedAt}`})`,
    );
    for (const e of runs) {
      if (!checkRule(e.status === 'ok' && e.value === e.id && e.runs === 1 && e.settleCount === 1, 'LANE-8', `${e.id} to run once and resolve once with ${JSON.stringify(e.id)}`, () => `${e.id} ran ${e.runs} time(s) and ${p.describeOutcome(e)}`)) break;
    }
    ctx.note(`all 50 runs resolved once; the last at t=${Math.max(...runs.map((e) => e.settledAt ?? 0))} = sum of durations ${total} ms`);
  },
};

const BULK_TASKS = 1000;
const BULK_SESSIONS = 50;
const BULK_CAP = 4;

const bulk: ConformanceCase = {
  id: 'lane.bulk.thousand',
  title: '1,000 runs over 50 sessions into main (cap 4): locks, cap, order, each settled once',
  rules: ['LANE-2', 'LANE-3', 'LANE-4', 'LANE-8'],
  level: 'MUST',
  requires: REQUIRES,
  procedure:
    'Set main to 4. From the case seed, 1000 message runs each pick one of 50 sessions, an arrival time in 0-60000 ms and a ' +
    'duration of 1-1000 ms. Run until all settle. Checked: at most 1 holder per session lane (LANE-2), at most 4 running in main ' +
    '(LANE-3), each session admits its runs in submission order and main starts runs in arrival order (LANE-4), ' +
    'every run ran once and resolved once with its own value (LANE-8).',
  async run(ctx) {
    const p = await probeFor(ctx);
    p.setCap('main', BULK_CAP);
    const rng = new Prng(ctx.seed);
    const plan = Array.from({ length: BULK_TASKS }, (_, i) => ({
      id: `m${i}`,
      session: `s${rng.int(0, BULK_SESSIONS - 1)}`,
      at: rng.int(0, 60_000),
      ms: rng.int(1, 1000),
    })).sort((a, b) => a.at - b.at);
    const bySession = new Map<string, Entry[]>();
    const runs: Entry[] = [];
    for (const step of plan) {
      setTimeout(() => {
        const entry = p.message(step.id, step.session, { ms: step.ms });
        runs.push(entry);
        let mine = bySession.get(step.session);
        if (mine === undefined) bySession.set(step.session, (mine = []));
        mine.push(entry);
      }, step.at);
    }
    const bound = 60_000 + plan.reduce((sum, step) => sum + step.ms, 0);
    while (ctx.now() < bound && (runs.length < BULK_TASKS || runs.some((e) => e.status === 'pending'))) {
      await p.until(Math.min(bound, ctx.now() + 10_000));
    }
    p.checkSessions();
    p.checkCaps();
    for (const [session, entries] of bySession) {
      const admitted = entries.filter((e) => e.arrivedAt !== null).sort((a, b) => a.arrivalSeq - b.arrivalSeq).map((e) => e.id);
      const submitted = entries.filter((e) => e.arrivedAt !== null).map((e) => e.id);
      const at = admitted.findIndex((id, i) => id !== submitted[i]);
      if (!checkRule(at < 0, 'LANE-4', `session:${session} to admit its runs in submission order (${submitted.slice(Math.max(0, at - 1), at + 3).join(', ')}, ...)`, () => `it admitted ${admitted.slice(Math.max(0, at - 1), at + 3).join(', ')}, ...`)) break;
    }
    const arrival = runs.filter((e) => e.arrivedAt !== null).sort((a, b) => a.arrivalSeq - b.arrivalSeq).map((e) => e.id);
    const started = runs.filter((e) => e.startedAt !== null).sort((a, b) => a.startSeq - b.startSeq).map((e) => e.id);
    const firstOut = started.findIndex((id, i) => id !== arrival[i]);
    checkRule(
      firstOut < 0,
      'LANE-4',
      `main to start runs in arrival order (#${firstOut + 1}: ${arrival[firstOut] ?? '-'})`,
      () => `start #${firstOut + 1} was ${started[firstOut]} (arrived ${arrival.indexOf(started[firstOut]!) + 1}th)`,
    );
    p.checkRunsOnce();
    const pending = runs.filter((e) => e.status === 'pending');
    checkRule(runs.length === BULK_TASKS && pending.length === 0, 'LANE-8', `all ${BULK_TASKS} runs settled by t=${bound}`, () => `${runs.length} submitted, ${pending.length} pending at t=${ctx.now()}${pending[0] ? ` (first: ${pending[0].id} in session:${pending[0].session})` : ''}`);
    for (const e of runs) {
      if (!checkRule(e.status === 'ok' && e.value === e.id && e.settleCount === 1 && e.runs === 1, 'LANE-8', `${e.id} to run once and resolve once with its own value`, () => `${e.id} ran ${e.runs} time(s) and ${p.describeOutcome(e)}`)) break;
    }
    ctx.note(`all ${BULK_TASKS} runs resolved once by t=${Math.max(...runs.map((e) => e.settledAt ?? 0))}; session lanes never above 1 holder, main never above ${BULK_CAP}, FIFO held`);
  },
};

export const LANE_CASES: ConformanceCase[] = [
  blankIsMain,
  sessionExclusive,
  sessionHeld,
  globalCap,
  globalCapOther,
  fifoSingle,
  fifoMain,
  errorsIsolated,
  raiseCap,
  lowerCap,
  clearQueued,
  clearNested,
  abortQueued,
  drainRefuses,
  resetLane,
  diagRecord,
  diagQueueAhead,
  diagThreshold,
  nested60s,
  noDeadlock,
  bulk,
];
