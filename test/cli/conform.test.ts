/**
 * `lanesim conform --url`: --config (a black-box gateway's configuration in
 * lanesim's shape, so cases that need one run instead of being n/a) and
 * --case-timeout; blackBoxConfig, which the CLI and scripts/openclaw-peer.ts
 * share.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformCommand } from '../../src/cli/conform.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { blackBoxConfig, startReferenceOverWebSocket, type ReferenceOverWebSocket } from '../../src/conformance/targets/websocket.ts';

describe('blackBoxConfig', () => {
  it('fills defaults, resolves aliases, and claims liveness and the heartbeat bound only when set', () => {
    const plain = blackBoxConfig({ agents: { defaults: { maxConcurrent: 3 } }, messages: { queue: { mode: 'followups' as never, cap: 5 } } });
    expect(plain.config.agents.defaults.maxConcurrent).toBe(3);
    expect(plain.config.messages.queue).toMatchObject({ mode: 'followup', cap: 5, drop: 'summarize' });
    expect(plain.config.gateway.heartbeat.deadAfterMs).toBe(45_000);
    expect(plain.liveness).toEqual({});
    expect(plain.facts).toEqual({});
    const timed = blackBoxConfig({ gateway: { heartbeat: { intervalMs: 10_000, deadAfterMs: 60_000 } } });
    expect(timed.liveness).toEqual({ deadAfterMs: 60_000 });
    expect(timed.facts).toEqual({ heartbeatIntervalMs: 10_000 });
    expect(() => blackBoxConfig({ messages: { queue: { cap: 0 } } }, 'x.json5')).toThrow(/messages\.queue\.cap must be a positive integer/);
  });
});

describe('lanesim conform --url --config --case-timeout', () => {
  let ref: ReferenceOverWebSocket;
  let dir: string;
  const scale = 25;

  beforeAll(async () => {
    ref = await startReferenceOverWebSocket({ scale });
    dir = mkdtempSync(join(tmpdir(), 'lanesim-conform-'));
  });

  afterAll(async () => {
    await ref.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const base = (): string[] => ['--url', ref.server.url, '--token', ref.token, '--model-control', ref.model.url, '--time-scale', String(scale)];

  async function conform(args: string[]): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    const code = await conformCommand(args, (line) => void lines.push(line), () => {});
    return { code, out: lines.join('\n') };
  }

  it('refuses a bad --case-timeout and a --config without --url', async () => {
    await expect(conformCommand(['--case-timeout', 'soon', '--only', 'lane.fifo'], () => {})).rejects.toThrow(UsageError);
    await expect(conformCommand(['--case-timeout', '0'], () => {})).rejects.toThrow(/--case-timeout must be a whole number/);
    await expect(conformCommand(['--config', join(dir, 'none.json5')], () => {})).rejects.toThrow(/--config describes a gateway reached with --url/);
    await expect(conformCommand([...base(), '--config', join(dir, 'missing.json5')], () => {})).rejects.toThrow(/--config: config: cannot read/);
  });

  it('a case that needs the gateway configuration is n/a without --config and runs with it', async () => {
    const without = await conform([...base(), '--only', 'session.cap.global-main']);
    expect(without.code).toBe(0);
    expect(without.out).toMatch(/session\.cap\.global-main\s+MUST\s+n\/a/);
    const file = join(dir, 'gateway.json5');
    // What the reference runs with (its defaults), said in lanesim's config shape.
    writeFileSync(file, '// the gateway under test\n{ agents: { defaults: { maxConcurrent: 4 } } }\n');
    const withConfig = await conform([...base(), '--config', file, '--only', 'session.cap.global-main', '--case-timeout', '30000']);
    expect(withConfig.out).toMatch(/session\.cap\.global-main\s+MUST\s+pass/);
    expect(withConfig.code).toBe(0);
  }, 60_000);

  it('--case-timeout bounds each case', async () => {
    const r = await conform([...base(), '--only', 'queue.idle.starts', '--case-timeout', '1']);
    expect(r.out).toMatch(/queue\.idle\.starts\s+MUST\s+ERROR/i);
    expect(r.out).toContain('did not finish within 1 ms');
    expect(r.code).toBe(1);
  }, 30_000);
});
