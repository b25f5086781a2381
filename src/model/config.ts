/**
 * Parse and validate a user's config (OpenClaw shape, JSON/JSON5) into a
 * deeply frozen {@link LanesimConfig}.
 *
 * ## What is validated, what is ignored
 *
 * lanesim OWNS these keys and validates them strictly (type and range):
 *
 * | key                                         | rule                                   |
 * |---------------------------------------------|----------------------------------------|
 * | `agents.defaults.maxConcurrent`             | integer >= 1                           |
 * | `agents.defaults.subagents.maxConcurrent`   | integer >= 1                           |
 * | `agents.defaults.lane.maxConcurrent`        | integer >= 1                           |
 * | `agents.defaults.lane.warnThresholdMs`      | integer ms, 1 .. 2147483647            |
 * | `agents.defaults.lane.nestedAgentParallel`  | boolean                                |
 * | `cron.maxConcurrentRuns`                    | integer >= 1                           |
 * | `messages.queue.mode`                       | a queue mode or alias (see below)      |
 * | `messages.queue.debounceMs`                 | integer ms, 0 .. 2147483647            |
 * | `messages.queue.cap`                        | integer >= 1                           |
 * | `messages.queue.drop`                       | a drop policy or alias                 |
 * | `messages.queue.byChannel.<channel>`        | a queue mode or alias                  |
 * | `diagnostics.laneWaitWarnMs`                | integer ms, 0 .. 2147483647            |
 * | `gateway.heartbeat.intervalMs`              | integer ms, 1 .. 2147483647            |
 * | `gateway.heartbeat.pingIntervalMs`          | integer ms, 1 .. 2147483647            |
 * | `gateway.heartbeat.deadAfterMs`             | integer ms, 0 .. 2147483647, and > pingIntervalMs |
 * | `gateway.tickIntervalMs`                    | integer ms, 1 .. 2147483647            |
 *
 * Periods (`intervalMs`, `pingIntervalMs`, `tickIntervalMs`) must be >= 1: a
 * 0 ms period is a busy loop. Every duration is capped at 2147483647 ms
 * because Node silently turns a larger timer delay into 1 ms. Durations are
 * plain numbers of milliseconds: no duration strings ("5s"), no numeric
 * strings ("500"), no coercion of any kind.
 *
 * STRICT objects (an unknown key inside is an error, with a did-you-mean hint):
 * - the top level: lanesim's keys plus {@link OPENCLAW_TOP_LEVEL_KEYS}, so a
 *   typo such as `mesages` is caught;
 * - `agents.defaults.lane` (lanesim's own block);
 * - `agents.defaults.subagents`, `messages.queue`: lanesim's keys plus the keys
 *   OpenClaw defines there ({@link OPENCLAW_SUBAGENTS_KEYS},
 *   {@link OPENCLAW_QUEUE_KEYS}), which are accepted and ignored (OpenClaw
 *   itself declares both objects `.strict()`);
 * - `gateway.heartbeat` (lanesim's own block).
 *
 * OPEN objects (keys other than lanesim's are accepted and ignored, because
 * OpenClaw puts many settings there: `agents.list`, `agents.defaults.model`,
 * `gateway.port`, `gateway.auth`, `cron.enabled`, `diagnostics.otel`, ...):
 * `agents`, `agents.defaults`, `messages`, `cron`, `diagnostics`, `gateway`.
 * Even there the names `__proto__`, `constructor` and `prototype` are
 * rejected as unknown keys.
 *
 * IGNORED: everything under OpenClaw's other top-level keys (`models`,
 * `channels`, `update`, ...) and under the ignored OpenClaw keys above. Their
 * values are not looked at.
 *
 * `messages.queue.byChannel` maps any channel name (except the three reserved
 * names) to a queue mode. Mode and drop strings, including byChannel values,
 * are trimmed and lower-cased and then looked up in QUEUE_MODE_ALIASES /
 * DROP_POLICY_ALIASES; only a string that matches is replaced, anything else
 * is reported as written.
 *
 * An owned key whose value is `undefined` (possible only from JavaScript
 * callers) counts as absent; an unknown key or a byChannel entry whose value
 * is `undefined` is still reported. Only own enumerable properties are read:
 * inherited ones are invisible, and a `__proto__` own key (as JSON.parse and
 * JSON5.parse create) is an ordinary, unknown key.
 *
 * ## Cost
 *
 * Validation is linear in the input: one visit per node for the depth check,
 * AJV's single pass, one key index per object for ordering the issues (not
 * `indexOf` per issue), and a did-you-mean that skips candidates whose length
 * alone puts them out of reach and stops a comparison once it is. 20,000
 * unknown top-level keys are refused in 0.3-0.6 s on the 2-core dev
 * container (test/properties/config-parser.property.test.ts counts the work
 * in {@link configWork} units: twice the keys, ~twice the units).
 *
 * ## Errors
 *
 * Failures throw {@link ConfigError} (`code: 'CONFIG_INVALID'`). `errors` lists
 * every issue (one per path), ordered as the keys appear in the input
 * (depth-first, in each object's key order; an issue about a key the input
 * does not contain sorts after its present siblings); the error's own
 * `path`, `value` and `message` are those of the first issue. Formats:
 *
 * - `config: <path> must be a positive integer, got <value>`
 * - `config: <path> must be a non-negative integer (ms), got <value>`
 * - `config: <path> must be a positive integer (ms), got <value>`
 * - `config: <path> must be at most 2147483647 (ms; Node's largest timer delay), got <value>`
 * - `config: <path> must be a boolean (true or false), got <value>`
 * - `config: <path> must be one of steer, followup, collect, steer-backlog, interrupt (or an alias: steering, queue, ...), got <value>`
 * - `config: <path> must be one of old, new, summarize (or an alias: oldest, newest, summary), got <value>`
 * - `config: <path> must be an object, got <value>`
 * - `config: the top level must be an object, got <value>`      (path `''`)
 * - `config: <path> is not a known key (did you mean "<key>"?)` or, when no
 *   sibling is close, `config: <path> is not a known key`
 * - `config: gateway.heartbeat.deadAfterMs must be greater than gateway.heartbeat.pingIntervalMs (<ping>), got <dead>`
 *   (suffixed ` (the default)` when deadAfterMs was not set)
 * - `config: <path> is nested deeper than 64 levels (lanesim refuses configs this deep)`
 *   (MAX_CONFIG_DEPTH; checked first, iteratively, so nothing after it recurses deeper)
 *
 * `<path>` joins keys with dots; array indices are `[0]`; a key that is not
 * an identifier (letters, digits, `_`, `$`, `-`, not starting with a digit) is
 * written `["key"]`. In messages a key over 80 characters is cut to 77 and
 * `...`, and control characters (and U+2028/2029) are escaped `\u000a`:
 * every message is one line. The issue's `path` keeps keys whole.
 * `<value>` is compact JSON (`NaN`, `Infinity`, `undefined`, `12n` for values
 * JSON cannot show), cut to 80 characters with a trailing `...`. When `opts.source` is given the prefix becomes
 * `config (<source>): `.
 *
 * {@link loadConfigFile} adds, with path `''`:
 * - `config: cannot read <file>: <system error message>`
 * - `config: <file> is <n> bytes, more than the 16777216 a config may have`
 * - `config: <file> is not valid JSON5 (line <l>, column <c>): <parser message>`
 */
