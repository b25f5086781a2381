/**
 * The reference lane scheduler (docs/SPEC.md, LANE-* and DIAG-*).
 *
 * A task names the lanes it needs, in order (`session:<key>` then a global
 * lane, say); it waits in each lane's FIFO in turn and holds every slot it
 * got while it waits for the next (LANE-7), and runs once it holds them all.
 *
 * Everything here is synchronous and callback-driven: no promise is created
 * on the hot path, so the discrete-event engine can drive millions of tasks
 * through it without a microtask queue, and the only clock reads go through
 * the injected Clock. `enqueue()` adds a promise API on top for callers who
 * want one.
 */
import { globalClock, type Clock } from '../model/clock.ts';
import { LaneError, LaneErrorCode } from '../model/codes.ts';
import type { LanesimConfig } from '../model/config-types.ts';
import type { TraceSink } from '../model/events.ts';
import { Deque } from './deque.ts';
import { Lane, LaneRank, laneRank, normalizeLaneName } from './lane.ts';
import { WaitWarnings } from './wait-warnings.ts';
import { Task, TaskState, type SettleCallback, type TaskFn, type TaskHost, type TaskMeta, type TaskOutcome } from './task.ts';

export type LaneChangeReason = 'enqueue' | 'grant' | 'start' | 'end' | 'abort' | 'clear' | 'park' | 'reset' | 'warn';

export interface LaneWaitInfo {
  lane: string;
  taskId: string;
  waitedMs: number;
  queueAhead: number;
  activeAhead: number;
  activeNow: number;
  queueBehind: number;
}

export interface SchedulerHooks {
  /** Any change to a lane's queue or holders: what lane.status is made from. */
  onLaneChange?(lane: Lane, reason: LaneChangeReason, task: Task | null): void;
  /** STATUS-4: a task's wait (from submit or resume) crossed warnThresholdMs. Fires at the crossing. */
  onWaitWarning?(task: Task): void;
  /** DIAG-1: a task got a slot after waiting at least laneWaitWarnMs in that lane. */
  onLaneWait?(info: LaneWaitInfo): void;
}

export interface LaneSchedulerOptions {
  clock?: Clock;
  /** null: emit nothing (the fastest setting). */
  trace?: TraceSink | null;
  /** Concurrency of a lane when it is first used. Default: every lane 1 (OpenClaw's default). */
  concurrency?: (lane: string) => number;
  /** DIAG-1: OpenClaw's warnAfterMs. Default 2000. */
  laneWaitWarnMs?: number;
  /** STATUS-4: null disables wait warnings. Default 30000. */
  warnThresholdMs?: number | null;
  hooks?: SchedulerHooks;
  /** A settle callback or hook threw. Default: rethrown on a microtask, as EventEmitter would. */
  onCallbackError?: (error: unknown) => void;
}

export interface SubmitOptions {
  /** Unique while the task lives; generated when omitted. Needed to abort by id. */
  id?: string;
  meta?: TaskMeta;
  onSettled?: SettleCallback;
}

export interface LaneDiagnostics {
  lane: string;
  queuedCount: number;
  activeCount: number;
  maxConcurrent: number;
  draining: boolean;
  /** Holders, when the lane is full and something waits. */
  blockedBy: string[];
}

/** LANE-2, LANE-3: the lane caps a config implies. */
export function laneConcurrencyFromConfig(config: LanesimConfig): (lane: string) => number {
  const defaults = config.agents.defaults;
  return (lane) => {
    if (lane.startsWith('session:')) return 1;
    if (lane.startsWith('nested:')) return defaults.lane.maxConcurrent;
    switch (lane) {
      case 'main':
        return defaults.maxConcurrent;
      case 'subagent':
        return defaults.subagents.maxConcurrent;
      case 'cron':
        return config.cron.maxConcurrentRuns;
      default:
        return 1;
    }
  };
}

function assertConcurrency(lane: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`lane ${lane}: maxConcurrent must be an integer >= 1, got ${String(value)}`);
  }
}

