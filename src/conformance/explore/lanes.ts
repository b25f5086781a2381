/**
 * The explorer for a target's lane queue (capability `lanes`,
 * LaneQueueUnderTest): random timelines of enqueues (tasks that run, fail,
 * or hold their session slot while they enqueue into `main` and wait, as
 * OpenClaw nests them), aborts through the AbortSignal, clears,
 * concurrency changes, resets and a drain, played on the target's queue and
 * on the reference queue under fake timers, and judged two ways:
 *   (a) invariants from what the harness's own task functions saw: no
 *       session lane runs two tasks at once (LANE-2), no lane runs more than
 *       its cap (LANE-3);
 *   (b) differential: every task's start time and outcome, each lane's start
 *       order, what each clear returned, and the lane-wait records (DIAG-1/2)
 *       must equal the reference's. On a fake clock the lane rules leave no
 *       freedom of timing ("at once" is the same instant); the one freedom is
 *       the error object's wording: outcomes are compared by kind
 *       (ok, error, cleared, aborted, draining, refused).
 * A failure is shrunk by fast-check, keeping its rule.
 */
import FakeTimers from '@sinonjs/fake-timers';
import fc from 'fast-check';
import type { ConformanceTarget, LaneQueueUnderTest, LaneWaitRecord } from '../types.ts';
import { referenceLaneQueue } from '../targets/lane-adapters.ts';

/** Lane names as callers write them: LANE-1 trims them and reads an empty name as `main`. */
export const LANE_NAMES = ['session:a', 'session:b', 'main', 'cron', ' session:a ', '', 'cron '] as const;

/** LANE-1: the lane a name means. */
export function laneOf(name: string): string {
  const trimmed = name.trim();
  return trimmed === '' ? 'main' : trimmed;
}
/** The default caps of the reference lane queue (CFG-1 defaults): main 4, cron 1, session lanes 1. */
const DEFAULT_CAP: Readonly<Record<string, number>> = { 'session:a': 1, 'session:b': 1, main: 4, cron: 1 };

export type LaneOp =
  | { kind: 'enqueue'; gap: number; lane: string; ms: number; fail: boolean; nested: number | null; abortable: boolean }
  | { kind: 'abort'; gap: number; pick: number }
  | { kind: 'clear'; gap: number; lane: string }
  | { kind: 'cap'; gap: number; lane: string; n: number }
  | { kind: 'reset'; gap: number; lane: string }
  | { kind: 'drain'; gap: number };

export interface LaneWorkload { ops: LaneOp[] }

/** Durations on a 500 ms grid, so waits of exactly laneWaitWarnMs (2000) happen (DIAG-1's `>=`). */
const arbMs = fc.oneof(fc.constantFrom(0, 500, 1000, 1500, 2000, 2500, 3000), fc.integer({ min: 0, max: 4000 }));

