/**
 * The discrete-event engine's queue: events come out ordered by time, then by
 * insertion sequence (equal-time events run in the order they were
 * scheduled, as fake-timers orders timers).
 *
 * A calendar, not a heap of events: the events of one time form a FIFO chain
 * (linked through their slots), and a 4-ary min-heap holds one entry per
 * distinct time, keyed by the time alone. FIFO order within a chain *is* the
 * insertion order, so no sequence number is kept or compared; a burst of
 * events on one millisecond (a tick to every client, ten thousand heartbeats)
 * costs one heap entry, and an event joining a time already queued costs no
 * heap work at all. A TimeIndex finds the chain of a time; it maps the time to
 * the chain's last slot, so appending is O(1).
 *
 * Everything lives in typed arrays except the callbacks (one array by slot),
 * so a push or pop moves numbers, not objects.
 */
import { TimeIndex } from './time-index.ts';

export type EventCallback = () => void;

/**
 * Handles carry the low 11 bits of their slot's generation, so a handle kept
 * after its timer fired cannot cancel the slot's next 2,047 timers; they stay
 * small integers up to 2^19 concurrent timers (beyond, they still work).
 */
const GENERATIONS = 2048;
const GENERATION_MASK = GENERATIONS - 1;
const NONE = -1;

export class EventQueue {
  // Event slots: callback, generation, time (NaN once released), next slot in its chain.
  private callbacks: (EventCallback | null)[] = [];
  private freeSlots: number[] = [];
  private generations: Uint32Array;
  private slotTimes: Float64Array;
  private nextInChain: Int32Array;
  private live = 0;

  // One entry per distinct time: the time and the first slot of its chain.
  private times: Float64Array;
  private heads: Int32Array;
  private size = 0;

  /** time -> last slot of its chain; at most half full, rebuilt at 4x the chains (at least minIndexCapacity). */
  private readonly chainByTime: TimeIndex;
  private readonly minIndexCapacity: number;

  constructor(initialCapacity = 1024) {
    const capacity = Math.max(4, initialCapacity);
    this.generations = new Uint32Array(capacity);
    this.slotTimes = new Float64Array(capacity).fill(NaN);
    this.nextInChain = new Int32Array(capacity);
    this.times = new Float64Array(capacity);
    this.heads = new Int32Array(capacity);
    this.minIndexCapacity = 4 * capacity;
    this.chainByTime = new TimeIndex(this.minIndexCapacity);
  }

  /** Events pushed so far, and how many of them joined a time already queued (no heap work). */
  readonly stats = { pushes: 0, joined: 0 };

  /** Events scheduled and not cancelled. */
  get pending(): number {
    return this.live;
  }

  /** Schedules `callback` at `time` (a number, not NaN); returns a handle for cancel(). */
  push(time: number, callback: EventCallback): number {
    if (time !== time) throw new RangeError('EventQueue.push: time is NaN');
    time += 0; // -0 -> 0: one chain per time, whatever its sign bit
    const index = this.chainByTime;
    if ((index.size + 1) * 2 > index.capacity) this.rebuildIndex();
    const position = index.find(time);
    const tail = index.valueAt(position);
    // Decided before a slot is taken: the slot taken may be that very tail, released and now reused.
    const queued = tail !== NONE && this.slotTimes[tail] === time;
    const slot = this.takeSlot(time, callback);
    this.stats.pushes++;
    if (queued) {
      // The time is queued: join the end of its chain.
      this.nextInChain[tail] = slot;
      this.stats.joined++;
    } else {
      this.pushTime(time, slot);
    }
    index.setAt(position, time, slot);
    // A small-integer handle (no heap number per timer): slot and the low bits of the slot's generation.
    return slot * GENERATIONS + (this.generations[slot]! & GENERATION_MASK);
  }

  cancel(handle: number): boolean {
    const slot = Math.floor(handle / GENERATIONS);
    const generation = handle - slot * GENERATIONS;
    if ((this.generations[slot]! & GENERATION_MASK) !== generation || this.callbacks[slot] == null) return false;
    // The slot stays in its chain with no callback; it is dropped when it comes up.
    this.callbacks[slot] = null;
    this.live--;
    return true;
  }

  /** Time of the earliest live event, or Infinity. Drops cancelled entries on the way. */
  peekTime(): number {
    while (this.size > 0) {
      if (this.callbacks[this.heads[0]!] !== null) return this.times[0]!;
      this.releaseSlot(this.shiftFirst());
    }
    return Infinity;
  }

