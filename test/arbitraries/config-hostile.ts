/**
 * fast-check arbitraries for config inputs a careless or hostile user writes
 * (issue 15, point 6): valid configs (test/arbitraries/config.ts), the same
 * mutated (wrong values at the keys lanesim owns, unknown and reserved keys,
 * typos, keys with control characters or 1,000 characters, subtrees replaced
 * by random JSON or by nesting up to 3x MAX_CONFIG_DEPTH deep), and random
 * JSON values that are not configs at all. Every input is plain JSON data
 * (what JSON5.parse can produce), so a failing case prints and replays.
 */
import fc from 'fast-check';
import { MAX_CONFIG_DEPTH } from '../../src/model/config.ts';
import { OWNED_LEAVES, arbValidConfigInput, arbWrongValue, setAt } from './config.ts';

type Obj = Record<string, unknown>;

/** Keys users mistype, keys that look like attacks, keys that break naive message formats. */
export const arbNastyKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', 'mesages', 'agent', 'gatway',
    'tickIntervalMS', 'debounce_ms', 'a\nb', 'line\r\nbreak', '\u2028', '\u0000', 'ключ', '🔑', '0', '-1', '1e3', 'a.b', '[0]', '"quoted"',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.integer({ min: 100, max: 1000 }).map((n) => 'k'.repeat(n)),
);

/** Nesting `depth` levels deep: arrays, objects or both, with a leaf at the bottom. */
export function nested(depth: number, shape: 'array' | 'object' | 'mixed', leaf: unknown = 1): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) {
    const asArray = shape === 'array' || (shape === 'mixed' && i % 2 === 0);
    value = asArray ? [value] : { x: value };
  }
  return value;
}

const arbDeep: fc.Arbitrary<unknown> = fc
  .record({
    depth: fc.oneof(fc.integer({ min: 1, max: 3 * MAX_CONFIG_DEPTH }), fc.constantFrom(MAX_CONFIG_DEPTH - 4, MAX_CONFIG_DEPTH - 3, MAX_CONFIG_DEPTH - 2, MAX_CONFIG_DEPTH + 1)),
    shape: fc.constantFrom('array' as const, 'object' as const, 'mixed' as const),
  })
  .map(({ depth, shape }) => nested(depth, shape));

/** Any JSON value, including awkward numbers JSON5 allows. */
const arbJunk: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 2 ** 53 + 1, 1e300, -1e-300, '', 'steer', 'NaN', [], {}),
  arbDeep,
);

/** Paths into a config: the keys lanesim owns, their parents, and made-up ones. */
const arbPath: fc.Arbitrary<string[]> = fc.oneof(
  fc.constantFrom(...OWNED_LEAVES.map((l) => [...l.path])),
  fc.constantFrom(...OWNED_LEAVES.filter((l) => l.kind === 'object').map((l) => [...l.path])).chain((parent) => arbNastyKey.map((k) => [...parent, k])),
  fc.array(arbNastyKey, { minLength: 1, maxLength: 4 }),
);

type Mutation = (config: Obj) => Obj;

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  // A wrong value where lanesim reads one.
  fc.constantFrom(...OWNED_LEAVES).chain((leaf) => arbWrongValue(leaf.kind).map((v): Mutation => (c) => setAt(c, leaf.path, v))),
  // Anything anywhere (unknown keys, reserved keys, typos, deep nesting, junk in owned places).
  fc.tuple(arbPath, arbJunk).map(([path, v]): Mutation => (c) => setAt(c, path, v)),
  // A subtree dropped.
  arbPath.map((path): Mutation => (c) => dropAt(c, path)),
);

function dropAt(config: Obj, path: readonly string[]): Obj {
  const [head, ...rest] = path;
  if (head === undefined || !Object.prototype.hasOwnProperty.call(config, head)) return config;
  const copy: Obj = { ...config };
  if (rest.length === 0) {
    delete copy[head];
    return copy;
  }
  const child = copy[head];
  if (typeof child === 'object' && child !== null && !Array.isArray(child)) copy[head] = dropAt(child as Obj, rest);
  return copy;
}

/** A valid config with 1-5 mutations applied. */
export function arbMutatedConfigInput(): fc.Arbitrary<Obj> {
  return fc
    .tuple(arbValidConfigInput(), fc.array(arbMutation, { minLength: 1, maxLength: 5 }))
    .map(([config, mutations]) => mutations.reduce((c, m) => m(c), config));
}

/** What `parseConfig` is fed: valid, mutated, or not a config at all. */
export function arbHostileConfigInput(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: arbValidConfigInput(), weight: 2 },
    { arbitrary: arbMutatedConfigInput(), weight: 6 },
    { arbitrary: fc.dictionary(arbNastyKey, arbJunk, { maxKeys: 6 }), weight: 1 },
    { arbitrary: arbJunk, weight: 1 },
  );
}

/** Nodes and keys in a JSON value (iterative: inputs may be deep). */
export function jsonSize(value: unknown): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    size++;
    if (typeof node === 'object' && node !== null) {
      for (const [key, child] of Object.entries(node)) {
        size += 1 + key.length;
        stack.push(child);
      }
    }
  }
  return size;
}

/** Big inputs for the linear-work checks: `n` entries of one kind of trouble. */
export const BIG_INPUTS: Readonly<Record<string, (n: number) => Obj>> = {
  'unknown top-level keys': (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`key${String(i).padStart(6, '0')}`, i])),
  'unknown keys in a strict object': (n) => ({ messages: { queue: Object.fromEntries(Array.from({ length: n }, (_, i) => [`mode${String(i).padStart(6, '0')}`, i])) } }),
  'invalid byChannel modes': (n) => ({ messages: { queue: { byChannel: Object.fromEntries(Array.from({ length: n }, (_, i) => [`ch${String(i).padStart(6, '0')}`, 'sometimes'])) } } }),
  'reserved names in open objects, many siblings': (n) => ({ gateway: Object.fromEntries([...Array.from({ length: n }, (_, i) => [`g${String(i).padStart(6, '0')}`, { a: [i] }]), ['__proto__', 1]]) }),
  'wide ignored arrays': (n) => ({ models: Array.from({ length: n }, (_, i) => ({ id: `m${i}`, tags: [i, i + 1] })) }),
  // n/20 branches, each nested to just inside the limit: ~3n nodes.
  'branches nested to the depth limit': (n) => ({ channels: Object.fromEntries(Array.from({ length: Math.ceil(n / 20) }, (_, i) => [`c${i}`, nested(MAX_CONFIG_DEPTH - 2, 'mixed')])) }),
};
