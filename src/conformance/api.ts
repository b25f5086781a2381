/**
 * `runConformance()`: the conformance suite as a function, for gateway
 * authors who drive it from their own code (`lanesim/conformance`). It builds
 * the same targets as `lanesim conform` (the reference gateway, an in-process
 * adapter, or a gateway over WebSocket described by a `--config`-shaped
 * object or file) and returns the SuiteReport the `--json` report holds.
 *
 * The target construction repeats src/cli/conform.ts on purpose (a few lines):
 * the CLI parses flags and prints; this validates an options object and throws
 * ConformanceOptionsError with one clear line. Both end in runSuite().
 */
import type { ConfigInput } from '../model/config-types.ts';
import { ConfigError, readConfigFile } from '../model/config.ts';
import { assertSeed } from '../model/prng.ts';
import type { GatewayAdapter } from './adapter.ts';
import { ALL_CASES } from './cases/index.ts';
import { targetFromAdapter } from './in-process.ts';
import { PreflightError, preflight } from './preflight.ts';
import { runSuite, selectCases, type SuiteReport } from './runner.ts';
import { referenceTarget } from './targets/reference.ts';
import { blackBoxConfig, websocketTarget } from './targets/websocket.ts';
import type { CaseResult, ConformanceCase, ConformanceTarget } from './types.ts';

/** A gateway reached over WebSocket (loopback only), as `lanesim conform --url`. */
export interface UrlTargetOptions {
  /** `ws://127.0.0.1:PORT` (or localhost). */
  url: string;
  /** Sent as `auth.token` in connect. */
  token?: string;
  /** The control URL of `lanesim fake-model` the gateway's model provider points at: enables the model-script cases. */
  modelControl?: string;
  /** The gateway runs its timers this many times faster than real time. Default 1. */
  timeScale?: number;
  /**
   * How the gateway is configured, in lanesim's config shape (docs/SPEC.md
   * CFG-1, plus an optional `supports` key): a JSON5 file path or the object
   * itself. Same as `--config`.
   */
  config?: string | ConfigInput;
}

/** Which gateway: exactly one of `adapter` and `url`, or neither (lanesim's reference gateway). */
export interface TargetOptions {
  /** Your gateway in process (src/conformance/adapter.ts; docs/ADAPTER.md). */
  adapter?: GatewayAdapter;
  /** Your gateway over WebSocket. */
  url?: string | UrlTargetOptions;
}

export interface RunConformanceOptions extends TargetOptions {
  /** Case ids or prefixes to run (`lane`, `queue.cap.drop-new`); default all. */
  only?: readonly string[];
  /** Case ids or prefixes to leave out. */
  skip?: readonly string[];
  /** Suite seed (each case derives its own from it and its id). Default 1. */
  seed?: number;
  /** Wall-clock limit per case. Default 120000 over WebSocket, 60000 in process. */
  caseTimeoutMs?: number;
  /**
   * Cases run at once at most, over WebSocket (default 4, as `lanesim conform`);
   * in process always 1 (one global fake clock).
   */
  concurrency?: number;
  /** Called after each case. */
  onProgress?: (done: number, total: number, result: CaseResult) => void;
}

/** Bad options, or a gateway that fails the preflight (not listening, wrong token, no model control): one line saying which and why. */
export class ConformanceOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConformanceOptionsError';
  }
}

/** A target built from options, with the command line that selects it (for replay lines). */
export interface ResolvedTarget {
  target: ConformanceTarget;
  /** `npx lanesim conform --url ...`: the prefix of each result's `replay`. */
  replayPrefix: string;
  /** Default wall-clock limit per case for this kind of target. */
  caseTimeoutMs: number;
}

/** Cases run at once over WebSocket by default: the CLI's DEFAULT_WS_CONCURRENCY (src/cli/conform.ts), repeated here so the library does not load the CLI. */
export const DEFAULT_WS_CONCURRENCY = 4;

const LOOPBACK_WS = /^wss?:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/;
const LOOPBACK_HTTP = /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/;

function isAdapter(value: unknown): value is GatewayAdapter {
  if (value === null || typeof value !== 'object') return false;
  const a = value as Partial<GatewayAdapter>;
  return typeof a.name === 'string' && (typeof a.createLaneQueue === 'function' || typeof a.createGateway === 'function' || typeof a.validateToolCall === 'function');
}