import { readFile, stat } from 'node:fs/promises';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import JSON5 from 'json5';
import {
  DEFAULT_CONFIG,
  DROP_POLICIES,
  DROP_POLICY_ALIASES,
  QUEUE_MODES,
  QUEUE_MODE_ALIASES,
  type ConfigInput,
  type DropPolicy,
  type LanesimConfig,
  type QueueConfig,
  type QueueMode,
} from './config-types.ts';

// ---------------------------------------------------------------------------
// Key lists

/**
 * OpenClaw's top-level config keys that lanesim accepts and ignores. Besides
 * the sections lanesim reads (agents, messages, cron, gateway, diagnostics)
 * these are the other sections of OpenClaw's root schema, plus `$schema`
 * (OpenClaw allows it; editors use it to pick a JSON Schema), `mcp` and
 * `proxy`.
 */
export const OPENCLAW_TOP_LEVEL_KEYS = Object.freeze([
  'agents', 'messages', 'cron', 'gateway', 'models', 'channels', 'update', 'session', 'tools',
  'hooks', 'plugins', 'logging', 'browser', 'skills', 'commands', 'ui', 'diagnostics', 'env',
  'auth', 'wizard', 'meta', 'bindings', 'broadcast', 'talk', 'web', 'discovery', 'canvasHost',
  'memory', 'approvals', 'secrets', 'media', 'audio', 'acp', 'mcp', 'proxy', '$schema',
] as const);

/** Keys OpenClaw defines in `agents.defaults.subagents` besides `maxConcurrent`: accepted, ignored. */
export const OPENCLAW_SUBAGENTS_KEYS = Object.freeze([
  'maxSpawnDepth', 'maxChildrenPerAgent', 'archiveAfterMinutes', 'model', 'thinking',
  'runTimeoutSeconds', 'announceTimeoutMs', 'delegationMode', 'allowAgents', 'requireAgentId',
] as const);

/** Keys OpenClaw defines in `messages.queue` that lanesim does not model: accepted, ignored. */
export const OPENCLAW_QUEUE_KEYS = Object.freeze(['debounceMsByChannel'] as const);

/** Never accepted as keys anywhere lanesim validates (prototype-pollution names). */
export const RESERVED_KEYS = Object.freeze(['__proto__', 'constructor', 'prototype'] as const);

/** Node turns a timer delay above this into 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Deepest nesting accepted anywhere in a config (the top-level object is
 * depth 0, `messages.queue.mode` depth 3). lanesim reads 4 levels; OpenClaw's
 * own sections go about 8 deep. A deeper input is refused before anything
 * else looks at it, so nothing (cloning, merging, rendering) recurses
 * deeper than this.
 */
export const MAX_CONFIG_DEPTH = 64;

/** Largest config file read (bytes). */
export const MAX_CONFIG_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Work done by parseConfig and mergeConfig, in units (a node or key visited,
 * a key position looked up, an edit-distance cell, an issue sorted or
 * compared): the property tests assert it grows linearly with the input.
 * Reset it to 0 before a measurement.
 */
export const configWork = { units: 0 };

// ---------------------------------------------------------------------------
// Schema

