/**
 * A plain, obviously-correct, slow executable model of lanes, for the
 * model-based test of LaneScheduler (test/properties/scheduler.property.test.ts).
 * Arrays and maps only: no tombstones, no counters, no caches, no generations.
 *
 * What it models (LANE-1..LANE-12):
 * - a lane is a FIFO of waiting task ids plus a list of holders, with a cap
 *   (session lanes: always 1);
 * - a task waits in path[0], then holds it while it waits in path[1], ... and
 *   runs once it holds every lane of its path;
 * - when slots free up, lanes are pumped in the order they were freed: a
 *   pump grants the head of the queue while there is room; a granted task
 *   that needs another lane joins the back of that lane, which is pumped
 *   afterwards (a work list);
 * - completing a task releases its lanes last-acquired first;
 * - abort: a waiting task leaves (settled `aborted`), a running one is only
 *   signalled; clear: every waiting task of a lane leaves (settled
 *   `cleared`); running tasks go on;
 * - a lane that is not global (session:, nested:) forgets a concurrency
 *   override once it is idle (the scheduler forgets idle per-session lanes).
 */

export type ModelState = 'queued' | 'running' | 'done';
export type ModelOutcome = 'ok' | 'aborted' | 'cleared';

export interface ModelTask {
  id: string;
  path: string[];
  /** Lanes held so far; it waits in path[stage] while queued. */
  stage: number;
  state: ModelState;
  outcome: ModelOutcome | null;
  abortSignalled: boolean;
}

const isSession = (lane: string): boolean => lane.startsWith('session:');
const isGlobal = (lane: string): boolean => !lane.startsWith('session:') && !lane.startsWith('nested:');

export class LaneModel {
  readonly tasks = new Map<string, ModelTask>();
  private readonly waitingIn = new Map<string, string[]>();
  private readonly holdersOf = new Map<string, string[]>();
  private readonly overrides = new Map<string, number>();
  private dirty: string[] = [];

  constructor(private readonly defaultCap: (lane: string) => number) {}

  cap(lane: string): number {
    if (isSession(lane)) return 1;
    return this.overrides.get(lane) ?? this.defaultCap(lane);
  }

  waiting(lane: string): string[] {
    return [...(this.waitingIn.get(lane) ?? [])];
  }

  holders(lane: string): string[] {
    return [...(this.holdersOf.get(lane) ?? [])].sort();
  }

  /** Every lane the model has seen. */
  lanes(): string[] {
    return [...new Set([...this.waitingIn.keys(), ...this.holdersOf.keys(), ...this.overrides.keys()])].sort();
  }

  running(): string[] {
    return [...this.tasks.values()].filter((t) => t.state === 'running').map((t) => t.id).sort();
  }

  submit(id: string, path: string[]): void {
    const task: ModelTask = { id, path: [...path], stage: 0, state: 'queued', outcome: null, abortSignalled: false };
    this.tasks.set(id, task);
    this.list(this.waitingIn, path[0]!).push(id);
    this.markDirty(path[0]!);
    this.pumpAll();
  }

  complete(id: string): void {
    const task = this.tasks.get(id);
    if (task === undefined || task.state !== 'running') throw new Error(`model: ${id} is not running`);
    task.state = 'done';
    task.outcome = 'ok';
    this.releaseHeld(task);
    this.pumpAll();
  }

  abort(id: string): boolean {
    const task = this.tasks.get(id);
    if (task === undefined || task.state === 'done') return false;
    if (task.state === 'running') {
      task.abortSignalled = true;
      return true;
    }
    this.removeWaiting(task);
    task.state = 'done';
    task.outcome = 'aborted';
    this.releaseHeld(task);
    this.pumpAll();
    return true;
  }

  clear(lane: string): number {
    const ids = this.waiting(lane);
    for (const id of ids) {
      const task = this.tasks.get(id)!;
      this.removeWaiting(task);
      task.state = 'done';
      task.outcome = 'cleared';
      this.releaseHeld(task);
    }
    this.pumpAll();
    return ids.length;
  }

  /** Throws RangeError like the scheduler for a session lane other than 1. */
  setConcurrency(lane: string, maxConcurrent: number): void {
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new RangeError(`bad maxConcurrent ${maxConcurrent}`);
    if (isSession(lane) && maxConcurrent !== 1) throw new RangeError(`session lanes always have maxConcurrent 1`);
    this.overrides.set(lane, maxConcurrent);
    this.markDirty(lane);
    this.pumpAll();
  }

  // ---------------------------------------------------------------- internals

  private list(map: Map<string, string[]>, lane: string): string[] {
    let list = map.get(lane);
    if (list === undefined) map.set(lane, (list = []));
    return list;
  }

  private removeWaiting(task: ModelTask): void {
    const lane = task.path[task.stage]!;
    const list = this.list(this.waitingIn, lane);
    list.splice(list.indexOf(task.id), 1);
  }

  /** Last acquired first, each freed lane queued for a pump. */
  private releaseHeld(task: ModelTask): void {
    for (let i = task.stage - 1; i >= 0; i--) {
      const lane = task.path[i]!;
      const holders = this.list(this.holdersOf, lane);
      const index = holders.indexOf(task.id);
      if (index >= 0) {
        holders.splice(index, 1);
        this.markDirty(lane);
      }
    }
  }

  private markDirty(lane: string): void {
    if (!this.dirty.includes(lane)) this.dirty.push(lane);
  }

  private pumpAll(): void {
    while (this.dirty.length > 0) {
      const lane = this.dirty.shift()!;
      const waiting = this.list(this.waitingIn, lane);
      const holders = this.list(this.holdersOf, lane);
      while (holders.length < this.cap(lane) && waiting.length > 0) {
        const id = waiting.shift()!;
        holders.push(id);
        const task = this.tasks.get(id)!;
        task.stage++;
        if (task.stage < task.path.length) {
          const next = task.path[task.stage]!;
          this.list(this.waitingIn, next).push(id);
          this.markDirty(next);
        } else {
          task.state = 'running';
        }
      }
    }
    for (const lane of this.lanes()) {
      if (!isGlobal(lane) && this.waiting(lane).length === 0 && this.holders(lane).length === 0) this.overrides.delete(lane);
    }
  }
}
