/**
 * Tool-call validation that fails fast (seed 004, proposal 3; spec rules
 * TOOL-1..TOOL-9).
 *
 * A model's tool call is checked against the tool's JSON Schema before the
 * tool runs. A bad call is not logged and dropped (OpenClaw 2026.2 did that
 * for a `read` with no `path`): it is answered with an error `tool_result`
 * for the same call id, whose text says exactly what was wrong and what was
 * received, so the agent can correct itself and retry.
 *
 * Rules (as numbered here; the comments below cite them where enforced):
 * - TOOL-1  a bad call is answered with an error tool_result for its call id
 *           (`is_error: true`, text content), not only logged.
 * - TOOL-2  missing or blank required parameter: the seed's exact text,
 *           naming only the first one in `required` order.
 * - TOOL-3  wrong type / other schema violation texts.
 * - TOOL-4  unknown tool text, listing the available tools sorted.
 * - TOOL-5  arguments: a JSON string is parsed; unparsable and non-object
 *           arguments have their own texts; "" / whitespace means {}.
 * - TOOL-6  `file_path` is accepted as `path` (read, write, edit).
 * - TOOL-7  no state per call id: a corrected retry with the same id passes.
 * - TOOL-8  never throws at call time, for any input (throwing getters,
 *           proxies, cycles, huge strings, `__proto__` keys); pollutes no
 *           prototype; does not mutate the input. Only `register` throws
 *           (ToolSchemaError, configuration time).
 * - TOOL-9  one error per call, checks in a fixed order: unknown tool, unreadable arguments, parse,
 *           object-ness, missing (required order), type, other.
 *
 * Decisions (the spec quotes them):
 * - No type coercion (OpenClaw's AJV runs with `coerceTypes`): `"offset":"5"`
 *   is reported as a type error instead of silently becoming 5, because a
 *   silent coercion hides the model's mistake from the model.
 * - An argument string that is empty or whitespace-only, and absent
 *   (`undefined`) arguments, count as `{}`: models often send `""` for tools
 *   that take no parameters.
 * - A required parameter that is present but a string that is empty after
 *   trim counts as missing (OpenClaw checks `path` the same way), except for
 *   parameters a tool lists in `allowEmpty` (built-ins: `write.content` and
 *   `edit.newText`, where "" is a legitimate value: an empty file, a
 *   deletion).
 * - `file_path` is an alias of `path` for read/write/edit. It applies when
 *   `path` is absent (undefined); the normalized args then carry `path` and
 *   no `file_path`. When both are present `path` wins and `file_path` is
 *   dropped from the normalized args.
 * - Formats (`format: "uri"`) are annotations only (no ajv-formats);
 *   unknown keywords (`x-*`, `examples`, TypeBox extras) are ignored.
 *   NaN/Infinity are not numbers (they are not JSON).
 * - Validation is pure: the received arguments are never mutated; the
 *   returned `args` is a fresh shallow copy of the own enumerable string keys.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

// ------------------------------------------------------------------ codes

/** Error codes of a failed tool call, in one place. */
export const ToolErrorCode = {
  /** TOOL-4: no tool of that name is registered. */
  UNKNOWN: 'TOOL_UNKNOWN',
  /** TOOL-5: the argument string is not valid JSON. */
  ARGS_UNPARSABLE: 'TOOL_ARGS_UNPARSABLE',
  /** TOOL-5: the arguments are not a JSON object (array, number, null, ...). */
  ARGS_NOT_OBJECT: 'TOOL_ARGS_NOT_OBJECT',
  /**
   * TOOL-8: reading the arguments threw (a throwing getter, a revoked proxy).
   * Only an in-process caller can produce this; a model sends JSON.
   */
  ARGS_UNREADABLE: 'TOOL_ARGS_UNREADABLE',
  /** TOOL-2: a required parameter is missing, or a string that is blank. */
  MISSING_PARAM: 'TOOL_MISSING_PARAM',
  /** TOOL-3: a parameter has the wrong JSON type. */
  INVALID_TYPE: 'TOOL_INVALID_TYPE',
  /** TOOL-3: any other schema violation (minimum, enum, additionalProperties, ...). */
  INVALID_PARAM: 'TOOL_INVALID_PARAM',
} as const;
export type ToolErrorCode = (typeof ToolErrorCode)[keyof typeof ToolErrorCode];

// ------------------------------------------------------------------ types

/** A JSON Schema document (draft-07 / 2019-09 keywords, as AJV 8 reads them). */
export type JSONSchema = { readonly [keyword: string]: unknown };