type JsonSchema = Readonly<Record<string, unknown>>;

/** Annotation keyword carrying the phrase used in "must be <phrase>" messages. */
const EXPECTS = 'x-lanesim-expects';

const canonicalFirst = (canonical: readonly string[], aliases: Readonly<Record<string, string>>): string[] => [
  ...canonical,
  ...Object.keys(aliases).filter((a) => !canonical.includes(a)),
];
const aliasesOnly = (canonical: readonly string[], aliases: Readonly<Record<string, string>>): string[] =>
  Object.keys(aliases).filter((a) => !canonical.includes(a));

const MODE_PHRASE = `one of ${QUEUE_MODES.join(', ')} (or an alias: ${aliasesOnly(QUEUE_MODES, QUEUE_MODE_ALIASES).join(', ')})`;
const DROP_PHRASE = `one of ${DROP_POLICIES.join(', ')} (or an alias: ${aliasesOnly(DROP_POLICIES, DROP_POLICY_ALIASES).join(', ')})`;

const positiveInt = (description: string, dflt: number): JsonSchema => ({
  description,
  type: 'integer',
  minimum: 1,
  default: dflt,
  [EXPECTS]: 'a positive integer',
});
const durationMs = (description: string, min: 0 | 1, dflt: number): JsonSchema => ({
  description: `${description} (milliseconds)`,
  type: 'integer',
  minimum: min,
  maximum: MAX_TIMER_MS,
  default: dflt,
  [EXPECTS]: min === 0 ? 'a non-negative integer (ms)' : 'a positive integer (ms)',
});
const modeSchema = (description: string, dflt?: QueueMode): JsonSchema => ({
  description: `${description} Aliases are accepted, case-insensitively, surrounding spaces ignored.`,
  type: 'string',
  // Aliases are listed so that an editor accepts them; parseConfig normalizes first.
  enum: canonicalFirst(QUEUE_MODES, QUEUE_MODE_ALIASES),
  ...(dflt === undefined ? {} : { default: dflt }),
  [EXPECTS]: MODE_PHRASE,
});
const notReserved: JsonSchema = { not: { enum: [...RESERVED_KEYS] } };
/** An object whose other keys are accepted and ignored. */
const openObject = (description: string, properties: Record<string, JsonSchema>): JsonSchema => ({
  description,
  type: 'object',
  properties,
  propertyNames: notReserved,
  [EXPECTS]: 'an object',
});
/** An object in which only the listed keys (and `ignoredKeys`, not validated) may appear. */
const strictObject = (
  description: string,
  properties: Record<string, JsonSchema>,
  ignoredKeys: readonly string[] = [],
): JsonSchema => ({
  description,
  type: 'object',
  properties: { ...properties, ...Object.fromEntries(ignoredKeys.map((k) => [k, true])) },
  additionalProperties: false,
  [EXPECTS]: 'an object',
});

const D = DEFAULT_CONFIG;

const LANESIM_SECTIONS: Record<string, JsonSchema> = {
  agents: openObject('OpenClaw agents; lanesim reads agents.defaults.', {
    defaults: openObject('Defaults for every agent; lanesim reads maxConcurrent, subagents, lane.', {
      maxConcurrent: positiveInt('Concurrency of the global lane `main`.', D.agents.defaults.maxConcurrent),
      subagents: strictObject(
        'Sub-agent settings; lanesim reads maxConcurrent, the other OpenClaw keys are ignored.',
        {
          maxConcurrent: positiveInt(
            'Concurrency of the global lane `subagent`.',
            D.agents.defaults.subagents.maxConcurrent,
          ),
        },
        OPENCLAW_SUBAGENTS_KEYS,
      ),
      lane: strictObject('Lane backpressure settings (lanesim).', {
        maxConcurrent: positiveInt(
          'Concurrency of each nested lane `nested:<target>` when nestedAgentParallel is on.',
          D.agents.defaults.lane.maxConcurrent,
        ),
        warnThresholdMs: durationMs(
          'A lane wait longer than this produces a user-visible lane.status warning',
          1,
          D.agents.defaults.lane.warnThresholdMs,
        ),
        nestedAgentParallel: {
          description: "When true, nested agent runs leave the parent's session lane.",
          type: 'boolean',
          default: D.agents.defaults.lane.nestedAgentParallel,
          [EXPECTS]: 'a boolean (true or false)',
        },
      }),
    }),
  }),
  messages: openObject('OpenClaw message handling; lanesim reads messages.queue.', {
    queue: strictObject(
      'Per-session message queue.',
      {
        mode: modeSchema('What a message arriving during an active run does.', D.messages.queue.mode),
        debounceMs: durationMs(
          'Quiet time since the last enqueue before a queued batch drains',
          0,
          D.messages.queue.debounceMs,
        ),
        cap: positiveInt('Max messages waiting per session.', D.messages.queue.cap),
        drop: {
          description:
            'What happens at cap: old drops the oldest, new rejects the incoming one, summarize drops the oldest and keeps a gist. Aliases are accepted, case-insensitively.',
          type: 'string',
          enum: canonicalFirst(DROP_POLICIES, DROP_POLICY_ALIASES),
          default: D.messages.queue.drop,
          [EXPECTS]: DROP_PHRASE,
        },
        byChannel: {
          description: 'Per-channel mode overrides, e.g. { "webchat": "steer" }.',
          type: 'object',
          additionalProperties: modeSchema('Queue mode for this channel.'),
          propertyNames: notReserved,
          default: {},
          [EXPECTS]: 'an object',
        },
      },
      OPENCLAW_QUEUE_KEYS,
    ),
  }),
  cron: openObject('OpenClaw cron; lanesim reads cron.maxConcurrentRuns.', {
    maxConcurrentRuns: positiveInt('Concurrency of the global lane `cron`.', D.cron.maxConcurrentRuns),
  }),
  diagnostics: openObject('Diagnostics; lanesim reads diagnostics.laneWaitWarnMs.', {
    laneWaitWarnMs: durationMs(
      'A dequeue after waiting this long logs `lane wait exceeded`',
      0,
      D.diagnostics.laneWaitWarnMs,
    ),
  }),
  gateway: openObject('OpenClaw gateway; lanesim reads gateway.heartbeat and gateway.tickIntervalMs.', {
    heartbeat: strictObject('Keepalive for clients waiting on a run (lanesim).', {
      intervalMs: durationMs(
        'Longest a client with a run active or queued may go without a frame',
        1,
        D.gateway.heartbeat.intervalMs,
      ),
      pingIntervalMs: durationMs('WebSocket ping period', 1, D.gateway.heartbeat.pingIntervalMs),
      deadAfterMs: durationMs(
        'A peer that has not answered a ping for this long is dead; must exceed pingIntervalMs',
        0,
        D.gateway.heartbeat.deadAfterMs,
      ),
    }),
    tickIntervalMs: durationMs("Period of OpenClaw's server-wide `tick` event", 1, D.gateway.tickIntervalMs),
    // docs/SPEC.md AUTH-2 (issue 15): browser origins the gateway accepts besides its own; checked as origins by the gateway.
    allowedOrigins: { description: 'Browser origins allowed besides the gateway\'s own (AUTH-2).', type: 'array', items: { type: 'string', [EXPECTS]: 'a string' }, [EXPECTS]: 'an array of origin strings' },
  }),
};

