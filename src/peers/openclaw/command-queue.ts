/**
 * Loads the REAL OpenClaw lane queue (`src/process/command-queue.ts`, shipped
 * as `dist/command-queue-<hash>.mjs` in the npm package) so lanesim can run
 * it as a peer: same code, same timing, under Node 20 and fake timers.
 *
 * ## How the module is found and mapped
 * The bundle minifies export names, and the hash in the file name changes per
 * release. The loader lists `dist/command-queue-*.mjs`, keeps the one whose
 * final `export { local as alias, ... };` statement exports
 * `enqueueCommandInLane`, and uses that statement to map the real (local)
 * names to the minified aliases. For 2026.9.6 (`command-queue-CaY517ob.mjs`):
 *
 *   _ getLaneGroup                  a getCommandLaneSnapshot
 *   c isCommandLaneTaskMarkerCurrent d listCommandLaneTotals
 *   f markGatewayDraining           g setCommandLaneConcurrency
 *   h resetCommandLane              i getCommandLaneActiveTaskIds
 *   l isCommandLaneTaskTimeoutError m resetAllLanes
 *   n clearCommandLane              o getQueueSize
 *   p publishLaneConfiguration      r enqueueCommandInLane
 *   s getTotalQueueSize             t CommandLaneClearedError
 *   u isGatewayDraining             v getQueueState
 *
 * There is no `enqueueCommand` in 2026.9.6 (callers always name a lane).
 * `GatewayDrainingError` is not exported by the queue module; the loader finds
 * it through the queue module's `import { ... as GatewayDrainingError } from
 * "./gateway-work-admission-<hash>.mjs"` line.
 *
 * ## State: one process, not one import
 * The queue keeps its lanes on `globalThis[Symbol.for("openclaw.commandQueueState")]`
 * (via OpenClaw's `resolveGlobalSingleton`), the draining flag on
 * `globalThis[Symbol.for("openclaw.gatewayWorkAdmissionState")]` and logging
 * settings on `globalThis[Symbol.for("openclaw.loggingState")]`. So a second
 * import, even a fresh module instance via a `?instance=N` query on the file
 * URL, SHARES the lanes of the first: one process (one realm) = one queue
 * state. `resetAllLanes()` does not give a clean slate either: it keeps queued
 * entries, lane concurrencies and groups (it only bumps generations, clears
 * active ids and reopens admission). For an isolated run use
 * `queue.resetState()` (or the `fresh` load option), which drops the global
 * lane map and then calls `resetAllLanes()` to reopen admission. Tasks still
 * running from before keep references to their old lane objects and complete
 * there, invisible to the new state. `fresh: true` also imports a new module
 * instance (`?instance=N`), so error classes differ in identity between
 * instances: compare `err.name`, not `instanceof` across instances.
 *
 * ## Diagnostics (`lane wait exceeded: ...`)
 * On dequeue, if `waitedMs >= warnAfterMs` (default 2000), the queue calls the
 * entry's `onWait(waitedMs, queuedAhead)` and then
 * `diagnosticLogger.warn("lane wait exceeded: lane=… waitedMs=… queueAhead=…
 * activeAhead=… activeNow=… queueBehind=…")`. `diagnosticLogger` is OpenClaw's
 * subsystem logger `diagnostic` (src/logging/subsystem.ts), not an event-bus
 * event and not a direct `process.stderr.write`. Each record goes to two
 * sinks, both configured from the global logging state:
 * - console: `(loggingState.rawConsole ?? console).warn(line)`, i.e. stderr,
 *   formatted `[diagnostic] lane wait exceeded: …` (ANSI colours when stdout or
 *   stderr is a TTY), at console level `info` by default;
 * - file: a rolling JSONL log, by default `/tmp/openclaw/openclaw-<date>.log`
 *   (creating `/tmp/openclaw`), at level `info`.
 * Both levels come from `OPENCLAW_LOG_LEVEL`, else `loggingState.overrideSettings`,
 * else the `logging` section of the user's OpenClaw config file (read from
 * `~/.openclaw/openclaw.json` or `OPENCLAW_CONFIG_PATH`). Under vitest
 * (`VITEST=true`) both default to `silent`, so nothing is printed or written.
 * Separately, every enqueue/dequeue emits `queue.lane.enqueue` /
 * `queue.lane.dequeue` events on OpenClaw's internal diagnostic event bus
 * (while diagnostics are enabled, the default); those carry `waitMs` but not
 * the wait-exceeded fields.
 *
 * The loader's `silence` / `capture` options take over the logging state
 * (process-wide, like the queue state; the latest load wins; `restoreLogging()`
 * puts the previous settings back):
 * - `silence`: override `{level: "silent", consoleLevel: "silent"}`; the
 *   logger returns before formatting anything and never touches the file
 *   system. This is the fair setting for benchmarks (no formatting, no I/O).
 * - `capture`: override `{level: "silent", consoleLevel: "warn",
 *   consoleStyle: "compact"}` and a `rawConsole` sink `{log, warn, error}`,
 *   so every warn/error record arrives in memory as the console line
 *   `[diagnostic] lane wait exceeded: …` (never on stderr, never in a file);
 *   the level is the sink method called. `queue.diagnostics.records` holds
 *   them; `queue.diagnostics.laneWaits` holds the parsed `lane wait exceeded`
 *   ones. A function passed as `capture` is also called with each record.
 *   (Compact rather than `consoleStyle: "json"`: the JSON envelope goes
 *   through OpenClaw's record redactor and costs ~10x more per line.)
 * Both set an explicit override, so `OPENCLAW_LOG_LEVEL` and the user's config
 * file no longer apply, and the `/tmp/openclaw` log folder is not created.
 * Neither changes the event bus.
 */
