/**
 * An open-addressing hash table from event times (any number) to slot
 * numbers, in typed arrays: the event queue's "which chain holds this time"
 * lookup. A Map costs an allocation-heavy insert and delete per distinct time
 * (~4x slower when every event has its own time); this costs a hash and a
 * probe or two. There is no delete: the queue checks what it finds (an entry
 * whose slot moved on is stale) and rebuilds the table from its live chains
 * when stale entries pile up, so finishing a chain costs nothing.
 */
const EMPTY = -1;

/** Scratch views to read a double's bits for hashing. */
const scratch = new Float64Array(1);
const scratchWords = new Int32Array(scratch.buffer);

export class TimeIndex {
  private keys: Float64Array;
  private values: Int32Array;
  private mask: number;
  private shift: number;
  private count = 0;

  constructor(minCapacity = 1024) {
    const capacity = powerOfTwoAtLeast(minCapacity);
    this.keys = new Float64Array(capacity);
    this.values = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
  }

  /** Entries held (current or stale). */
  get size(): number {
    return this.count;
  }

  get capacity(): number {
    return this.values.length;
  }

  /**
   * Where `time` is or would go: its entry's position, or the empty position
   * a set() would fill. Read it with valueAt(), write it with setAt().
   */
  find(time: number): number {
    const keys = this.keys;
    const values = this.values;
    let i = this.home(time);
    while (values[i] !== EMPTY && keys[i] !== time) i = (i + 1) & this.mask;
    return i;
  }

  /** The value at a position from find(), or -1 if it is empty. */
  valueAt(position: number): number {
    return this.values[position]!;
  }

  /** Writes `time` -> `value` (>= 0) at a position find(time) returned. Keep size under half the capacity (reset). */
  setAt(position: number, time: number, value: number): void {
    if (this.values[position] === EMPTY) {
      if ((this.count + 1) * 2 > this.values.length) throw new RangeError('TimeIndex: full; reset() it larger first');
      this.count++;
      this.keys[position] = time;
    }
    this.values[position] = value;
  }

  /** The value for `time`, or -1. */
  get(time: number): number {
    return this.values[this.find(time)]!;
  }

  set(time: number, value: number): void {
    this.setAt(this.find(time), time, value);
  }

  /** Empties the table, with room for at least `minCapacity` slots. */
  reset(minCapacity: number): void {
    const capacity = powerOfTwoAtLeast(minCapacity);
    if (capacity === this.values.length) {
      this.values.fill(EMPTY);
    } else {
      this.keys = new Float64Array(capacity);
      this.values = new Int32Array(capacity).fill(EMPTY);
      this.mask = capacity - 1;
      this.shift = 32 - Math.log2(capacity);
    }
    this.count = 0;
  }

  private home(time: number): number {
    // Both words of the double, mixed (whole-ms times differ in the high word,
    // fractions in the low one), then Fibonacci hashing: the top bits of h * 2^32/phi.
    scratch[0] = time;
    return Math.imul(scratchWords[0]! ^ Math.imul(scratchWords[1]!, 0x85ebca6b), 0x9e3779b1) >>> this.shift;
  }
}

function powerOfTwoAtLeast(n: number): number {
  let capacity = 16;
  while (capacity < n) capacity *= 2;
  return capacity;
}