/**
 * The JSON Schema (draft-07) lanesim validates a config with, after alias
 * normalization. Every node carries `x-lanesim-expects`, an annotation with
 * the phrase used in error messages; editors ignore it. Deeply frozen.
 */
export const CONFIG_SCHEMA: JsonSchema = deepFreeze({
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'lanesim config (OpenClaw shape)',
  description:
    'lanesim validates the keys it owns strictly; other OpenClaw sections are accepted and ignored. See src/model/config.ts.',
  type: 'object',
  properties: {
    ...Object.fromEntries(OPENCLAW_TOP_LEVEL_KEYS.map((k): [string, JsonSchema | boolean] => [k, true])),
    $schema: { type: 'string', [EXPECTS]: 'a string' },
    ...LANESIM_SECTIONS,
  },
  additionalProperties: false,
  [EXPECTS]: 'an object',
});

let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  if (compiled === undefined) {
    const ajv = new Ajv({ allErrors: true, verbose: true, ownProperties: true, strict: true });
    ajv.addKeyword(EXPECTS);
    compiled = ajv.compile(CONFIG_SCHEMA);
  }
  return compiled;
}

// ---------------------------------------------------------------------------
// Errors

export type ConfigIssueKind = 'invalid-value' | 'unknown-key' | 'cross-field' | 'unreadable';

export interface ConfigIssue {
  readonly kind: ConfigIssueKind;
  /** Dotted path, e.g. `messages.queue.debounceMs`; `''` for the whole config or file. */
  readonly path: string;
  /** The offending value as the input had it (for unknown keys: the key's value). */
  readonly value: unknown;
  /** The full one-line message, starting `config: ` (or `config (<source>): `). */
  readonly message: string;
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID' as const;
  readonly path: string;
  readonly value: unknown;
  /** Every issue found, in input order; `errors[0]` is this error's own. */
  readonly errors: readonly ConfigIssue[];
  readonly source: string | undefined;

  constructor(errors: readonly ConfigIssue[], source?: string) {
    const first = errors[0];
    if (first === undefined) throw new TypeError('ConfigError needs at least one issue');
    super(first.message);
    this.name = 'ConfigError';
    this.path = first.path;
    this.value = first.value;
    this.errors = Object.freeze([...errors]);
    this.source = source;
  }
}

