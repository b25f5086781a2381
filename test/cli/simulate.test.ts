import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { arbHostileConfigInput } from '../arbitraries/config-hostile.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { main } from '../../src/cli/main.ts';
import { MAX_PERIODIC_FIRINGS, periodicWork, simulateCommand, simulateScenario } from '../../src/cli/simulate.ts';
import { parseConfig } from '../../src/model/config.ts';
import { findScenario } from '../../src/scenarios/index.ts';
import { OPENCLAW_TODAY_PROFILE } from '../../src/reference-impl/profile.ts';
import { stalledStream } from '../../src/scenarios/stalled-stream.ts';
import type { Scenario } from '../../src/sim/scenario.ts';

let dir: string;
let lines: string[];
const out = (line: string): void => void lines.push(line);

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lanesim-cli-'));
  lines = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('lanesim simulate', () => {
  it('--list names every scenario', async () => {
    expect(await simulateCommand(['--list'], out)).toBe(0);
    const text = lines.join('\n');
    for (const name of ['nested-agent-cascade', 'message-burst', 'large-hour']) expect(text).toContain(name);
  });

  it('bad input: unknown scenario, bad seed, bad engine, bad config, unknown variant -> one-line UsageError (exit 2)', async () => {
    await expect(simulateCommand(['no-such-scenario'], out)).rejects.toThrow(/unknown scenario "no-such-scenario"/);
    await expect(simulateCommand(['stalled-stream', '--seed', 'abc'], out)).rejects.toThrow(/--seed: seed must be an integer/);
    await expect(simulateCommand(['stalled-stream', '--seed', '-1'], out)).rejects.toThrow(UsageError);
    await expect(simulateCommand(['stalled-stream', '--engine', 'warp'], out)).rejects.toThrow(/--engine must be one of/);
    await expect(simulateCommand(['stalled-stream', '--variant', 'nope'], out)).rejects.toThrow(/has no variant "nope"/);
    const bad = path.join(dir, 'bad.json5');
    await writeFile(bad, '{ messages: { queue: { mode: "sometimes" } } }');
    await expect(simulateCommand(['stalled-stream', '--config', bad], out)).rejects.toThrow(/messages\.queue\.mode must be one of/);
    await writeFile(bad, '{ messages: ');
    await expect(simulateCommand(['stalled-stream', '--config', bad], out)).rejects.toThrow(/not valid JSON5/);
    await expect(simulateCommand(['stalled-stream', '--config', path.join(dir, 'missing.json5')], out)).rejects.toThrow(/cannot read/);
    for (const error of [new UsageError('x')]) expect(error.exitCode).toBe(2);
  });

  it('writes --json, --trace (one file per variant) and --html, and the seed changes the trace', async () => {
    const json = path.join(dir, 'out.json');
    const trace = path.join(dir, 'trace.jsonl');
    const html = path.join(dir, 'out.html');
    const code = await simulateCommand(['stalled-stream', '--seed', '5', '--json', json, '--trace', trace, '--html', html], out);
    expect(code).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as { variant: string; seed: number; summary: { longestClientSilenceMs: number } }[];
    expect(report.map((r) => r.variant)).toEqual(['baseline', 'fixed']);
    expect(report[0]!.seed).toBe(5);
    expect(report[1]!.summary.longestClientSilenceMs).toBeLessThanOrEqual(15_000);
    const baselineTrace = (await readFile(path.join(dir, 'trace.baseline.jsonl'), 'utf8')).trim().split('\n');
    expect(JSON.parse(baselineTrace[0]!)).toHaveProperty('type');
    const page = await readFile(html, 'utf8');
    expect(page).toMatch(/^<!DOCTYPE html>/i);
    expect(lines.join('\n')).toContain('longest client silence');
  });

  it('a config file overrides the scenario: --config changes what runs', async () => {
    const config = path.join(dir, 'c.json5');
    await writeFile(config, '{ gateway: { heartbeat: { intervalMs: 5000, pingIntervalMs: 5000, deadAfterMs: 15000 } } }');
    const json = path.join(dir, 'o.json');
    expect(await simulateCommand(['stalled-stream', '--variant', 'fixed', '--config', config, '--json', json], out)).toBe(0);
    const [r] = JSON.parse(await readFile(json, 'utf8')) as { summary: { longestClientSilenceMs: number; heartbeatFrames: number } }[];
    expect(r!.summary.longestClientSilenceMs).toBeLessThanOrEqual(5_000);
    expect(r!.summary.heartbeatFrames).toBeGreaterThan(3);
  });

  it('exit code 1 with the seed and the first violating events when a non-baseline variant breaks an invariant', async () => {
    const broken: Scenario = {
      ...stalledStream,
      name: 'broken-stall',
      variants: [{ name: 'no-heartbeat', title: 'a gateway without heartbeats', profile: OPENCLAW_TODAY_PROFILE }],
    };
    const code = await simulateScenario(broken, ['no-heartbeat'], { seed: 13, engine: 'discrete-event' }, out);
    expect(code).toBe(1);
    const text = lines.join('\n');
    expect(text).toContain('FAIL broken-stall/no-heartbeat seed 13');
    expect(text).toMatch(/INV-SILENCE \(HB-1\) at t=\d+/);
    expect(text).toContain('replay: npx lanesim simulate broken-stall --variant no-heartbeat --seed 13 --engine discrete-event');
  });

  it('no arguments: the cascade comparison (the README quick start)', async () => {
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      expect(await main([])).toBe(0);
    } finally {
      process.stdout.write = original;
    }
    const text = written.join('');
    expect(text).toContain('nested-agent-cascade');
    expect(text).toMatch(/longest lane wait\s+\d+\.\d s/);
    expect(text).toMatch(/invariant violations\s+\d+\s+0\s+0/);
  });

  it('unknown command is a usage error', async () => {
    await expect(main(['frobnicate'])).rejects.toThrow(UsageError);
  });
});

