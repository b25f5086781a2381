/**
 * The fake model's script: an ordered list of rules, each matching some
 * requests and giving a response plan (timing, text, tool calls, stalls,
 * errors). Validated by hand so an error names the path of the bad field
 * (`rules[2].respond.tokensPerSec`), and strict: an unknown key is an error
 * (a typo would otherwise silently change nothing).
 *
 * Example (JSON5):
 *
 *   {
 *     models: ['coder'],
 *     rules: [
 *       // after the gateway returned the tool error: retry with a path
 *       { name: 'retry', match: { model: 'coder', toolResultContains: 'Error:' }, times: 1,
 *         respond: { ttftMs: 800, outputTokens: 10, toolCalls: [{ name: 'read', arguments: '{"path":"a.ts"}' }] } },
 *       // first call: the incident's malformed read
 *       { name: 'malformed', match: { model: 'coder', afterToolResult: false },
 *         respond: { ttftBaseMs: 1500, prefillTokensPerSec: 3000, tokensPerSec: [100, 190],
 *                    outputTokens: 200, toolCalls: [{ name: 'read', arguments: '{}' }] } },
 *     ],
 *     default: { ttftMs: 200, tokensPerSec: 80, outputTokens: 24 },
 *   }
 */
import { readFile } from 'node:fs/promises';
import JSON5 from 'json5';

// ------------------------------------------------------------------ types

/** A number, or `[min, max]`: drawn uniformly per response from the seeded PRNG. */
export type NumberOrRange = number | readonly [number, number];

/**
 * Which requests a rule answers. Every given field must hold (AND); a rule's
 * `match` may also be a list of specs, any of which may hold (OR).
 */
export interface MatchSpec {
  /** The request's `model`: exact, or a glob with `*`; a list means any of them. */
  model?: string | readonly string[];
  /**
   * A substring of one of the user messages of the request's *user turn*:
   * every `user` message after the last `assistant` message that answered (an
   * assistant message followed by a tool result is a tool call inside the turn
   * and does not end it). A gateway that wraps the user's text, or appends
   * user messages of its own (OpenClaw adds a
   * `<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>` message after the user's text and
   * after each tool result), still matches; a marker from an earlier, already
   * answered turn does not. A list means any of them.
   */
  marker?: string | readonly string[];
  /**
   * true: the request answers a tool result: the last message other than
   * user (and system) messages is a `tool` message of the user turn (a
   * gateway may append user messages after a tool result: OpenClaw appends its
   * internal context); false: it does not.
   */
  afterToolResult?: boolean;
  /** That tool result's text contains this (any of a list). Implies afterToolResult. */
  toolResultContains?: string | readonly string[];
  /** How many `tool` messages the user turn holds (see `marker`): exactly N, or {min, max} (inclusive). */
  toolResults?: number | { readonly min?: number; readonly max?: number };
}

export interface ToolCallSpec {
  name: string;
  /** The raw argument text the model emits: sent verbatim, may be `{}`, empty or malformed JSON. */
  arguments: string;
  /** Call id; default a deterministic `call_<hex>` from the seed. */
  id?: string;
}

export interface StallSpec {
  /** The stream pauses after this many output tokens (0: before the first content chunk). */
  afterTokens: number;
  ms: number;
}

/** An HTTP error instead of a completion, sent after the plan's ttft. */
export interface HttpErrorSpec {
  status: number;
  message: string;
  /** OpenAI error `type`; default `invalid_request_error` (4xx) / `server_error` (5xx). */
  type?: string;
  /** OpenAI error `code`; default null. */
  code?: string;
}

/**
 * The stream is cut once `afterTokens` output tokens were sent. `mode`
 * `chunk` (default): one `data: {"error":{message,type:"server_error",code:"stream_cut"}}`
 * frame, then the response ends without a finish_reason, usage or [DONE].
 * `close`: the chunks already written are flushed, then the connection is
 * closed with the chunked body unterminated (the client sees a truncated
 * response / "terminated" error), with no error frame.
 */
export interface StreamErrorSpec {
  afterTokens: number;
  message: string;
  mode?: 'chunk' | 'close';
}

export type ErrorSpec = HttpErrorSpec | StreamErrorSpec;