/** Compact JSON of a value for messages, cut to 80 characters. */
export function renderValue(value: unknown): string {
  let text: string;
  if (value === undefined) text = 'undefined';
  else if (typeof value === 'number' && !Number.isFinite(value)) text = String(value);
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (typeof value === 'function') text = '[function]';
  else if (typeof value === 'symbol') text = value.toString();
  else {
    try {
      text =
        JSON.stringify(value, (_k, v: unknown) =>
          typeof v === 'bigint' ? `${v}n` : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v,
        ) ?? String(value);
    } catch {
      text = '[unserializable]';
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// ---------------------------------------------------------------------------
// Paths

type Segment = string | number;

const IDENT = /^[A-Za-z_$][\w$-]*$/;

/** Renders `['messages', 'queue', 'mode']` as `messages.queue.mode`, indices as `[0]`. */
export function formatPath(segments: readonly Segment[]): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENT.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own property or undefined; never walks the prototype chain. */
function own(obj: unknown, key: Segment): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  return Object.prototype.hasOwnProperty.call(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}

/** JSON-pointer segments to path segments; a segment under an array becomes a number. */
function pointerToSegments(root: unknown, pointer: string): Segment[] {
  if (pointer === '') return [];
  const out: Segment[] = [];
  let node = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const seg: Segment = Array.isArray(node) && /^\d+$/.test(key) ? Number(key) : key;
    out.push(seg);
    node = own(node, seg);
  }
  return out;
}

function valueAt(root: unknown, segments: readonly Segment[]): unknown {
  let node = root;
  for (const seg of segments) node = own(node, seg);
  return node;
}

/**
 * Positions of paths in the input: each segment's index among its object's
 * keys (missing = after all). Each object's key index is built once, the
 * first time a path goes through it: with one issue per key of a 20,000-key
 * object, `Object.keys(node).indexOf(key)` per issue was quadratic.
 */
class KeyPositions {
  private readonly indexes = new WeakMap<object, Map<string, number>>();

  of(root: unknown, segments: readonly Segment[]): number[] {
    const out: number[] = [];
    let node = root;
    for (const seg of segments) {
      configWork.units++;
      const index = typeof node === 'object' && node !== null ? (this.indexOf(node).get(String(seg)) ?? -1) : -1;
      out.push(index < 0 ? Number.MAX_SAFE_INTEGER : index);
      node = index < 0 ? undefined : own(node, seg);
    }
    return out;
  }

  private indexOf(node: object): Map<string, number> {
    let index = this.indexes.get(node);
    if (index === undefined) {
      const keys = Object.keys(node);
      configWork.units += keys.length;
      index = new Map(keys.map((k, i) => [k, i]));
      this.indexes.set(node, index);
    }
    return index;
  }
}

function comparePositions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------------------
// Did-you-mean

/** Rolling rows for editDistance, grown when a longer candidate comes (candidates are short key names). */
let rows: Uint32Array[] = [new Uint32Array(64), new Uint32Array(64), new Uint32Array(64)];

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent
 * transpositions) of two lower-cased strings, or any number > `max` once it
 * is sure to exceed `max`. Three reused rolling rows: no allocation per
 * call, and a row whose every cell is over `max` ends it (20,000 unknown
 * keys against 40 candidates took seconds with a fresh matrix per pair).
 */
function editDistance(s: string, t: string, max: number): number {
  const n = t.length;
  if (rows[0]!.length <= n) rows = [new Uint32Array(n + 1), new Uint32Array(n + 1), new Uint32Array(n + 1)];
  let [before, prev, row] = rows as [Uint32Array, Uint32Array, Uint32Array];
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= s.length; i++) {
    row[0] = i;
    let rowMin = i;
    const si = s.charCodeAt(i - 1);
    for (let j = 1; j <= n; j++) {
      const tj = t.charCodeAt(j - 1);
      let best = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (si === tj ? 0 : 1));
      if (i > 1 && j > 1 && si === t.charCodeAt(j - 2) && s.charCodeAt(i - 2) === tj) best = Math.min(best, before[j - 2]! + 1);
      row[j] = best;
      if (best < rowMin) rowMin = best;
    }
    if (rowMin > max) return max + 1;
    [before, prev, row] = [prev, row, before];
  }
  return prev[n]!;
}

