/**
 * `lanesim simulate <scenario> [--seed N] [--config file.json5] [--variant V]
 *   [--engine fake-timers|discrete-event] [--json out.json] [--trace out.jsonl] [--html out.html]`
 * and `lanesim simulate --list`.
 *
 * Runs every variant of the scenario (or one), prints the comparison table,
 * and exits 1 when a variant that is not a baseline breaks an invariant,
 * printing the seed and the first violating events.
 *
 * Bad input never runs and never shows a stack trace: a `--config` is
 * validated on its own (errors name the file and the key path) and merged
 * over each variant's config (errors name `<scenario>/<variant>`), and its
 * virtual work is bounded up front (see {@link periodicWork}); each refusal
 * is one line, exit 2.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, parseConfig, readConfigFile } from '../model/config.ts';
import type { ConfigInput, LanesimConfig } from '../model/config-types.ts';
import { Prng, parseSeed } from '../model/prng.ts';
import { heartbeatMarginMs } from '../reference-impl/gateway.ts';
import { SCENARIOS, findScenario } from '../scenarios/index.ts';
import { ENGINE_NAMES, type EngineName } from '../sim/engine.ts';
import type { Scenario, ScenarioContext, ScenarioVariant } from '../sim/scenario.ts';
import { effectiveConfig, runSimulation, type SimulationResult } from '../sim/simulation.ts';
import { comparisonTable, describeEvent, lostMessages, violationSummary } from '../report/comparison.ts';
import { table } from '../report/format.ts';
import { renderHtmlReport } from '../report/html.ts';
import { resultToJson } from '../report/json.ts';
import { UsageError } from './errors.ts';

export interface SimulateOutput {
  results: SimulationResult[];
  exitCode: number;
}

export function listScenarios(): string {
  return table([
    ['scenario', 'default seed', 'engine', 'variants', 'title'],
    ...SCENARIOS.map((s) => [s.name, String(s.defaultSeed), s.defaultEngine, s.variants.map((v) => v.name).join(','), s.title]),
  ]);
}

export async function simulateCommand(argv: string[], out: (line: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        list: { type: 'boolean' },
        seed: { type: 'string' },
        config: { type: 'string' },
        variant: { type: 'string' },
        engine: { type: 'string' },
        json: { type: 'string' },
        trace: { type: 'string' },
        html: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(`simulate: ${(error as Error).message}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out('usage: lanesim simulate <scenario> [--seed N] [--config file.json5] [--variant NAME] [--engine fake-timers|discrete-event] [--json out.json] [--trace out.jsonl] [--html out.html]');
    out('       lanesim simulate --list');
    return 0;
  }
  if (values.list) {
    out(listScenarios());
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`simulate: expected one scenario name, got ${positionals.length} (try --list)`);
  const scenario = findScenario(positionals[0]!);
  if (scenario === undefined) {
    throw new UsageError(`simulate: unknown scenario ${JSON.stringify(positionals[0])}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  }
  let seed = scenario.defaultSeed;
  if (values.seed !== undefined) {
    try {
      seed = parseSeed(values.seed);
    } catch (error) {
      throw new UsageError(`simulate: --seed: ${(error as Error).message}`);
    }
  }
  let engine: EngineName = scenario.defaultEngine;
  if (values.engine !== undefined) {
    if (!ENGINE_NAMES.includes(values.engine as EngineName)) {
      throw new UsageError(`simulate: --engine must be one of ${ENGINE_NAMES.join(', ')}, got ${JSON.stringify(values.engine)}`);
    }
    engine = values.engine as EngineName;
  }
  let override: ConfigInput | undefined;
  if (values.config !== undefined) {
    try {
      override = await readConfigFile(values.config);
      // Validate it on its own first, so its errors name the file.
      parseConfig(override, { source: values.config });
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(error.message);
      throw new UsageError(`simulate: --config: ${(error as Error).message}`);
    }
  }
  const variants = values.variant === undefined ? scenario.variants : scenario.variants.filter((v) => v.name === values.variant);
  if (variants.length === 0) {
    throw new UsageError(`simulate: scenario ${scenario.name} has no variant ${JSON.stringify(values.variant)}; known: ${scenario.variants.map((v) => v.name).join(', ')}`);
  }
  if (override !== undefined) {
    for (const variant of variants) checkOverride(scenario, variant, override, values.config!, seed);
  }
  return simulateScenario(scenario, variants.map((v) => v.name), { seed, engine, override, trace: values.trace, json: values.json, html: values.html }, out);
}

// ------------------------------------------------------------ virtual work

/**
 * The bound on a `--config`'s virtual work: estimated periodic timer
 * firings (see {@link periodicWork}) of at most this many, or twice what the
 * scenario's own config of the same variant does, whichever is larger (so
 * large-hour's 10,000 connections keep their default). Measured on the
 * 2-core dev container: message-burst/collect with gateway.tickIntervalMs 5
 * and messages.queue.debounceMs 2147483647 (estimate ~240,000: it runs to its
 * 20-minute limit) simulated in 4.2 s (7.2 s for the whole process), with
 * gateway.heartbeat.intervalMs 6 instead in 3.4 s; a 1 ms tick (estimate
 * ~1,200,000, the 47 s run of issue 15) is refused.
 */
