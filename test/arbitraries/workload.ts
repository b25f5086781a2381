/**
 * Random gateway workloads as plain data (JSON-serialisable, so a shrunk
 * counterexample prints as something you can paste into a unit test).
 *
 * A workload is a config, a list of timed actions over a few sessions
 * (send message, chat.abort of a random run id, clear session, an optional
 * shutdown at the end) and the scripts runs follow (duration, error, one
 * nested call part-way, a streaming window, how promptly an abort settles).
 * test/support/run-workload.ts replays one on a fake clock.
 *
 * Modes vary per channel through `byChannel` (a router's config cannot change
 * mid-way): a message's channel picks its mode.
 */
import fc from 'fast-check';
import { DROP_POLICIES, QUEUE_MODES, type ConfigInput, type DropPolicy, type QueueMode } from '../../src/model/config-types.ts';

export const WORKLOAD_CHANNELS = ['webchat', 'telegram', 'slack'] as const;
export type WorkloadChannel = (typeof WORKLOAD_CHANNELS)[number];
export const WORKLOAD_ROUTES = ['thread-a', 'thread-b'] as const;
export const MAX_SESSIONS = 3;

export interface WorkloadConfig {
  /** agents.defaults.maxConcurrent (lane `main`), 1-4. */
  mainMaxConcurrent: number;
  /** agents.defaults.subagents.maxConcurrent (lane `subagent`), 1-3. */
  subagentMaxConcurrent: number;
  /** agents.defaults.lane.maxConcurrent (each `nested:<target>` lane), 1-2. */
  nestedMaxConcurrent: number;
  mode: QueueMode;
  cap: number;
  drop: DropPolicy;
  debounceMs: number;
  warnThresholdMs: number;
  nestedAgentParallel: boolean;
  laneWaitWarnMs: number;
  byChannel: Partial<Record<WorkloadChannel, QueueMode>>;
}

export interface SendAction {
  kind: 'send';
  /** ms after the previous action. */
  gap: number;
  /** Session index: key `s<i>`. */
  session: number;
  text: string;
  route: string | null;
  channel: WorkloadChannel | null;
}
export interface AbortAction {
  kind: 'abort';
  gap: number;
  /** Index (mod the number known so far) into the run ids seen: message run ids, then runs started. */
  pick: number;
  /** chat.abort without a runId: abort whatever runs in that run's session. */
  all: boolean;
}
export interface ClearAction { kind: 'clear'; gap: number; session: number }
export interface ShutdownAction { kind: 'shutdown'; gap: number; abortRunning: boolean }
export type WorkloadAction = SendAction | AbortAction | ClearAction | ShutdownAction;

export interface NestedScript {
  /** ms of the parent's own work before it calls the nested agent. */
  atMs: number;
  /** Session index of the target agent. */
  target: number;
}

/** What a run does once started. Runs take scripts in start order, cycling. */
export interface RunScript {
  durationMs: number;
  error: boolean;
  /** One nested agent call part-way (ignored for nested runs themselves). */
  nested: NestedScript | null;
  /** isStreaming() is true while the run's own elapsed work is in [from, to). */
  streamFromMs: number;
  streamToMs: number;
  /** On abort: settle inside the signal's abort event (`sync`) or on the next timer step (`timer`). */
  abortSettle: 'sync' | 'timer';
}

export interface Workload {
  config: WorkloadConfig;
  actions: WorkloadAction[];
  scripts: RunScript[];
}

export function workloadConfigInput(c: WorkloadConfig): ConfigInput {
  return {
    agents: {
      defaults: {
        maxConcurrent: c.mainMaxConcurrent,
        subagents: { maxConcurrent: c.subagentMaxConcurrent },
        lane: {
          maxConcurrent: c.nestedMaxConcurrent,
          warnThresholdMs: c.warnThresholdMs,
          nestedAgentParallel: c.nestedAgentParallel,
        },
      },
    },
    messages: { queue: { mode: c.mode, debounceMs: c.debounceMs, cap: c.cap, drop: c.drop, byChannel: { ...c.byChannel } } },
    diagnostics: { laneWaitWarnMs: c.laneWaitWarnMs },
  };
}

export const arbQueueMode: fc.Arbitrary<QueueMode> = fc.constantFrom(...QUEUE_MODES);

