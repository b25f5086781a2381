/**
 * `npm run bench -- scheduler`: the reference lane scheduler against p-queue
 * (and OpenClaw's own command queue when installed) on one workload, side by
 * side in one process:
 *
 *   N no-op async tasks over S session lanes, each task enqueued in its
 *   session lane (concurrency 1) and, holding that slot, in a shared global
 *   lane of concurrency 4 (the way OpenClaw nests session -> main).
 *
 * Protocol, identical for every contender: build a fresh queue with starting
 * paused, enqueue all N (so all N are queued at once), force a GC and read the
 * heap (bytes per queued task), then start and wait until all N settled.
 * Throughput counts enqueue + drain time. Benchmarks may read the wall clock;
 * library code never does.
 */
import PQueue from 'p-queue';
import { LaneScheduler } from '../src/reference-impl/lane-scheduler.ts';
import { forceGc, heapUsed, rssBytes } from './support/memory.ts';

export interface SchedulerBenchOptions {
  tasks: number;
  sessions: number;
  globalCap: number;
}

export interface ContenderResult {
  name: string;
  tasks: number;
  opsPerSec: number;
  enqueueMs: number;
  drainMs: number;
  bytesPerQueuedTask: number;
  rssMiB: number;
  note: string;
}

export interface Contender {
  name: string;
  note: string;
  /** Enqueue everything paused; return a function that starts and resolves when all settled. */
  prepare(options: SchedulerBenchOptions, noop: () => unknown): Promise<() => Promise<void>>;
}

/** The task every contender runs: it does nothing (p-queue and OpenClaw wrap it in promises themselves). */
export const noopSync = (): undefined => undefined;
/** The same as an async function, for the second table: everyone pays for a promise per task. */
export const noopAsync = async (): Promise<void> => {};

export const lanesimCallbackContender: Contender = {
  name: 'lanesim (submit)',
  note: 'callback API, trace off',
  async prepare({ tasks, sessions, globalCap }, noop) {
    const scheduler = new LaneScheduler({ concurrency: (lane) => (lane === 'main' ? globalCap : 1), warnThresholdMs: null });
    scheduler.pause();
    const paths = Array.from({ length: sessions }, (_, i) => [`session:${i}`, 'main'] as const);
    let settled = 0;
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const onSettled = (): void => {
      if (++settled === tasks) finish();
    };
    for (let i = 0; i < tasks; i++) scheduler.submit(paths[i % sessions]!, noop, { onSettled });
    return async () => {
      scheduler.resume();
      await finished;
    };
  },
};

export const lanesimPromiseContender: Contender = {
  name: 'lanesim (enqueue)',
  note: 'promise API, trace off',
  async prepare({ tasks, sessions, globalCap }, noop) {
    const scheduler = new LaneScheduler({ concurrency: (lane) => (lane === 'main' ? globalCap : 1), warnThresholdMs: null });
    scheduler.pause();
    const paths = Array.from({ length: sessions }, (_, i) => [`session:${i}`, 'main'] as const);
    let settled = 0;
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const onDone = (): void => {
      if (++settled === tasks) finish();
    };
    for (let i = 0; i < tasks; i++) void scheduler.enqueue(paths[i % sessions]!, noop as () => unknown).then(onDone);
    return async () => {
      scheduler.resume();
      await finished;
    };
  },
};

export const pQueueContender: Contender = {
  name: 'p-queue',
  note: 'one PQueue per session (concurrency 1) feeding a shared PQueue (concurrency 4); autoStart false',
  async prepare({ tasks, sessions, globalCap }, noop) {
    const shared = new PQueue({ concurrency: globalCap });
    const perSession = Array.from({ length: sessions }, () => new PQueue({ concurrency: 1, autoStart: false }));
    let settled = 0;
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const onDone = (): void => {
      if (++settled === tasks) finish();
    };
    for (let i = 0; i < tasks; i++) {
      void perSession[i % sessions]!.add(() => shared.add(noop as () => Promise<unknown>)).then(onDone);
    }
    return async () => {
      for (const queue of perSession) queue.start();
      await finished;
    };
  },
};

export async function runContender(contender: Contender, options: SchedulerBenchOptions, noop: () => unknown = noopSync): Promise<ContenderResult> {
  forceGc();
  const heapBefore = heapUsed();
  const t0 = process.hrtime.bigint();
  const start = await contender.prepare(options, noop);
  const t1 = process.hrtime.bigint();
  forceGc();
  const heapQueued = heapUsed();
  const rss = rssBytes();
  const t2 = process.hrtime.bigint();
  await start();
  const t3 = process.hrtime.bigint();
  const enqueueMs = Number(t1 - t0) / 1e6;
  const drainMs = Number(t3 - t2) / 1e6;
  return {
    name: contender.name,
    tasks: options.tasks,
    opsPerSec: options.tasks / ((enqueueMs + drainMs) / 1000),
    enqueueMs,
    drainMs,
    bytesPerQueuedTask: (heapQueued - heapBefore) / options.tasks,
    rssMiB: rss / 2 ** 20,
    note: contender.note,
  };
}

/**
 * OpenClaw's own command queue (dist/command-queue-*.mjs from the installed
 * package), driven the way OpenClaw drives it: enqueue in `session:<key>`,
 * then inside that slot in `main`. Paused the OpenClaw way: concurrency 0
 * stops a lane. Its `lane wait exceeded` diagnostics are silenced through its
 * own logging state (the loader's `silence` option): no record is formatted
 * or written, the fair equivalent of lanesim's trace being off.
 */
export async function openClawContender(packageDir?: string): Promise<Contender> {
  const { loadOpenClawCommandQueue } = await import('../src/peers/openclaw/command-queue.ts');
  const queue = await loadOpenClawCommandQueue({ packageDir, silence: true, fresh: true });
  process.once('exit', () => queue.restoreLogging());
  return {
    name: `openclaw ${queue.version ?? ''} command-queue`.trim(),
    note: 'enqueueCommandInLane(session:<k>, () => enqueueCommandInLane(main, noop)); diagnostics silenced via its logging state',
    async prepare({ tasks, sessions, globalCap }, noop) {
      queue.resetState();
      const lanes = Array.from({ length: sessions }, (_, i) => `session:bench-${i}`);
      for (const lane of lanes) queue.setCommandLaneConcurrency(lane, 0);
      queue.setCommandLaneConcurrency('main', globalCap);
      let settled = 0;
      let finish: () => void = () => {};
      const finished = new Promise<void>((resolve) => (finish = resolve));
      const onDone = (): void => {
        if (++settled === tasks) finish();
      };
      const inner = (): Promise<unknown> => queue.enqueueCommandInLane('main', noop);
      for (let i = 0; i < tasks; i++) void queue.enqueueCommandInLane(lanes[i % sessions]!, inner).then(onDone);
      return async () => {
        for (const lane of lanes) queue.setCommandLaneConcurrency(lane, 1);
        await finished;
        // Logging stays silenced for the next run (the measured one follows a warm-up); restored at exit.
        queue.resetState();
      };
    },
  };
}
