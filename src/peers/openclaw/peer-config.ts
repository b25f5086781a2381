/**
 * The real OpenClaw gateway as a conformance peer: the configuration the
 * peer runner writes for it (scripts/openclaw-peer.ts), what the suite is told
 * of it (lanesim's config shape plus the `supports` declaration), and what
 * OpenClaw itself said it did not take.
 *
 * Only behaviours OpenClaw 2026.9.6 has are run under their name. OpenClaw
 * migrates or drops some settings at start and logs it, e.g.
 *
 *   Moved deprecated messages.queue.mode "steer-backlog" → "followup"
 *   Removed retired runtime tuning knobs: messages.queue.debounceMs
 *
 * and its `chat.send` refuses parameters it does not know (`channel`,
 * `route`). The runner reads those words (`parseOpenClawNotices`, probes of
 * chat.send), tells the cases the configuration OpenClaw really runs (the
 * migrated mode, not the requested one), declares what it lacks in
 * `supports`, and reports each case that needs a refused setting as n/a
 * "not supported by OpenClaw 2026.9.6: <its words>" (`applyRefusals`).
 */
import type { SuiteReport } from '../../conformance/runner.ts';
import type { ConformanceCase, ConformanceTarget, TestClient } from '../../conformance/types.ts';
import { DROP_POLICIES, QUEUE_MODES, type DropPolicy, type QueueMode } from '../../model/config-types.ts';
import { OPENCLAW_VERSION } from './paths.ts';

/** The queue settings a peer run asks OpenClaw for (`messages.queue`), and the per-message modes the runner sends. */
export interface PeerQueueSettings {
  mode: QueueMode;
  cap: number;
  drop: DropPolicy;
  /** null: not set (OpenClaw's own behaviour). */
  debounceMs: number | null;
  /**
   * lanesim channel -> queue mode. OpenClaw's chat.send refuses `channel` but
   * takes a per-message `queueMode`: the runner sends `queueMode: <mode>`
   * instead of `channel: <name>` (PER_MESSAGE_QUEUE_MODE).
   */
  channelModes: Record<string, QueueMode>;
}

/** The seed's settings (BRIEF §2): followup, cap 20, summarize, debounce 500 ms (which OpenClaw 2026.9.6 retires: passed so it says so). */
export const DEFAULT_PEER_QUEUE: PeerQueueSettings = Object.freeze({ mode: 'followup', cap: 20, drop: 'summarize', debounceMs: 500, channelModes: {} });

/**
 * OpenClaw's dead-peer time as the suite is told it (`gateway.heartbeat.deadAfterMs`).
 * 2026.9.6 (dist/websocket-keepalive-*.mjs) pings every 25 s and gives each
 * ping a pong deadline 25 s after the ping was written, checked on the next
 * 25 s tick: a silent peer is closed (`cause=heartbeat-timeout`) 50 s after
 * connecting when the tick finds the deadline passed, else one tick later, at
 * 75 s (observed 50.0, 50.2, 75.0 s). Its design time is the deadline, 50 s:
 * the case then judges a 75 s close as late (HB-6), which it is.
 */
export const OPENCLAW_DEAD_PEER_MS = 50_000;

/** The coordinator is OpenClaw's default agent `main`; the cascade's coding agent is `coder` (CODER_SESSION_KEY agent:coder:main). */
export const CODER_AGENT_ID = 'coder';

export interface OpenClawConfigOptions {
  port: number;
  token: string;
  modelBaseUrl: string;
  queue: PeerQueueSettings;
  maxConcurrent: number;
  /** Workspaces of the two agents (the coder's holds src/config/loader.ts, which the cascade reads). */
  mainWorkspace: string;
  coderWorkspace: string;
  /** A `--peer-config` file's object, deep-merged last. */
  extra?: Record<string, unknown> | null;
}

/**
 * BRIEF §6's config that worked, isolated (no update checks, no channels),
 * the fake model as provider, and two agents: `main` (default, the
 * coordinator) and `coder`, each with its own workspace, so `sessions_send
 * {sessionKey: "agent:coder:main"}` has a configured target.
 */