/** Builds the target `lanesim conform` would build for the same choice. Throws ConformanceOptionsError. */
export async function resolveTarget(options: TargetOptions): Promise<ResolvedTarget> {
  if (options.adapter !== undefined && options.url !== undefined) throw new ConformanceOptionsError('runConformance: give adapter or url, not both');
  if (options.adapter !== undefined) {
    if (!isAdapter(options.adapter)) {
      throw new ConformanceOptionsError('runConformance: adapter must be an object with a name and at least one of createLaneQueue, createGateway, validateToolCall');
    }
    let target: ConformanceTarget;
    try {
      target = targetFromAdapter(options.adapter);
    } catch (error) {
      throw new ConformanceOptionsError(`runConformance: adapter ${options.adapter.name}: ${(error as Error).message}`);
    }
    return { target, replayPrefix: `npx lanesim conform --adapter <your adapter: ${options.adapter.name}>`, caseTimeoutMs: 60_000 };
  }
  if (options.url !== undefined) {
    const o: UrlTargetOptions = typeof options.url === 'string' ? { url: options.url } : options.url;
    if (typeof o.url !== 'string' || !LOOPBACK_WS.test(o.url)) {
      throw new ConformanceOptionsError(`runConformance: url must be a ws:// URL on 127.0.0.1 (loopback only), got ${JSON.stringify(o.url)}`);
    }
    const timeScale = o.timeScale ?? 1;
    if (typeof timeScale !== 'number' || !Number.isFinite(timeScale) || timeScale <= 0) {
      throw new ConformanceOptionsError(`runConformance: timeScale must be a number > 0, got ${JSON.stringify(o.timeScale)}`);
    }
    if (o.modelControl !== undefined && (typeof o.modelControl !== 'string' || !LOOPBACK_HTTP.test(o.modelControl))) {
      throw new ConformanceOptionsError(`runConformance: modelControl must be an http:// URL on 127.0.0.1, got ${JSON.stringify(o.modelControl)}`);
    }
    if (o.token !== undefined && typeof o.token !== 'string') throw new ConformanceOptionsError('runConformance: token must be a string');
    let described: ReturnType<typeof blackBoxConfig> | null = null;
    if (o.config !== undefined) {
      try {
        const input = typeof o.config === 'string' ? await readConfigFile(o.config) : o.config;
        described = blackBoxConfig(input, typeof o.config === 'string' ? o.config : undefined);
      } catch (error) {
        if (error instanceof ConfigError) throw new ConformanceOptionsError(`runConformance: config: ${error.message.split('\n')[0]}`);
        throw error;
      }
    }
    // As the CLI: one connection, authenticated, and the model's control URL, before any case.
    try {
      await preflight({
        url: o.url,
        timeScale,
        ...(o.token !== undefined ? { token: o.token } : {}),
        ...(o.modelControl !== undefined ? { modelControlUrl: o.modelControl } : {}),
      });
    } catch (error) {
      if (error instanceof PreflightError) throw new ConformanceOptionsError(`runConformance: preflight: ${error.message}`);
      throw error;
    }
    const target = websocketTarget({
      url: o.url,
      timeScale,
      ...(o.token !== undefined ? { token: o.token } : {}),
      ...(o.modelControl !== undefined ? { modelControlUrl: o.modelControl } : {}),
      ...(described !== null ? { config: described.config, liveness: described.liveness, facts: described.facts, supports: described.supports } : {}),
    });
    const replayPrefix = `npx lanesim conform --url ${o.url}${o.token !== undefined ? ' --token <token>' : ''}${o.modelControl !== undefined ? ` --model-control ${o.modelControl}` : ''}${timeScale !== 1 ? ` --time-scale ${timeScale}` : ''}${typeof o.config === 'string' ? ` --config ${o.config}` : ''}`;
    return { target, replayPrefix, caseTimeoutMs: 120_000 };
  }
  return { target: referenceTarget(), replayPrefix: 'npx lanesim conform', caseTimeoutMs: 60_000 };
}

function checkList(name: string, value: readonly string[] | undefined): void {
  if (value !== undefined && (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== ''))) {
    throw new ConformanceOptionsError(`runConformance: ${name} must be a list of case ids or prefixes, got ${JSON.stringify(value)}`);
  }
}

/** Validates seed, caseTimeoutMs, concurrency, only and skip; returns the selected cases (never empty). */
export function checkRunOptions(options: Pick<RunConformanceOptions, 'only' | 'skip' | 'seed' | 'caseTimeoutMs' | 'concurrency'>, cases: readonly ConformanceCase[] = ALL_CASES): ConformanceCase[] {
  checkList('only', options.only);
  checkList('skip', options.skip);
  if (options.seed !== undefined) {
    try {
      assertSeed(options.seed);
    } catch (error) {
      throw new ConformanceOptionsError(`runConformance: seed: ${(error as Error).message}`);
    }
  }
  const t = options.caseTimeoutMs;
  if (t !== undefined && (!Number.isSafeInteger(t) || t < 1 || t > 2_147_483_647)) {
    throw new ConformanceOptionsError(`runConformance: caseTimeoutMs must be a whole number of milliseconds from 1 to 2147483647, got ${JSON.stringify(t)}`);
  }
  const c = options.concurrency;
  if (c !== undefined && (!Number.isSafeInteger(c) || c < 1 || c > 64)) {
    throw new ConformanceOptionsError(`runConformance: concurrency must be a whole number from 1 to 64, got ${JSON.stringify(c)}`);
  }
  const selected = selectCases(cases, options.only, options.skip);
  if (selected.length === 0) throw new ConformanceOptionsError('runConformance: only/skip select no case');
  return selected;
}

/**
 * Runs the catalogue (or the cases `only`/`skip` select) against one gateway
 * and returns the report `lanesim conform --json` writes. A failing case does
 * not throw: read `report.summary.mustFailed` (the CLI exits 1 when it is > 0).
 * Throws ConformanceOptionsError for bad options.
 */
export async function runConformance(options: RunConformanceOptions = {}): Promise<SuiteReport> {
  checkRunOptions(options);
  if (options.concurrency !== undefined && options.concurrency > 1 && options.url === undefined) {
    throw new ConformanceOptionsError('runConformance: concurrency above 1 needs url: in-process cases share one fake clock and run one at a time');
  }
  const resolved = await resolveTarget(options);
  try {
    return await runSuite({
      target: resolved.target,
      cases: ALL_CASES,
      ...(options.only !== undefined ? { only: options.only } : {}),
      ...(options.skip !== undefined ? { skip: options.skip } : {}),
      seed: options.seed ?? 1,
      replayPrefix: resolved.replayPrefix,
      caseTimeoutMs: options.caseTimeoutMs ?? resolved.caseTimeoutMs,
      concurrency: options.concurrency ?? (resolved.target.kind === 'websocket' ? DEFAULT_WS_CONCURRENCY : 1),
      // As the CLI without --transcript/--html: transcripts kept for failed and errored cases only.
      transcripts: 'failed',
      ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    });
  } finally {
    await resolved.target.dispose?.();
  }
}
