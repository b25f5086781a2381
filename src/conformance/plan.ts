/**
 * What a user must set to run a case, said in the user's words (the flag or
 * the config key), and the gateway configurations that together cover the
 * catalogue (`lanesim conform --plan`).
 *
 * n/a reasons. Cases and targets say why a case cannot run in the harness's
 * words (`session.config`, a capability name); `missingCapabilityReason` and
 * `explainNotApplicable` turn those into "needs <setting> (<detail>)", where
 * <setting> is a flag (`--model-control URL`) or a config key
 * (`messages.queue.mode followup in the --config file`). `settingsOf(reason)`
 * gives the settings back, so a report can list every missing setting of a
 * run at once.
 *
 * The plan. A case's configuration needs are functions (gateway-support.ts
 * `needQueue`), not data, so the plan finds them by asking: it runs each
 * gateway case against a probe target whose session reports a configuration
 * with impossible queue values (mode `<probe>`, cap -1); a need answers
 * "needs messages.queue.mode followup; the gateway runs <probe>", the probe
 * sets that key and asks again, until the case gets past its needs (its
 * first connection stops it) or says something else. Cases whose needs can
 * share one configuration are merged; the result is the short list of
 * --config files that together run every case that needs one.
 */
import { DEFAULT_CONFIG, type LanesimConfig } from '../model/config-types.ts';
import { FULL_SUPPORT } from './support.ts';
import {
  NotApplicable,
  type Capability, type CaseContext, type ConformanceCase, type ConformanceTarget, type GatewayFacts, type GatewaySession,
} from './types.ts';

// ------------------------------------------------------------------ n/a reasons

/** The setting that gives a target each capability. */
const CAPABILITY_SETTING: Record<Capability, { websocket: string; inProcess: string }> = {
  lanes: {
    websocket: 'an in-process target with a lane queue (--adapter FILE implementing createLaneQueue, or --openclaw-queue): a lane queue is not observable over the wire',
    inProcess: 'an adapter implementing createLaneQueue (--adapter FILE), or --openclaw-queue',
  },
  gateway: {
    websocket: '--url ws://127.0.0.1:PORT',
    inProcess: 'an adapter implementing createGateway (--adapter FILE), or --url ws://127.0.0.1:PORT',
  },
  'model-script': {
    websocket: '--model-control URL (the control URL of `lanesim fake-model`, with the gateway using it as its model)',
    inProcess: 'an adapter implementing createGateway (--adapter FILE): the harness plays the model in process',
  },
  'raw-socket': {
    websocket: '--url ws://127.0.0.1:PORT',
    inProcess: '--url ws://127.0.0.1:PORT (a gateway over a real WebSocket: handshake, frames and pings are not modelled in process)',
  },
  tools: {
    websocket: '--adapter FILE implementing validateToolCall (the tool validator is called directly, in process)',
    inProcess: 'an adapter implementing validateToolCall (--adapter FILE)',
  },
  'virtual-time': {
    websocket: 'an in-process target (--adapter FILE): the case runs on a fake clock',
    inProcess: 'an adapter implementing createLaneQueue or createGateway (--adapter FILE)',
  },
};

/** "needs <setting> (<detail>)" for capabilities a target lacks, one per setting. */
export function missingCapabilityReason(missing: readonly Capability[], target: Pick<ConformanceTarget, 'kind'>): string {
  const settings = [...new Set(missing.map((cap) => CAPABILITY_SETTING[cap][target.kind === 'websocket' ? 'websocket' : 'inProcess']))];
  return settings.map((s) => `needs ${s}`).join('; ');
}

/**
 * Rewrites the harness's words in an n/a reason into the setting that would
 * enable the case (over WebSocket: flags and --config keys). Reasons that
 * describe what the gateway did (a precondition not met, a declared
 * unsupported feature) are kept as they are.
 */
export function explainNotApplicable(reason: string, target: Pick<ConformanceTarget, 'kind'>): string {
  const ws = target.kind === 'websocket';
  return reason.split('; ').reduce<string[]>((out, part) => {
    out.push(explainPart(part, ws, out));
    return out;
  }, []).filter((p) => p !== '').join('; ');
}