import { existsSync, readFileSync } from 'node:fs';
import { devNull } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findCommandQueueModules, openclawPeerPaths } from './paths.ts';

// ---------------------------------------------------------------------------
// Types written from the 2026.9.6 source.

/** `opts.priority`: `foreground` (1) and `background` (-1) FIFOs; anything else is normal (0). */
export type CommandLanePriority = 'foreground' | 'normal' | 'background';

/** Passed to each task: identifies its slot (see `isCommandLaneTaskMarkerCurrent`). */
export interface CommandLaneTaskMarker {
  lane: string;
  taskId: number;
  generation: number;
}

export type CommandLaneOwnerDeadline = { kind: 'bounded'; deadlineAtMs: number } | { kind: 'unlimited' };

export interface EnqueueCommandInLaneOptions {
  /** Wait at or above which the dequeue logs `lane wait exceeded` and calls `onWait`. Default 2000. */
  warnAfterMs?: number;
  /** Called on dequeue when `waitedMs >= warnAfterMs`, before the diagnostic line. `queuedAhead` is the count at enqueue. */
  onWait?: (waitedMs: number, queuedAhead: number) => void;
  /** Called synchronously after enqueue if the entry did not start at once (it is queued). */
  onQueued?: () => void;
  /** Removes the entry while queued (rejects with `signal.reason`, or an Error "Queued command aborted"); no effect once started. Already aborted: rejects at once. */
  abortSignal?: AbortSignal;
  priority?: CommandLanePriority;
  /** Caller-owned lane timeout: rejects with CommandLaneTaskTimeoutError and frees the slot (the task may keep running). */
  taskTimeoutMs?: number;
  /** Last progress time (ms epoch); turns the budget into an idle timeout. */
  taskTimeoutProgressAtMs?: () => number;
  /** Subscribe to owner deadlines; return an unsubscribe function. */
  taskTimeoutSubscribe?: (listener: (deadline: CommandLaneOwnerDeadline | undefined) => void) => (() => void) | void;
  /** When aborted, the slot is released after `taskTimeoutAbortGraceMs` (default: taskTimeoutMs). */
  taskTimeoutAbortSignal?: AbortSignal;
  taskTimeoutAbortGraceMs?: number;
  /** When aborted, the slot is released at once. */
  taskTimeoutReleaseSignal?: AbortSignal;
}

export type CommandLaneBlockedBy = 'lane' | 'group-budget' | 'sibling-reservation' | null;

export interface CommandLaneSnapshot {
  lane: string;
  queuedCount: number;
  activeCount: number;
  maxConcurrent: number;
  /** True only while the lane's drain loop runs (synchronously); not the gateway draining flag. */
  draining: boolean;
  generation: number;
  blockedBy: CommandLaneBlockedBy;
  group?: string;
  groupActive?: number;
  groupBudget?: number;
  reservedForLane?: number;
}