export class LaneScheduler implements TaskHost {
  readonly clock: Clock;
  private readonly trace: TraceSink | null;
  private readonly concurrencyOf: (lane: string) => number;
  private readonly laneWaitWarnMs: number;
  private readonly warnThresholdMs: number | null;
  private readonly hooks: SchedulerHooks;
  private readonly onCallbackError: (error: unknown) => void;

  private readonly lanes = new Map<string, Lane>();
  private readonly tasksById = new Map<string, Task>();
  private readonly dirty = new Deque<Lane>(16);
  /** Resolved paths by the caller's array, so a hot caller reusing its arrays skips the lookups. */
  private readonly pathCache = new WeakMap<readonly string[], Lane[]>();
  private flushing = false;
  private nextId = 1;
  private draining = false;
  private paused = false;
  /** hooks.onLaneChange, or null: checked inline on hot paths. */
  private readonly laneHook: NonNullable<SchedulerHooks['onLaneChange']> | null;
  /**
   * Task times are kept relative to this (the clock at construction): small
   * integers stay SMIs, where absolute epoch milliseconds would make V8 box
   * every time field of every task in a heap number.
   */
  private readonly epoch: number;
  private flushClock = 0;
  private flushClockUses = 0;
  private live = 0;
  private idleWaiters: (() => void)[] = [];

  /** STATUS-4: null when warnings are off. */
  private readonly waits: WaitWarnings<Task> | null;

  constructor(options: LaneSchedulerOptions = {}) {
    this.clock = options.clock ?? globalClock;
    this.epoch = this.clock.now();
    this.trace = options.trace ?? null;
    this.concurrencyOf = options.concurrency ?? (() => 1);
    this.laneWaitWarnMs = options.laneWaitWarnMs ?? 2000;
    this.warnThresholdMs = options.warnThresholdMs === undefined ? 30_000 : options.warnThresholdMs;
    this.hooks = options.hooks ?? {};
    this.laneHook = this.hooks.onLaneChange ?? null;
    this.onCallbackError =
      options.onCallbackError ??
      ((error) =>
        queueMicrotask(() => {
          throw error;
        }));
    if (!Number.isFinite(this.laneWaitWarnMs) || this.laneWaitWarnMs < 0) {
      throw new RangeError(`laneWaitWarnMs must be a number >= 0, got ${String(options.laneWaitWarnMs)}`);
    }
    if (this.warnThresholdMs !== null && (!Number.isFinite(this.warnThresholdMs) || this.warnThresholdMs < 1)) {
      throw new RangeError(`warnThresholdMs must be a number >= 1 or null, got ${String(options.warnThresholdMs)}`);
    }
    this.waits = this.warnThresholdMs === null
      ? null
      : new WaitWarnings<Task>({
          clock: this.clock,
          thresholdMs: this.warnThresholdMs,
          startOf: (task) => this.epoch + task.waitStart,
          // A resumed task is tracked again with its new waitStart; its old entry is skipped here.
          stillWaiting: (task, start) => task.state === TaskState.Queued && !task.warned && this.epoch + task.waitStart === start,
          warn: (tasks) => this.onWaitsCrossed(tasks),
        });
  }

  now(): number {
    return this.clock.now();
  }

  // ------------------------------------------------------------ submit