/** The closest candidate within max(1, floor(longer length / 3)) edits; ties go to the earlier candidate. */
export function suggestKey(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  let lowerKey: string | undefined;
  for (const candidate of candidates) {
    if (candidate === key) continue;
    const limit = Math.max(1, Math.floor(Math.max(key.length, candidate.length) / 3));
    // The distance is at least the difference in length: a long key (a 1 MB
    // key against 40 candidates) costs nothing instead of length x length cells.
    if (Math.abs(key.length - candidate.length) > limit) continue;
    configWork.units += (key.length + 1) * (candidate.length + 1);
    lowerKey ??= key.toLowerCase();
    const distance = editDistance(lowerKey, candidate.toLowerCase(), limit);
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------
// Normalization (aliases)

function normalizeAlias<T extends string>(value: unknown, table: Readonly<Record<string, T>>): unknown {
  if (typeof value !== 'string') return value;
  const key = value.trim().toLowerCase();
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : value;
}

/**
 * A copy of the input in which queue mode/drop strings (and byChannel
 * values) are replaced by their canonical names. Only the path down to
 * `messages.queue` is copied, with object spread (which defines own
 * properties, so a `__proto__` key stays an ordinary key); the input is not
 * modified.
 */
function normalizeAliases(input: Record<string, unknown>): Record<string, unknown> {
  const messages = own(input, 'messages');
  const queue = own(messages, 'queue');
  if (!isRecord(messages) || !isRecord(queue)) return input;
  const nextQueue: Record<string, unknown> = { ...queue };
  if (own(queue, 'mode') !== undefined) nextQueue.mode = normalizeAlias(queue.mode, QUEUE_MODE_ALIASES);
  if (own(queue, 'drop') !== undefined) nextQueue.drop = normalizeAlias(queue.drop, DROP_POLICY_ALIASES);
  const byChannel = own(queue, 'byChannel');
  if (isRecord(byChannel)) {
    nextQueue.byChannel = Object.fromEntries(
      Object.entries(byChannel).map(([channel, mode]) => [channel, normalizeAlias(mode, QUEUE_MODE_ALIASES)]),
    );
  }
  return { ...input, messages: { ...messages, queue: nextQueue } };
}

// ---------------------------------------------------------------------------
// parseConfig

export interface ParseConfigOptions {
  /** Where the config came from (a file name); shown in messages as `config (<source>): `. */
  source?: string;
}

interface RawIssue {
  kind: ConfigIssueKind;
  segments: Segment[];
  value: unknown;
  /** The message after the path. */
  text: string;
}

function schemaProperties(schema: unknown): string[] {
  const props = own(schema, 'properties');
  return isRecord(props) ? Object.keys(props) : [];
}

function issueFromAjv(error: ErrorObject, input: unknown): RawIssue | undefined {
  // Errors raised inside `propertyNames` are reported again by the propertyNames keyword itself.
  if ((error as { propertyName?: string }).propertyName !== undefined) return undefined;
  const base = pointerToSegments(input, error.instancePath);
  const unknownKey =
    error.keyword === 'additionalProperties'
      ? (error.params as { additionalProperty: string }).additionalProperty
      : error.keyword === 'propertyNames'
        ? (error.params as { propertyName: string }).propertyName
        : undefined;
  if (unknownKey !== undefined) {
    const segments = [...base, unknownKey];
    const suggestion = suggestKey(unknownKey, schemaProperties(error.parentSchema));
    const hint = suggestion === undefined ? '' : ` (did you mean ${JSON.stringify(suggestion)}?)`;
    return { kind: 'unknown-key', segments, value: valueAt(input, segments), text: `is not a known key${hint}` };
  }
  const schema = error.parentSchema;
  const value = valueAt(input, base);
  const maximum = own(schema, 'maximum');
  if (typeof maximum === 'number' && Number.isInteger(value) && (value as number) > maximum) {
    return {
      kind: 'invalid-value',
      segments: base,
      value,
      text: `must be at most ${maximum} (ms; Node's largest timer delay), got ${renderValue(value)}`,
    };
  }
  const expects = own(schema, EXPECTS);
  const phrase = typeof expects === 'string' ? expects : 'valid';
  return { kind: 'invalid-value', segments: base, value, text: `must be ${phrase}, got ${renderValue(value)}` };
}

/** Control characters (and the two JSON-legal line separators) shown escaped: a message is one line. */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function finalize(raw: readonly RawIssue[], input: unknown, source: string | undefined): ConfigIssue[] {
  const prefix = source === undefined ? 'config: ' : `config (${oneLine(source)}): `;
  const positions = new KeyPositions();
  const seen = new Set<string>();
  const unique: { issue: ConfigIssue; position: number[] }[] = [];
  for (const r of raw) {
    const path = formatPath(r.segments);
    if (seen.has(path)) continue;
    seen.add(path);
    // Keys longer than 80 characters are cut in the message (the issue's `path` keeps them whole).
    const shown = r.segments.some((seg) => typeof seg === 'string' && seg.length > 80)
      ? formatPath(r.segments.map((seg) => (typeof seg === 'string' && seg.length > 80 ? `${seg.slice(0, 77)}...` : seg)))
      : path;
    const message = oneLine(path === '' && r.kind === 'invalid-value' ? `${prefix}the top level ${r.text}` : `${prefix}${shown} ${r.text}`);
    configWork.units++;
    unique.push({
      issue: Object.freeze({ kind: r.kind, path, value: r.value, message }),
      position: positions.of(input, r.segments),
    });
  }
  // Array.prototype.sort is stable: issues at equal positions keep AJV's order.
  unique.sort((a, b) => {
    configWork.units++;
    return comparePositions(a.position, b.position);
  });
  return unique.map((u) => u.issue);
}

const HEARTBEAT_PATHS: readonly (readonly string[])[] = [
  ['gateway', 'heartbeat', 'pingIntervalMs'],
  ['gateway', 'heartbeat', 'deadAfterMs'],
];

function crossFieldIssues(input: Record<string, unknown>, raw: readonly RawIssue[]): RawIssue[] {
  const blocked = raw.some((r) =>
    HEARTBEAT_PATHS.some((p) => r.segments.length <= p.length && r.segments.every((s, i) => s === p[i])),
  );
  if (blocked) return [];
  const heartbeat = own(own(input, 'gateway'), 'heartbeat');
  const pingSet = own(heartbeat, 'pingIntervalMs');
  const deadSet = own(heartbeat, 'deadAfterMs');
  const ping = typeof pingSet === 'number' ? pingSet : DEFAULT_CONFIG.gateway.heartbeat.pingIntervalMs;
  const dead = typeof deadSet === 'number' ? deadSet : DEFAULT_CONFIG.gateway.heartbeat.deadAfterMs;
  if (dead > ping) return [];
  return [
    {
      kind: 'cross-field',
      segments: ['gateway', 'heartbeat', 'deadAfterMs'],
      value: dead,
      text:
        `must be greater than gateway.heartbeat.pingIntervalMs (${ping}), got ${renderValue(dead)}` +
        (deadSet === undefined ? ' (the default)' : ''),
    },
  ];
}

function pick<T>(value: unknown, fallback: T): T {
  // After validation a present value has the right type; -0 becomes 0.
  if (value === undefined) return fallback;
  return (typeof value === 'number' ? value + 0 : value) as T;
}

function build(input: Record<string, unknown>): LanesimConfig {
  const agentDefaults = own(own(input, 'agents'), 'defaults');
  const subagents = own(agentDefaults, 'subagents');
  const lane = own(agentDefaults, 'lane');
  const queue = own(own(input, 'messages'), 'queue');
  const byChannel = own(queue, 'byChannel');
  const heartbeat = own(own(input, 'gateway'), 'heartbeat');
  const d = DEFAULT_CONFIG;
  const queueConfig: QueueConfig = {
    mode: pick<QueueMode>(own(queue, 'mode'), d.messages.queue.mode),
    debounceMs: pick(own(queue, 'debounceMs'), d.messages.queue.debounceMs),
    cap: pick(own(queue, 'cap'), d.messages.queue.cap),
    drop: pick<DropPolicy>(own(queue, 'drop'), d.messages.queue.drop),
    // fromEntries defines own properties: a channel literally named like an Object method stays data.
    byChannel: Object.fromEntries(
      Object.entries(isRecord(byChannel) ? byChannel : d.messages.queue.byChannel).filter(([, m]) => m !== undefined),
    ) as Record<string, QueueMode>,
  };
  return deepFreeze({
    agents: {
      defaults: {
        maxConcurrent: pick(own(agentDefaults, 'maxConcurrent'), d.agents.defaults.maxConcurrent),
        subagents: {
          maxConcurrent: pick(own(subagents, 'maxConcurrent'), d.agents.defaults.subagents.maxConcurrent),
        },
        lane: {
          maxConcurrent: pick(own(lane, 'maxConcurrent'), d.agents.defaults.lane.maxConcurrent),
          warnThresholdMs: pick(own(lane, 'warnThresholdMs'), d.agents.defaults.lane.warnThresholdMs),
          nestedAgentParallel: pick(own(lane, 'nestedAgentParallel'), d.agents.defaults.lane.nestedAgentParallel),
        },
      },
    },
    cron: { maxConcurrentRuns: pick(own(own(input, 'cron'), 'maxConcurrentRuns'), d.cron.maxConcurrentRuns) },
    messages: { queue: queueConfig },
    diagnostics: {
      laneWaitWarnMs: pick(own(own(input, 'diagnostics'), 'laneWaitWarnMs'), d.diagnostics.laneWaitWarnMs),
    },
    gateway: {
      heartbeat: {
        intervalMs: pick(own(heartbeat, 'intervalMs'), d.gateway.heartbeat.intervalMs),
        pingIntervalMs: pick(own(heartbeat, 'pingIntervalMs'), d.gateway.heartbeat.pingIntervalMs),
        deadAfterMs: pick(own(heartbeat, 'deadAfterMs'), d.gateway.heartbeat.deadAfterMs),
      },
      tickIntervalMs: pick(own(own(input, 'gateway'), 'tickIntervalMs'), d.gateway.tickIntervalMs),
      // AUTH-2: present only when set (no default in the result, so configs without it are unchanged).
      ...(Array.isArray(own(own(input, 'gateway'), 'allowedOrigins')) ? { allowedOrigins: [...(own(own(input, 'gateway'), 'allowedOrigins') as string[])] } : {}),
    },
  });
}

/**
 * The first node nested deeper than MAX_CONFIG_DEPTH, as an issue; null when
 * there is none. Iterative (an explicit stack), one visit per node and key;
 * a node reached again (only JavaScript callers can share or cycle objects)
 * is walked again only when reached deeper than before, so a cycle ends at
 * the depth limit.
 */
function depthIssue(input: unknown): RawIssue | null {
  const reached = new WeakMap<object, number>();
  const stack: { node: unknown; depth: number; parent: number; key: Segment | null }[] = [{ node: input, depth: 0, parent: -1, key: null }];
  // Every frame ever pushed, so the path of the offending node can be rebuilt from its parents.
  const frames: { parent: number; key: Segment | null }[] = [];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    configWork.units++;
    const { node, depth } = frame;
    if (typeof node !== 'object' || node === null) continue;
    if ((reached.get(node) ?? -1) >= depth) continue;
    reached.set(node, depth);
    const self = frames.length;
    frames.push({ parent: frame.parent, key: frame.key });
    if (depth >= MAX_CONFIG_DEPTH) {
      // Something is inside this node: it is one level too deep.
      const keys = Object.keys(node);
      if (keys.length === 0) continue;
      const segments: Segment[] = [Array.isArray(node) ? 0 : keys[0]!];
      for (let f = self; f >= 0 && frames[f]!.key !== null; f = frames[f]!.parent) segments.unshift(frames[f]!.key!);
      return {
        kind: 'invalid-value',
        segments,
        value: undefined,
        text: `is nested deeper than ${MAX_CONFIG_DEPTH} levels (lanesim refuses configs this deep)`,
      };
    }
    const keys = Object.keys(node);
    configWork.units += keys.length;
    const isArray = Array.isArray(node);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      stack.push({ node: (node as Record<string, unknown>)[key], depth: depth + 1, parent: self, key: isArray ? Number(key) : key });
    }
  }
  return null;
}

