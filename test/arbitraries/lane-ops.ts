/**
 * Random lane-level workloads for LaneScheduler alone, as plain data: task
 * submissions to paths such as [session:k, main], [session:k, nested:t,
 * subagent] or [main], with scripted task behaviour, mixed with abort, clear,
 * reset, setLaneConcurrency and drain. test/support/run-lane-workload.ts
 * replays one on a fake clock.
 */
import fc from 'fast-check';

export const LANE_SESSIONS = 3;
export const LANE_TARGETS = 2;

export interface TaskScript {
  /** `sync`: the function returns (or throws) at once; `timer`: detached, settles after durationMs. */
  style: 'sync' | 'timer';
  durationMs: number;
  error: boolean;
  /** Detached tasks only: release every lane at atMs (LANE-22), queue again after forMs. */
  park: { atMs: number; forMs: number } | null;
  /** How an abort is honoured: inside the signal's abort event, or on the next timer step. */
  abortSettle: 'sync' | 'timer';
}

export interface SubmitOp { kind: 'submit'; gap: number; path: string[]; task: TaskScript }
/** Abort by id: index (mod count) into the ids submitted so far. */
export interface AbortOp { kind: 'abort'; gap: number; pick: number }
export interface ClearOp { kind: 'clear'; gap: number; lane: string }
export interface ResetOp { kind: 'reset'; gap: number; lane: string }
export interface SetConcurrencyOp { kind: 'setConcurrency'; gap: number; lane: string; maxConcurrent: number }
/** startDraining(lane) (or everything, lane null), stopDraining after forMs. */
export interface DrainOp { kind: 'drain'; gap: number; lane: string | null; forMs: number }
export type LaneOp = SubmitOp | AbortOp | ClearOp | ResetOp | SetConcurrencyOp | DrainOp;

export interface LaneWorkload {
  /** Initial caps of the global and nested lanes (session lanes are always 1). */
  concurrency: { main: number; subagent: number; cron: number; nested: number };
  laneWaitWarnMs: number;
  ops: LaneOp[];
}

const session = fc.integer({ min: 0, max: LANE_SESSIONS - 1 }).map((k) => `session:s${k}`);
const nested = fc.integer({ min: 0, max: LANE_TARGETS - 1 }).map((t) => `nested:t${t}`);
const globalLane = fc.constantFrom('main', 'subagent', 'cron');

/** The path shapes the gateway uses, plus a few bare ones. */
export const arbLanePath: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(session, fc.constant('main')).map((p) => [...p]) },
  { weight: 2, arbitrary: fc.tuple(session, nested, fc.constant('subagent')).map((p) => [...p]) },
  { weight: 2, arbitrary: fc.constant<string[]>(['main']) },
  { weight: 1, arbitrary: session.map((s) => [s]) },
  { weight: 1, arbitrary: fc.tuple(nested, fc.constant('subagent')).map((p) => [...p]) },
  { weight: 1, arbitrary: fc.tuple(session, fc.constant('cron')).map((p) => [...p]) },
  { weight: 1, arbitrary: fc.constant<string[]>(['subagent']) },
);

/** Any lane a workload touches. */
export const arbLaneName: fc.Arbitrary<string> = fc.oneof(session, nested, globalLane);

const arbGap = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 200 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 3000 }) },
);

export const arbTaskScript: fc.Arbitrary<TaskScript> = fc
  .record({
    style: fc.constantFrom<'sync' | 'timer'>('timer', 'timer', 'timer', 'sync'),
    durationMs: fc.integer({ min: 0, max: 4000 }),
    error: fc.boolean().chain((b) => (b ? fc.boolean() : fc.constant(false))),
    park: fc.option(fc.record({ atFraction: fc.double({ min: 0, max: 1, noNaN: true }), forMs: fc.integer({ min: 0, max: 3000 }) }), {
      nil: null,
      freq: 3,
    }),
    abortSettle: fc.constantFrom<'sync' | 'timer'>('sync', 'timer'),
  })
  .map(({ style, durationMs, error, park, abortSettle }) => ({
    style,
    durationMs: style === 'sync' ? 0 : durationMs,
    error,
    park: park === null || style === 'sync' ? null : { atMs: Math.floor(park.atFraction * durationMs), forMs: park.forMs },
    abortSettle,
  }));

export interface LaneOpsOptions {
  maxOps?: number;
  /** Include reset ops (LANE-14). Default true. */
  reset?: boolean;
  /** Reset session lanes too (breaks session exclusivity by design). Default false. */
  resetSessionLanes?: boolean;
  /** Include park in task scripts. Default true. */
  park?: boolean;
}

export function arbLaneWorkload(options: LaneOpsOptions = {}): fc.Arbitrary<LaneWorkload> {
  const withReset = options.reset ?? true;
  const withPark = options.park ?? true;
  const task = withPark ? arbTaskScript : arbTaskScript.map((t) => ({ ...t, park: null }));
  const choices: fc.WeightedArbitrary<LaneOp>[] = [
    { weight: 10, arbitrary: fc.record({ kind: fc.constant('submit' as const), gap: arbGap, path: arbLanePath, task }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('abort' as const), gap: arbGap, pick: fc.nat({ max: 1000 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), gap: arbGap, lane: arbLaneName }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('setConcurrency' as const),
        gap: arbGap,
        lane: fc.oneof(globalLane, nested),
        maxConcurrent: fc.integer({ min: 1, max: 4 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('drain' as const),
        gap: arbGap,
        lane: fc.option(arbLaneName, { nil: null, freq: 4 }),
        forMs: fc.integer({ min: 0, max: 3000 }),
      }),
    },
  ];
  // Resetting a session lane lets a second task start in the session while the forgotten one still runs:
  // INV-SESSION-EXCLUSIVE rightly flags that (see test/unit/lane-scheduler.test.ts), so workloads reset only
  // nested and global lanes unless asked.
  const resetLane = options.resetSessionLanes === true ? arbLaneName : fc.oneof(nested, globalLane);
  if (withReset) choices.push({ weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), gap: arbGap, lane: resetLane }) });
  const op = fc.oneof(...choices);
  return fc.record({
    concurrency: fc.record({
      main: fc.integer({ min: 1, max: 4 }),
      subagent: fc.integer({ min: 1, max: 3 }),
      cron: fc.integer({ min: 1, max: 2 }),
      nested: fc.integer({ min: 1, max: 2 }),
    }),
    laneWaitWarnMs: fc.constantFrom(0, 500, 2000),
    ops: fc.array(op, { minLength: 1, maxLength: options.maxOps ?? 30 }),
  });
}