  /**
   * Queues `fn` behind `lanes` (in acquisition order). Throws LaneError at the
   * door (bad lanes, duplicate id, draining); otherwise `onSettled` is called
   * exactly once, later or synchronously if the task runs and ends at once.
   */
  submit(lanes: string | readonly string[], fn: TaskFn, options: SubmitOptions = {}): Task {
    const path = this.resolvePath(lanes, options.id);
    if (typeof fn !== 'function') {
      throw new LaneError(LaneErrorCode.INVALID, 'task must be a function');
    }
    const id: string | number = options.id ?? this.nextId++;
    if (options.id !== undefined && this.tasksById.has(options.id)) {
      throw this.refuse(path, options.id, path[0]!.name, LaneErrorCode.DUPLICATE_TASK, `task id ${id} is already queued or running`);
    }
    let drainingLane: Lane | undefined = this.draining ? path[0]! : undefined;
    for (let i = 0; drainingLane === undefined && i < path.length; i++) if (path[i]!.draining) drainingLane = path[i];
    if (drainingLane !== undefined) {
      throw this.refuse(
        path,
        String(id),
        drainingLane.name,
        LaneErrorCode.DRAINING,
        this.draining
          ? 'gateway is draining: new tasks are not accepted'
          : `lane ${drainingLane.name} is draining: new tasks are not accepted`,
      );
    }
    const now = this.clock.now() - this.epoch;
    const task = new Task(this, id, path, fn, options.onSettled ?? null, options.meta ?? null, now);
    if (options.id !== undefined) {
      task.registered = true;
      this.tasksById.set(options.id, task);
    }
    this.live++;
    this.joinQueue(task, path[0]!, false, now);
    return task;
  }