describe('lanesim simulate --config: bad configs are one line, exit 2, never run (issue 15)', () => {
  /** Runs simulate with a config file holding `text`; returns the UsageError's message. */
  async function refusal(scenario: string, text: string): Promise<string> {
    const file = path.join(dir, 'config.json5');
    await writeFile(file, text);
    const error = await simulateCommand([scenario, '--config', file], out).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as Error).message;
    expect(message).not.toMatch(/[\n\r]/);
    expect(lines).toEqual([]);
    return message;
  }

  it('20,000 unknown keys: refused naming the first key, in one line', async () => {
    const keys = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`key${i}`, i]));
    const message = await refusal('stalled-stream', JSON.stringify(keys));
    expect(message).toMatch(/^config \(.*config\.json5\): key0 is not a known key$/);
  });

  it('10,000-deep arrays (the cloneData stack overflow): refused naming the path at the depth limit', async () => {
    const message = await refusal('stalled-stream', `{ models: ${'['.repeat(10_000)}1${']'.repeat(10_000)} }`);
    expect(message).toMatch(/: models(\[0\]){64} is nested deeper than 64 levels/);
    const objects = await refusal('stalled-stream', `{ gateway: ${'{a:'.repeat(5_000)}1${'}'.repeat(5_000)} }`);
    expect(objects).toMatch(/: gateway(\.a){64} is nested deeper than 64 levels/);
  });

  it('a key with a line break is shown escaped; a file that is not JSON5 names line and column', async () => {
    expect(await refusal('stalled-stream', '{ "mes\\nsages": {} }')).toContain('["mes\\nsages"] is not a known key');
    expect(await refusal('stalled-stream', '{ messages: { queue: ')).toMatch(/is not valid JSON5 \(line 1, column \d+\)/);
  });

  it('valid alone but invalid merged over the scenario: refused naming the key and the merge', async () => {
    // large-hour pings every 300 s: a deadAfterMs of 100 s is valid over the defaults, not over it.
    const message = await refusal('large-hour', '{ gateway: { heartbeat: { deadAfterMs: 100000 } } }');
    expect(message).toMatch(/gateway\.heartbeat\.deadAfterMs must be greater than gateway\.heartbeat\.pingIntervalMs \(300000\), got 100000/);
    expect(message).toMatch(/merged over the scenario's config/);
  });

  it('too much virtual work (a 1 ms tick with the largest debounce): refused up front with the reason', async () => {
    const t0 = performance.now();
    const message = await refusal('message-burst', '{ gateway: { tickIntervalMs: 1 }, messages: { queue: { mode: "collect", debounceMs: 2147483647 } } }');
    expect(message).toMatch(/too much virtual work for message-burst\/collect: ~1,200,\d{3} periodic timer firings \(1 connection\(s\) x up to 20 min x \(gateway\.tickIntervalMs 1, /);
    expect(message).toMatch(/over the bound of 250,000/);
    // Refused before anything ran (the run it replaces took 47 s).
    expect(performance.now() - t0).toBeLessThan(5_000);
    // The heartbeat and ping periods multiply the work too.
    expect(await refusal('stalled-stream', '{ gateway: { heartbeat: { intervalMs: 1 } } }')).toMatch(/gateway\.heartbeat\.intervalMs 1\)\)/);
    expect(await refusal('stalled-stream', '{ gateway: { heartbeat: { pingIntervalMs: 2, deadAfterMs: 5 } } }')).toMatch(/gateway\.heartbeat\.pingIntervalMs 2,/);
  });

  it('periodicWork counts the connections a scenario makes and scales with the periods', () => {
    const scenario = findScenario('global-cap-fairness')!;
    const variant = scenario.variants.find((v) => v.name === 'fixed')!;
    const base = periodicWork(scenario, variant, parseConfig({}), 1);
    expect(base.connections).toBe(40);
    expect(base.firings).toBeCloseTo(40 * scenario.limitMs * (1 / 30_000 + 1 / 15_000 + 1 / 14_000), 0);
    const faster = periodicWork(scenario, variant, parseConfig({ gateway: { tickIntervalMs: 3_000 } }), 1);
    expect(faster.firings - base.firings).toBeCloseTo(40 * scenario.limitMs * (1 / 3_000 - 1 / 30_000), 0);
    // Under the bound: it runs (the scenario's defaults stay well inside).
    expect(base.firings).toBeLessThan(MAX_PERIODIC_FIRINGS);
    // Today's OpenClaw (no heartbeats) has ticks only.
    const baseline = periodicWork(scenario, scenario.variants.find((v) => v.name === 'baseline')!, parseConfig({}), 1);
    expect(baseline.firings).toBeCloseTo(40 * scenario.limitMs / 30_000, 0);
  });
});