export function arbLaneWorkload(queue: { drain: boolean; reset: boolean; abort: boolean }): fc.Arbitrary<LaneWorkload> {
  const lane = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('session:a', 'session:b', 'main', 'cron', 'cron') }, { weight: 1, arbitrary: fc.constantFrom(...LANE_NAMES, '', ' main') });
  const capOp = fc.record({ kind: fc.constant('cap' as const), gap: arbMs, lane: fc.constantFrom('main', 'cron', 'cron'), n: fc.oneof(fc.integer({ min: 2, max: 4 }), fc.constant(1)) });
  const ops: fc.Arbitrary<LaneOp>[] = [
    fc.record({
      kind: fc.constant('enqueue' as const), gap: fc.oneof(fc.constant(0), arbMs), lane, ms: arbMs, fail: fc.boolean().chain((b) => (b ? fc.boolean() : fc.constant(false))),
      nested: fc.option(arbMs, { nil: null, freq: 3 }), abortable: queue.abort ? fc.boolean() : fc.constant(false),
    }),
    fc.record({ kind: fc.constant('clear' as const), gap: arbMs, lane }),
    capOp,
    capOp,
  ];
  if (queue.abort) ops.push(fc.record({ kind: fc.constant('abort' as const), gap: arbMs, pick: fc.nat({ max: 30 }) }));
  if (queue.reset) ops.push(fc.record({ kind: fc.constant('reset' as const), gap: arbMs, lane }), fc.record({ kind: fc.constant('reset' as const), gap: arbMs, lane }));
  const body = fc.array(fc.oneof({ weight: 8, arbitrary: ops[0]! }, ...ops.slice(1).map((a) => ({ weight: 1, arbitrary: a }))), { minLength: 1, maxLength: 16 });
  const drain = queue.drain ? fc.option(fc.record({ kind: fc.constant('drain' as const), gap: arbMs }), { nil: null, freq: 5 }) : fc.constant(null);
  return fc.tuple(body, drain, fc.nat()).map(([list, d, where]) => {
    const ops2 = [...list];
    if (d !== null) ops2.splice(where % (ops2.length + 1), 0, d);
    return { ops: ops2 };
  });
}

export interface LaneObservation {
  /** Per enqueue (in op order; nested subtasks as `<i>.n`): when it started, how it settled and when. */
  tasks: Map<string, { lane: string; name: string; startedAt: number | null; endedAt: number | null; outcome: string | null; settledAt: number | null }>;
  /** Per lane, task ids in the order they started. */
  order: Map<string, string[]>;
  clears: (number | string)[];
  waits: LaneWaitRecord[] | null;
  /** Invariant breaks seen by the task functions themselves. */
  violations: { rule: string; t: number; message: string }[];
  endAt: number;
}

function kindOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const all = `${typeof code === 'string' ? code : ''} ${text}`;
  if (/boom-/.test(all)) return 'error';
  if (/clear/i.test(all)) return 'cleared';
  if (/abort/i.test(all)) return 'aborted';
  if (/drain/i.test(all)) return 'draining';
  return `other: ${text.slice(0, 80)}`;
}

