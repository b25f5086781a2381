/**
 * `lanesim conform --explore N --explore-only`, `--replay FILE|SEED[:PATH]|lanes:SEED`
 * (src/cli/conform-explore.ts, reached through conformCommand): the output,
 * the exit codes, and one clear line for bad input.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformCommand } from '../../src/cli/conform.ts';
import { UsageError } from '../../src/cli/errors.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lanesim-explore-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await conformCommand(argv, (l) => lines.push(l), () => {});
  return { code, out: lines.join('\n') };
}

describe('conform --explore / --replay', () => {
  it('--explore 30 --explore-only runs the lane and gateway halves on the reference: exit 0', async () => {
    const { code, out } = await run(['--explore', '30', '--explore-only', '--seed', '3']);
    expect(code).toBe(0);
    expect(out).toMatch(/explore lanes: 30 lane workload\(s\) against lanesim-reference's lane queue, seed 3/);
    expect(out).toMatch(/explore: 30 workload\(s\) against lanesim-reference, seed 3, .*no divergence from the reference, no invariant violated/);
  }, 120_000);

  it('--replay of a seed and of a lane seed replays one workload: exit 0 on the reference', async () => {
    const gateway = await run(['--replay', '12345']);
    expect(gateway.code).toBe(0);
    expect(gateway.out).toMatch(/^replay 12345 against lanesim-reference:/);
    expect(gateway.out).toContain('no divergence from the reference');
    const lanes = await run(['--replay', 'lanes:12345']);
    expect(lanes.code).toBe(0);
    expect(lanes.out).toContain('no difference from the reference queue');
  }, 120_000);

  it('bad input is one UsageError line (exit 2 in the CLI), naming the field', async () => {
    await expect(run(['--explore', 'many', '--explore-only'])).rejects.toThrow(UsageError);
    await expect(run(['--explore', '0', '--explore-only'])).rejects.toThrow(/--explore must be a whole number of workloads from 1 to 1000000, got "0"/);
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ version: 1, sessions: 1, clients: 1, config: { mainMaxConcurrent: 0 }, steps: [] }));
    await expect(run(['--replay', bad])).rejects.toThrow(/config\.mainMaxConcurrent must be an integer 1\.\.64/);
    await expect(run(['--replay', path.join(dir, 'missing.json')])).rejects.toThrow(/cannot read .*missing\.json/);
  }, 120_000);
});