export function openclawConfig(options: OpenClawConfigOptions): Record<string, unknown> {
  const queue: Record<string, unknown> = { mode: options.queue.mode, cap: options.queue.cap, drop: options.queue.drop };
  if (options.queue.debounceMs !== null) queue['debounceMs'] = options.queue.debounceMs;
  const config: Record<string, unknown> = {
    gateway: { mode: 'local', port: options.port, bind: 'loopback', auth: { mode: 'token', token: options.token } },
    update: { checkOnStart: false },
    agents: {
      defaults: { model: { primary: 'fake/fake-model' }, maxConcurrent: options.maxConcurrent },
      entries: {
        // The first entry is the default agent (2026.9.6 retires `default` markers: `Removed retired agents.entries.*.default markers.`).
        main: { workspace: options.mainWorkspace },
        [CODER_AGENT_ID]: { workspace: options.coderWorkspace },
      },
    },
    // 2026.9.6 hides large tool catalogs behind tool_search / tool_describe / tool_call when this is unset
    // (its agent was offered 12 tools, no sessions_send): off, so the agent has sessions_send as a tool of its own.
    tools: { toolSearch: false },
    messages: { queue },
    models: {
      mode: 'merge',
      providers: {
        fake: {
          baseUrl: options.modelBaseUrl,
          apiKey: 'x',
          api: 'openai-completions',
          models: [{
            id: 'fake-model',
            name: 'lanesim fake model',
            reasoning: false,
            input: ['text'],
            cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
            contextWindow: 128_000,
            maxTokens: 4_096,
          }],
        },
      },
    },
  };
  return options.extra ? deepMerge(config, options.extra) : config;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `extra` over `base`: objects merge key by key, anything else replaces. Neither input is changed. */
export function deepMerge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    const have = out[key];
    out[key] = isPlainObject(have) && isPlainObject(value) ? deepMerge(have, value) : value;
  }
  return out;
}

/** The queue settings a `--peer-config` object sets (its `messages.queue`), over `queue`; bad values are refused with the key path. */
export function queueFromPeerConfig(queue: PeerQueueSettings, extra: Record<string, unknown> | null): PeerQueueSettings {
  const q = isPlainObject(extra) && isPlainObject(extra['messages']) && isPlainObject(extra['messages']['queue']) ? extra['messages']['queue'] : null;
  if (q === null) return queue;
  const out: PeerQueueSettings = { ...queue, channelModes: { ...queue.channelModes } };
  if (q['mode'] !== undefined) {
    if (!QUEUE_MODES.includes(q['mode'] as QueueMode)) throw new RangeError(`--peer-config messages.queue.mode must be one of ${QUEUE_MODES.join(', ')}, got ${JSON.stringify(q['mode'])}`);
    out.mode = q['mode'] as QueueMode;
  }
  if (q['cap'] !== undefined) {
    if (!Number.isInteger(q['cap']) || (q['cap'] as number) < 1) throw new RangeError(`--peer-config messages.queue.cap must be an integer >= 1, got ${JSON.stringify(q['cap'])}`);
    out.cap = q['cap'] as number;
  }
  if (q['drop'] !== undefined) {
    if (!DROP_POLICIES.includes(q['drop'] as DropPolicy)) throw new RangeError(`--peer-config messages.queue.drop must be one of ${DROP_POLICIES.join(', ')}, got ${JSON.stringify(q['drop'])}`);
    out.drop = q['drop'] as DropPolicy;
  }
  if (q['debounceMs'] !== undefined) {
    if (!Number.isInteger(q['debounceMs']) || (q['debounceMs'] as number) < 0) throw new RangeError(`--peer-config messages.queue.debounceMs must be an integer >= 0, got ${JSON.stringify(q['debounceMs'])}`);
    out.debounceMs = q['debounceMs'] as number;
  }
  return out;
}

// ------------------------------------------------------------------ what OpenClaw said

/** A setting OpenClaw did not take, in its own words. */
export interface OpenClawRefusal {
  /** What was refused: `messages.queue.mode=steer-backlog`, `messages.queue.debounceMs`, `chat.send channel`, `chat.send route`. */
  setting: string;
  /** OpenClaw's words (a log line, or a chat.send error message). */
  words: string;
  /** For a migrated value: what OpenClaw runs instead. */
  becomes?: string;
}