export const MAX_PERIODIC_FIRINGS = 250_000;

export interface PeriodicWork {
  /** Estimated timer firings times the connections they reach. */
  firings: number;
  connections: number;
  limitMs: number;
  /** Firings per connection per virtual second, by key. */
  perSecond: { tick: number; ping: number; heartbeat: number };
}

/**
 * What multiplies a simulation's virtual work is periodic: every connection
 * gets a `tick` every `gateway.tickIntervalMs` and a ping every
 * `gateway.heartbeat.pingIntervalMs` for the whole run, and each waiting
 * connection a heartbeat every `gateway.heartbeat.intervalMs` (minus its
 * margin) while it hears nothing else. A run lasts until the workload
 * settles, and at most the scenario's `limitMs` (a variant whose profile
 * has no heartbeats has ticks only); a config can keep it from
 * settling (a `messages.queue.debounceMs` of days holds collected messages
 * until the limit), so the estimate takes the whole limit:
 *   connections x limitMs x (1/tick + 1/ping + 1/(heartbeat - margin)).
 * Everything else a config sets (caps, concurrency, warn thresholds) changes
 * how the same work is ordered, not how much of it there is.
 */
export function periodicWork(scenario: Scenario, variant: ScenarioVariant, config: LanesimConfig, seed: number): PeriodicWork {
  const hb = config.gateway.heartbeat;
  // A profile without heartbeats (today's OpenClaw) has no pings or heartbeat timers either.
  const beats = variant.profile.heartbeat;
  const perMs = {
    tick: 1 / config.gateway.tickIntervalMs,
    ping: beats ? 1 / hb.pingIntervalMs : 0,
    heartbeat: beats ? 1 / Math.max(1, hb.intervalMs - heartbeatMarginMs(hb.intervalMs)) : 0,
  };
  const connections = countConnections(scenario, variant, config, seed);
  const firings = connections * scenario.limitMs * (perMs.tick + perMs.ping + perMs.heartbeat);
  return {
    firings,
    connections,
    limitMs: scenario.limitMs,
    perSecond: { tick: perMs.tick * 1000, ping: perMs.ping * 1000, heartbeat: perMs.heartbeat * 1000 },
  };
}

/**
 * How many clients the scenario connects: its setup runs against an inert
 * context that counts `client()` calls and schedules nothing (scenarios
 * connect their clients in setup). A setup that fails against it counts the
 * clients it made so far, at least one.
 */
function countConnections(scenario: Scenario, variant: ScenarioVariant, config: LanesimConfig, seed: number): number {
  // Any property is a function returning the same inert thing; it is never a thenable.
  const inert: unknown = new Proxy(function inert() {}, {
    get: (_target, prop) => (prop === 'then' ? undefined : prop === Symbol.toPrimitive ? () => 0 : inert),
    apply: () => inert,
  });
  let clients = 0;
  const ctx: ScenarioContext = {
    clock: inert as ScenarioContext['clock'],
    prng: new Prng(seed).fork(),
    gateway: inert as ScenarioContext['gateway'],
    config,
    variant,
    client: () => {
      clients++;
      return inert as ReturnType<ScenarioContext['client']>;
    },
    at: () => {},
  };
  try {
    scenario.setup(ctx);
  } catch {
    // Counted so far is a lower bound; the scenario's real run will report its own error.
  }
  return Math.max(1, clients);
}

/** Validates a `--config` merged over one variant and bounds its virtual work; UsageError otherwise. */
function checkOverride(scenario: Scenario, variant: ScenarioVariant, override: ConfigInput, file: string, seed: number): void {
  let config: LanesimConfig;
  let own: LanesimConfig;
  try {
    config = effectiveConfig(scenario, variant, override);
    own = effectiveConfig(scenario, variant);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`${error.message} (${file} merged over the scenario's config)`);
    throw error;
  }
  const work = periodicWork(scenario, variant, config, seed);
  const bound = Math.max(MAX_PERIODIC_FIRINGS, 2 * periodicWork(scenario, variant, own, seed).firings);
  if (work.firings <= bound) return;
  const g = config.gateway;
  throw new UsageError(
    `simulate: --config ${file}: too much virtual work for ${scenario.name}/${variant.name}: ` +
      `~${Math.round(work.firings).toLocaleString('en-US')} periodic timer firings (${work.connections} connection(s) x up to ${work.limitMs / 60_000} min x ` +
      `(gateway.tickIntervalMs ${g.tickIntervalMs}, gateway.heartbeat.pingIntervalMs ${g.heartbeat.pingIntervalMs}, gateway.heartbeat.intervalMs ${g.heartbeat.intervalMs})), ` +
      `over the bound of ${Math.round(bound).toLocaleString('en-US')}: raise those periods`,
  );
}