function explainPart(part: string, ws: boolean, before: readonly string[]): string {
  if (ws) {
    // A configuration need (gateway-support.ts needQueue, or a precondition on the configuration).
    const need = /^(?:precondition not met: )?needs ((?:messages|agents|gateway|diagnostics|cron)\.[\w.-]+) ([^\s;]+)(?: (.*))?$/.exec(part);
    if (need !== null) return `needs ${need[1]} ${need[2]} in the --config file (and the gateway run with it${need[3] !== undefined ? `, ${need[3].replace(/^\(|\)$/g, '')}` : ''})`;
    // "the gateway runs X": the detail of the need just before.
    const runs = /^the gateway (runs|has) (.+)$/.exec(part);
    if (runs !== null && before.length > 0 && before[before.length - 1]!.startsWith('needs ')) return `it ${runs[1]} ${runs[2]}`;
    if (/does not tell its gateway configuration \(session\.config\)/.test(part) || /does not tell its (?:queue mode|main cap) \(session\.config/.test(part)) {
      const said = /this case needs (.+)$/.exec(part)?.[1] ?? /\(session\.config: ([^)]+)\)/.exec(part)?.[1];
      // "a specific one" says nothing: point at the plan, which finds out which.
      const what = said === undefined || said === 'a specific one' ? 'a particular configuration: `lanesim conform --plan` shows which' : said;
      return `needs --config FILE (the gateway's configuration in lanesim's shape, SPEC CFG-1, the case needs ${what})`;
    }
    if (/^the target cannot script its model$|^the target does not show its model requests$/.test(part)) return `needs ${CAPABILITY_SETTING['model-script'].websocket}`;
    if (/^the target offers no raw socket$/.test(part)) return `needs ${CAPABILITY_SETTING['raw-socket'].websocket}`;
    if (/^the gateway has no token configured/.test(part)) return 'needs --token T (a gateway that requires a token)';
  } else {
    if (/^the target cannot script its model$|^the target does not show its model requests$/.test(part)) return `needs ${CAPABILITY_SETTING['model-script'].inProcess}`;
    if (/^the target offers no raw socket$/.test(part)) return `needs ${CAPABILITY_SETTING['raw-socket'].inProcess}`;
  }
  return part;
}