function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

/**
 * The migration and retired-setting notices in an OpenClaw gateway log
 * (stdout/stderr of `gateway run --verbose`, or its JSONL file log):
 * `Moved deprecated <path> "<from>" → "<to>"` and `Removed retired runtime
 * tuning knobs: <path>[, <path>...]`. One refusal per setting, first words kept.
 */
export function parseOpenClawNotices(log: string): OpenClawRefusal[] {
  const out = new Map<string, OpenClawRefusal>();
  for (const raw of stripAnsi(log).split('\n')) {
    // A JSONL record carries the text in its message fields; the plain log has it inline: match on the text either way.
    const line = raw.replace(/\\"/g, '"');
    for (const m of line.matchAll(/Moved deprecated ([A-Za-z0-9_.]+) "([^"]+)" (?:→|->) "([^"]+)"/g)) {
      const setting = `${m[1]}=${m[2]}`;
      if (!out.has(setting)) out.set(setting, { setting, words: `Moved deprecated ${m[1]} "${m[2]}" → "${m[3]}"`, becomes: m[3]! });
    }
    // In a boxed doctor notice: `│  - Removed retired runtime tuning knobs: messages.queue.debounceMs;    │`.
    const retired = /Removed retired runtime tuning knobs: ([A-Za-z0-9_.]+(?:,\s*[A-Za-z0-9_.]+)*)/.exec(line);
    if (retired !== null) {
      for (const path of retired[1]!.split(',').map((p) => p.trim()).filter((p) => /^[A-Za-z0-9_.]+$/.test(p))) {
        if (!out.has(path)) out.set(path, { setting: path, words: `Removed retired runtime tuning knobs: ${path}` });
      }
    }
  }
  return [...out.values()];
}

/** The queue mode OpenClaw runs after its migrations. */
export function effectiveQueueMode(requested: QueueMode, refusals: readonly OpenClawRefusal[]): QueueMode {
  const moved = refusals.find((r) => r.setting === `messages.queue.mode=${requested}`);
  return moved?.becomes !== undefined && QUEUE_MODES.includes(moved.becomes as QueueMode) ? (moved.becomes as QueueMode) : requested;
}

/** Queue modes OpenClaw migrates away (it does not run them). */
export function refusedQueueModes(refusals: readonly OpenClawRefusal[]): QueueMode[] {
  return QUEUE_MODES.filter((m) => refusals.some((r) => r.setting === `messages.queue.mode=${m}`));
}

export function debounceRetired(refusals: readonly OpenClawRefusal[]): OpenClawRefusal | undefined {
  return refusals.find((r) => r.setting === 'messages.queue.debounceMs');
}

/**
 * The `supports` declaration of the --config file, from what OpenClaw took:
 * queue modes without the migrated ones; channels only through the runner's
 * per-message queueMode (chat.send refuses `channel`); no routes (refused);
 * nested agents (the coder is configured); no nestedAgentParallel setting.
 */
export function supportsDeclaration(refusals: readonly OpenClawRefusal[], queue: PeerQueueSettings): Record<string, unknown> {
  const refused = new Set(refusedQueueModes(refusals));
  return {
    queueModes: QUEUE_MODES.filter((m) => !refused.has(m)),
    dropPolicies: [...DROP_POLICIES],
    channels: Object.keys(queue.channelModes).length > 0 && !refusals.some((r) => r.setting === 'chat.send queueMode'),
    routes: !refusals.some((r) => r.setting === 'chat.send route'),
    nestedAgents: true,
    nestedAgentParallel: false,
  };
}

/**
 * What the cases are told (lanesim's config shape, docs/SPEC.md CFG-1, read
 * with blackBoxConfig as `conform --url ... --config` reads it): the main cap,
 * the queue OpenClaw really runs (after its migrations), the channels the
 * runner maps to per-message queueMode, OpenClaw's dead-peer time, and the
 * `supports` declaration.
 */
export function lanesimView(options: { queue: PeerQueueSettings; maxConcurrent: number; refusals: readonly OpenClawRefusal[] }): Record<string, unknown> {
  const q = options.queue;
  const queue: Record<string, unknown> = { mode: effectiveQueueMode(q.mode, options.refusals), cap: q.cap, drop: q.drop };
  if (q.debounceMs !== null) queue['debounceMs'] = q.debounceMs;
  if (Object.keys(q.channelModes).length > 0) queue['byChannel'] = { ...q.channelModes };
  return {
    agents: { defaults: { maxConcurrent: options.maxConcurrent } },
    messages: { queue },
    gateway: { heartbeat: { deadAfterMs: OPENCLAW_DEAD_PEER_MS } },
    supports: supportsDeclaration(options.refusals, q),
  };
}

/** Cases that judge a collect debounce (their procedure names debounceMs): meaningless where OpenClaw retired it. */
export function judgesDebounce(c: ConformanceCase): boolean {
  return /debounceMs/.test(`${c.title} ${c.procedure}`);
}

export function notSupported(refusal: OpenClawRefusal): string {
  return `not supported by OpenClaw ${OPENCLAW_VERSION}: ${refusal.words}`;
}

/** Which n/a reasons a refusal explains (the case needed the refused setting). */
function explains(refusal: OpenClawRefusal, reason: string): boolean {
  if (refusal.setting.startsWith('messages.queue.mode=')) {
    const mode = refusal.setting.slice('messages.queue.mode='.length);
    return new RegExp(`(mode|queueModes[^;]*) ${mode.replace(/[-]/g, '\\-')}\\b`).test(reason) || reason.includes(`supports.queueModes does not list ${mode}`);
  }
  if (refusal.setting === 'chat.send channel') return /byChannel|supports\.channels/.test(reason);
  if (refusal.setting === 'chat.send route') return /\broutes?\b/.test(reason);
  return false;
}

/**
 * The report with each n/a that a refusal explains reworded "not supported by
 * OpenClaw 2026.9.6: <its words>" (the case's own reason kept after it).
 */
export function applyRefusals(report: SuiteReport, refusals: readonly OpenClawRefusal[]): SuiteReport {
  const results = report.results.map((r) => {
    if (r.status !== 'n/a' || r.reason.startsWith('not supported by OpenClaw')) return r;
    const refusal = refusals.find((x) => explains(x, r.reason));
    return refusal === undefined ? r : { ...r, reason: `${notSupported(refusal)} (${r.reason})` };
  });
  return { ...report, results };
}

/**
 * The runner's per-message queue mode: chat.send params with `channel: c`
 * become `queueMode: <channelModes[c]>` (OpenClaw 2026.9.6 refuses `channel`
 * and accepts `queueMode`); a channel with no mode is left as is, so the
 * gateway answers it as it does.
 */
export function perMessageQueueMode(params: unknown, channelModes: Readonly<Record<string, QueueMode>>): unknown {
  if (!isPlainObject(params) || typeof params['channel'] !== 'string') return params;
  const mode = channelModes[params['channel']];
  if (mode === undefined) return params;
  const { channel: _channel, ...rest } = params;
  return { ...rest, queueMode: mode };
}

/**
 * The target with the runner's per-message queue mode: each client's
 * chat.send `{channel}` goes out as `{queueMode}` (perMessageQueueMode);
 * everything else of the session and its clients is the target's own.
 */
export function withPerMessageQueueMode(target: ConformanceTarget, channelModes: Readonly<Record<string, QueueMode>>): ConformanceTarget {
  if (Object.keys(channelModes).length === 0 || target.openGateway === undefined) return target;
  const open = target.openGateway.bind(target);
  const wrapClient = (client: TestClient): TestClient => new Proxy(client, {
    get(t, p) {
      if (p === 'request') return (method: string, params?: unknown) => t.request(method, method === 'chat.send' ? perMessageQueueMode(params, channelModes) : params);
      const v = Reflect.get(t, p, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  return {
    ...target,
    openGateway: async (o) => {
      const session = await open(o);
      return new Proxy(session, {
        get(t, p) {
          if (p === 'connect') return async (name: string) => wrapClient(await t.connect(name));
          const v = Reflect.get(t, p, t) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        },
      });
    },
  };
}