export interface CommandLaneGroupSpec {
  members: string[];
  budget: number;
  reservations?: Record<string, number>;
}

export interface CommandLaneConfiguration {
  lanes?: Record<string, number>;
  groups?: Record<string, CommandLaneGroupSpec>;
  clearGroups?: string[];
}

/** The raw global state object (`lanes` Map etc.); shape is internal to OpenClaw. */
export interface CommandQueueGlobalState {
  lanes: Map<string, unknown>;
  nextTaskId: number;
  nextQueueSequence: number;
  laneGroups: Map<string, unknown>;
  laneGroupByLane: Map<string, string>;
}

/** The functions of the queue module, under their real names (the loader refuses to load without these). */
export interface OpenClawCommandQueueFunctions {
  enqueueCommandInLane<T>(
    lane: string,
    task: (marker: CommandLaneTaskMarker) => T | Promise<T>,
    opts?: EnqueueCommandInLaneOptions,
  ): Promise<Awaited<T>>;
  /** Floors the value; 0 pauses the lane (probe lanes: at least 1). Drains at once when positive. */
  setCommandLaneConcurrency(lane: string, maxConcurrent: number): void;
  /** Rejects every QUEUED entry with CommandLaneClearedError; running tasks go on. Returns the count. */
  clearCommandLane(lane?: string): number;
  getCommandLaneSnapshot(lane?: string): CommandLaneSnapshot;
  /** Queued + active in the lane (0 for an unknown lane). Default lane `main`. */
  getQueueSize(lane?: string): number;
  /** Bumps every lane's generation, clears active ids, reopens gateway admission, drains queued work. Keeps queued entries. */
  resetAllLanes(): void;
  /** One-way: later enqueues reject with GatewayDrainingError until resetAllLanes(). */
  markGatewayDraining(reason?: string): void;
}

/** Exported by 2026.9.6 too, but not required: undefined if a release drops them. */
export interface OpenClawCommandQueueOptionalFunctions {
  getTotalQueueSize?(): number;
  /** One lane: bump generation, clear active ids, drain. Returns the number of released slots. */
  resetCommandLane?(lane?: string): number;
  isGatewayDraining?(): boolean;
  listCommandLaneTotals?(): Array<{ lane: string; activeCount: number; queuedCount: number }>;
  getCommandLaneActiveTaskIds?(lane?: string): number[];
  isCommandLaneTaskMarkerCurrent?(marker: CommandLaneTaskMarker | undefined): boolean;
  isCommandLaneTaskTimeoutError?(err: unknown, lane?: string): boolean;
  publishLaneConfiguration?(config: CommandLaneConfiguration): void;
  getLaneGroup?(lane: string): unknown;
  getQueueState?(): CommandQueueGlobalState;
}

type ErrorClass = new (...args: never[]) => Error;

export interface LaneWaitDiagnostic {
  lane: string;
  waitedMs: number;
  /** Entries queued ahead at enqueue time. */
  queueAhead: number;
  /** Tasks active in the lane at enqueue time (absent in older builds). */
  activeAhead?: number;
  /** Tasks active just before this one started. */
  activeNow?: number;
  /** Entries still queued behind at dequeue. */
  queueBehind?: number;
  /** The message as logged. */
  line: string;
}

export interface OpenClawLogRecord {
  /** The console method OpenClaw used: `warn`, `error` (error and fatal records) or `info`. */
  level: string;
  /** The console label, e.g. `diagnostic` (OpenClaw shortens some, e.g. drops a leading `gateway/`). */
  subsystem?: string;
  /** The message with label and ANSI colours removed; error records end with `key=value` meta, e.g. `errorName=Error`. */
  message: string;
  /** The raw line handed to the console sink. */
  raw: string;
}

export interface CapturedDiagnostics {
  /** Every warn/error/fatal record, in order. */
  readonly records: OpenClawLogRecord[];
  /** The `lane wait exceeded` records, parsed. */
  readonly laneWaits: LaneWaitDiagnostic[];
  clear(): void;
}