function throwIfTooDeep(input: unknown, source: string | undefined): void {
  const issue = depthIssue(input);
  if (issue !== null) throw new ConfigError(finalize([issue], input, source), source);
}

/**
 * Validates a parsed config (OpenClaw shape) and returns lanesim's view of
 * it: defaults filled in, aliases resolved, a fresh deeply frozen object that
 * shares nothing with the input or DEFAULT_CONFIG. Throws {@link ConfigError}.
 * A returned config is itself a valid input (parseConfig(parseConfig(x))
 * equals parseConfig(x)).
 */
export function parseConfig(input: unknown, opts: ParseConfigOptions = {}): LanesimConfig {
  if (!isRecord(input)) {
    throw new ConfigError(
      finalize([{ kind: 'invalid-value', segments: [], value: input, text: `must be an object, got ${renderValue(input)}` }], input, opts.source),
      opts.source,
    );
  }
  throwIfTooDeep(input, opts.source);
  const normalized = normalizeAliases(input);
  const validate = validator();
  const raw: RawIssue[] = [];
  if (!validate(normalized)) {
    for (const error of validate.errors ?? []) {
      configWork.units++;
      const issue = issueFromAjv(error, input);
      if (issue !== undefined) raw.push(issue);
    }
  }
  raw.push(...crossFieldIssues(normalized, raw));
  if (raw.length > 0) throw new ConfigError(finalize(raw, input, opts.source), opts.source);
  return build(normalized);
}

