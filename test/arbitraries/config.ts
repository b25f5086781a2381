/**
 * fast-check arbitraries for config inputs (OpenClaw shape).
 *
 * - arbValidConfigInput(): configs parseConfig must accept: any subset of the
 *   keys lanesim owns, aliases in random case with surrounding spaces, plus
 *   OpenClaw keys lanesim ignores (at the top level, in open objects and in the
 *   OpenClaw keys of strict objects).
 * - OWNED_LEAVES / arbWrongValue(): where a wrong-typed value can be put and
 *   what such values look like, for mutation properties.
 */
import fc from 'fast-check';
import {
  DEFAULT_CONFIG,
  DROP_POLICY_ALIASES,
  QUEUE_MODE_ALIASES,
} from '../../src/model/config-types.ts';

const MAX_TIMER_MS = 2_147_483_647;

type Obj = Record<string, unknown>;

/** Drops keys whose value is undefined (fc.option's "absent"). */
function compact(obj: Obj): Obj {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}
const opt = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });

/** An alias spelling with random letter case and optional surrounding whitespace. */
function arbSpelling(table: Readonly<Record<string, string>>): fc.Arbitrary<string> {
  return fc
    .record({
      name: fc.constantFrom(...Object.keys(table)),
      upper: fc.array(fc.boolean(), { maxLength: 16 }),
      left: fc.constantFrom('', ' ', '\t', '  '),
      right: fc.constantFrom('', ' ', '\n'),
    })
    .map(({ name, upper, left, right }) =>
      left + [...name].map((c, i) => (upper[i] === true ? c.toUpperCase() : c)).join('') + right,
    );
}

const arbPositive = fc.integer({ min: 1, max: 1_000_000 });
const arbMs0 = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: MAX_TIMER_MS }));
const arbMs1 = fc.integer({ min: 1, max: MAX_TIMER_MS });
const arbChannel = fc.oneof(
  fc.constantFrom('webchat', 'telegram', 'discord', 'slack', 'my channel', 'a.b', '0'),
  fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !['__proto__', 'constructor', 'prototype'].includes(s)),
);
/** Arbitrary JSON for keys lanesim ignores. */
const arbIgnored = fc.jsonValue({ maxDepth: 2 });

/** The heartbeat block; deadAfterMs ends up > pingIntervalMs once defaults are applied. */
const arbHeartbeat = fc
  .record({
    intervalMs: opt(fc.integer({ min: 1, max: 10_000_000 })),
    pingIntervalMs: opt(fc.integer({ min: 1, max: 10_000_000 })),
    deadAfterMs: opt(fc.integer({ min: 0, max: 20_000_000 })),
  })
  .map((hb) => {
    const ping = hb.pingIntervalMs ?? DEFAULT_CONFIG.gateway.heartbeat.pingIntervalMs;
    const dead = hb.deadAfterMs ?? DEFAULT_CONFIG.gateway.heartbeat.deadAfterMs;
    return compact(dead > ping ? hb : { ...hb, deadAfterMs: ping + 1 });
  });

export function arbValidConfigInput(): fc.Arbitrary<Obj> {
  const lane = opt(
    fc
      .record({
        maxConcurrent: opt(arbPositive),
        warnThresholdMs: opt(arbMs1),
        nestedAgentParallel: opt(fc.boolean()),
      })
      .map(compact),
  );
  const subagents = opt(
    fc
      .record({
        maxConcurrent: opt(arbPositive),
        archiveAfterMinutes: opt(arbIgnored),
        model: opt(arbIgnored),
      })
      .map(compact),
  );
  const agents = opt(
    fc
      .record({
        defaults: opt(
          fc
            .record({
              maxConcurrent: opt(arbPositive),
              subagents,
              lane,
              model: opt(arbIgnored),
              workspace: opt(fc.string()),
            })
            .map(compact),
        ),
        list: opt(arbIgnored),
      })
      .map(compact),
  );
  const queue = opt(
    fc
      .record({
        mode: opt(arbSpelling(QUEUE_MODE_ALIASES)),
        debounceMs: opt(arbMs0),
        cap: opt(arbPositive),
        drop: opt(arbSpelling(DROP_POLICY_ALIASES)),
        byChannel: opt(fc.dictionary(arbChannel, arbSpelling(QUEUE_MODE_ALIASES), { maxKeys: 4 })),
        debounceMsByChannel: opt(arbIgnored),
      })
      .map(compact),
  );
  return fc
    .record({
      agents,
      messages: opt(fc.record({ queue, inbound: opt(arbIgnored) }).map(compact)),
      cron: opt(fc.record({ maxConcurrentRuns: opt(arbPositive), enabled: opt(fc.boolean()) }).map(compact)),
      diagnostics: opt(fc.record({ laneWaitWarnMs: opt(arbMs0), enabled: opt(fc.boolean()) }).map(compact)),
      gateway: opt(
        fc
          .record({
            heartbeat: opt(arbHeartbeat),
            tickIntervalMs: opt(arbMs1),
            port: opt(fc.integer({ min: 1, max: 65_535 })),
            auth: opt(arbIgnored),
          })
          .map(compact),
      ),
      models: opt(arbIgnored),
      channels: opt(arbIgnored),
      update: opt(arbIgnored),
    })
    .map(compact);
}