export type OpenClawCommandQueue = OpenClawCommandQueueFunctions &
  OpenClawCommandQueueOptionalFunctions & {
  /** Rejection class for entries removed by clearCommandLane (message `Command lane "<lane>" cleared`). */
  CommandLaneClearedError: ErrorClass;
  /** Rejection class for enqueues while draining (message `Gateway is draining; new tasks are not accepted`); undefined if not found. */
  GatewayDrainingError: ErrorClass | undefined;
  readonly packageDir: string;
  readonly modulePath: string;
  /** `package.json` version of the package. */
  readonly version: string | undefined;
  /** Real name -> minified alias, as parsed from the module's export statement. */
  readonly exportMap: Readonly<Record<string, string>>;
  /** Present when loaded with `capture`. */
  readonly diagnostics: CapturedDiagnostics | undefined;
  /** Drops all lanes, groups and counters (process-wide) and reopens admission. See the module doc. */
  resetState(): void;
  /** Puts back the logging state found before this load changed it (no-op without silence/capture). */
  restoreLogging(): void;
};

export interface LoadOpenClawCommandQueueOptions {
  /** An installed `openclaw` package folder; default from openclawPeerPaths(). */
  packageDir?: string;
  /** Discard OpenClaw's log records (console and file) without formatting them. */
  silence?: boolean;
  /** Collect warn/error records in memory (and pass each to the function, if given). Wins over `silence`. */
  capture?: boolean | ((record: OpenClawLogRecord, laneWait: LaneWaitDiagnostic | undefined) => void);
  /** Import a new module instance (`?instance=N`) and reset the global queue state first. */
  fresh?: boolean;
}

/** Functions the loader refuses to work without. */
export const REQUIRED_OPENCLAW_EXPORTS = [
  'enqueueCommandInLane',
  'setCommandLaneConcurrency',
  'clearCommandLane',
  'getCommandLaneSnapshot',
  'getQueueSize',
  'resetAllLanes',
  'markGatewayDraining',
  'CommandLaneClearedError',
] as const;

const OPTIONAL_FUNCTION_EXPORTS = [
  'getTotalQueueSize',
  'resetCommandLane',
  'isGatewayDraining',
  'listCommandLaneTotals',
  'getCommandLaneActiveTaskIds',
  'isCommandLaneTaskMarkerCurrent',
  'isCommandLaneTaskTimeoutError',
  'publishLaneConfiguration',
  'getLaneGroup',
  'getQueueState',
] as const;

const QUEUE_STATE_KEY = Symbol.for('openclaw.commandQueueState');
const LOGGING_STATE_KEY = Symbol.for('openclaw.loggingState');

// ---------------------------------------------------------------------------
// Parsing

/**
 * Parses the LAST `export { a as b, c };` statement of a bundled module into
 * `{ realName: alias }`. Returns undefined when there is none.
 */
export function parseExportMap(source: string): Record<string, string> | undefined {
  const matches = [...source.matchAll(/export\s*\{([^}]*)\}\s*;?/g)];
  const last = matches.at(-1);
  if (!last?.[1]) return undefined;
  const map: Record<string, string> = {};
  for (const part of last[1].split(',')) {
    const item = part.trim();
    if (!item) continue;
    const m = /^([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*|"[^"]*"))?$/.exec(item);
    if (!m?.[1]) continue;
    map[m[1]] = (m[2] ?? m[1]).replace(/^"|"$/g, '');
  }
  return map;
}

