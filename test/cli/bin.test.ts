import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = path.resolve(import.meta.dirname, '../../bin/lanesim.mjs');

function lanesim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bin/lanesim.mjs', () => {
  it('bad input exits 2 with one line on stderr', () => {
    for (const args of [['simulate', 'nope'], ['simulate', 'stalled-stream', '--seed', 'x'], ['frobnicate']]) {
      const r = lanesim(...args);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')[0]).toMatch(/^lanesim: /);
      expect(r.stdout).toBe('');
    }
  });

  it('simulate --list exits 0', () => {
    const r = lanesim('simulate', '--list');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('nested-agent-cascade');
  });
});
