/**
 * Lane adapters: the lanesim reference scheduler and OpenClaw's real command
 * queue, each behind the LaneQueueUnderTest interface the lane cases drive.
 *
 * Both run under the fake timers the harness installs before it calls
 * `createLaneQueue()`, and both read the global Date/setTimeout at call time.
 *
 * Mapping (interface -> reference | OpenClaw):
 *
 *   enqueue(lane, task, {signal})  scheduler.enqueue(lane, () => task(), {signal})
 *                                  | enqueueCommandInLane(lane, () => task(), {abortSignal: signal})
 *   setConcurrency(lane, n)        scheduler.setLaneConcurrency | setCommandLaneConcurrency
 *   clear(lane)                    scheduler.clearLane          | clearCommandLane
 *   drain()                        scheduler.startDraining()    | markGatewayDraining()
 *   resetLane(lane)                scheduler.resetLane          | resetCommandLane (if exported)
 *   laneWaits()                    hooks.onLaneWait records     | captured `lane wait exceeded` log lines
 *   abortQueued                    true                          | true (the `abortSignal` option)
 *
 * A nested enqueue (into `main` from inside a `session:` task) is, in both, a
 * separate single-lane enqueue made by the outer task: the outer task holds
 * its session slot until the inner promise settles (OpenClaw's own pattern).
 */
import { parseConfig } from '../../model/config.ts';
import { loadOpenClawCommandQueue, type OpenClawCommandQueue } from '../../peers/openclaw/command-queue.ts';
import { openclawPeerPaths } from '../../peers/openclaw/paths.ts';
import { LaneScheduler, laneConcurrencyFromConfig, type LaneSchedulerOptions } from '../../reference-impl/lane-scheduler.ts';
import type { Capability, ConformanceTarget, LaneQueueUnderTest, LaneWaitRecord } from '../types.ts';

// ------------------------------------------------------------------ reference

export interface ReferenceLaneQueueOptions {
  /**
   * Builds the scheduler from the options the adapter chose (default: `new
   * LaneScheduler(options)`). Tests use it to put a deliberately broken
   * scheduler behind the same adapter.
   */
  createScheduler?: (options: LaneSchedulerOptions) => LaneScheduler;
}

/** The reference adapter; `scheduler` and `records` are exposed for tests and mutants. */
export interface ReferenceLaneQueue extends LaneQueueUnderTest {
  readonly scheduler: LaneScheduler;
  /** The lane-wait records collected so far (the array laneWaits() copies). */
  readonly records: LaneWaitRecord[];
  drain(): void;
  resetLane(lane: string): void;
  laneWaits(): LaneWaitRecord[];
  readonly abortQueued: true;
}

/** lanesim's LaneScheduler with the caps of the default config (main 4, subagent 8, cron 1, others 1). */
export function referenceLaneQueue(options: ReferenceLaneQueueOptions = {}): ReferenceLaneQueue {
  const config = parseConfig({});
  const records: LaneWaitRecord[] = [];
  const schedulerOptions: LaneSchedulerOptions = {
    // The global clock reads Date.now/setTimeout at call time: the harness's fake timers.
    trace: null,
    concurrency: laneConcurrencyFromConfig(config),
    laneWaitWarnMs: config.diagnostics.laneWaitWarnMs,
    // STATUS-4 wait warnings are a gateway concern, not the lane queue's.
    warnThresholdMs: null,
    hooks: {
      onLaneWait: (info) => {
        records.push({
          lane: info.lane,
          waitedMs: info.waitedMs,
          queueAhead: info.queueAhead,
          activeAhead: info.activeAhead,
          activeNow: info.activeNow,
          queueBehind: info.queueBehind,
        });
      },
    },
  };
  const scheduler = options.createScheduler ? options.createScheduler(schedulerOptions) : new LaneScheduler(schedulerOptions);
  return {
    scheduler,
    records,
    enqueue: <T>(lane: string, task: () => Promise<T> | T, opts?: { signal?: AbortSignal }): Promise<T> =>
      scheduler.enqueue<T>(lane, () => task(), opts?.signal === undefined ? {} : { signal: opts.signal }),
    setConcurrency: (lane, maxConcurrent) => scheduler.setLaneConcurrency(lane, maxConcurrent),
    clear: (lane) => scheduler.clearLane(lane),
    drain: () => scheduler.startDraining(),
    resetLane: (lane) => scheduler.resetLane(lane),
    laneWaits: () => records.map((record) => ({ ...record })),
    abortQueued: true,
  };
}