export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. Root `type`, if given, must be (or include) "object". */
  parameters: JSONSchema;
  /**
   * Top-level required parameters for which a blank string is a legitimate
   * value (TOOL-2 otherwise treats "" / "   " as missing). Default none.
   */
  allowEmpty?: readonly string[];
  /**
   * Parameter aliases, alias -> canonical name (TOOL-6). Applied when the
   * canonical parameter is absent; the alias key is not kept in the
   * normalized args. Built-ins read/write/edit use `{ file_path: 'path' }`.
   */
  aliases?: Readonly<Record<string, string>>;
}

/** A tool call as a model emits it. `arguments` may be an object or a JSON string. */
export interface ToolCallInput {
  id: string;
  name: string;
  arguments: unknown;
}

/** The error tool result returned to the calling agent (TOOL-1). */
export interface ToolErrorResult {
  type: 'tool_result';
  tool_use_id: string;
  is_error: true;
  content: string;
}

export interface ToolCallOk {
  ok: true;
  id: string;
  name: string;
  /** Fresh plain object (own enumerable keys of the input, aliases applied). */
  args: Record<string, unknown>;
}
export interface ToolCallRejected {
  ok: false;
  id: string;
  name: string;
  code: ToolErrorCode;
  result: ToolErrorResult;
}
export type ToolValidation = ToolCallOk | ToolCallRejected;

/** Thrown by `ToolRegistry.register` (configuration time), never by validation. */
export class ToolSchemaError extends Error {
  readonly toolName: string;
  /** AJV's schema errors when the schema failed its meta-schema, else null. */
  readonly schemaErrors: readonly ErrorObject[] | null;
  constructor(toolName: string, message: string, schemaErrors: readonly ErrorObject[] | null = null) {
    super(message);
    this.name = 'ToolSchemaError';
    this.toolName = toolName;
    this.schemaErrors = schemaErrors;
  }
}

// ------------------------------------------------------------- rendering

/** Longest rendering kept verbatim in a message; longer ones are cut (TOOL-2). */
export const RENDER_LIMIT = 200;
export const UNSERIALIZABLE = '[unserializable]';

/**
 * Cut `text` past RENDER_LIMIT UTF-16 code units to the first RENDER_LIMIT
 * followed by `…(truncated, N chars)`, N the full length. A surrogate pair
 * is never split: if unit 200 would be the first half of a pair, the cut
 * keeps 199 units (the text the agent reads stays valid Unicode).
 */
