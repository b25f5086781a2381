/**
 * One lane: a named FIFO with a concurrency cap (LANE-1..LANE-4). The lane
 * only keeps its queue and its holders; the scheduler decides who moves.
 */
import { Deque } from './deque.ts';
import type { Task } from './task.ts';

/** LANE-6: lanes are acquired in this order, so a task never waits on a lane ranked below one it holds. */
export const LaneRank = { Session: 0, NestedTarget: 1, Global: 2 } as const;
export type LaneRank = (typeof LaneRank)[keyof typeof LaneRank];

export const SESSION_LANE_PREFIX = 'session:';
export const NESTED_LANE_PREFIX = 'nested:';

/** LANE-1: a blank lane name means `main`. */
export function normalizeLaneName(name: string): string {
  const trimmed = name.trim();
  return trimmed === '' ? 'main' : trimmed;
}

export function laneRank(name: string): LaneRank {
  if (name.startsWith(SESSION_LANE_PREFIX)) return LaneRank.Session;
  if (name.startsWith(NESTED_LANE_PREFIX)) return LaneRank.NestedTarget;
  return LaneRank.Global;
}

export function sessionLaneName(sessionKey: string): string {
  return SESSION_LANE_PREFIX + sessionKey;
}

export function nestedLaneName(targetSessionKey: string): string {
  return NESTED_LANE_PREFIX + targetSessionKey;
}

/** The session key of a `session:<key>` lane, or null for any other lane. */
export function sessionKeyOfLane(name: string): string | null {
  return name.startsWith(SESSION_LANE_PREFIX) ? name.slice(SESSION_LANE_PREFIX.length) : null;
}

export class Lane {
  readonly name: string;
  readonly rank: LaneRank;
  maxConcurrent: number;
  /** Waiting tasks in arrival order; aborted ones stay as tombstones until they reach the head. */
  readonly queue = new Deque<Task>();
  /** Live (not tombstoned) entries in `queue`. */
  queued = 0;
  /**
   * Tasks holding a slot here (running, or waiting for their next lane). An
   * array, not a Set: caps are small, and a Set would give every task an
   * identity hash (an allocation each) on the hot path.
   */
  holders: Task[] = [];
  /** LANE-14: bumped by reset; holders from before a reset no longer count. */
  generation = 0;
  draining = false;
  /** Scheduler bookkeeping: queued for a pump; still in the scheduler's lane map. */
  dirty = false;
  alive = true;

  constructor(name: string, maxConcurrent: number) {
    this.name = name;
    this.rank = laneRank(name);
    this.maxConcurrent = maxConcurrent;
  }

  get active(): number {
    return this.holders.length;
  }

  get idle(): boolean {
    return this.holders.length === 0 && this.queued === 0;
  }

  /** Frees `task`'s slot; false when it holds none (e.g. after a reset, LANE-14). */
  release(task: Task): boolean {
    const holders = this.holders;
    const index = holders.indexOf(task);
    if (index < 0) return false;
    const last = holders.pop()!;
    if (index < holders.length) holders[index] = last;
    return true;
  }

  /** Live waiting tasks in order (skips tombstones). */
  *waiting(): IterableIterator<Task> {
    for (const task of this.queue) if (task.isWaitingIn(this)) yield task;
  }
}