/** Runs variants of any scenario (registered or not), reports, writes the files asked for; returns the exit code. */
export async function simulateScenario(
  scenario: Scenario,
  variantNames: string[],
  options: { seed: number; engine: EngineName; override?: ConfigInput; trace?: string; json?: string; html?: string },
  out: (line: string) => void,
): Promise<number> {
  // Output files that cannot be written are bad input too: found before the run, one line each.
  for (const [flag, file] of [['--json', options.json], ['--html', options.html]] as const) {
    if (file !== undefined) await writeOutput(flag, file, '');
  }
  const output = await runVariants(scenario, variantNames, { seed: options.seed, engine: options.engine, override: options.override, trace: options.trace, html: options.html !== undefined });
  printReport(scenario, output.results, out);
  if (options.json !== undefined) {
    await writeOutput('--json', options.json, `${JSON.stringify(output.results.map(resultToJson), null, 2)}\n`);
    out(`json: ${options.json}`);
  }
  if (options.html !== undefined) {
    await writeOutput('--html', options.html, renderHtmlReport(scenario, output.results));
    out(`html: ${options.html}`);
  }
  for (const path of output.tracePaths) out(`trace: ${path}`);
  return output.exitCode;
}

async function writeOutput(flag: string, file: string, text: string): Promise<void> {
  try {
    await writeFile(file, text);
  } catch (error) {
    throw new UsageError(`simulate: ${flag}: cannot write ${file}: ${(error as Error).message}`);
  }
}

/** A trace file opened before the run: an unwritable path is a UsageError, not an unhandled stream error. */
async function openTrace(file: string): Promise<WriteStream> {
  const stream = createWriteStream(file);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (error) => reject(new UsageError(`simulate: --trace: cannot write ${file}: ${error.message}`)));
  });
  // A write that fails later (a full disk) is reported by end()'s callback, not thrown from the stream.
  stream.on('error', () => {});
  return stream;
}

async function runVariants(
  scenario: Scenario,
  names: string[],
  options: { seed: number; engine: EngineName; override: ConfigInput | undefined; trace: string | undefined; html: boolean },
): Promise<SimulateOutput & { tracePaths: string[] }> {
  const results: SimulationResult[] = [];
  const tracePaths: string[] = [];
  for (const name of names) {
    const variant = scenario.variants.find((v) => v.name === name)!;
    let stream: WriteStream | null = null;
    if (options.trace !== undefined) {
      const path = names.length === 1 ? options.trace : options.trace.replace(/(\.jsonl)?$/, `.${name}.jsonl`);
      stream = await openTrace(path);
      tracePaths.push(path);
    }
    const writer = stream;
    const result = await runSimulation({
      scenario,
      variant,
      seed: options.seed,
      engine: options.engine,
      config: options.override,
      timeline: options.html,
      onEvent: writer === null ? undefined : (event) => writer.write(`${JSON.stringify(event)}\n`),
    });
    if (writer !== null) {
      await new Promise<void>((resolve, reject) =>
        writer.end((error?: Error | null) => (error ? reject(new UsageError(`simulate: --trace: cannot write ${writer.path.toString()}: ${error.message}`)) : resolve())),
      );
    }
    results.push(result);
  }
  const failing = results.filter((r) => !r.baseline && r.violations.length > 0);
  return { results, exitCode: failing.length > 0 ? 1 : 0, tracePaths };
}

export function printReport(scenario: Scenario, results: readonly SimulationResult[], out: (line: string) => void): void {
  const first = results[0];
  if (first === undefined) return;
  out(`lanesim: ${scenario.name} (seed ${first.seed}, ${first.engine} engine, virtual time)`);
  out(scenario.title);
  out('');
  const titles = results.map((r) => scenario.variants.find((v) => v.name === r.variant)?.title ?? r.variant);
  out(comparisonTable(results, titles));
  out('');
  for (const r of results) {
    const tag = r.baseline ? ' (a model of today\'s gateway: these are the incident, expected)' : '';
    out(`${r.variant}: violations ${violationSummary(r)}${r.violations.length > 0 ? tag : ''}; ${r.metrics.messages} messages, ${lostMessages(r)} lost; ${(r.endMs / 1000).toFixed(1)} s simulated in ${r.wallMs.toFixed(0)} ms${r.traceHash ? `; trace sha256 ${r.traceHash.slice(0, 16)}` : ''}`);
  }
  const failing = results.filter((r) => !r.baseline && r.violations.length > 0);
  for (const r of failing) {
    out('');
    out(`FAIL ${scenario.name}/${r.variant} seed ${r.seed}: ${r.violations.length} invariant violation(s); first:`);
    for (const v of r.violations.slice(0, 3)) {
      out(`  ${v.invariant} (${v.rule}) at t=${v.t}: ${v.message}`);
      for (const e of v.events.slice(0, 4)) out(`    ${describeEvent(e)}`);
    }
    out(`  replay: npx lanesim simulate ${scenario.name} --variant ${r.variant} --seed ${r.seed} --engine ${r.engine}`);
  }
}