export type LeafKind = 'positive' | 'ms0' | 'ms1' | 'boolean' | 'mode' | 'drop' | 'object';

/** Every place in the config lanesim validates, with what it holds. */
export const OWNED_LEAVES: readonly { readonly path: readonly string[]; readonly kind: LeafKind }[] = [
  { path: ['agents'], kind: 'object' },
  { path: ['agents', 'defaults'], kind: 'object' },
  { path: ['agents', 'defaults', 'maxConcurrent'], kind: 'positive' },
  { path: ['agents', 'defaults', 'subagents'], kind: 'object' },
  { path: ['agents', 'defaults', 'subagents', 'maxConcurrent'], kind: 'positive' },
  { path: ['agents', 'defaults', 'lane'], kind: 'object' },
  { path: ['agents', 'defaults', 'lane', 'maxConcurrent'], kind: 'positive' },
  { path: ['agents', 'defaults', 'lane', 'warnThresholdMs'], kind: 'ms1' },
  { path: ['agents', 'defaults', 'lane', 'nestedAgentParallel'], kind: 'boolean' },
  { path: ['cron'], kind: 'object' },
  { path: ['cron', 'maxConcurrentRuns'], kind: 'positive' },
  { path: ['messages'], kind: 'object' },
  { path: ['messages', 'queue'], kind: 'object' },
  { path: ['messages', 'queue', 'mode'], kind: 'mode' },
  { path: ['messages', 'queue', 'debounceMs'], kind: 'ms0' },
  { path: ['messages', 'queue', 'cap'], kind: 'positive' },
  { path: ['messages', 'queue', 'drop'], kind: 'drop' },
  { path: ['messages', 'queue', 'byChannel'], kind: 'object' },
  { path: ['messages', 'queue', 'byChannel', 'webchat'], kind: 'mode' },
  { path: ['diagnostics'], kind: 'object' },
  { path: ['diagnostics', 'laneWaitWarnMs'], kind: 'ms0' },
  { path: ['gateway'], kind: 'object' },
  { path: ['gateway', 'heartbeat'], kind: 'object' },
  { path: ['gateway', 'heartbeat', 'intervalMs'], kind: 'ms1' },
  { path: ['gateway', 'heartbeat', 'pingIntervalMs'], kind: 'ms1' },
  { path: ['gateway', 'heartbeat', 'deadAfterMs'], kind: 'ms0' },
  { path: ['gateway', 'tickIntervalMs'], kind: 'ms1' },
];

const notAlias = (table: Readonly<Record<string, string>>) => (s: string) =>
  !Object.prototype.hasOwnProperty.call(table, s.trim().toLowerCase());

const arbNonNumber = fc.oneof(
  fc.string(),
  fc.constantFrom('500', '5s', '1e3', ''),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);
const arbBadInteger = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }).filter((x) => !Number.isInteger(x)),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
);

/** Values that are wrong at a leaf of the given kind (never undefined, which means "absent"). */
export function arbWrongValue(kind: LeafKind): fc.Arbitrary<unknown> {
  switch (kind) {
    case 'positive':
      return fc.oneof(arbNonNumber, arbBadInteger, fc.integer({ min: -1_000_000, max: 0 }));
    case 'ms0':
      return fc.oneof(arbNonNumber, arbBadInteger, fc.integer({ min: -1_000_000, max: -1 }), fc.constant(MAX_TIMER_MS + 1));
    case 'ms1':
      return fc.oneof(arbNonNumber, arbBadInteger, fc.integer({ min: -1_000_000, max: 0 }), fc.constant(MAX_TIMER_MS + 1));
    case 'boolean':
      return fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.boolean(), { maxLength: 2 }), fc.constant({}));
    case 'mode':
      return fc.oneof(fc.string().filter(notAlias(QUEUE_MODE_ALIASES)), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(['steer']));
    case 'drop':
      return fc.oneof(fc.string().filter(notAlias(DROP_POLICY_ALIASES)), fc.integer(), fc.boolean(), fc.constant(null), fc.constant({ old: true }));
    case 'object':
      return fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));
  }
}

/** A deep copy of `config` (plain JSON-ish data) with `value` at `path`, creating objects on the way. */
export function setAt(config: Obj, path: readonly string[], value: unknown): Obj {
  const [head, ...rest] = path;
  if (head === undefined) throw new Error('empty path');
  const copy: Obj = { ...config };
  if (rest.length === 0) {
    Object.defineProperty(copy, head, { value, enumerable: true, writable: true, configurable: true });
    return copy;
  }
  const child = copy[head];
  const childObj = typeof child === 'object' && child !== null && !Array.isArray(child) ? (child as Obj) : {};
  copy[head] = setAt(childObj, rest, value);
  return copy;
}
