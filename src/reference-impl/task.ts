/**
 * A unit of work moving through one or more lanes. The Task object is also
 * the context handed to the task function, so a submitted task costs one
 * allocation plus its path array (the scheduler bench holds a million).
 */
import { LaneError, LaneErrorCode } from '../model/codes.ts';
import type { Lane } from './lane.ts';

export const TaskState = { Queued: 0, Running: 1, Parked: 2, Done: 3 } as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

/** What the scheduler knows about a task beyond its id; shown in lane.status. */
export interface TaskMeta {
  readonly sessionKey?: string | null;
  readonly agentId?: string | null;
  readonly kind?: string;
}

export type TaskOutcome = 'ok' | 'error' | 'aborted' | 'cleared';

/** Called exactly once per task that was accepted by submit(). */
export type SettleCallback = (outcome: TaskOutcome, value: unknown) => void;

/** Returned by detach(): settle a task from a callback, a timer, or another task's completion. */
export interface Completion {
  done(value?: unknown): void;
  fail(error: unknown): void;
}

/** What a running task sees. */
export interface TaskContext {
  readonly taskId: string;
  readonly meta: TaskMeta | null;
  /** Fires when the task is aborted while running (LANE-12); created on first access. */
  readonly signal: AbortSignal;
  readonly aborted: boolean;
  /** Calls `callback` once if the task is aborted (at once if it already was). Cheaper than `signal`. */
  onAbort(callback: () => void): void;
  /**
   * The task will settle later through the returned Completion rather than
   * when this call returns. (A returned promise is the other way to be async.)
   */
  detach(): Completion;
  /**
   * LANE-22: release every lane while waiting for something else (a nested
   * agent run). Only for detached tasks. Call the returned resume() to queue
   * again, at the front of each lane; `continuation` runs once the lanes are
   * held again. Completion stays valid throughout.
   */
  park(awaiting: string): (continuation: () => void) => void;
}

export type TaskFn = (ctx: TaskContext) => unknown;

export interface TaskHost {
  now(): number;
  completeTask(task: Task, outcome: TaskOutcome, value: unknown): void;
  parkTask(task: Task, awaiting: string): void;
  resumeTask(task: Task, continuation: () => void): void;
}

export class Task implements TaskContext, Completion {
  /** A caller's id, or a number made into `t<n>` only when someone asks (most tasks never are). */
  private id: string | number;
  readonly meta: TaskMeta | null;
  readonly path: readonly Lane[];
  fn: TaskFn | null;
  readonly onSettled: SettleCallback | null;
  private readonly host: TaskHost;

  state: TaskState = TaskState.Queued;
  /** Known to the scheduler's id map (the caller gave an id). */
  registered = false;
  /** Lanes in `path` held so far; the task waits in path[stage] while queued. */
  stage = 0;
  /** Set when the task is queued ahead of others (a parked task resuming). */
  front = false;
  /** Start of the current wait (submit, or resume); waitedMs counts from here. */
  waitStart: number;
  /** When the task joined its current lane's queue. */
  stageEnqueuedAt: number;
  /** DIAG-2: counts as of joining the current lane. */
  queueAhead = 0;
  activeAhead = 0;
  startedAt = -1;
  warned = false;
  detached = false;
  abortReason: string | null = null;
  continuation: (() => void) | null = null;
  private controller: AbortController | null = null;
  private abortCallbacks: (() => void)[] | null = null;

  constructor(
    host: TaskHost,
    id: string | number,
    path: readonly Lane[],
    fn: TaskFn,
    onSettled: SettleCallback | null,
    meta: TaskMeta | null,
    now: number,
  ) {
    this.host = host;
    this.id = id;
    this.path = path;
    this.fn = fn;
    this.onSettled = onSettled;
    this.meta = meta;
    this.waitStart = now;
    this.stageEnqueuedAt = now;
  }

  get taskId(): string {
    if (typeof this.id === 'number') this.id = `t${this.id}`;
    return this.id;
  }

  /** The lane this task is waiting in, or null. */
  get waitingLane(): Lane | null {
    return this.state === TaskState.Queued ? (this.path[this.stage] ?? null) : null;
  }

  isWaitingIn(lane: Lane): boolean {
    return this.state === TaskState.Queued && this.path[this.stage] === lane;
  }

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.abortReason !== null) this.controller.abort(this.abortError());
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.abortReason !== null;
  }

  /** Marks the task aborted and fires its signal if anyone listens. */
  signalAbort(reason: string): void {
    if (this.abortReason !== null) return;
    this.abortReason = reason;
    if (this.controller !== null) this.controller.abort(this.abortError());
    const callbacks = this.abortCallbacks;
    if (callbacks !== null) {
      this.abortCallbacks = null;
      for (const callback of callbacks) callback();
    }
  }

  onAbort(callback: () => void): void {
    if (this.abortReason !== null) {
      callback();
      return;
    }
    (this.abortCallbacks ??= []).push(callback);
  }

  abortError(): LaneError {
    return new LaneError(LaneErrorCode.ABORTED, `task ${this.taskId} aborted: ${this.abortReason ?? 'aborted'}`);
  }

  detach(): Completion {
    this.detached = true;
    return this;
  }

  done(value?: unknown): void {
    this.host.completeTask(this, 'ok', value);
  }

  fail(error: unknown): void {
    this.host.completeTask(this, 'error', error);
  }

  park(awaiting: string): (continuation: () => void) => void {
    if (!this.detached || this.state !== TaskState.Running) {
      throw new LaneError(LaneErrorCode.INVALID, `task ${this.taskId}: park() needs a running, detached task`);
    }
    this.host.parkTask(this, awaiting);
    let resumed = false;
    return (continuation: () => void) => {
      if (resumed) return;
      resumed = true;
      this.host.resumeTask(this, continuation);
    };
  }
}