describe('lanesim simulate: output files that cannot be written', () => {
  it('--trace, --json and --html into a missing directory: one-line UsageError before the run', async () => {
    for (const flag of ['--trace', '--json', '--html']) {
      const target = path.join(dir, 'missing-dir', 'out.file');
      const error = await simulateCommand(['abort-and-clear', flag, target], out).then(() => null, (e: unknown) => e);
      expect(error, flag).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(new RegExp(`^simulate: ${flag}: cannot write .*missing-dir.*ENOENT`));
      expect((error as Error).message).not.toContain('\n');
      expect(lines, flag).toEqual([]);
    }
  });
});

describe('lanesim simulate --config <random or mutated config>', () => {
  it('every config runs (exit 0 or 1) or is refused with one line (exit 2), never anything else (25 configs)', async () => {
    // 300 configs over three scenarios ran once by hand: 84 exit 0, 1 exit 1, 211 refused, 4 refused for work.
    const file = path.join(dir, 'random.json');
    const seen = { ran: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(arbHostileConfigInput(), async (input) => {
        await writeFile(file, JSON.stringify(input) ?? 'null');
        try {
          const code = await simulateCommand(['abort-and-clear', '--variant', 'fixed', '--config', file], () => {});
          expect([0, 1]).toContain(code);
          seen.ran++;
        } catch (error) {
          if (!(error instanceof UsageError)) throw error;
          expect(error.message).not.toMatch(/[\n\r]/);
          seen.refused++;
        }
      }),
      { numRuns: 25 },
    );
    expect(seen.ran + seen.refused).toBe(25);
  });
});
