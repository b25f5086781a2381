/**
 * `lanesim conform --url`: --config (a black-box gateway's configuration in
 * lanesim's shape, so cases that need one run instead of being n/a) and
 * --case-timeout; blackBoxConfig, which the CLI and scripts/openclaw-peer.ts
 * share; the preflight (nothing listening, a wrong token, an unreachable
 * model: one line, exit 2, before any case); --transcript, --html, --json
 * with the failed cases' transcripts; n/a reasons naming the flag, all at
 * once; --concurrency; --openclaw-queue without its folder; --plan.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
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

  it('preflight: nothing listening, a wrong token, an unreachable model: one line, exit 2, before any case', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const port = (srv.address() as { port: number }).port;
        srv.close(() => resolve(port));
      });
    });
    const t0 = Date.now();
    const refused = conformCommand(['--url', `ws://127.0.0.1:${closedPort}`, '--only', 'ws.hello.shape'], () => {});
    await expect(refused).rejects.toThrow(UsageError);
    await expect(refused).rejects.toThrow(/^conform: preflight: nothing accepts connections at ws:\/\/127\.0\.0\.1:\d+ \(connection refused\)/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await expect(conformCommand(['--url', ref.server.url, '--token', 'wrong', '--only', 'ws.hello.shape'], () => {})).rejects.toThrow(/^conform: preflight: the gateway at \S+ refused the token \(.*\): check --token$/);
    await expect(conformCommand(['--url', ref.server.url, '--only', 'ws.hello.shape'], () => {})).rejects.toThrow(/refused the connection without a token .*: pass --token T$/);
    await expect(conformCommand(['--url', ref.server.url, '--token', ref.token, '--model-control', `http://127.0.0.1:${closedPort}`, '--only', 'ws.hello.shape'], () => {}))
      .rejects.toThrow(/^conform: preflight: cannot reach the model control URL http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    await expect(conformCommand(['--url', ref.server.url, '--token', ref.token, '--model-control', ref.model.url, '--only', 'ws.hello.shape'], () => {}))
      .rejects.toThrow(/the fake model at \S+ runs with --time-scale 25 but the suite with --time-scale 1/);
    for (const e of await Promise.allSettled([refused])) if (e.status === 'rejected') expect(String((e.reason as Error).message)).not.toContain('\n');
  }, 30_000);

  it('n/a reasons name the flag that would enable the case, all of them at the end', async () => {
    const r = await conform(['--url', ref.server.url, '--token', ref.token, '--time-scale', String(scale), '--only', 'queue.idle.starts,session.serial.one-at-a-time,ws.hello.shape']);
    expect(r.out).toMatch(/queue\.idle\.starts\s+MUST\s+n\/a\s+.*needs --model-control URL/);
    expect(r.out).not.toContain('model-script');
    expect(r.out).toContain('to run the 2 n/a case(s):\n  set --model-control URL (2 cases)');
    expect(r.code).toBe(0);
  }, 30_000);

  it('--transcript DIR, --html and --json: what each case sent and received, with times', async () => {
    const out = join(dir, 'transcripts');
    const html = join(dir, 'report.html');
    const json = join(dir, 'report.json');
    const r = await conform([...base(), '--only', 'ws.handshake.challenge,queue.idle.starts', '--transcript', out, '--html', html, '--json', json, '--concurrency', '2']);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['queue.idle.starts.json', 'ws.handshake.challenge.json']);
    const challenge = JSON.parse(readFileSync(join(out, 'ws.handshake.challenge.json'), 'utf8')) as { status: string; transcript: { entries: Array<{ dir: string; text: string; t: number; at?: number }> } };
    expect(challenge.status).toBe('pass');
    expect(challenge.transcript.entries.some((e) => e.dir === 'recv' && e.text.includes('connect.challenge'))).toBe(true);
    const idle = JSON.parse(readFileSync(join(out, 'queue.idle.starts.json'), 'utf8')) as { transcript: { entries: Array<{ dir: string; conn: string; text: string; at?: number }> } };
    const entries = idle.transcript.entries;
    expect(entries.some((e) => e.dir === 'send' && e.text.includes('"method":"chat.send"'))).toBe(true);
    // The handshake as it went: the challenge, the connect (token hidden), hello-ok.
    expect(entries.some((e) => e.dir === 'recv' && e.conn === 'alice' && e.text.includes('connect.challenge'))).toBe(true);
    expect(entries.some((e) => e.dir === 'send' && e.conn === 'alice' && e.text.includes('"method":"connect"') && e.text.includes('<token>'))).toBe(true);
    expect(entries.some((e) => e.dir === 'recv' && e.conn === 'alice' && e.text.includes('hello-ok'))).toBe(true);
    expect(entries.some((e) => e.dir === 'recv' && e.text.includes('"event":"chat"'))).toBe(true);
    expect(entries.some((e) => e.dir === 'model' && e.text.includes('hello there [idle]'))).toBe(true);
    expect(entries.every((e) => e.at === undefined || Number.isFinite(e.at))).toBe(true);
    // The token never lands in a transcript.
    expect(readFileSync(join(out, 'queue.idle.starts.json'), 'utf8')).not.toContain(ref.token);
    expect(readFileSync(html, 'utf8')).toContain('id="case-queue-idle-starts"');
    const report = JSON.parse(readFileSync(json, 'utf8')) as { concurrency: number; results: Array<{ id: string; transcript?: unknown }> };
    expect(report.concurrency).toBe(2);
    // Passing cases' transcripts are in DIR, not in the JSON report.
    expect(report.results.every((x) => x.transcript === undefined)).toBe(true);
  }, 60_000);

  it('--concurrency above 1 needs --url; --token without --url is refused', async () => {
    await expect(conformCommand(['--concurrency', '4', '--only', 'lane.fifo'], () => {})).rejects.toThrow(/--concurrency above 1 needs --url/);
    await expect(conformCommand(['--concurrency', '0'], () => {})).rejects.toThrow(/--concurrency must be a whole number from 1 to 64/);
    await expect(conformCommand(['--token', 'x'], () => {})).rejects.toThrow(/--token goes with --url/);
  });

  it('--case-timeout bounds each case', async () => {
    const r = await conform([...base(), '--only', 'queue.idle.starts', '--case-timeout', '1']);
    expect(r.out).toMatch(/queue\.idle\.starts\s+MUST\s+ERROR/i);
    expect(r.out).toContain('did not finish within 1 ms');
    expect(r.code).toBe(1);
  }, 30_000);
});

describe('lanesim conform --url A,B --model-control MA,MB: gateways alike', () => {
  const scale = 25;
  let refs: ReferenceOverWebSocket[] = [];

  beforeAll(async () => {
    refs = await Promise.all([0, 1].map(() => startReferenceOverWebSocket({ scale })));
  });

  afterAll(async () => {
    await Promise.all(refs.map((r) => r.stop()));
  });

  it('cases that use runs go side by side, one per gateway, each gateway with its own model', async () => {
    const [a, b] = refs as [ReferenceOverWebSocket, ReferenceOverWebSocket];
    const before = await Promise.all(refs.map(async (r) => ((await (await fetch(`${r.model.url}/control/requests`)).json()) as { requests: unknown[] }).requests.length));
    const lines: string[] = [];
    const only = 'queue.idle.starts,status.enqueue.lists-waiting,queue.chat-events.stream,ws.hello.shape';
    const code = await conformCommand(['--url', `${a.server.url},${b.server.url}`, '--token', a.token, '--model-control', `${a.model.url},${b.model.url}`, '--time-scale', String(scale), '--only', only, '--case-timeout', '30000'], (l) => void lines.push(l), () => {});
    const out = lines.join('\n');
    expect(out).toMatch(/\(\+1 like it\) \(websocket\)/);
    expect(out).toMatch(/4 passed, 0 failed, 0 errors, 0 not applicable/);
    expect(code).toBe(0);
    const after = await Promise.all(refs.map(async (r) => ((await (await fetch(`${r.model.url}/control/requests`)).json()) as { requests: unknown[] }).requests.length));
    // Both gateways ran cases: each model got requests.
    expect(after[0]! - before[0]!).toBeGreaterThan(0);
    expect(after[1]! - before[1]!).toBeGreaterThan(0);
    // The replay names one gateway.
    expect(out).not.toMatch(/replay: .*,/);
  }, 90_000);

  it('refuses a --model-control list that does not pair with the --url list', async () => {
    const [a, b] = refs as [ReferenceOverWebSocket, ReferenceOverWebSocket];
    await expect(conformCommand(['--url', `${a.server.url},${b.server.url}`, '--model-control', a.model.url], () => {})).rejects.toThrow(/2 --url gateway\(s\) but 1 --model-control URL\(s\)/);
    await expect(conformCommand(['--url', `${a.server.url},${a.server.url}`], () => {})).rejects.toThrow(/names the same gateway twice/);
  });
});

describe('lanesim conform --openclaw-queue', () => {
  it('takes its folder as optional: without one it names the peer install it looked for', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'lanesim-no-openclaw-'));
    const saved = process.env['LANESIM_OPENCLAW_DIR'];
    process.env['LANESIM_OPENCLAW_DIR'] = empty;
    try {
      await expect(conformCommand(['--openclaw-queue'], () => {})).rejects.toThrow(`conform: --openclaw-queue: no OpenClaw package at ${empty} (install it with: npm run peer:openclaw -- install, or pass --openclaw-queue DIR)`);
      await expect(conformCommand(['--openclaw-queue', '--only', 'lane.fifo'], () => {})).rejects.toThrow(/no OpenClaw package at/);
      await expect(conformCommand(['--openclaw-queue', join(empty, 'elsewhere')], () => {})).rejects.toThrow(`no OpenClaw package at ${join(empty, 'elsewhere')}`);
    } finally {
      if (saved === undefined) delete process.env['LANESIM_OPENCLAW_DIR'];
      else process.env['LANESIM_OPENCLAW_DIR'] = saved;
      rmSync(empty, { recursive: true, force: true });
    }
    expect(existsSync(empty)).toBe(false);
  });
});

describe('lanesim conform --plan', () => {
  it('prints configurations that give every gateway case the queue settings it needs', async () => {
    const lines: string[] = [];
    expect(await conformCommand(['--plan'], (l) => void lines.push(l))).toBe(0);
    const text = lines.join('\n');
    expect(text).toMatch(/^lanesim conform --plan: \d+ gateway configuration\(s\) cover/);
    // queue.steer.injects needs steer, which no other configuration has: it gets its own.
    const steer = /\/\/ gateway-(\d+)\.json5[^\n]*\n(\{[\s\S]*?\n\})\n\/\/ needed by: ([^\n]*)/g;
    const blocks = [...text.matchAll(steer)].map((m) => ({ config: m[2]!, cases: m[3]! }));
    expect(blocks.length).toBeGreaterThan(1);
    const forSteer = blocks.find((b) => b.cases.split(', ').includes('queue.steer.injects'));
    expect(forSteer?.config).toContain("mode: 'steer'");
    const forDropOld = blocks.find((b) => b.cases.split(', ').includes('queue.cap.drop-old'));
    expect(forDropOld?.config).toContain("drop: 'old'");
  }, 30_000);
});