// ------------------------------------------------------------------ OpenClaw

/** The OpenClaw package `--openclaw-queue` loads: the folder given, else the peer install's (LANESIM_OPENCLAW_DIR, or the cache `npm run peer:openclaw -- install` fills). */
export function openClawQueueDir(dir?: string): string {
  return dir ?? openclawPeerPaths().openclawDir;
}

export interface OpenClawLaneQueueOptions {
  /** An installed `openclaw` package folder; default: the cached peer (src/peers/openclaw/paths.ts). */
  packageDir?: string;
}

/** The OpenClaw adapter; `queue` is the loaded module, exposed for tests. */
export interface OpenClawLaneQueue extends LaneQueueUnderTest {
  readonly queue: OpenClawCommandQueue;
}

/**
 * OpenClaw's real command queue (openclaw@2026.9.6, dist/command-queue-*.mjs),
 * loaded as a fresh module instance with its log records captured in memory,
 * its process-wide state reset for this case. Dispose resets the state again
 * and gives the logging state back.
 */
export async function openClawLaneQueue(options: OpenClawLaneQueueOptions = {}): Promise<OpenClawLaneQueue> {
  const queue = await loadOpenClawCommandQueue({
    capture: true,
    fresh: true,
    ...(options.packageDir === undefined ? {} : { packageDir: options.packageDir }),
  });
  queue.resetState();
  queue.diagnostics?.clear();
  const diagnostics = queue.diagnostics;
  const resetCommandLane = queue.resetCommandLane;
  const adapter: OpenClawLaneQueue = {
    queue,
    enqueue: <T>(lane: string, task: () => Promise<T> | T, opts?: { signal?: AbortSignal }): Promise<T> =>
      queue.enqueueCommandInLane(lane, () => task(), opts?.signal === undefined ? undefined : { abortSignal: opts.signal }) as Promise<T>,
    setConcurrency: (lane, maxConcurrent) => queue.setCommandLaneConcurrency(lane, maxConcurrent),
    clear: (lane) => queue.clearCommandLane(lane),
    drain: () => queue.markGatewayDraining('lanesim conformance: drain'),
    abortQueued: true,
    dispose: () => {
      queue.resetState();
      queue.restoreLogging();
    },
  };
  return Object.assign(
    adapter,
    resetCommandLane === undefined ? {} : { resetLane: (lane: string) => void resetCommandLane(lane) },
    diagnostics === undefined
      ? {}
      : {
          laneWaits: (): LaneWaitRecord[] =>
            diagnostics.laneWaits.map(({ line: _line, ...record }) => ({ ...record })),
        },
  );
}

// ------------------------------------------------------------------ targets

/** An in-process target that only has a lane queue (capabilities `lanes`, `virtual-time`). */
export function laneTarget(name: string, factory: () => LaneQueueUnderTest | Promise<LaneQueueUnderTest>): ConformanceTarget {
  return {
    name,
    kind: 'in-process',
    capabilities: new Set<Capability>(['lanes', 'virtual-time']),
    createLaneQueue: async () => factory(),
  };
}

// ------------------------------------------------------------------ OpenClaw's tool validator

/**
 * OpenClaw's own `validateToolCall` (dist/validation-*.mjs), in process, over
 * the tool schemas its agent offers the model (captured by `npm run
 * peer:openclaw -- capture-tools`; src/peers/openclaw/tool-validator.ts): a
 * target with only capability `tools`, for the `tool.validate.*` cases.
 * Throws OpenClawToolsUnavailable (one line saying what to run) when the peer
 * or the schemas are missing.
 */
export async function openClawToolTarget(options: { packageDir?: string; schemasFile?: string } = {}): Promise<ConformanceTarget> {
  const { loadOpenClawToolValidator } = await import('../../peers/openclaw/tool-validator.ts');
  const validator = await loadOpenClawToolValidator(options);
  return {
    name: `openclaw validateToolCall (${validator.module.split('/').pop() ?? validator.module}; ${validator.toolNames.length} tools captured ${validator.schemas.capturedAt})`,
    kind: 'in-process',
    capabilities: new Set<Capability>(['tools']),
    tools: validator,
  };
}