export interface ResponsePlan {
  /** Time to the first chunk. Or computed: ttftBaseMs + promptTokens / prefillTokensPerSec. Default 0. */
  ttftMs?: NumberOrRange;
  ttftBaseMs?: number;
  prefillTokensPerSec?: number;
  /** For the computed ttft, count the prompt as at least this many tokens (e.g. seed 004's 18k). */
  minPromptTokens?: number;
  /** Output speed, tokens per second. Default 50. */
  tokensPerSec?: NumberOrRange;
  /** Filler words to stream. Default 16 (0 with `toolCalls`). Not with `text`. */
  outputTokens?: NumberOrRange;
  /** Literal text to stream instead of filler (split into word tokens). */
  text?: string;
  /** Relative jitter of every duration (0.2 = ±20%), seeded. Default 0. */
  jitter?: number;
  /** Tokens per SSE content chunk. Default 4. */
  chunkTokens?: number;
  /** Tool calls emitted after the text; finish_reason becomes `tool_calls`. */
  toolCalls?: readonly ToolCallSpec[];
  stall?: StallSpec | readonly StallSpec[];
  error?: ErrorSpec;
  /** While the stream waits longer than this (ttft, stalls), send `: keepalive` SSE comments. */
  keepaliveMs?: number;
}

export interface Rule {
  /** Shown in the request log; default `rule<index>`. */
  name?: string;
  /** Default: every request. */
  match?: MatchSpec | readonly MatchSpec[];
  /** Apply only to the first N matching requests (then the next rule is tried). */
  times?: number;
  respond: ResponsePlan;
}

export interface FakeModelScript {
  /** Listed by GET /v1/models (default: the rules' glob-free model names, or `fake-model`). */
  models?: readonly string[];
  rules: readonly Rule[];
  /** Answers every request no rule took. Default: DEFAULT_PLAN. */
  default?: ResponsePlan;
}

export type ScriptName = 'cascade' | 'default';
export const SCRIPT_NAMES: readonly ScriptName[] = ['cascade', 'default'];

// ------------------------------------------------------------- validation

export class ScriptError extends Error {
  /** Path of the bad field, e.g. `rules[0].respond.tokensPerSec` ('' = the script itself). */
  readonly path: string;
  constructor(path: string, message: string) {
    super(`script${path === '' ? '' : `.${path}`}: ${message}`);
    this.name = 'ScriptError';
    this.path = path;
  }
}

function show(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 60 ? `${text.slice(0, 60)}…` : text;
  } catch {
    return String(value);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

function record(value: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isRecord(value)) throw new ScriptError(path, `must be an object, got ${show(value)}`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new ScriptError(join(path, key), `unknown field (allowed: ${allowed.join(', ')})`);
  }
  return value;
}

function num(value: unknown, path: string, opts: { min?: number; max?: number; int?: boolean; positive?: boolean; exclusiveMax?: boolean }): number {
  const what = `${opts.int ? 'an integer' : 'a number'}${opts.positive ? ' > 0' : opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? (opts.exclusiveMax ? ` and < ${opts.max}` : ` and <= ${opts.max}`) : ''}`;
  const ok =
    typeof value === 'number' && Number.isFinite(value) &&
    (!opts.int || Number.isInteger(value)) &&
    (!opts.positive || value > 0) &&
    (opts.min === undefined || value >= opts.min) &&
    (opts.max === undefined || (opts.exclusiveMax ? value < opts.max : value <= opts.max));
  if (!ok) throw new ScriptError(path, `must be ${what}, got ${show(value)}`);
  return value as number;
}

function numOrRange(value: unknown, path: string, opts: { int?: boolean; positive?: boolean; min?: number }): NumberOrRange {
  if (Array.isArray(value)) {
    if (value.length !== 2) throw new ScriptError(path, `must be a number or [min, max], got ${show(value)}`);
    const lo = num(value[0], join(path, 0), opts);
    const hi = num(value[1], join(path, 1), opts);
    if (hi < lo) throw new ScriptError(path, `[min, max] with max < min: ${show(value)}`);
    return [lo, hi];
  }
  if (typeof value !== 'number') throw new ScriptError(path, `must be a number or [min, max], got ${show(value)}`);
  return num(value, path, opts);
}

