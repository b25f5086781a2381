import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.ts';
import { main } from '../../src/cli/main.ts';
import { simulateCommand, simulateScenario } from '../../src/cli/simulate.ts';
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
