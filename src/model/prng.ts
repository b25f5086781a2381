/**
 * The only source of randomness in lanesim: a seeded PRNG (sfc32 seeded by
 * splitmix32), so a seed replays a run byte for byte. Nothing in lanesim
 * reads Math.random.
 */

export const MAX_SEED = 0xffff_ffff;

/** A seed is an integer in [0, 2^32). Throws RangeError otherwise. */
export function assertSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new RangeError(`seed must be an integer from 0 to ${MAX_SEED}, got ${String(seed)}`);
  }
  return seed;
}

/** Parses a seed given on a command line: decimal or 0x-hex. */
export function parseSeed(text: string): number {
  const trimmed = text.trim();
  const value = /^0x[0-9a-f]+$/i.test(trimmed) ? Number.parseInt(trimmed, 16) : /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (Number.isNaN(value)) throw new RangeError(`seed must be an integer from 0 to ${MAX_SEED}, got ${JSON.stringify(text)}`);
  return assertSeed(value);
}

function splitmix32(state: number): () => number {
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  readonly seed: number;

  constructor(seed: number) {
    this.seed = assertSeed(seed);
    const init = splitmix32(seed);
    this.a = init();
    this.b = init();
    this.c = init();
    this.d = init();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    if (max < min) throw new RangeError(`int(${min}, ${max}): max < min`);
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Uniform real in [min, max). */
  range(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  bool(probability = 0.5): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Multiplicative jitter: value * (1 ± fraction), uniformly. */
  jitter(value: number, fraction: number): number {
    return value * (1 + (this.next() * 2 - 1) * fraction);
  }

  /** Exponential with the given mean (Poisson arrivals). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** An independent stream derived from this one (for per-entity randomness). */
  fork(): Prng {
    return new Prng(this.nextUint32());
  }
}