function str(value: unknown, path: string, nonEmpty = false): string {
  if (typeof value !== 'string' || (nonEmpty && value === '')) {
    throw new ScriptError(path, `must be a ${nonEmpty ? 'non-empty ' : ''}string, got ${show(value)}`);
  }
  return value;
}

function strOrList(value: unknown, path: string): string | string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) throw new ScriptError(path, 'must be a string or a non-empty list of strings, got []');
    return value.map((v, i) => str(v, join(path, i), true));
  }
  if (typeof value !== 'string') throw new ScriptError(path, `must be a string or a list of strings, got ${show(value)}`);
  return str(value, path, true);
}

function checkMatch(value: unknown, path: string): MatchSpec {
  const m = record(value, path, ['model', 'marker', 'afterToolResult', 'toolResultContains', 'toolResults']);
  const out: { -readonly [K in keyof MatchSpec]: MatchSpec[K] } = {};
  if (m['model'] !== undefined) out.model = strOrList(m['model'], join(path, 'model'));
  if (m['marker'] !== undefined) out.marker = strOrList(m['marker'], join(path, 'marker'));
  if (m['afterToolResult'] !== undefined) {
    if (typeof m['afterToolResult'] !== 'boolean') throw new ScriptError(join(path, 'afterToolResult'), `must be true or false, got ${show(m['afterToolResult'])}`);
    out.afterToolResult = m['afterToolResult'];
  }
  if (m['toolResultContains'] !== undefined) {
    out.toolResultContains = strOrList(m['toolResultContains'], join(path, 'toolResultContains'));
    if (out.afterToolResult === false) throw new ScriptError(join(path, 'toolResultContains'), 'contradicts afterToolResult: false');
  }
  const tr = m['toolResults'];
  if (tr !== undefined) {
    const p = join(path, 'toolResults');
    if (typeof tr === 'number') out.toolResults = num(tr, p, { int: true, min: 0 });
    else {
      const r = record(tr, p, ['min', 'max']);
      const range: { min?: number; max?: number } = {};
      if (r['min'] !== undefined) range.min = num(r['min'], join(p, 'min'), { int: true, min: 0 });
      if (r['max'] !== undefined) range.max = num(r['max'], join(p, 'max'), { int: true, min: 0 });
      if (range.min !== undefined && range.max !== undefined && range.max < range.min) throw new ScriptError(p, 'max < min');
      out.toolResults = range;
    }
  }
  return out;
}

const PLAN_KEYS = [
  'ttftMs', 'ttftBaseMs', 'prefillTokensPerSec', 'minPromptTokens', 'tokensPerSec', 'outputTokens', 'text',
  'jitter', 'chunkTokens', 'toolCalls', 'stall', 'error', 'keepaliveMs',
] as const;