export function arbWorkloadConfig(nestedAgentParallel?: boolean): fc.Arbitrary<WorkloadConfig> {
  return fc.record({
    // Often 1, as the conformance explorer does (src/conformance/explore/workload.ts): runs then wait for
    // `main` holding their session slot (LANE-7), where aborts, drops and interrupts of such runs matter.
    mainMaxConcurrent: fc.oneof({ weight: 2, arbitrary: fc.constant(1) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }) }),
    subagentMaxConcurrent: fc.integer({ min: 1, max: 3 }),
    nestedMaxConcurrent: fc.integer({ min: 1, max: 2 }),
    mode: arbQueueMode,
    cap: fc.integer({ min: 1, max: 5 }),
    drop: fc.constantFrom(...DROP_POLICIES),
    debounceMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2000 })),
    warnThresholdMs: fc.integer({ min: 1000, max: 60_000 }),
    nestedAgentParallel: nestedAgentParallel === undefined ? fc.boolean() : fc.constant(nestedAgentParallel),
    laneWaitWarnMs: fc.constantFrom(0, 500, 2000),
    byChannel: fc.record(
      { webchat: arbQueueMode, telegram: arbQueueMode, slack: arbQueueMode },
      { requiredKeys: [] },
    ),
  });
}

/** Gaps: mostly short (things pile up), sometimes long (waits cross thresholds). */
const arbGap = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 400 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 3000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 40_000 }) },
);

const arbText = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('hi', 'status?', 'run the tests', 'also check lint', '  spaced\n\ttext  ', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 220 }) },
);

function arbSend(sessions: number): fc.Arbitrary<SendAction> {
  return fc.record({
    kind: fc.constant('send' as const),
    gap: arbGap,
    session: fc.integer({ min: 0, max: sessions - 1 }),
    text: arbText,
    route: fc.option(fc.constantFrom(...WORKLOAD_ROUTES), { nil: null }),
    channel: fc.option(fc.constantFrom(...WORKLOAD_CHANNELS), { nil: null }),
  });
}

const arbAbort: fc.Arbitrary<AbortAction> = fc.record({
  kind: fc.constant('abort' as const),
  gap: arbGap,
  pick: fc.nat({ max: 1000 }),
  all: fc.boolean(),
});

function arbClear(sessions: number): fc.Arbitrary<ClearAction> {
  return fc.record({ kind: fc.constant('clear' as const), gap: arbGap, session: fc.integer({ min: 0, max: sessions - 1 }) });
}

const arbShutdown: fc.Arbitrary<ShutdownAction> = fc.record({
  kind: fc.constant('shutdown' as const),
  gap: arbGap,
  abortRunning: fc.boolean(),
});

export function arbRunScript(sessions: number): fc.Arbitrary<RunScript> {
  return fc
    .record({
      durationMs: fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 0, max: 3000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 70_000 }) },
      ),
      error: fc.boolean().chain((b) => (b ? fc.boolean() : fc.constant(false))), // ~1 in 4
      nested: fc.option(
        fc.record({ atFraction: fc.double({ min: 0, max: 1, noNaN: true }), target: fc.integer({ min: 0, max: sessions - 1 }) }),
        { nil: null, freq: 3 },
      ),
      stream: fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
      abortSettle: fc.constantFrom('sync' as const, 'timer' as const),
    })
    .map(({ durationMs, error, nested, stream, abortSettle }) => {
      const [a, b] = stream;
      return {
        durationMs,
        error,
        nested: nested === null ? null : { atMs: Math.floor(nested.atFraction * durationMs), target: nested.target },
        streamFromMs: Math.floor(Math.min(a, b) * durationMs),
        streamToMs: Math.ceil(Math.max(a, b) * durationMs),
        abortSettle,
      };
    });
}

export interface WorkloadArbOptions {
  /** Fix nestedAgentParallel (both values are covered when omitted). */
  nestedAgentParallel?: boolean;
  maxActions?: number;
}

export function arbWorkload(options: WorkloadArbOptions = {}): fc.Arbitrary<Workload> {
  const maxActions = options.maxActions ?? 24;
  return fc.integer({ min: 1, max: MAX_SESSIONS }).chain((sessions) =>
    fc
      .record({
        config: arbWorkloadConfig(options.nestedAgentParallel),
        actions: fc.array(
          fc.oneof(
            { weight: 8, arbitrary: arbSend(sessions) },
            { weight: 1, arbitrary: arbAbort },
            { weight: 1, arbitrary: arbClear(sessions) },
          ),
          { minLength: 1, maxLength: maxActions },
        ),
        shutdown: fc.option(arbShutdown, { nil: null, freq: 4 }),
        scripts: fc.array(arbRunScript(sessions), { minLength: 1, maxLength: 8 }),
      })
      .map(({ config, actions, shutdown, scripts }) => ({
        config,
        actions: shutdown === null ? actions : [...actions, shutdown],
        scripts,
      })),
  );
}