/** The settings an (explained) n/a reason names: the `needs X` parts, without their detail. */
export function settingsOf(reason: string): string[] {
  const out: string[] = [];
  for (const part of reason.split('; ')) {
    const m = /^needs (.+)$/.exec(part);
    if (m === null) continue;
    // The setting ends where its parenthesised detail begins.
    const setting = m[1]!.replace(/ \(.*$/, '').replace(/ in the --config file$/, ' in --config');
    if (!out.includes(setting)) out.push(setting);
  }
  return out;
}

/**
 * Every missing setting of a run's n/a results, with how many cases each would
 * enable, most first; `other` counts the n/a cases no setting would enable
 * (the gateway's own behaviour, a declaration).
 */
export function missingSettings(results: ReadonlyArray<{ status: string; reason: string }>): { settings: Array<{ setting: string; cases: number }>; other: number; total: number } {
  const counts = new Map<string, number>();
  let other = 0;
  let total = 0;
  for (const r of results) {
    if (r.status !== 'n/a') continue;
    total++;
    const settings = settingsOf(r.reason);
    if (settings.length === 0) other++;
    for (const s of settings) counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  const settings = [...counts].map(([setting, cases]) => ({ setting, cases })).sort((a, b) => b.cases - a.cases || a.setting.localeCompare(b.setting));
  return { settings, other, total };
}

// ------------------------------------------------------------------ plan

/** One configuration need of a case: a key path under the config and the value it needs. */
export interface ConfigRequirement {
  path: string;
  value: string | number | boolean;
}

export interface CaseNeeds {
  id: string;
  /** What the case's configuration needs (empty: any configuration). */
  requires: ConfigRequirement[];
  /** Queue modes / drop policies the case declares through `needs` (support.ts). */
  declared: string[];
  /** Set when the probe could not find out (the case said something else first). */
  unknown?: string;
}

export interface GatewayPlanEntry {
  /** The config keys to set (a --config file and the gateway both). */
  config: Record<string, unknown>;
  /** The cases that need exactly (or a subset of) this configuration. */
  cases: string[];
}

export interface GatewayPlan {
  entries: GatewayPlanEntry[];
  /** Cases that run under any configuration: listed with the entry `anyConfigEntry` (the fewest keys away from the defaults). */
  anyConfig: string[];
  anyConfigEntry: number;
  /** Gateway cases the probe could not place, with what they said. */
  unknown: Array<{ id: string; said: string }>;
}

class ProbeStop extends Error {
  constructor() {
    super('probe: the case got past its configuration needs');
    this.name = 'ProbeStop';
  }
}

const SENTINEL = '<probe>';

function probeConfig(requires: readonly ConfigRequirement[]): LanesimConfig {
  const config = JSON.parse(JSON.stringify(DEFAULT_CONFIG)) as Record<string, unknown>;
  // Impossible values: a case that needs any queue setting says so.
  setPath(config, 'messages.queue.mode', SENTINEL);
  setPath(config, 'messages.queue.drop', SENTINEL);
  setPath(config, 'messages.queue.cap', -1);
  setPath(config, 'messages.queue.byChannel', {});
  for (const r of requires) setPath(config, r.path, r.value);
  return config as unknown as LanesimConfig;
}

function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = root;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function getPath(root: unknown, path: string): unknown {
  let node = root;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function parseValue(text: string): string | number | boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

function probeSession(config: LanesimConfig): GatewaySession & { config: LanesimConfig } {
  const stop = (): never => {
    throw new ProbeStop();
  };
  const facts: GatewayFacts = { heartbeatIntervalMs: 15_000, warnThresholdMs: config.agents.defaults.lane.warnThresholdMs, tickIntervalMs: 30_000, maxPayload: null, token: 'probe' };
  return {
    config,
    facts,
    timeScale: 1,
    connect: async () => stop(),
    raw: async () => stop(),
    setModel: async () => stop(),
    modelRequests: async () => stop(),
    sleep: async () => stop(),
    sessionKey: (name) => `probe-${name}`,
    close: async () => {},
  };
}

/** The configuration needs of one gateway case, found by probing (see the module comment). */
export async function probeCaseNeeds(c: ConformanceCase): Promise<CaseNeeds> {
  const declared = (c.needs ?? []).flatMap((n) => ('queueMode' in n ? [`queue mode ${n.queueMode}`] : 'dropPolicy' in n ? [`drop ${n.dropPolicy}`] : []));
  const requires: ConfigRequirement[] = [];
  for (let attempt = 0; attempt < 8; attempt++) {
    const config = probeConfig(requires);
    const target: ConformanceTarget = {
      name: 'plan probe',
      kind: 'websocket',
      capabilities: new Set<Capability>(['gateway', 'model-script', 'raw-socket']),
      openGateway: async () => probeSession(config),
    };
    const ctx: CaseContext = {
      target,
      seed: 1,
      lanes: async () => {
        throw new NotApplicable('probe: no lanes');
      },
      advance: async () => {},
      now: () => 0,
      gateway: async () => probeSession(config),
      note: () => {},
      supports: FULL_SUPPORT,
    };
    let said: string;
    try {
      await c.run(ctx);
      return { id: c.id, requires, declared };
    } catch (error) {
      if (error instanceof ProbeStop) return { id: c.id, requires, declared };
      said = error instanceof Error ? error.message : String(error);
    }
    const need = /^(?:precondition not met: )?needs ((?:messages|agents|gateway|diagnostics|cron)\.[\w.-]+) ([^\s;]+)/.exec(said);
    if (need === null || requires.some((r) => r.path === need[1])) {
      // Anything else stops the case before its first connection: it runs under any configuration as far as the probe can tell.
      return { id: c.id, requires, declared, unknown: said };
    }
    requires.push({ path: need[1]!, value: parseValue(need[2]!) });
  }
  return { id: c.id, requires, declared, unknown: 'too many configuration needs' };
}

function compatible(a: readonly ConfigRequirement[], b: readonly ConfigRequirement[]): boolean {
  return a.every((x) => b.every((y) => x.path !== y.path || x.value === y.value));
}

/**
 * The fewest configurations (greedy, in catalogue order) that give every
 * gateway case the configuration it needs.
 */
export async function gatewayPlan(cases: readonly ConformanceCase[]): Promise<GatewayPlan> {
  const gatewayCases = cases.filter((c) => c.requires.includes('gateway') || c.requires.includes('model-script') || c.requires.includes('raw-socket'));
  const groups: Array<{ requires: ConfigRequirement[]; cases: string[] }> = [];
  const anyConfig: string[] = [];
  const unknown: Array<{ id: string; said: string }> = [];
  for (const c of gatewayCases) {
    const needs = await probeCaseNeeds(c);
    if (needs.unknown !== undefined && !/^precondition not met|^probe:/.test(needs.unknown) && needs.requires.length === 0 && !/needs /.test(needs.unknown)) {
      // Said something else before its first connection: placed with any configuration, and listed.
      unknown.push({ id: c.id, said: needs.unknown.split('\n')[0]! });
    }
    if (needs.requires.length === 0) {
      anyConfig.push(c.id);
      continue;
    }
    const group = groups.find((g) => compatible(g.requires, needs.requires));
    if (group === undefined) groups.push({ requires: [...needs.requires], cases: [c.id] });
    else {
      for (const r of needs.requires) if (!group.requires.some((x) => x.path === r.path)) group.requires.push(r);
      group.cases.push(c.id);
    }
  }
  if (groups.length === 0) groups.push({ requires: [], cases: [] });
  const entries = groups.map((g) => {
    const config: Record<string, unknown> = {};
    for (const r of [...g.requires].sort((a, b) => a.path.localeCompare(b.path))) setPath(config, r.path, r.value);
    return { config, cases: g.cases };
  });
  // The cases that need nothing go with the plainest configuration (fewest keys away from the defaults).
  const keys = groups.map((g) => g.requires.filter((r) => getPath(DEFAULT_CONFIG, r.path) !== r.value).length);
  const anyConfigEntry = keys.indexOf(Math.min(...keys));
  return { entries, anyConfig, anyConfigEntry, unknown };
}

/** JSON5-ish text of a config object: unquoted keys, single-quoted strings. */
export function json5(value: unknown, indent = ''): string {
  if (value === null || typeof value !== 'object') return typeof value === 'string' ? `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => json5(v, indent)).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  const inner = `${indent}  `;
  return `{\n${entries.map(([k, v]) => `${inner}${/^[A-Za-z_$][\w$]*$/.test(k) ? k : `'${k}'`}: ${json5(v, inner)},`).join('\n')}\n${indent}}`;
}

/** `lanesim conform --plan`: the configurations, as --config files to write, and what each covers. */
export function planText(plan: GatewayPlan, totalCases: number): string {
  const lines = [
    `lanesim conform --plan: ${plan.entries.length} gateway configuration(s) cover the ${plan.entries.reduce((n, e) => n + e.cases.length, 0) + plan.anyConfig.length} cases that reach a gateway (of ${totalCases} in the catalogue).`,
    'Start your gateway with each configuration in turn and run',
    '  npx lanesim conform --url ws://127.0.0.1:PORT --token T --model-control http://127.0.0.1:MPORT --config gateway-N.json5',
    'with the same configuration in gateway-N.json5 (lanesim\'s config shape, SPEC CFG-1; keys not shown keep their defaults).',
    'Add a `supports` key to declare what the gateway does not implement (support.ts); those cases are then n/a.',
  ];
  plan.entries.forEach((e, i) => {
    const withAny = i === plan.anyConfigEntry;
    const runs = withAny ? [...e.cases, ...plan.anyConfig] : e.cases;
    lines.push('', `// gateway-${i + 1}.json5: ${runs.length} case(s)${withAny && plan.anyConfig.length > 0 ? ` (${e.cases.length} need it, ${plan.anyConfig.length} run under any configuration)` : ''}`);
    lines.push(json5(e.config));
    lines.push(`// needed by: ${e.cases.length === 0 ? '(none: every case runs under any configuration)' : e.cases.join(', ')}`);
  });
  if (plan.unknown.length > 0) {
    lines.push('', 'Cases that stopped before connecting on the probe (they need no queue setting as far as the plan can tell; counted with the configurations any case can use):');
    for (const u of plan.unknown) lines.push(`  ${u.id}: ${u.said}`);
  }
  lines.push('', 'Lane and tool cases (lanes, tools, virtual-time) run in process only: --adapter FILE or --openclaw-queue.');
  return lines.join('\n');
}