/** Validates one response plan; `path` prefixes error paths. Returns a fresh copy. */
export function validatePlan(value: unknown, path = ''): ResponsePlan {
  const p = record(value, path, PLAN_KEYS);
  const out: { -readonly [K in keyof ResponsePlan]: ResponsePlan[K] } = {};
  if (p['ttftMs'] !== undefined) {
    out.ttftMs = numOrRange(p['ttftMs'], join(path, 'ttftMs'), { min: 0 });
    if (p['ttftBaseMs'] !== undefined || p['prefillTokensPerSec'] !== undefined) {
      throw new ScriptError(join(path, 'ttftMs'), 'give ttftMs or ttftBaseMs/prefillTokensPerSec, not both');
    }
  }
  if (p['ttftBaseMs'] !== undefined) out.ttftBaseMs = num(p['ttftBaseMs'], join(path, 'ttftBaseMs'), { min: 0 });
  if (p['prefillTokensPerSec'] !== undefined) out.prefillTokensPerSec = num(p['prefillTokensPerSec'], join(path, 'prefillTokensPerSec'), { positive: true });
  if (p['minPromptTokens'] !== undefined) out.minPromptTokens = num(p['minPromptTokens'], join(path, 'minPromptTokens'), { int: true, min: 0 });
  if (p['tokensPerSec'] !== undefined) out.tokensPerSec = numOrRange(p['tokensPerSec'], join(path, 'tokensPerSec'), { positive: true });
  if (p['outputTokens'] !== undefined) out.outputTokens = numOrRange(p['outputTokens'], join(path, 'outputTokens'), { int: true, min: 0 });
  if (p['text'] !== undefined) {
    out.text = str(p['text'], join(path, 'text'));
    if (out.outputTokens !== undefined) throw new ScriptError(join(path, 'text'), 'give text or outputTokens, not both');
  }
  if (p['jitter'] !== undefined) out.jitter = num(p['jitter'], join(path, 'jitter'), { min: 0, max: 1, exclusiveMax: true });
  if (p['chunkTokens'] !== undefined) out.chunkTokens = num(p['chunkTokens'], join(path, 'chunkTokens'), { int: true, min: 1 });
  if (p['keepaliveMs'] !== undefined) out.keepaliveMs = num(p['keepaliveMs'], join(path, 'keepaliveMs'), { positive: true });
  if (p['toolCalls'] !== undefined) {
    const tp = join(path, 'toolCalls');
    if (!Array.isArray(p['toolCalls'])) throw new ScriptError(tp, `must be a list of {name, arguments}, got ${show(p['toolCalls'])}`);
    out.toolCalls = p['toolCalls'].map((c: unknown, i: number) => {
      const cp = join(tp, i);
      const r = record(c, cp, ['name', 'arguments', 'id']);
      const call: ToolCallSpec = { name: str(r['name'], join(cp, 'name'), true), arguments: '' };
      if (typeof r['arguments'] !== 'string') {
        throw new ScriptError(join(cp, 'arguments'), `must be a string (the raw JSON text the model emits, e.g. "{}"), got ${show(r['arguments'])}`);
      }
      call.arguments = r['arguments'];
      if (r['id'] !== undefined) call.id = str(r['id'], join(cp, 'id'), true);
      return call;
    });
  }
  if (p['stall'] !== undefined) {
    const sp = join(path, 'stall');
    const one = (s: unknown, at: string): StallSpec => {
      const r = record(s, at, ['afterTokens', 'ms']);
      return { afterTokens: num(r['afterTokens'], join(at, 'afterTokens'), { int: true, min: 0 }), ms: num(r['ms'], join(at, 'ms'), { min: 0 }) };
    };
    out.stall = Array.isArray(p['stall']) ? p['stall'].map((s: unknown, i: number) => one(s, join(sp, i))) : one(p['stall'], sp);
  }
  if (p['error'] !== undefined) {
    const ep = join(path, 'error');
    const raw = p['error'];
    if (isRecord(raw) && raw['status'] !== undefined) {
      if (raw['afterTokens'] !== undefined) throw new ScriptError(join(ep, 'afterTokens'), 'an error has either status (HTTP error) or afterTokens (stream cut), not both');
      const r = record(raw, ep, ['status', 'message', 'type', 'code']);
      const e: HttpErrorSpec = { status: num(r['status'], join(ep, 'status'), { int: true, min: 400, max: 599 }), message: str(r['message'], join(ep, 'message')) };
      if (r['type'] !== undefined) e.type = str(r['type'], join(ep, 'type'), true);
      if (r['code'] !== undefined) e.code = str(r['code'], join(ep, 'code'), true);
      out.error = e;
    } else {
      const r = record(raw, ep, ['afterTokens', 'message', 'mode']);
      if (r['afterTokens'] === undefined) throw new ScriptError(ep, 'needs status (HTTP error) or afterTokens (stream cut)');
      const e: StreamErrorSpec = { afterTokens: num(r['afterTokens'], join(ep, 'afterTokens'), { int: true, min: 0 }), message: str(r['message'], join(ep, 'message')) };
      if (r['mode'] !== undefined) {
        if (r['mode'] !== 'chunk' && r['mode'] !== 'close') throw new ScriptError(join(ep, 'mode'), `must be "chunk" or "close", got ${show(r['mode'])}`);
        e.mode = r['mode'];
      }
      out.error = e;
    }
  }
  return out;
}