/** The queue mode for a channel: its byChannel override (own keys only) or the session default. */
export function queueModeForChannel(queue: QueueConfig, channel: string | undefined): QueueMode {
  if (channel !== undefined && Object.prototype.hasOwnProperty.call(queue.byChannel, channel)) {
    const mode = queue.byChannel[channel];
    if (mode !== undefined) return mode;
  }
  return queue.mode;
}

// ---------------------------------------------------------------------------
// Files

/**
 * Reads a JSON5 file and parses it with {@link parseConfig} (`source` = the
 * path). An unreadable or unparsable file gives a ConfigError with path `''`.
 */
export async function loadConfigFile(path: string): Promise<LanesimConfig> {
  return parseConfig(await readConfigFile(path), { source: path });
}

/**
 * Reads and parses a JSON5 config file without validating it (to merge it
 * over a scenario's config first). Unreadable or unparsable: ConfigError.
 */
export async function readConfigFile(path: string): Promise<ConfigInput> {
  let text: string;
  try {
    const size = (await stat(path)).size;
    if (size > MAX_CONFIG_FILE_BYTES) throw fileError(`config: ${path} is ${size} bytes, more than the ${MAX_CONFIG_FILE_BYTES} a config may have`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw fileError(`config: cannot read ${path}: ${reason}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON5.parse(text);
  } catch (err) {
    const e = err as { message?: unknown; lineNumber?: unknown; columnNumber?: unknown };
    const reason = String(e.message ?? err)
      .replace(/^JSON5: /, '')
      .replace(/ at \d+:\d+$/, '');
    const where =
      typeof e.lineNumber === 'number' && typeof e.columnNumber === 'number'
        ? ` (line ${e.lineNumber}, column ${e.columnNumber})`
        : '';
    throw fileError(`config: ${path} is not valid JSON5${where}: ${reason}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([{ kind: 'invalid-value', path: '', value: parsed, message: oneLine(`config (${path}): the top level must be an object, got ${renderValue(parsed)}`) }], path);
  }
  return parsed as ConfigInput;
}

function fileError(message: string): ConfigError {
  return new ConfigError([{ kind: 'unreadable', path: '', value: undefined, message: oneLine(message) }]);
}

// ---------------------------------------------------------------------------
// Helpers

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function cloneData(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneData);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cloneData(v)]));
  return value;
}

/**
 * Deep merge for scenarios that tweak a config: plain objects merge key by
 * key, anything else (arrays, primitives, null) in `override` replaces;
 * an `undefined` in `override` keeps the base value. The result is fresh
 * (plain objects and arrays are copied); neither argument is modified. Keys
 * such as `__proto__` are kept as ordinary own keys, so parseConfig still
 * reports them.
 */
export function mergeConfig(base: ConfigInput, override: ConfigInput): ConfigInput {
  // Cloning and merging recurse: refuse what is too deep first (the same error parseConfig gives).
  throwIfTooDeep(base, undefined);
  throwIfTooDeep(override, undefined);
  return mergeValues(base, override) as ConfigInput;
}

function mergeValues(base: unknown, override: unknown): unknown {
  if (override === undefined) return cloneData(base);
  if (!isPlainObject(base) || !isPlainObject(override)) return cloneData(override);
  const keys = [...Object.keys(base), ...Object.keys(override).filter((k) => !Object.prototype.hasOwnProperty.call(base, k))];
  return Object.fromEntries(keys.map((k) => [k, mergeValues(own(base, k), own(override, k))]));
}

function deepFreeze<T>(value: T, seen: WeakSet<object> = new WeakSet()): T {
  if (typeof value === 'object' && value !== null && !seen.has(value)) {
    seen.add(value);
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key], seen);
  }
  return value;
}