  /** Time of the event popUntil() returned last. */
  poppedTime = 0;

  /**
   * Removes the earliest live event if it is due at or before `limit` and
   * returns its callback (its time in `poppedTime`); null when nothing is due.
   * One pass: the engine's loop needs no separate peek.
   */
  popUntil(limit: number): EventCallback | null {
    while (this.size > 0) {
      const time = this.times[0]!;
      if (time > limit) return null;
      const slot = this.shiftFirst();
      const callback = this.callbacks[slot] as EventCallback | null;
      this.releaseSlot(slot);
      if (callback !== null) {
        this.poppedTime = time;
        this.live--;
        return callback;
      }
    }
    return null;
  }

  /** Removes the earliest live event and returns its callback (null when empty). Call peekTime first for its time. */
  pop(): EventCallback | null {
    return this.popUntil(Infinity);
  }

  private takeSlot(time: number, callback: EventCallback): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.callbacks.length;
      this.callbacks.push(null);
      if (slot === this.generations.length) {
        this.generations = grow(this.generations);
        this.nextInChain = grow(this.nextInChain);
        const times = new Float64Array(this.slotTimes.length * 2).fill(NaN);
        times.set(this.slotTimes);
        this.slotTimes = times;
      }
    }
    this.callbacks[slot] = callback;
    this.slotTimes[slot] = time;
    this.nextInChain[slot] = NONE;
    this.live++;
    return slot;
  }

  private releaseSlot(slot: number): void {
    this.callbacks[slot] = null;
    // NaN equals no time: the index entry that may still name this slot goes stale.
    this.slotTimes[slot] = NaN;
    this.generations[slot] = (this.generations[slot]! + 1) >>> 0;
    this.freeSlots.push(slot);
  }

  /** Adds a time with its first slot to the heap. Times in the heap are distinct. */
  private pushTime(time: number, slot: number): void {
    if (this.size === this.times.length) {
      this.times = grow(this.times);
      this.heads = grow(this.heads);
    }
    const times = this.times;
    const heads = this.heads;
    let i = this.size++;
    // Sift up (4-ary: shallower than binary, fewer moves per pop).
    while (i > 0) {
      const parent = (i - 1) >> 2;
      const parentTime = times[parent]!;
      if (parentTime < time) break;
      times[i] = parentTime;
      heads[i] = heads[parent]!;
      i = parent;
    }
    times[i] = time;
    heads[i] = slot;
  }

  /** Takes the first slot of the earliest time's chain; the time leaves the heap with its last slot. */
  private shiftFirst(): number {
    const slot = this.heads[0]!;
    const next = this.nextInChain[slot]!;
    if (next !== NONE) {
      // Same time, next in line: no heap work.
      this.heads[0] = next;
      return slot;
    }
    // The chain is done before its last event runs: an event that event schedules for this same time starts a new chain, after it.
    const last = --this.size;
    if (last === 0) return slot;
    const times = this.times;
    const heads = this.heads;
    const lastTime = times[last]!;
    const lastHead = heads[last]!;
    let i = 0;
    // Sift down through the smallest of up to four children.
    for (;;) {
      const first = 4 * i + 1;
      if (first >= last) break;
      let child = first;
      let childTime = times[first]!;
      const end = first + 4 < last ? first + 4 : last;
      for (let c = first + 1; c < end; c++) {
        const t = times[c]!;
        if (t < childTime) {
          child = c;
          childTime = t;
        }
      }
      if (lastTime < childTime) break;
      times[i] = childTime;
      heads[i] = heads[child]!;
      i = child;
    }
    times[i] = lastTime;
    heads[i] = lastHead;
    return slot;
  }

  /** Drops the stale entries of the time index: keeps each queued time's chain tail, at most a quarter full. */
  private rebuildIndex(): void {
    this.chainByTime.reset(Math.max(this.minIndexCapacity, 4 * (this.size + 1)));
    for (let i = 0; i < this.size; i++) {
      let tail = this.heads[i]!;
      for (let next = this.nextInChain[tail]!; next !== NONE; next = this.nextInChain[tail]!) tail = next;
      this.chainByTime.set(this.times[i]!, tail);
    }
  }
}

type NumberArray = Float64Array | Int32Array | Uint32Array;

function grow<T extends NumberArray>(array: T): T {
  const next = new (array.constructor as new (length: number) => T)(array.length * 2);
  next.set(array);
  return next;
}