/**
 * Validates a script (parsed JSON/JSON5 or an object) and returns a fresh,
 * frozen copy. Throws ScriptError naming the path of the first bad field.
 */
export function validateScript(value: unknown): FakeModelScript {
  const s = record(value, '', ['models', 'rules', 'default']);
  const out: { models?: string[]; rules: Rule[]; default?: ResponsePlan } = { rules: [] };
  if (s['models'] !== undefined) {
    if (!Array.isArray(s['models'])) throw new ScriptError('models', `must be a list of model ids, got ${show(s['models'])}`);
    out.models = s['models'].map((m: unknown, i: number) => str(m, join('models', i), true));
  }
  if (!Array.isArray(s['rules'])) throw new ScriptError('rules', `must be a list of rules, got ${show(s['rules'])}`);
  out.rules = s['rules'].map((r: unknown, i: number): Rule => {
    const rp = join('rules', i);
    const rec = record(r, rp, ['name', 'match', 'times', 'respond']);
    if (rec['respond'] === undefined) throw new ScriptError(join(rp, 'respond'), 'is required (the response plan)');
    const rule: { -readonly [K in keyof Rule]: Rule[K] } = { respond: validatePlan(rec['respond'], join(rp, 'respond')) };
    if (rec['name'] !== undefined) rule.name = str(rec['name'], join(rp, 'name'), true);
    if (rec['times'] !== undefined) rule.times = num(rec['times'], join(rp, 'times'), { int: true, min: 1 });
    const m = rec['match'];
    if (m !== undefined) {
      const mp = join(rp, 'match');
      if (Array.isArray(m)) {
        if (m.length === 0) throw new ScriptError(mp, 'an empty list matches nothing; omit match to match everything');
        rule.match = m.map((x: unknown, j: number) => checkMatch(x, join(mp, j)));
      } else rule.match = checkMatch(m, mp);
    }
    return rule;
  });
  if (s['default'] !== undefined) out.default = validatePlan(s['default'], 'default');
  return deepFreeze(out);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Reads a JSON5 script file and validates it. Errors name the file (and the field). */
export async function loadScriptFile(path: string): Promise<FakeModelScript> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ScriptError('', `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON5.parse(text);
  } catch (err) {
    throw new ScriptError('', `${path} is not valid JSON5: ${String((err as Error).message).replace(/^JSON5: /, '')}`);
  }
  return validateScript(parsed);
}

// ------------------------------------------------------------- built-ins

/** What answers a request no rule took, unless the script has its own `default`. */
export const DEFAULT_PLAN: ResponsePlan = deepFreeze({ ttftMs: 200, tokensPerSec: 80, outputTokens: 24, jitter: 0.1, chunkTokens: 4 });

/** `--script default`: every request gets a short filler answer. */
export const DEFAULT_SCRIPT: FakeModelScript = deepFreeze({ models: ['fake-model'], rules: [], default: DEFAULT_PLAN });

/** In the user's message: this conversation is the coordinator's side of the cascade. */
export const CASCADE_MARKER = '[lanesim:cascade]';
/** In the sessions_send message: this conversation is the coding sub-agent's. */
export const CODER_MARKER = '[lanesim:cascade-coder]';
export const CODER_SESSION_KEY = 'agent:coder:main';
/** The path the coder retries `read` with. */
export const CASCADE_READ_PATH = 'src/config/loader.ts';

/** Opus-class timing (seed 004: 100-190 tokens/s out, slow first token on big prompts). */
const OPUS = { ttftBaseMs: 1_500, prefillTokensPerSec: 3_000, tokensPerSec: [100, 190] as const, jitter: 0.25 };

const coder: MatchSpec[] = [{ model: 'coder' }, { marker: CODER_MARKER }];
const coordinator: MatchSpec[] = [{ model: 'coordinator' }, { marker: CASCADE_MARKER }];
const and = (specs: MatchSpec[], extra: MatchSpec): MatchSpec[] => specs.map((s) => ({ ...s, ...extra }));

/**
 * `--script cascade`: seed 004's nested-agent cascade.
 *
 * Coordinator (model `coordinator`, or `[lanesim:cascade]` in the user's message):
 *   1. ~4k-token prompt, ~120-220 tokens of text, then
 *      `sessions_send {"targetSessionKey":"agent:coder:main","message":"[lanesim:cascade-coder] ..."}`.
 *   2. after the tool result: a ~250-400-token summary.
 * Coder (model `coder`, or `[lanesim:cascade-coder]` in its user turn):
 *   1. reads ~18k tokens (ttft ≈ 1.5 s + 18k / 3k tok/s ≈ 7.5 s), ~150-250 tokens,
 *      then the incident's malformed `read` with arguments `{}`.
 *   2. after a tool result containing `Error:` (or OpenClaw's `Missing required parameter`),
 *      at most once per user turn: retries `read {"path":"src/config/loader.ts"}`.
 *   3. after any other tool result (the file, or the empty result of a
 *      baseline gateway that only logged the error): streams ~5.5-6.5k tokens
 *      at 100-190 tokens/s (30-60+ s at time scale 1).
 * Everything else: DEFAULT_PLAN.
 */
export const CASCADE_SCRIPT: FakeModelScript = deepFreeze({
  models: ['fake-model', 'coordinator', 'coder'],
  rules: [
    {
      name: 'coder-retry-read',
      match: and(coder, { toolResultContains: ['Error:', 'Missing required parameter'], toolResults: { max: 1 } }),
      respond: { ...OPUS, minPromptTokens: 18_000, outputTokens: [20, 40], chunkTokens: 6, toolCalls: [{ name: 'read', arguments: JSON.stringify({ path: CASCADE_READ_PATH }) }] },
    },
    {
      name: 'coder-long-reply',
      match: and(coder, { afterToolResult: true }),
      respond: { ...OPUS, minPromptTokens: 18_000, outputTokens: [5_500, 6_500], chunkTokens: 8 },
    },
    {
      name: 'coder-malformed-read',
      match: and(coder, { afterToolResult: false }),
      respond: { ...OPUS, minPromptTokens: 18_000, outputTokens: [150, 250], chunkTokens: 6, toolCalls: [{ name: 'read', arguments: '{}' }] },
    },
    {
      name: 'coordinator-summary',
      match: and(coordinator, { afterToolResult: true }),
      respond: { ...OPUS, ttftBaseMs: 1_200, outputTokens: [250, 400], chunkTokens: 6 },
    },
    {
      name: 'coordinator-handoff',
      match: coordinator,
      respond: {
        ...OPUS,
        ttftBaseMs: 1_200,
        minPromptTokens: 4_000,
        outputTokens: [120, 220],
        chunkTokens: 6,
        toolCalls: [{
          name: 'sessions_send',
          arguments: JSON.stringify({
            targetSessionKey: CODER_SESSION_KEY,
            message: `${CODER_MARKER} Refactor the config loader (${CASCADE_READ_PATH}) to use parseStrict, run the tests and report back with the full diff.`,
          }),
        }],
      },
    },
  ],
  default: DEFAULT_PLAN,
} satisfies FakeModelScript);

/** A built-in script by name, a script object (validated) or unknown input (validated). */
export function resolveScript(script: FakeModelScript | ScriptName | unknown): FakeModelScript {
  if (script === 'cascade') return CASCADE_SCRIPT;
  if (script === 'default' || script === undefined) return DEFAULT_SCRIPT;
  if (typeof script === 'string') throw new ScriptError('', `unknown built-in script ${show(script)} (built-ins: ${SCRIPT_NAMES.join(', ')})`);
  return validateScript(script);
}

/** Model ids for GET /v1/models. */
export function scriptModels(script: FakeModelScript): string[] {
  if (script.models !== undefined && script.models.length > 0) return [...new Set(script.models)];
  const names = new Set<string>();
  for (const rule of script.rules) {
    const specs = rule.match === undefined ? [] : Array.isArray(rule.match) ? rule.match : [rule.match as MatchSpec];
    for (const spec of specs as readonly MatchSpec[]) {
      const models = spec.model === undefined ? [] : typeof spec.model === 'string' ? [spec.model] : spec.model;
      for (const m of models) if (!m.includes('*')) names.add(m);
    }
  }
  if (names.size === 0) names.add('fake-model');
  return [...names];
}
