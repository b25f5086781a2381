/**
 * `lanesim simulate <scenario> [--seed N] [--config file.json5] [--variant V]
 *   [--engine fake-timers|discrete-event] [--json out.json] [--trace out.jsonl] [--html out.html]`
 * and `lanesim simulate --list`.
 *
 * Runs every variant of the scenario (or one), prints the comparison table,
 * and exits 1 when a variant that is not a baseline breaks an invariant,
 * printing the seed and the first violating events.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, parseConfig, readConfigFile } from '../model/config.ts';
import type { ConfigInput } from '../model/config-types.ts';
import { parseSeed } from '../model/prng.ts';
import { SCENARIOS, findScenario } from '../scenarios/index.ts';
import { ENGINE_NAMES, type EngineName } from '../sim/engine.ts';
import type { Scenario } from '../sim/scenario.ts';
import { runSimulation, type SimulationResult } from '../sim/simulation.ts';
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
  return simulateScenario(scenario, variants.map((v) => v.name), { seed, engine, override, trace: values.trace, json: values.json, html: values.html }, out);
}

/** Runs variants of any scenario (registered or not), reports, writes the files asked for; returns the exit code. */
export async function simulateScenario(
  scenario: Scenario,
  variantNames: string[],
  options: { seed: number; engine: EngineName; override?: ConfigInput; trace?: string; json?: string; html?: string },
  out: (line: string) => void,
): Promise<number> {
  const output = await runVariants(scenario, variantNames, { seed: options.seed, engine: options.engine, override: options.override, trace: options.trace, html: options.html !== undefined });
  printReport(scenario, output.results, out);
  if (options.json !== undefined) {
    await writeFile(options.json, `${JSON.stringify(output.results.map(resultToJson), null, 2)}\n`);
    out(`json: ${options.json}`);
  }
  if (options.html !== undefined) {
    await writeFile(options.html, renderHtmlReport(scenario, output.results));
    out(`html: ${options.html}`);
  }
  for (const path of output.tracePaths) out(`trace: ${path}`);
  return output.exitCode;
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
      stream = createWriteStream(path);
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
    if (writer !== null) await new Promise<void>((resolve, reject) => writer.end((error?: Error | null) => (error ? reject(error) : resolve())));
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