/** Plays `w` on a fresh queue under fake timers. */
export async function playLanes(create: () => Promise<LaneQueueUnderTest> | LaneQueueUnderTest, w: LaneWorkload): Promise<LaneObservation> {
  const clock = FakeTimers.install({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date'], loopLimit: 1_000_000 });
  const tasks: LaneObservation['tasks'] = new Map();
  const order = new Map<string, string[]>();
  const clears: (number | string)[] = [];
  const violations: LaneObservation['violations'] = [];
  /** Per lane, the tasks running in it now (a reset forgets them: LANE-14). */
  const running = new Map<string, Set<string>>();
  const cap = new Map<string, number>(Object.entries(DEFAULT_CAP));
  /** Holders a reset forgot (LANE-14), and when one of them last ended, per lane. */
  const forgotten = new Set<string>();
  const forgottenEndedAt = new Map<string, number>();
  let queue: LaneQueueUnderTest | null = null;
  try {
    queue = await create();
    const q = queue;
    const controllers: ({ id: string; controller: AbortController } | null)[] = [];
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    const track = (id: string, name: string, ms: number, fail: boolean, nested: number | null) => async (): Promise<string> => {
      const lane = laneOf(name);
      const rec = tasks.get(id)!;
      rec.startedAt = Date.now();
      const list = order.get(lane);
      if (list === undefined) order.set(lane, [id]);
      else list.push(id);
      let set = running.get(lane);
      if (set === undefined) running.set(lane, (set = new Set()));
      set.add(id);
      const now = set.size;
      const limit = cap.get(lane) ?? 1;
      if (now > limit) {
        // Over the cap after a holder forgotten by a reset ended: its end freed a slot it no longer held (LANE-14).
        const doubleFree = forgottenEndedAt.get(lane) === Date.now();
        violations.push({ rule: doubleFree ? 'LANE-14' : lane.startsWith('session:') ? 'LANE-2' : 'LANE-3', t: Date.now(), message: `${now} tasks run in ${lane} at once (cap ${limit}): ${id} started${doubleFree ? ' (after a holder forgotten by a reset ended)' : ''}` });
      }
      try {
        await sleep(ms);
        if (nested !== null) {
          // OpenClaw's nesting: inside the session slot, enqueue into main and wait for it.
          const sub = `${id}.n`;
          tasks.set(sub, { lane: 'main', name: 'main', startedAt: null, endedAt: null, outcome: null, settledAt: null });
          await settle(sub, q.enqueue('main', track(sub, 'main', nested, false, null)));
        }
        if (fail) throw new Error(`boom-${id}`);
        return `ok-${id}`;
      } finally {
        running.get(lane)?.delete(id);
        if (forgotten.delete(id)) forgottenEndedAt.set(lane, Date.now());
        rec.endedAt = Date.now();
      }
    };
    const settle = (id: string, p: Promise<unknown>): Promise<void> =>
      p.then(
        () => {
          const rec = tasks.get(id)!;
          rec.outcome = 'ok';
          rec.settledAt = Date.now();
        },
        (error: unknown) => {
          const rec = tasks.get(id)!;
          rec.outcome = kindOf(error);
          rec.settledAt = Date.now();
        },
      );
    let n = 0;
    for (const op of w.ops) {
      if (op.gap > 0) await clock.tickAsync(op.gap);
      switch (op.kind) {
        case 'enqueue': {
          const id = `t${n++}`;
          tasks.set(id, { lane: laneOf(op.lane), name: op.lane, startedAt: null, endedAt: null, outcome: null, settledAt: null });
          const controller = op.abortable ? new AbortController() : null;
          controllers.push(controller === null ? null : { id, controller });
          try {
            void settle(id, q.enqueue(op.lane, track(id, op.lane, op.ms, op.fail, laneOf(op.lane).startsWith('session:') ? op.nested : null), controller === null ? undefined : { signal: controller.signal }));
          } catch (error) {
            const rec = tasks.get(id)!;
            rec.outcome = `refused: ${kindOf(error)}`;
            rec.settledAt = Date.now();
          }
          break;
        }
        case 'abort': {
          // A task still queued when there is one (LANE-12 removes it), else any.
          const all = controllers.filter((c): c is { id: string; controller: AbortController } => c !== null);
          const queued = all.filter((c) => tasks.get(c.id)?.startedAt === null && tasks.get(c.id)?.settledAt === null);
          const pool = queued.length > 0 ? queued : all;
          if (pool.length > 0) pool[op.pick % pool.length]!.controller.abort();
          break;
        }
        case 'clear':
          try {
            clears.push(q.clear(op.lane));
          } catch (error) {
            clears.push(`threw ${kindOf(error)}`);
          }
          break;
        case 'cap':
          cap.set(laneOf(op.lane), op.n);
          q.setConcurrency(op.lane, op.n);
          break;
        case 'reset':
          // LANE-14: the reset lane's holders stop counting against its cap.
          if (q.resetLane !== undefined) {
            // Forgotten first: the reset may grant the next task synchronously.
            for (const id of running.get(laneOf(op.lane)) ?? []) forgotten.add(id);
            running.set(laneOf(op.lane), new Set());
            q.resetLane(op.lane);
          }
          break;
        case 'drain':
          q.drain?.();
          break;
      }
      await clock.tickAsync(0);
    }
    // Bounded: every task is at most a few seconds; 10 minutes of virtual time is plenty.
    for (let i = 0; i < 600 && [...tasks.values()].some((t) => t.settledAt === null); i++) await clock.tickAsync(1000);
    const waits = q.laneWaits?.() ?? null;
    return { tasks, order, clears, waits, violations, endAt: Date.now() };
  } finally {
    await queue?.dispose?.();
    clock.uninstall();
  }
}

export interface LaneFinding { rule: string; where: string; expected: string; observed: string }

/** The first finding: an invariant broken, else the first difference from the reference. */
export function judgeLanes(w: LaneWorkload, reference: LaneObservation, target: LaneObservation): LaneFinding | null {
  const v = target.violations[0];
  if (v !== undefined) return { rule: v.rule, where: `t=${v.t}`, expected: 'no lane runs more tasks than its cap', observed: v.message };
  // Which ops happened to a lane before a time: the rule of a difference follows the reference's fate of the task.
  const ruleFor = (id: string): string => {
    const r = reference.tasks.get(id);
    const t = target.tasks.get(id);
    const fate = `${r?.outcome ?? ''}|${t?.outcome ?? ''}`;
    if (fate.includes('cleared')) return 'LANE-11';
    if (fate.includes('aborted')) return 'LANE-12';
    if (fate.includes('draining')) return 'LANE-13';
    if (r?.outcome === 'ok' && t?.outcome !== 'ok' && t?.outcome !== undefined) return 'LANE-9';
    const lane = r?.lane ?? '';
    // Enqueued under a name LANE-1 maps to another lane (`''`, ` main`): the mapping is what differs.
    if (r !== undefined && r.name !== lane) return 'LANE-1';
    const before = (r?.startedAt ?? Infinity);
    let at = 0;
    let rule = 'LANE-4';
    for (const op of w.ops) {
      at += op.gap;
      if (at > before) break;
        if (op.kind === 'reset' && laneOf(op.lane) === lane) rule = 'LANE-14';
      if (op.kind === 'cap' && laneOf(op.lane) === lane && rule !== 'LANE-14') rule = 'LANE-10';
    }
    if (rule === 'LANE-4' && r?.startedAt !== null && t?.startedAt !== null && (t?.startedAt ?? 0) < (r?.startedAt ?? 0)) {
      const sameLaneOrder = reference.order.get(lane)?.join(',') === target.order.get(lane)?.join(',');
      if (sameLaneOrder) return lane.startsWith('session:') ? 'LANE-2' : 'LANE-3';
    }
    return rule;
  };
  const found: { t: number; fate: boolean; f: LaneFinding }[] = [];
  for (const [id, r] of reference.tasks) {
    const t = target.tasks.get(id);
    const show = (x: typeof r | undefined): string => (x === undefined ? 'never enqueued' : `started ${x.startedAt ?? 'never'}, settled ${x.outcome ?? 'never'} at ${x.settledAt ?? '-'}`);
    if (t === undefined || t.startedAt !== r.startedAt || t.outcome !== r.outcome || t.settledAt !== r.settledAt) {
      const when = Math.min(...[r.startedAt, t?.startedAt, r.settledAt, t?.settledAt].filter((x): x is number => typeof x === 'number'));
      found.push({ t: Number.isFinite(when) ? when : 0, fate: t?.outcome !== r.outcome, f: { rule: ruleFor(id), where: `task ${id} in ${r.lane}`, expected: show(r), observed: show(t) } });
    }
  }
  for (let i = 0; i < reference.clears.length; i++) {
    if (reference.clears[i] !== target.clears[i]) found.push({ t: Infinity, fate: true, f: { rule: 'LANE-11', where: `clear #${i + 1}`, expected: `removed ${reference.clears[i]}`, observed: `removed ${target.clears[i]}` } });
  }
  if (found.length > 0) {
    // Earliest first; at one instant a task whose fate differs before one whose timing does (its consequence).
    found.sort((a, b) => a.t - b.t || Number(b.fate) - Number(a.fate));
    return found[0]!.f;
  }
  if (reference.waits !== null && target.waits !== null) {
    const e = reference.waits.map((x) => JSON.stringify(x));
    const o = target.waits.map((x) => JSON.stringify(x));
    for (let i = 0; i < Math.max(e.length, o.length); i++) {
      if (e[i] !== o[i]) {
        const rule = e.length !== o.length || e[i] === undefined || o[i] === undefined || JSON.parse(e[i]!).waitedMs !== JSON.parse(o[i]!).waitedMs ? 'DIAG-1' : 'DIAG-2';
        return { rule, where: `lane-wait record #${i + 1}`, expected: e[i] ?? '(none)', observed: o[i] ?? '(none)' };
      }
    }
  }
  return null;
}

/** Lane workload i's own seed. */
export function laneWorkloadSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x01000193) + Math.imul(index, 0x9e3779b1)) | 0;
}