export function truncateRendered(text: string): string {
  if (text.length <= RENDER_LIMIT) return text;
  let end = RENDER_LIMIT;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…(truncated, ${text.length} chars)`;
}

/**
 * The received arguments as compact JSON (`JSON.stringify`, no spaces),
 * truncated (see truncateRendered). Values JSON cannot render (cycles,
 * BigInt, throwing getters or toJSON, revoked proxies, undefined, functions)
 * render as `[unserializable]`. Never throws.
 */
export function renderArgs(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return UNSERIALIZABLE;
  }
  if (typeof text !== 'string') return UNSERIALIZABLE;
  return truncateRendered(text);
}

/**
 * The JSON type name of a value: string, number, integer, boolean, null,
 * array, object. Values JSON has no type for get their `typeof` name
 * (undefined, bigint, function, symbol); only in-process callers send them.
 */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  const t = typeof value;
  if (t === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (t === 'object') {
    try {
      return Array.isArray(value) ? 'array' : 'object';
    } catch {
      return 'object'; // revoked proxy
    }
  }
  return t;
}

// ---------------------------------------------------------------- schemas

/** `file_path` is accepted for `path` (TOOL-6). */
const PATH_ALIAS: Readonly<Record<string, string>> = Object.freeze({ file_path: 'path' });

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The built-in tools (OpenClaw's coding tools, reduced to what lanesim checks). Deep-frozen. */
export const BUILTIN_TOOLS: readonly ToolDefinition[] = deepFreeze([
  {
    name: 'read',
    description: 'Read a file.',
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string' },
        offset: { type: 'integer', minimum: 1 },
        limit: { type: 'integer', minimum: 1 },
      },
      required: ['path'],
    },
    aliases: PATH_ALIAS,
  },
  {
    name: 'write',
    description: 'Write a file (create or overwrite).',
    parameters: {
      type: 'object',
      properties: { path: { type: 'string' }, content: { type: 'string' } },
      required: ['path', 'content'],
    },
    allowEmpty: ['content'],
    aliases: PATH_ALIAS,
  },
  {
    name: 'edit',
    description: 'Replace oldText with newText in a file.',
    parameters: {
      type: 'object',
      properties: { path: { type: 'string' }, oldText: { type: 'string' }, newText: { type: 'string' } },
      required: ['path', 'oldText', 'newText'],
    },
    allowEmpty: ['newText'],
    aliases: PATH_ALIAS,
  },
  {
    name: 'exec',
    description: 'Run a shell command.',
    parameters: {
      type: 'object',
      properties: {
        command: { type: 'string' },
        timeoutMs: { type: 'integer', minimum: 0 },
        cwd: { type: 'string' },
      },
      required: ['command'],
    },
  },
]);

/**
 * One AJV instance for every registry (options are identical). Strictness is
 * chosen so common user schemas compile: unknown keywords and formats are
 * ignored, type/tuple/required lint is off (and nothing is logged), but a
 * schema that violates the meta-schema or has an unresolvable $ref throws
 * at registration. `addUsedSchema: false`: two tools may share an `$id`.
 * `verbose`: errors carry the offending value (used for "got <type>"; it
 * changes only the error objects, not the valid path).
 */
let sharedAjv: Ajv | null = null;
function ajv(): Ajv {
  sharedAjv ??= new Ajv({
    allErrors: true,
    verbose: true,
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
    ownProperties: true,
    addUsedSchema: false,
    validateFormats: false,
    strictSchema: false,
    strictNumbers: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    logger: false,
  });
  return sharedAjv;
}

interface CompiledTool {
  readonly name: string;
  readonly description: string | undefined;
  readonly validate: ValidateFunction;
  /** Top-level `required`, in schema order. */
  readonly required: readonly string[];
  /** `required` minus `allowEmpty`: blank strings count as missing (TOOL-2). */
  readonly nonEmpty: readonly string[];
  readonly aliasFrom: readonly string[];
  readonly aliasTo: readonly string[];
}

const TOOL_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function compileTool(def: ToolDefinition): CompiledTool {
  if (!isPlainRecord(def)) throw new ToolSchemaError('?', 'tool definition must be an object');
  const name: unknown = def.name;
  if (typeof name !== 'string' || !TOOL_NAME.test(name)) {
    throw new ToolSchemaError(
      typeof name === 'string' ? name : renderArgs(name),
      `invalid tool name ${renderArgs(name)}: expected 1-128 characters of A-Z a-z 0-9 _ . : -`,
    );
  }
  const params: unknown = def.parameters;
  if (!isPlainRecord(params)) {
    throw new ToolSchemaError(name, `tool '${name}': parameters must be a JSON Schema object`);
  }
  const rootType = params['type'];
  if (rootType !== undefined && rootType !== 'object' && !(Array.isArray(rootType) && rootType.includes('object'))) {
    throw new ToolSchemaError(
      name,
      `tool '${name}': parameters must describe an object (type "object"), got type ${renderArgs(rootType)}`,
    );
  }
  // Detach from the caller's object: later edits to it cannot change the tool.
  let schema: Record<string, unknown>;
  try {
    schema = structuredClone(params);
  } catch (err) {
    throw new ToolSchemaError(name, `tool '${name}': parameters schema is not plain data (${errorText(err)})`);
  }
  let validate: ValidateFunction;
  try {
    validate = ajv().compile(schema);
  } catch (err) {
    const schemaErrors = ajv().errors ?? null;
    throw new ToolSchemaError(name, `tool '${name}': invalid parameters schema: ${errorText(err)}`, schemaErrors);
  }
  const requiredRaw = schema['required'];
  const required = Array.isArray(requiredRaw) ? requiredRaw.filter((r): r is string => typeof r === 'string') : [];
  const allowEmpty = def.allowEmpty ?? [];
  if (!Array.isArray(allowEmpty) || !allowEmpty.every((a) => typeof a === 'string')) {
    throw new ToolSchemaError(name, `tool '${name}': allowEmpty must be an array of parameter names`);
  }
  const aliasFrom: string[] = [];
  const aliasTo: string[] = [];
  const aliases: unknown = def.aliases ?? {};
  if (!isPlainRecord(aliases)) throw new ToolSchemaError(name, `tool '${name}': aliases must be an object`);
  for (const from of Object.keys(aliases)) {
    const to = aliases[from];
    if (typeof to !== 'string' || to === from || Object.hasOwn(aliases, to)) {
      throw new ToolSchemaError(name, `tool '${name}': alias '${from}' must name another, non-alias parameter`);
    }
    aliasFrom.push(from);
    aliasTo.push(to);
  }
  const description = typeof def.description === 'string' ? def.description : undefined;
  return {
    name,
    description,
    validate,
    required,
    nonEmpty: required.filter((r) => !allowEmpty.includes(r)),
    aliasFrom,
    aliasTo,
  };
}

function errorText(err: unknown): string {
  try {
    const m = (err as { message?: unknown } | null)?.message;
    return typeof m === 'string' ? m : String(err);
  } catch {
    return 'unknown error';
  }
}

// ------------------------------------------------------------- validation

/** A string is blank when it is empty after trim (TOOL-2). Allocation-free for non-blank strings. */
function isBlank(s: string): boolean {
  if (s.length === 0) return true;
  const c = s.charCodeAt(0);
  // Fast exit: a printable ASCII first character means trim() is not empty.
  if (c > 0x20 && c < 0x7f) return false;
  return s.trim().length === 0;
}

/** TOOL-1: a failed call is answered with an error tool_result for that same call id. */
function reject(id: string, name: string, code: ToolErrorCode, content: string): ToolCallRejected {
  return { ok: false, id, name, code, result: { type: 'tool_result', tool_use_id: id, is_error: true, content } };
}

/** JSON Pointer (AJV instancePath) + optional child -> `a.b[0].c`. */
function paramPath(instancePath: string, child?: unknown): string {
  // Common case: one top-level property with nothing to unescape.
  if (child === undefined && instancePath.lastIndexOf('/') === 0 && !instancePath.includes('~')) {
    return instancePath.slice(1);
  }
  const segments = instancePath === '' ? [] : instancePath.slice(1).split('/');
  if (typeof child === 'string') segments.push(child.replace(/~/g, '~0').replace(/\//g, '~1'));
  let out = '';
  for (const raw of segments) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^(0|[1-9][0-9]*)$/.test(seg) && out !== '') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

function expectedType(t: unknown): string {
  if (Array.isArray(t)) return t.map(String).join(' or ');
  return String(t);
}

/** One diagnosis: the code and the message up to (not including) `. Received: <args>`. */
interface Verdict {
  code: ToolErrorCode;
  head: string;
}

/**
 * The one error for an args object AJV rejected (TOOL-9 order): missing
 * required (top-level `required` order, blank strings included), then
 * `required` errors AJV found elsewhere (nested, combinators), then type
 * errors, then any other violation, each in AJV's (schema) order.
 * (No closures here or on the hot path: tsx/esbuild `keepNames` makes every
 * closure creation cost a defineProperty.)
 */
function diagnose(tool: CompiledTool, args: Record<string, unknown>, errors: readonly ErrorObject[]): Verdict {
  const missing = firstMissing(tool, args);
  if (missing !== null) return missingParam(tool.name, missing);
  for (const e of errors) {
    if (e.keyword === 'required') return missingParam(tool.name, paramPath(e.instancePath, e.params['missingProperty']));
  }
  // TOOL-3: wrong type.
  for (const e of errors) {
    if (e.keyword === 'type' && e.instancePath !== '') {
      const param = paramPath(e.instancePath);
      return {
        code: ToolErrorCode.INVALID_TYPE,
        head: `Error: ${tool.name} tool parameter '${param}' must be ${expectedType(e.params['type'])}, got ${jsonTypeOf(e.data)}`,
      };
    }
  }
  // TOOL-3: any other violation, with AJV's message.
  const e = errors[0];
  const message = e?.message ?? 'is invalid';
  // A violation about one property (additionalProperties, propertyNames) names that property.
  const child = e?.params['additionalProperty'] ?? e?.params['propertyName'];
  const param = e === undefined ? '' : paramPath(e.instancePath, child);
  const subject = param === '' ? 'arguments' : `parameter '${param}'`;
  return { code: ToolErrorCode.INVALID_PARAM, head: `Error: ${tool.name} tool ${subject} ${message}` };
}

/** TOOL-2: one parameter, the seed's exact form. */
function missingParam(tool: string, param: string): Verdict {
  return { code: ToolErrorCode.MISSING_PARAM, head: `Error: ${tool} tool requires '${param}' parameter` };
}

/** TOOL-2: the first top-level required parameter (schema order) that is absent or blank. */
function firstMissing(tool: CompiledTool, args: Record<string, unknown>): string | null {
  const required = tool.required;
  for (let i = 0; i < required.length; i++) {
    const key = required[i] as string;
    const v = Object.hasOwn(args, key) ? args[key] : undefined;
    if (v === undefined) return key;
    if (typeof v === 'string' && isBlank(v) && tool.nonEmpty.includes(key)) return key;
  }
  return null;
}

/** TOOL-2 on an AJV-valid object: only blank strings can still be "missing". */
function firstBlank(tool: CompiledTool, args: Record<string, unknown>): string | null {
  const nonEmpty = tool.nonEmpty;
  for (let i = 0; i < nonEmpty.length; i++) {
    const key = nonEmpty[i] as string;
    const v = args[key];
    if (typeof v === 'string' && isBlank(v)) return key;
  }
  return null;
}

const hasOwn = Object.hasOwn;
const defineProperty = Object.defineProperty;

/**
 * Own enumerable string keys into a fresh plain object, aliases applied
 * (TOOL-6). `__proto__` is defined, not assigned, so it stays an ordinary
 * key and never sets a prototype (TOOL-8). May throw (getters, proxies):
 * the caller catches.
 */
function copyArgs(tool: CompiledTool, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const aliasFrom = tool.aliasFrom;
  const nAlias = aliasFrom.length;
  let aliased: unknown[] | null = null;
  for (const key in obj) {
    if (!hasOwn(obj, key)) continue;
    const value = obj[key];
    if (nAlias !== 0) {
      let a = 0;
      while (a < nAlias && aliasFrom[a] !== key) a++;
      if (a < nAlias) {
        aliased ??= new Array<unknown>(nAlias);
        aliased[a] = value;
        continue;
      }
    }
    if (key === '__proto__') defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
    else out[key] = value;
  }
  if (aliased !== null) {
    for (let a = 0; a < nAlias; a++) {
      const to = tool.aliasTo[a] as string;
      const value = aliased[a];
      if (value !== undefined && (!hasOwn(out, to) || out[to] === undefined)) {
        if (to === '__proto__') defineProperty(out, to, { value, writable: true, enumerable: true, configurable: true });
        else out[to] = value;
      }
    }
  }
  return out;
}

/** A model's empty argument string means "no arguments" (TOOL-5). */
const EMPTY_ARGS_TEXT = '{}';

/**
 * JSON.parse that reports failure as a value. A SyntaxError's stack trace is
 * most of the cost of a failed parse and is never shown, so capture is
 * switched off around the parse (restored at once; skipped if the host froze
 * Error.stackTraceLimit).
 */
function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  let limit: unknown;
  let lowered = false;
  try {
    limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    lowered = true;
  } catch {
    // frozen intrinsics: parse with the stack trace
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, message: errorText(err) };
  } finally {
    if (lowered) {
      try {
        Error.stackTraceLimit = limit as number;
      } catch {
        // cannot happen: it was writable a moment ago
      }
    }
  }
}

function validateWith(tools: ReadonlyMap<string, CompiledTool>, available: () => string, call: ToolCallInput): ToolValidation {
  // TOOL-8: reading the call itself may throw (null, getters, proxies);
  // each field is read exactly once.
  let id: string;
  let name: string;
  let raw: unknown;
  let argsReadable = true;
  try {
    id = call.id;
  } catch {
    id = undefined as unknown as string;
  }
  try {
    name = call.name;
  } catch {
    name = undefined as unknown as string;
  }
  try {
    raw = call.arguments;
  } catch {
    argsReadable = false;
  }

  // TOOL-9 order starts here. TOOL-4: unknown tool first.
  const tool = typeof name === 'string' ? tools.get(name) : undefined;
  if (tool === undefined) {
    const shown = typeof name === 'string' ? truncateRendered(name) : renderArgs(name);
    return reject(id, name, ToolErrorCode.UNKNOWN, `Error: unknown tool '${shown}'. Available tools: ${available()}.`);
  }
  const toolName = tool.name;
  if (!argsReadable) return unreadable(id, name, toolName);

  try {
    // TOOL-5: parse. "" / whitespace / absent arguments mean {}.
    let received: unknown = raw;
    let emptyText = false;
    if (typeof raw === 'string') {
      if (isBlank(raw)) {
        received = {};
        emptyText = true;
      } else {
        const parsed = parseJson(raw);
        if (parsed.ok) received = parsed.value;
        else {
          return reject(
            id,
            name,
            ToolErrorCode.ARGS_UNPARSABLE,
            `Error: ${toolName} tool arguments are not valid JSON (${parsed.message}). Received: ${truncateRendered(raw)}`,
          );
        }
      }
    } else if (raw === undefined) {
      received = {};
      emptyText = true;
    }

    // TOOL-5: object-ness.
    if (received === null || typeof received !== 'object' || Array.isArray(received)) {
      return reject(
        id,
        name,
        ToolErrorCode.ARGS_NOT_OBJECT,
        `Error: ${toolName} tool arguments must be a JSON object, got ${jsonTypeOf(received)}. Received: ${renderArgs(received)}`,
      );
    }

    const args = copyArgs(tool, received as Record<string, unknown>);
    // The validation itself: AJV's compiled validator (TOOL-2, TOOL-3).
    let verdict: Verdict;
    if (tool.validate(args)) {
      const blank = tool.nonEmpty.length === 0 ? null : firstBlank(tool, args);
      if (blank === null) return { ok: true, id, name, args };
      verdict = missingParam(toolName, blank);
    } else {
      verdict = diagnose(tool, args, tool.validate.errors ?? []);
    }
    // Rendered only on failure (nothing is stringified on success).
    const shown = emptyText ? EMPTY_ARGS_TEXT : renderArgs(received);
    return reject(id, name, verdict.code, `${verdict.head}. Received: ${shown}`);
  } catch {
    // TOOL-8: a getter or proxy trap threw while reading the arguments.
    return unreadable(id, name, toolName);
  }
}

function unreadable(id: string, name: string, toolName: string): ToolCallRejected {
  return reject(
    id,
    name,
    ToolErrorCode.ARGS_UNREADABLE,
    `Error: ${toolName} tool arguments could not be read. Received: ${UNSERIALIZABLE}`,
  );
}

// --------------------------------------------------------------- registry

/** Summary of a registered tool. */
export interface ToolInfo {
  name: string;
  description: string | undefined;
}

/**
 * The tools a gateway offers. Schemas are compiled once, at `register`
 * (which is the only place that throws: ToolSchemaError). Validation keeps
 * no per-call state (TOOL-7): a corrected retry with the same id is judged
 * afresh.
 */
export class ToolRegistry {
  readonly #tools = new Map<string, CompiledTool>();
  #available: string | null = null;

  /** `builtins: false` starts empty (default: read, write, edit, exec). */
  constructor(options: { builtins?: boolean } = {}) {
    if (options.builtins !== false) {
      for (const tool of builtinCompiled()) this.#tools.set(tool.name, tool);
    }
  }

  /**
   * Add a tool, or replace the one of the same name (built-ins included).
   * Throws ToolSchemaError if the name is not 1-128 of [A-Za-z0-9_.:-], the
   * schema does not describe an object, or AJV cannot compile it.
   */
  register(def: ToolDefinition): void {
    const tool = compileTool(def);
    this.#tools.set(tool.name, tool);
    this.#available = null;
  }

  has(name: string): boolean {
    return this.#tools.has(name);
  }

  /** Registered names, sorted (code-unit order). */
  names(): string[] {
    return [...this.#tools.keys()].sort();
  }

  list(): ToolInfo[] {
    return this.names().map((n) => {
      const t = this.#tools.get(n) as CompiledTool;
      return { name: t.name, description: t.description };
    });
  }

  /** Validate one tool call. Never throws (TOOL-8). */
  validate(call: ToolCallInput): ToolValidation {
    return validateWith(this.#tools, this.#availableText, call);
  }

  readonly #availableText = (): string => {
    if (this.#available === null) {
      const names = this.names();
      this.#available = names.length === 0 ? '(none)' : names.join(', ');
    }
    return this.#available;
  };
}

let builtinCache: CompiledTool[] | null = null;
function builtinCompiled(): CompiledTool[] {
  builtinCache ??= BUILTIN_TOOLS.map(compileTool);
  return builtinCache;
}

let defaultRegistry: ToolRegistry | null = null;

/**
 * Validate a tool call against `registry` (default: a private registry of
 * the built-in tools). Never throws, for any input (TOOL-8). On failure the
 * result is the error tool_result to return to the agent for that call id
 * (TOOL-1).
 */
export function validateToolCall(call: ToolCallInput, registry?: ToolRegistry): ToolValidation {
  if (registry !== undefined) return registry.validate(call);
  defaultRegistry ??= new ToolRegistry();
  return defaultRegistry.validate(call);
}
