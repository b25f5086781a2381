/**
 * `lanesim simulate --config <bad>` and `lanesim serve --config <bad>` as a
 * user runs them (bin/lanesim.mjs in a child process): exit 2, one line on
 * stderr naming the key path, no stack trace, nothing started (issue 15,
 * points 6 and 7). Neither command gets far enough to listen or simulate.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = path.resolve(import.meta.dirname, '../../bin/lanesim.mjs');
const dir = mkdtempSync(path.join(os.tmpdir(), 'lanesim-config-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function lanesim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectOneLineRefusal(r: { status: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).not.toContain('internal error');
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.status).toBe(2);
}

describe('lanesim --config <bad>: exit 2, one line', () => {
  const deep = configFile('deep.json5', `{ models: ${'['.repeat(10_000)}1${']'.repeat(10_000)} }`);
  const unknown = configFile('unknown.json', JSON.stringify(Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`key${i}`, i]))));
  const busy = configFile('busy.json5', '{ gateway: { tickIntervalMs: 1 }, messages: { queue: { mode: "collect", debounceMs: 2147483647 } } }');

  it('simulate: 10,000-deep arrays, 20,000 unknown keys, too much virtual work', () => {
    expectOneLineRefusal(lanesim('simulate', 'stalled-stream', '--config', deep), /^lanesim: config \(.*deep\.json5\): models(\[0\]){64} is nested deeper than 64 levels/);
    expectOneLineRefusal(lanesim('simulate', 'stalled-stream', '--config', unknown), /^lanesim: config \(.*unknown\.json\): key0 is not a known key$/m);
    expectOneLineRefusal(lanesim('simulate', 'message-burst', '--config', busy), /^lanesim: simulate: --config .*busy\.json5: too much virtual work for message-burst\/collect/);
  });

  it('serve: the same files, a missing file, and a file that is not JSON5', () => {
    expectOneLineRefusal(lanesim('serve', '--config', deep), /^lanesim: config \(.*deep\.json5\): models(\[0\]){64} is nested deeper than 64 levels/);
    expectOneLineRefusal(lanesim('serve', '--config', unknown), /^lanesim: config \(.*unknown\.json\): key0 is not a known key$/m);
    expectOneLineRefusal(lanesim('serve', '--config', path.join(dir, 'missing.json5')), /^lanesim: config: cannot read .*missing\.json5/);
    expectOneLineRefusal(lanesim('serve', '--config', configFile('broken.json5', '{ gateway: { tickIntervalMs: 0 ')), /^lanesim: config: .*broken\.json5 is not valid JSON5 \(line 1, column \d+\)/);
  });
});
