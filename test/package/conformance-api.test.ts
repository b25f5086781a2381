/**
 * The public API of `lanesim/conformance` (src/conformance/index.ts, api.ts),
 * from the sources: runConformance() returns what `lanesim conform --json`
 * writes for the same selection; bad options fail at the door with one line.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { conformCommand } from '../../src/cli/conform.ts';
import { CASES, ConformanceOptionsError, defineAdapter, jsonReport, runConformance, type CaseResult, type SuiteReport } from '../../src/conformance/index.ts';
import { ALL_CASES } from '../../src/conformance/cases/index.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'lanesim-api-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A result without what differs from run to run (wall-clock durations). */
function stable(r: CaseResult): Omit<CaseResult, 'durationMs'> {
  const { durationMs: _durationMs, ...rest } = r;
  return rest;
}

describe('lanesim/conformance', () => {
  test('CASES is the catalogue `conform --list` prints', () => {
    expect(CASES).toBe(ALL_CASES);
    expect(CASES.length).toBeGreaterThan(50);
  });

  test('runConformance() returns the report `lanesim conform --json` writes (the reference gateway, same selection and seed)', async () => {
    const only = ['lane.session', 'queue.idle.starts', 'tool.validate.types'];
    const report = await runConformance({ only, seed: 42 });
    const file = path.join(tmp, 'cli.json');
    const lines: string[] = [];
    const code = await conformCommand(['--only', only.join(','), '--seed', '42', '--json', file], (l) => void lines.push(l), () => {});
    expect(code).toBe(0);
    const cli = JSON.parse(readFileSync(file, 'utf8')) as SuiteReport;
    // The JSON report is the SuiteReport as jsonReport() renders it (plus what it derives from it).
    const mine = JSON.parse(jsonReport(report)) as SuiteReport;
    expect(Object.keys(mine).sort()).toEqual(Object.keys(cli).sort());
    for (const key of Object.keys(report)) expect(Object.keys(cli)).toContain(key);
    expect(mine.results.map(stable)).toEqual(cli.results.map(stable));
    expect(mine.summary).toEqual(cli.summary);
    expect((mine as unknown as Record<string, unknown>)['notApplicable']).toEqual((cli as unknown as Record<string, unknown>)['notApplicable']);
    expect({ target: report.target, targetKind: report.targetKind, seed: report.seed }).toEqual({ target: cli.target, targetKind: cli.targetKind, seed: 42 });
    expect(report.results.map((r) => r.status)).toEqual(['pass', 'pass', 'pass', 'pass']);
  });

  test('an adapter: its failures carry rule, expected, observed and a replay line with the seed', async () => {
    const adapter = defineAdapter({ name: 'accepts-everything', validateToolCall: () => ({ ok: true }) });
    const report = await runConformance({ adapter, only: ['tool.validate.types', 'lane.session.exclusive'], seed: 9 });
    const [lane, types] = [report.results.find((r) => r.id === 'lane.session.exclusive')!, report.results.find((r) => r.id === 'tool.validate.types')!];
    expect(lane.status).toBe('n/a');
    expect(types.status).toBe('fail');
    expect(types.rule).toBe('TOOL-3');
    expect(types.expected).not.toBe('');
    expect(types.observed).not.toBe('');
    expect(types.replay).toBe('npx lanesim conform --adapter <your adapter: accepts-everything> --only tool.validate.types --seed 9');
    expect(report.summary.mustFailed).toBe(1);
  });

  test.each([
    [{ adapter: { name: 'x' } }, /adapter must be an object with a name and at least one of/],
    [{ adapter: { name: 'x', validateToolCall: () => ({ ok: true }) }, url: 'ws://127.0.0.1:1' }, /give adapter or url, not both/],
    [{ url: 'ws://example.com:80' }, /url must be a ws:\/\/ URL on 127\.0\.0\.1/],
    [{ url: { url: 'ws://127.0.0.1:1', timeScale: 0 } }, /timeScale must be a number > 0/],
    [{ url: { url: 'ws://127.0.0.1:1', modelControl: 'http://10.0.0.1:80' } }, /modelControl must be an http:\/\/ URL on 127\.0\.0\.1/],
    [{ url: { url: 'ws://127.0.0.1:1', config: { messages: { queue: { mode: 'sideways' } } } } }, /^runConformance: config: /],
    [{ seed: -1 }, /seed: seed must be an integer/],
    [{ caseTimeoutMs: 0 }, /caseTimeoutMs must be a whole number/],
    [{ only: ['no.such.case'] }, /only\/skip select no case/],
    [{ only: 'lane' }, /only must be a list/],
    [{ concurrency: 2 }, /concurrency above 1 needs url/],
    [{ url: { url: 'ws://127.0.0.1:9', token: 't' } }, /^runConformance: preflight: /],
    [{ concurrency: 0, url: 'ws://127.0.0.1:1' }, /concurrency must be a whole number from 1 to 64/],
  ])('bad options fail at once with one line: %j', async (options, message) => {
    const error = await runConformance(options as never).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(ConformanceOptionsError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });
});