/** Finds `import { x as LocalName } from "./file.mjs"` and returns `{ specifier, exported }`. */
export function findImportOf(source: string, localName: string): { specifier: string; exported: string } | undefined {
  for (const m of source.matchAll(/import\s*\{([^}]*)\}\s*from\s*["']([^"']+)["']/g)) {
    for (const part of (m[1] ?? '').split(',')) {
      const item = /^\s*([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?\s*$/.exec(part);
      if (item?.[1] && (item[2] ?? item[1]) === localName && m[2]) return { specifier: m[2], exported: item[1] };
    }
  }
  return undefined;
}

/**
 * Parses `lane wait exceeded: lane=… waitedMs=… queueAhead=… [activeAhead=…
 * activeNow=… queueBehind=…]` (also accepts the `[diagnostic] ` console
 * prefix and ANSI colours). Returns undefined for any other line.
 */
export function parseLaneWaitLine(line: string): LaneWaitDiagnostic | undefined {
  // eslint-disable-next-line no-control-regex
  const plain = line.replace(/\u001b\[[0-9;]*m/g, '');
  const at = plain.indexOf('lane wait exceeded:');
  if (at < 0) return undefined;
  const message = plain.slice(at).trim();
  const fields = new Map<string, string>();
  for (const m of message.matchAll(/(\w+)=(\S+)/g)) if (m[1] && m[2] !== undefined) fields.set(m[1], m[2]);
  const lane = fields.get('lane');
  const waitedMs = Number(fields.get('waitedMs'));
  const queueAhead = Number(fields.get('queueAhead'));
  if (lane === undefined || !Number.isFinite(waitedMs) || !Number.isFinite(queueAhead)) return undefined;
  const out: LaneWaitDiagnostic = { lane, waitedMs, queueAhead, line: message };
  for (const key of ['activeAhead', 'activeNow', 'queueBehind'] as const) {
    const raw = fields.get(key);
    if (raw !== undefined && Number.isFinite(Number(raw))) out[key] = Number(raw);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Logging control (see the module doc)

interface LoggingStateShape {
  overrideSettings: unknown;
  cachedLogger: unknown;
  cachedSettings: unknown;
  cachedConsoleSettings: unknown;
  rawConsole: unknown;
}

function loggingStateOf(modulePath: string): LoggingStateShape {
  const state = (globalThis as Record<symbol, unknown>)[LOGGING_STATE_KEY];
  if (
    !state ||
    typeof state !== 'object' ||
    !('overrideSettings' in state) ||
    !('cachedConsoleSettings' in state) ||
    !('rawConsole' in state)
  ) {
    throw new Error(
      `OpenClaw logging state (globalThis[Symbol.for("openclaw.loggingState")]) not found or changed shape after importing ${modulePath}; cannot silence or capture diagnostics`,
    );
  }
  return state as LoggingStateShape;
}

function invalidate(state: LoggingStateShape): void {
  state.cachedLogger = null;
  state.cachedSettings = null;
  state.cachedConsoleSettings = null;
}

/**
 * A compact console line is `[<subsystem>] <message>`, possibly with ANSI
 * colours (when a TTY or FORCE_COLOR is around). The level is the console
 * method OpenClaw called: `warn`, or `error` for error/fatal.
 */
function parseRecord(level: string, raw: string): OpenClawLogRecord {
  // eslint-disable-next-line no-control-regex
  const plain = raw.replace(/\u001b\[[0-9;]*m/g, '');
  const m = /^(?:\S+\s+)?\[([^\]\s]+)\]\s([\s\S]*)$/.exec(plain); // optional timestamp prefix
  const record: OpenClawLogRecord = { level, message: m?.[2] ?? plain, raw };
  if (m?.[1]) record.subsystem = m[1];
  return record;
}

// ---------------------------------------------------------------------------
// Loader

let instanceCounter = 0;

function pickModule(packageDir: string): { path: string; source: string; exportMap: Record<string, string> } {
  const candidates = findCommandQueueModules(packageDir);
  if (candidates.length === 0) {
    throw new Error(`no dist/command-queue-*.mjs in the OpenClaw package at ${packageDir}`);
  }
  for (const path of candidates) {
    const source = readFileSync(path, 'utf8');
    const exportMap = parseExportMap(source);
    if (exportMap?.['enqueueCommandInLane']) return { path, source, exportMap };
  }
  throw new Error(
    `none of ${candidates.join(', ')} exports enqueueCommandInLane (export statement not found or changed)`,
  );
}

/**
 * Imports OpenClaw's lane queue from an installed package and returns it
 * under real names. See the module doc for state sharing and diagnostics.
 */
export async function loadOpenClawCommandQueue(opts: LoadOpenClawCommandQueueOptions = {}): Promise<OpenClawCommandQueue> {
  const packageDir = opts.packageDir ?? openclawPeerPaths().openclawDir;
  if (!existsSync(join(packageDir, 'package.json'))) {
    throw new Error(
      `OpenClaw package not found at ${packageDir} (install it with: npx tsx scripts/openclaw-peer.ts install, or set LANESIM_OPENCLAW_DIR)`,
    );
  }
  let version: string | undefined;
  try {
    const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version?: unknown };
    version = typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    version = undefined;
  }

  const picked = pickModule(packageDir);
  const missing = REQUIRED_OPENCLAW_EXPORTS.filter((name) => !picked.exportMap[name]);
  if (missing.length > 0) {
    throw new Error(`${picked.path} does not export ${missing.join(', ')} (found: ${Object.keys(picked.exportMap).join(', ')})`);
  }

  const url = pathToFileURL(picked.path);
  if (opts.fresh) url.search = `instance=${++instanceCounter}`;
  const ns = (await import(/* @vite-ignore */ url.href)) as Record<string, unknown>;

  const out: Record<string, unknown> = {};
  for (const name of [...REQUIRED_OPENCLAW_EXPORTS, ...OPTIONAL_FUNCTION_EXPORTS]) {
    const alias = picked.exportMap[name];
    if (alias === undefined) continue;
    const value = ns[alias];
    if (typeof value !== 'function') {
      throw new Error(`${picked.path}: export ${alias} (${name}) is ${typeof value}, expected a function`);
    }
    out[name] = value;
  }

  let gatewayDrainingError: ErrorClass | undefined;
  const drainingImport = findImportOf(picked.source, 'GatewayDrainingError');
  if (drainingImport) {
    const siblingUrl = new URL(drainingImport.specifier, pathToFileURL(picked.path)).href;
    const sibling = (await import(/* @vite-ignore */ siblingUrl)) as Record<string, unknown>;
    const cls = sibling[drainingImport.exported];
    if (typeof cls === 'function') gatewayDrainingError = cls as ErrorClass;
  }

  const resetAllLanes = out['resetAllLanes'] as () => void;
  const resetState = (): void => {
    delete (globalThis as Record<symbol, unknown>)[QUEUE_STATE_KEY];
    resetAllLanes();
  };
  if (opts.fresh) resetState();

  // Logging takeover.
  let restoreLogging = (): void => {};
  let diagnostics: CapturedDiagnostics | undefined;
  if (opts.capture || opts.silence) {
    const state = loggingStateOf(picked.path);
    const saved = { overrideSettings: state.overrideSettings, rawConsole: state.rawConsole };
    if (opts.capture) {
      const records: OpenClawLogRecord[] = [];
      const laneWaits: LaneWaitDiagnostic[] = [];
      const onRecord = typeof opts.capture === 'function' ? opts.capture : undefined;
      const sinkFor = (level: string) => (raw: unknown): void => {
        const record = parseRecord(level, String(raw));
        const laneWait = parseLaneWaitLine(record.message);
        records.push(record);
        if (laneWait) laneWaits.push(laneWait);
        onRecord?.(record, laneWait);
      };
      diagnostics = {
        records,
        laneWaits,
        clear() {
          records.length = 0;
          laneWaits.length = 0;
        },
      };
      state.rawConsole = { log: sinkFor('info'), warn: sinkFor('warn'), error: sinkFor('error') };
    }
    const consoleLevel = opts.capture ? 'warn' : 'silent';
    const consoleStyle = 'compact';
    state.overrideSettings = { level: 'silent', file: devNull, consoleLevel, consoleStyle };
    // Pre-resolved settings too, so OPENCLAW_LOG_LEVEL / --verbose cannot
    // re-enable output (the resolvers let the env win over the override).
    state.cachedLogger = null;
    state.cachedSettings = { level: 'silent', file: devNull, maxFileBytes: 1, rolling: false };
    state.cachedConsoleSettings = { level: consoleLevel, style: consoleStyle };
    let restored = false;
    restoreLogging = () => {
      if (restored) return;
      restored = true;
      state.overrideSettings = saved.overrideSettings;
      state.rawConsole = saved.rawConsole;
      invalidate(state);
    };
  }

  return Object.assign(out as unknown as OpenClawCommandQueueFunctions & OpenClawCommandQueueOptionalFunctions, {
    CommandLaneClearedError: out['CommandLaneClearedError'] as ErrorClass,
    GatewayDrainingError: gatewayDrainingError,
    packageDir,
    modulePath: picked.path,
    version,
    exportMap: Object.freeze({ ...picked.exportMap }),
    diagnostics,
    resetState,
    restoreLogging,
  });
}

/** True when an OpenClaw package with a queue module is installed where the loader looks by default. */
export function isOpenClawPeerInstalled(packageDir: string = openclawPeerPaths().openclawDir): boolean {
  return existsSync(join(packageDir, 'package.json')) && findCommandQueueModules(packageDir).length > 0;
}
