/**
 * The discrete-event engine's queue: a 4-ary min-heap ordered by time, then
 * by insertion sequence (so equal-time events run in the order they were
 * scheduled, as fake-timers orders timers). Keys live in typed arrays and
 * callbacks in a parallel slot array, so a push or pop moves numbers, not
 * objects: the heap runs near the limit of what this machine does for a
 * typed-array heap (~4M push+pop/s).
 */
export type EventCallback = () => void;

/**
 * Handles carry the low 11 bits of their slot's generation, so a handle kept
 * after its timer fired cannot cancel the slot's next 2,047 timers; they stay
 * small integers up to 2^19 concurrent timers (beyond, they still work).
 */
const GENERATIONS = 2048;
const GENERATION_MASK = GENERATIONS - 1;

export class EventHeap {
  private times: Float64Array;
  private seqs: Float64Array;
  private slots: Int32Array;
  private size = 0;
  private nextSeq = 0;
  /** Callbacks by slot; a cancelled event keeps its heap entry but its slot is emptied. */
  private callbacks: (EventCallback | null)[] = [];
  private freeSlots: number[] = [];
  /** Slot -> generation, so a stale handle cannot cancel a reused slot. */
  private generations: Uint32Array;
  private live = 0;

  constructor(initialCapacity = 1024) {
    this.times = new Float64Array(initialCapacity);
    this.seqs = new Float64Array(initialCapacity);
    this.slots = new Int32Array(initialCapacity);
    this.generations = new Uint32Array(initialCapacity);
  }

  /** Events scheduled and not cancelled. */
  get pending(): number {
    return this.live;
  }

  /** Schedules `callback` at `time`; returns a handle for cancel(). */
  push(time: number, callback: EventCallback): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.callbacks.length;
      this.callbacks.push(null);
      if (slot >= this.generations.length) this.generations = grow32(this.generations);
    }
    this.callbacks[slot] = callback;
    if (this.size === this.times.length) this.growHeap();
    let i = this.size++;
    const seq = this.nextSeq++;
    // Sift up (4-ary: shallower than binary, fewer moves per pop).
    while (i > 0) {
      const parent = (i - 1) >> 2;
      const pt = this.times[parent]!;
      if (pt < time || (pt === time && this.seqs[parent]! < seq)) break;
      this.times[i] = pt;
      this.seqs[i] = this.seqs[parent]!;
      this.slots[i] = this.slots[parent]!;
      i = parent;
    }
    this.times[i] = time;
    this.seqs[i] = seq;
    this.slots[i] = slot;
    this.live++;
    // A small-integer handle (no heap number per timer): slot and the low bits of the slot's generation.
    return slot * GENERATIONS + (this.generations[slot]! & GENERATION_MASK);
  }

  cancel(handle: number): boolean {
    const slot = Math.floor(handle / GENERATIONS);
    const generation = handle - slot * GENERATIONS;
    if ((this.generations[slot]! & GENERATION_MASK) !== generation || this.callbacks[slot] == null) return false;
    this.callbacks[slot] = null;
    this.live--;
    return true;
  }

  /** Time of the earliest live event, or Infinity. Drops cancelled entries on the way. */
  peekTime(): number {
    while (this.size > 0 && this.callbacks[this.slots[0]!] === null) this.removeTop();
    return this.size > 0 ? this.times[0]! : Infinity;
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
      const slot = this.slots[0]!;
      const callback = this.callbacks[slot];
      if (callback === null || callback === undefined) {
        this.removeTop();
        continue;
      }
      const time = this.times[0]!;
      if (time > limit) return null;
      this.poppedTime = time;
      this.removeTop();
      this.live--;
      return callback;
    }
    return null;
  }

  /** Removes the earliest live event and returns its callback (null when empty). Call peekTime first for its time. */
  pop(): EventCallback | null {
    while (this.size > 0) {
      const slot = this.slots[0]!;
      const callback = this.callbacks[slot]!;
      this.removeTop();
      if (callback !== null) {
        this.live--;
        return callback;
      }
    }
    return null;
  }

  private removeTop(): void {
    const slot = this.slots[0]!;
    this.callbacks[slot] = null;
    this.generations[slot] = (this.generations[slot]! + 1) >>> 0;
    this.freeSlots.push(slot);
    const last = --this.size;
    if (last === 0) return;
    const time = this.times[last]!;
    const seq = this.seqs[last]!;
    const lastSlot = this.slots[last]!;
    let i = 0;
    const times = this.times;
    const seqs = this.seqs;
    // Sift down through the smallest of up to four children.
    for (;;) {
      const first = 4 * i + 1;
      if (first >= last) break;
      let child = first;
      let ct = times[first]!;
      let cs = seqs[first]!;
      const end = first + 4 < last ? first + 4 : last;
      for (let c = first + 1; c < end; c++) {
        const t = times[c]!;
        if (t < ct || (t === ct && seqs[c]! < cs)) {
          child = c;
          ct = t;
          cs = seqs[c]!;
        }
      }
      if (time < ct || (time === ct && seq < cs)) break;
      times[i] = ct;
      seqs[i] = cs;
      this.slots[i] = this.slots[child]!;
      i = child;
    }
    this.times[i] = time;
    this.seqs[i] = seq;
    this.slots[i] = lastSlot;
  }

  private growHeap(): void {
    const capacity = this.times.length * 2;
    const times = new Float64Array(capacity);
    times.set(this.times);
    const seqs = new Float64Array(capacity);
    seqs.set(this.seqs);
    const slots = new Int32Array(capacity);
    slots.set(this.slots);
    this.times = times;
    this.seqs = seqs;
    this.slots = slots;
  }
}

function grow32(array: Uint32Array): Uint32Array {
  const next = new Uint32Array(array.length * 2);
  next.set(array);
  return next;
}