  /** Promise form of submit(); an AbortSignal aborts the task (queued: removed; running: signalled). */
  enqueue<T>(
    lanes: string | readonly string[],
    fn: (ctx: Task) => T | PromiseLike<T>,
    options: Omit<SubmitOptions, 'onSettled'> & { signal?: AbortSignal } = {},
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const { signal, ...rest } = options;
      if (signal?.aborted) {
        reject(new LaneError(LaneErrorCode.ABORTED, 'aborted before it was queued'));
        return;
      }
      let onAbort: (() => void) | null = null;
      const task = this.submit(lanes, fn as TaskFn, {
        ...rest,
        onSettled: (outcome, value) => {
          if (onAbort !== null) signal?.removeEventListener('abort', onAbort);
          if (outcome === 'ok') resolve(value as T);
          else reject(value);
        },
      });
      if (signal !== undefined && task.state !== TaskState.Done) {
        onAbort = () => this.abortTask(task, 'signal');
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  // ------------------------------------------------------------ control

  /** LANE-12: abort by id. Queued: removed and settled 'aborted'. Running or parked: signalled. */
  abort(taskId: string, reason = 'aborted'): boolean {
    const task = this.tasksById.get(taskId);
    return task === undefined ? false : this.abortTask(task, reason);
  }

  abortTask(task: Task, reason = 'aborted'): boolean {
    return this.batch(() => this.abortInBatch(task, reason));
  }

  private abortInBatch(task: Task, reason: string): boolean {
    if (task.state === TaskState.Done) return false;
    const phase = task.state === TaskState.Queued && task.continuation === null ? 'queued' : 'running';
    // Traced before the signal fires: a task may settle inside its abort event (LANE-12).
    this.trace?.({ type: 'abort', t: this.clock.now(), taskId: task.taskId, phase, reason });
    task.signalAbort(reason);
    if (phase === 'queued') {
      const lane = task.path[task.stage]!;
      this.leaveQueue(task);
      this.finish(task, 'aborted', task.abortError(), lane, 'abort');
    } else {
      for (let i = 0; i < task.stage; i++) this.laneChanged(task.path[i]!, 'abort', task);
    }
    return true;
  }

  /** LANE-11: rejects every task waiting in `lane`; tasks holding it go on. Returns how many. */
  clearLane(laneName: string, reason = 'cleared'): number {
    return this.batch(() => this.clearInBatch(laneName, reason));
  }

  private clearInBatch(laneName: string, reason: string): number {
    const lane = this.lanes.get(normalizeLaneName(laneName));
    if (lane === undefined || lane.queued === 0) return 0;
    // A resumed parked task (it has a continuation) is a running task taking its lanes back: it goes on,
    // as abort() treats it (phase 'running'). Clearing it would settle it twice if it settles on its signal.
    const cleared = [...lane.waiting()].filter((task) => task.continuation === null);
    if (cleared.length === 0) return 0;
    this.trace?.({ type: 'clear', t: this.clock.now(), lane: lane.name, taskIds: cleared.map((task) => task.taskId) });
    for (const task of cleared) {
      task.signalAbort(reason);
      this.leaveQueue(task);
      const error = new LaneError(LaneErrorCode.CLEARED, `lane ${lane.name} cleared: task ${task.taskId} removed (${reason})`, lane.name);
      this.finish(task, 'cleared', error, lane, 'clear');
    }
    return cleared.length;
  }

  /**
   * LANE-14: forget the lane's holders (their later completions no longer
   * free slots) and bump its generation; queued tasks then start.
   */
  resetLane(laneName: string): void {
    const lane = this.lanes.get(normalizeLaneName(laneName));
    if (lane === undefined) return;
    lane.generation++;
    lane.holders = [];
    this.trace?.({ type: 'reset', t: this.clock.now(), lane: lane.name, generation: lane.generation });
    this.laneChanged(lane, 'reset', null);
    this.markDirty(lane);
  }

  /** LANE-13: refuse new tasks (everywhere, or in one lane); queued and running ones go on. */
  startDraining(laneName?: string): void {
    const now = this.clock.now();
    if (laneName === undefined) {
      this.draining = true;
      this.trace?.({ type: 'drain', t: now, lane: '*' });
      return;
    }
    const lane = this.getOrCreateLane(normalizeLaneName(laneName));
    lane.draining = true;
    this.trace?.({ type: 'drain', t: now, lane: lane.name });
  }

  stopDraining(laneName?: string): void {
    if (laneName === undefined) this.draining = false;
    else {
      const lane = this.lanes.get(normalizeLaneName(laneName));
      if (lane !== undefined) {
        lane.draining = false;
        this.markDirty(lane);
      }
    }
  }

  /** Stop granting slots (tasks still queue); like p-queue's autoStart: false. */
  pause(): void {
    this.paused = true;
  }

  /** Grant slots again, starting with everything that queued while paused. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const lane of this.lanes.values()) this.markDirty(lane);
    this.flush();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Resolves when no task is queued, running or parked. */
  whenIdle(): Promise<void> {
    if (this.live === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  setLaneConcurrency(laneName: string, maxConcurrent: number): void {
    const name = normalizeLaneName(laneName);
    assertConcurrency(name, maxConcurrent);
    if (name.startsWith('session:') && maxConcurrent !== 1) {
      throw new RangeError(`lane ${name}: session lanes always have maxConcurrent 1 (LANE-2)`);
    }
    const lane = this.getOrCreateLane(name);
    lane.maxConcurrent = maxConcurrent;
    this.trace?.({ type: 'lane.open', t: this.clock.now(), lane: name, maxConcurrent });
    this.markDirty(lane);
  }

  // ------------------------------------------------------------ reading

  getLane(laneName: string): Lane | undefined {
    return this.lanes.get(normalizeLaneName(laneName));
  }

  getTask(taskId: string): Task | undefined {
    return this.tasksById.get(taskId);
  }

  /** Tasks queued, running or parked. */
  get liveTasks(): number {
    return this.live;
  }

  /** OpenClaw's diagnostics.lanes shape, for every lane that exists. */
  diagnostics(): LaneDiagnostics[] {
    const out: LaneDiagnostics[] = [];
    for (const lane of this.lanes.values()) {
      const full = lane.active >= lane.maxConcurrent && lane.queued > 0;
      out.push({
        lane: lane.name,
        queuedCount: lane.queued,
        activeCount: lane.active,
        maxConcurrent: lane.maxConcurrent,
        draining: lane.draining || this.draining,
        blockedBy: full ? [...lane.holders].map((task) => task.taskId) : [],
      });
    }
    return out;
  }

  // ------------------------------------------------------------ TaskHost

  completeTask(task: Task, outcome: TaskOutcome, value: unknown): void {
    if (task.state === TaskState.Done) return;
    if (!this.flushing) {
      // Settle the caller before anything moves into the freed slots. (batch() inlined: hot path.)
      this.flushing = true;
      try {
        this.completeTask(task, outcome, value);
      } finally {
        this.flushing = false;
        this.flush();
      }
      return;
    }
    if (task.state === TaskState.Queued) {
      // A resumed task finishing before it got its lanes back (e.g. aborted while parked).
      this.leaveQueue(task);
    }
    if (this.trace !== null) {
      const now = this.clock.now();
      if (outcome === 'error') {
        this.trace({ type: 'error', t: now, taskId: task.taskId, message: errorMessage(value) });
      } else {
        this.trace({ type: 'end', t: now, taskId: task.taskId });
      }
    }
    this.finish(task, outcome, value, null, 'end');
  }

  parkTask(task: Task, awaiting: string): void {
    // One batch: freed slots move only after every lane is released (as in completeTask).
    this.batch(() => {
      const held = task.path.slice(0, task.stage).map((lane) => lane.name);
      task.state = TaskState.Parked;
      this.trace?.({ type: 'park', t: this.clock.now(), taskId: task.taskId, lanes: held, awaiting });
      this.releaseHeld(task, 'park');
      task.stage = 0;
    });
  }

  resumeTask(task: Task, continuation: () => void): void {
    if (task.state !== TaskState.Parked) return;
    task.continuation = continuation;
    task.state = TaskState.Queued;
    task.warned = false;
    const now = this.clock.now() - this.epoch;
    task.waitStart = now;
    this.joinQueue(task, task.path[0]!, true, now);
  }

  // ------------------------------------------------------------ internals

  private resolvePath(lanes: string | readonly string[], id: string | undefined): Lane[] {
    if (typeof lanes !== 'string') {
      const cached = this.pathCache.get(lanes);
      if (cached !== undefined && allAlive(cached)) return cached;
    }
    const raw = typeof lanes === 'string' ? [lanes] : lanes;
    if (!Array.isArray(raw) || raw.length === 0) {
      throw new LaneError(LaneErrorCode.INVALID, 'a task needs at least one lane');
    }
    const names: string[] = new Array(raw.length);
    let previousRank = -1;
    for (let i = 0; i < raw.length; i++) {
      const name: unknown = raw[i];
      if (typeof name !== 'string') throw new LaneError(LaneErrorCode.INVALID, `lane name must be a string, got ${typeof name}`);
      names[i] = normalizeLaneName(name);
      // LANE-6: strictly increasing rank; two global lanes in one path could deadlock against the reverse order.
      const rank = laneRank(names[i]!);
      if (rank <= previousRank) {
        throw this.reject(
          id ?? '-',
          names[i]!,
          LaneErrorCode.BAD_LANE_ORDER,
          `lane order ${names.join(' -> ')}: lanes must go session:<key> -> nested:<target> -> one global lane`,
        );
      }
      previousRank = rank;
    }
    const path: Lane[] = new Array(names.length);
    for (let i = 0; i < names.length; i++) path[i] = this.getOrCreateLane(names[i]!);
    if (typeof lanes !== 'string') this.pathCache.set(lanes, path);
    return path;
  }

  /** A refusal after lanes were looked up: lanes created for nothing go again. */
  private refuse(path: Lane[], taskId: string, lane: string, code: LaneErrorCode, message: string): LaneError {
    const error = this.reject(taskId, lane, code, message);
    for (const created of path) this.deleteIfIdle(created);
    return error;
  }

  private reject(taskId: string, lane: string, code: LaneErrorCode, message: string): LaneError {
    this.trace?.({ type: 'reject', t: this.clock.now(), taskId, lane, code, message });
    return new LaneError(code, message, lane);
  }

  private getOrCreateLane(name: string): Lane {
    let lane = this.lanes.get(name);
    if (lane === undefined) {
      const maxConcurrent = name.startsWith('session:') ? 1 : this.concurrencyOf(name);
      assertConcurrency(name, maxConcurrent);
      lane = new Lane(name, maxConcurrent);
      this.lanes.set(name, lane);
      this.trace?.({ type: 'lane.open', t: this.clock.now(), lane: name, maxConcurrent });
    }
    return lane;
  }

  private joinQueue(task: Task, lane: Lane, front: boolean, now: number): void {
    if (!lane.alive) {
      // The lane went idle and was forgotten after this task's path was resolved (a later stage,
      // or a parked task resuming): join the live lane of that name, or two objects would share one cap.
      lane = this.getOrCreateLane(lane.name);
      (task.path as Lane[])[task.stage] = lane;
    }
    task.stageEnqueuedAt = now;
    task.front = front;
    task.queueAhead = front ? 0 : lane.queued;
    task.activeAhead = lane.holders.length;
    if (front) lane.queue.unshift(task);
    else lane.queue.push(task);
    lane.queued++;
    if (this.trace !== null) {
      this.trace({
        type: 'enqueue', t: this.epoch + now, taskId: task.taskId, lane: lane.name,
        queueAhead: task.queueAhead, activeAhead: task.activeAhead, front,
      });
    }
    if (task.stage === 0 && this.waits !== null) this.waits.track(task);
    if (this.laneHook !== null) this.laneChanged(lane, 'enqueue', task);
    this.markDirty(lane);
  }

  /** Takes a queued task out of its lane (its deque slot becomes a tombstone) and frees what it holds. */
  private leaveQueue(task: Task): void {
    const lane = task.path[task.stage]!;
    lane.queued--;
    task.state = TaskState.Done;
    this.releaseHeld(task, 'abort');
    this.deleteIfIdle(lane);
  }

  private releaseHeld(task: Task, reason: LaneChangeReason): void {
    for (let i = task.stage - 1; i >= 0; i--) {
      const lane = task.path[i]!;
      // LANE-14: after a reset the lane no longer counts this task.
      if (lane.release(task)) {
        if (this.laneHook !== null) this.laneChanged(lane, reason, task);
        this.markDirty(lane);
      }
    }
  }

  private finish(task: Task, outcome: TaskOutcome, value: unknown, lane: Lane | null, reason: LaneChangeReason): void {
    if (task.state !== TaskState.Done) {
      task.state = TaskState.Done;
      this.releaseHeld(task, reason);
    }
    if (lane !== null) this.laneChanged(lane, reason, task);
    task.fn = null;
    task.continuation = null;
    if (task.registered) this.tasksById.delete(task.taskId);
    this.live--;
    const onSettled = task.onSettled;
    if (onSettled !== null) {
      try {
        onSettled(outcome, value);
      } catch (error) {
        this.onCallbackError(error);
      }
    }
    if (this.live === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Runs `fn` with pumping deferred, then pumps: callers are settled before freed slots move. */
  private batch<T>(fn: () => T): T {
    if (this.flushing) return fn();
    this.flushing = true;
    try {
      return fn();
    } finally {
      this.flushing = false;
      this.flush();
    }
  }

  private markDirty(lane: Lane): void {
    if (!lane.dirty) {
      lane.dirty = true;
      this.dirty.push(lane);
    }
    if (!this.flushing && !this.paused) this.flush();
  }

  /** Pumps dirty lanes until nothing moves. A loop, not recursion: a million synchronous tasks must not grow the stack. */
  private flush(): void {
    if (this.paused) return;
    this.flushing = true;
    this.flushClockUses = 0;
    try {
      let lane: Lane | undefined;
      while ((lane = this.dirty.shift()) !== undefined) {
        lane.dirty = false;
        this.pump(lane);
      }
    } finally {
      this.flushing = false;
    }
  }

  private pump(lane: Lane): void {
    while (lane.holders.length < lane.maxConcurrent && lane.queued > 0) {
      const task = lane.queue.shift()!;
      if (!task.isWaitingIn(lane)) continue; // tombstone
      lane.queued--;
      this.grant(task, lane, this.flushNow());
    }
    this.deleteIfIdle(lane);
  }

  /**
   * The clock, read once per burst of grants inside one flush (a synchronous
   * drain of a million tasks would otherwise read it millions of times). It is
   * re-read every 64 grants, so a long flush still stamps real time closely.
   */
  private flushNow(): number {
    if (this.flushClockUses++ % 64 === 0) this.flushClock = this.clock.now() - this.epoch;
    return this.flushClock;
  }

  private grant(task: Task, lane: Lane, now: number): void {
    const waitedMs = now - task.stageEnqueuedAt;
    const activeNow = lane.holders.length;
    lane.holders.push(task);
    if (this.trace !== null) this.trace({ type: 'grant', t: this.epoch + now, taskId: task.taskId, lane: lane.name, waitedMs });
    // DIAG-1: only built when someone listens (a paused bench of a million tasks would make a million records).
    if (waitedMs >= this.laneWaitWarnMs && (this.trace !== null || this.hooks.onLaneWait !== undefined)) {
      this.reportLaneWait(task, lane, waitedMs, activeNow, now);
    }
    task.stage++;
    if (this.laneHook !== null) this.laneChanged(lane, 'grant', task);
    if (task.stage < task.path.length) {
      this.joinQueue(task, task.path[task.stage]!, task.front, now);
    } else {
      this.start(task, now);
    }
  }

  private reportLaneWait(task: Task, lane: Lane, waitedMs: number, activeNow: number, now: number): void {
    const info: LaneWaitInfo = {
      lane: lane.name, taskId: task.taskId, waitedMs,
      queueAhead: task.queueAhead, activeAhead: task.activeAhead, activeNow, queueBehind: lane.queued,
    };
    this.trace?.({ type: 'lane.wait', t: this.epoch + now, ...info });
    if (this.hooks.onLaneWait !== undefined) this.callHook(() => this.hooks.onLaneWait!(info));
  }

  private start(task: Task, now: number): void {
    task.state = TaskState.Running;
    const waitedMs = now - task.waitStart;
    if (task.startedAt < 0) task.startedAt = now;
    if (this.trace !== null) {
      this.trace({ type: 'start', t: this.epoch + now, taskId: task.taskId, lanes: task.path.map((l) => l.name), waitedMs });
    }
    if (this.laneHook !== null) for (let i = 0; i < task.path.length; i++) this.laneChanged(task.path[i]!, 'start', task);
    const continuation = task.continuation;
    if (continuation !== null) {
      task.continuation = null;
      this.invoke(task, continuation);
    } else {
      this.invoke(task, task.fn!);
    }
  }

  private invoke(task: Task, fn: (ctx: Task) => unknown): void {
    let result: unknown;
    try {
      result = fn(task);
    } catch (error) {
      // LANE-9: the error goes to this task's caller only; the lane keeps draining.
      this.completeTask(task, 'error', error);
      return;
    }
    if (task.state !== TaskState.Running || task.detached) return;
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      task.detached = true;
      (result as PromiseLike<unknown>).then(
        (value) => this.completeTask(task, 'ok', value),
        (error: unknown) => this.completeTask(task, 'error', error),
      );
      return;
    }
    this.completeTask(task, 'ok', result);
  }

  private deleteIfIdle(lane: Lane): void {
    // Session and per-target lanes come and go with their sessions; global lanes stay.
    if (lane.rank !== LaneRank.Global && lane.idle && !lane.draining && lane.generation === 0 && !lane.dirty) {
      if (lane.queue.length > 0) lane.queue.clear();
      lane.alive = false;
      this.lanes.delete(lane.name);
    }
  }

  private laneChanged(lane: Lane, reason: LaneChangeReason, task: Task | null): void {
    const hook = this.laneHook;
    if (hook !== null) this.callHook(() => hook(lane, reason, task));
  }

  private callHook(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.onCallbackError(error);
    }
  }

  private onWaitsCrossed(tasks: Task[]): void {
    for (const task of tasks) {
      task.warned = true;
      if (this.hooks.onWaitWarning !== undefined) this.callHook(() => this.hooks.onWaitWarning!(task));
      this.laneChanged(task.path[task.stage]!, 'warn', task);
    }
  }
}

function allAlive(lanes: readonly Lane[]): boolean {
  for (let i = 0; i < lanes.length; i++) if (!lanes[i]!.alive) return false;
  return true;
}

function errorMessage(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    return String(value);
  } catch {
    return 'unprintable error';
  }
}