export interface LaneExploreResult {
  runs: number;
  failure: { index: number; seed: number; rule: string; workload: LaneWorkload; finding: LaneFinding; shrinks: number } | null;
  durationMs: number;
}

/** Capabilities of a queue, read once from a throwaway instance (under fake timers). */
async function queueFeatures(create: () => Promise<LaneQueueUnderTest> | LaneQueueUnderTest): Promise<{ drain: boolean; reset: boolean; abort: boolean }> {
  const clock = FakeTimers.install({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  try {
    const q = await create();
    const features = { drain: q.drain !== undefined, reset: q.resetLane !== undefined, abort: q.abortQueued === true };
    await q.dispose?.();
    return features;
  } finally {
    clock.uninstall();
  }
}

/** The lane workload a seed generates for a target's queue (what `--replay lanes:<seed>` plays). */
export async function laneWorkloadFromSeed(target: ConformanceTarget, seed: number): Promise<LaneWorkload> {
  const create = target.createLaneQueue;
  if (create === undefined) throw new Error(`target ${target.name} has no lane queue (capability lanes)`);
  return fc.sample(arbLaneWorkload(await queueFeatures(create)), { seed, numRuns: 1 })[0]!;
}

/** Plays a lane workload on the target and the reference queue and judges it. */
export async function replayLanes(target: ConformanceTarget, w: LaneWorkload): Promise<LaneFinding | null> {
  const create = target.createLaneQueue;
  if (create === undefined) throw new Error(`target ${target.name} has no lane queue (capability lanes)`);
  return judgeLanes(w, await playLanes(() => referenceLaneQueue(), w), await playLanes(create, w));
}

/** Explores a target's lane queue against the reference queue. */
export async function exploreLanes(target: ConformanceTarget, options: { runs: number; seed: number; shrinkBudget?: number; onProgress?: (done: number, total: number) => void }): Promise<LaneExploreResult> {
  const create = target.createLaneQueue;
  if (create === undefined) throw new Error(`target ${target.name} has no lane queue (capability lanes)`);
  const started = performance.now();
  const features = await queueFeatures(create);
  const arb = arbLaneWorkload(features);
  const judge = async (w: LaneWorkload): Promise<LaneFinding | null> => judgeLanes(w, await playLanes(() => referenceLaneQueue(), w), await playLanes(create, w));
  for (let i = 0; i < options.runs; i++) {
    const seed = laneWorkloadSeed(options.seed, i);
    const w = fc.sample(arb, { seed, numRuns: 1 })[0]!;
    const finding = await judge(w);
    options.onProgress?.(i + 1, options.runs);
    if (finding === null) continue;
    let executions = 0;
    const budget = options.shrinkBudget ?? 300;
    const shrunk = await fc.check(fc.asyncProperty(arb, async (x) => {
      if (executions++ >= budget) return true;
      const f = await judge(x);
      return f === null || f.rule !== finding.rule;
    }), { seed, numRuns: 1 });
    const small = shrunk.failed && shrunk.counterexample !== null ? shrunk.counterexample[0] : w;
    return { runs: i + 1, failure: { index: i, seed, rule: finding.rule, workload: small, finding: (await judge(small)) ?? finding, shrinks: shrunk.numShrinks }, durationMs: performance.now() - started };
  }
  return { runs: options.runs, failure: null, durationMs: performance.now() - started };
}
