/**
 * OpenClaw's own tool validator (openclaw@2026.9.6, `validateToolCall` in
 * dist/validation-*.mjs) in process, and the peer runner's reading of what
 * OpenClaw did not take (src/peers/openclaw/peer-config.ts).
 *
 * The validator part needs the peer installed and its tool schemas captured:
 *   npm run peer:openclaw -- install
 *   npm run peer:openclaw -- capture-tools     (starts the gateway once)
 * Without them those tests are skipped, and the reason is printed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TOOL_CASES } from '../../src/conformance/cases/tools.ts';
import { runSuite, type SuiteReport } from '../../src/conformance/runner.ts';
import { openClawToolTarget } from '../../src/conformance/targets/lane-adapters.ts';
import type { CaseResult, ConformanceCase, ConformanceTarget, GatewaySession, TestClient } from '../../src/conformance/types.ts';
import {
  DEFAULT_PEER_QUEUE, applyRefusals, effectiveQueueMode, judgesDebounce, lanesimView, parseOpenClawNotices, perMessageQueueMode, queueFromPeerConfig, withPerMessageQueueMode,
} from '../../src/peers/openclaw/peer-config.ts';
import { OpenClawToolsUnavailable, findValidationModules, loadOpenClawToolValidator, readToolSchemas, toolSchemasPath } from '../../src/peers/openclaw/tool-validator.ts';

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lanesim-tools-test-'));
  temps.push(dir);
  return dir;
}

describe("what OpenClaw did not take, in its words (no peer needed)", () => {
  // Lines as 2026.9.6 printed them (gateway stdout, 2026-12-05): a boxed doctor notice, and the mode migration the issue quotes.
  const log = [
    '\u001b[36m◇  Doctor changes ───────╮',
    '│  Migrated legacy config keys at startup:                               │',
    '│  - Removed retired runtime tuning knobs: messages.queue.debounceMs;    │',
    '│    built-in defaults now apply.                                        │',
    '2026-12-05T07:49:16.306+00:00 [config] Moved deprecated messages.queue.mode "steer-backlog" → "followup"',
    '{"0":"Moved deprecated messages.queue.mode \\"steer-backlog\\" → \\"followup\\""}',
  ].join('\n');

  it('finds each notice once, with its words', () => {
    expect(parseOpenClawNotices(log)).toEqual([
      { setting: 'messages.queue.debounceMs', words: 'Removed retired runtime tuning knobs: messages.queue.debounceMs' },
      { setting: 'messages.queue.mode=steer-backlog', words: 'Moved deprecated messages.queue.mode "steer-backlog" → "followup"', becomes: 'followup' },
    ]);
    expect(parseOpenClawNotices('2026-12-05 [gateway] starting...\n[diagnostic] lane enqueue: lane=main')).toEqual([]);
  });

  it('tells the cases the mode OpenClaw runs and declares the migrated one unsupported', () => {
    const refusals = parseOpenClawNotices(log);
    expect(effectiveQueueMode('steer-backlog', refusals)).toBe('followup');
    expect(effectiveQueueMode('collect', refusals)).toBe('collect');
    const view = lanesimView({ queue: { ...DEFAULT_PEER_QUEUE, mode: 'steer-backlog', channelModes: { urgent: 'interrupt' } }, maxConcurrent: 4, refusals });
    expect(view['messages']).toEqual({ queue: { mode: 'followup', cap: 20, drop: 'summarize', debounceMs: 500, byChannel: { urgent: 'interrupt' } } });
    expect(view['gateway']).toEqual({ heartbeat: { deadAfterMs: 50_000 } });
    const supports = view['supports'] as { queueModes: string[]; channels: boolean; routes: boolean };
    expect(supports.queueModes).not.toContain('steer-backlog');
    expect(supports.queueModes).toContain('followup');
    expect(supports.channels).toBe(true);
  });

  it('rewords only the n/a a refusal explains', () => {
    const refusals = [
      ...parseOpenClawNotices(log),
      { setting: 'chat.send channel', words: "chat.send {channel}: invalid chat.send params: at root: unexpected property 'channel'" },
    ];
    const result = (id: string, status: CaseResult['status'], reason: string): CaseResult => ({
      id, title: id, level: 'MUST', rules: ['QUEUE-1'], status, reason, durationMs: 1, seed: 1, replay: '', notes: [], checks: [],
    });
    const report: SuiteReport = {
      target: 't', targetKind: 'websocket', seed: 1, startedAt: '', durationMs: 1, concurrency: 1, summary: { pass: 0, fail: 1, 'n/a': 3, error: 0, mustFailed: 1 },
      results: [
        result('a', 'n/a', 'needs messages.queue.mode steer-backlog; the gateway runs followup'),
        result('b', 'n/a', 'needs messages.queue.byChannel.urgent interrupt; the gateway has none'),
        result('c', 'n/a', 'needs messages.queue.mode collect; the gateway runs followup'),
        result('d', 'fail', 'QUEUE-5: steer-backlog'),
      ],
    };
    const out = applyRefusals(report, refusals).results.map((r) => r.reason);
    expect(out[0]).toBe('not supported by OpenClaw 2026.9.6: Moved deprecated messages.queue.mode "steer-backlog" → "followup" (needs messages.queue.mode steer-backlog; the gateway runs followup)');
    expect(out[1]).toMatch(/^not supported by OpenClaw 2026\.9\.6: chat\.send \{channel\}: invalid chat\.send params/);
    expect(out[2]).toBe('needs messages.queue.mode collect; the gateway runs followup');
    expect(out[3]).toBe('QUEUE-5: steer-backlog');
  });

  it('sends a channel as the per-message queueMode OpenClaw takes', () => {
    expect(perMessageQueueMode({ sessionKey: 's', message: 'm', channel: 'urgent' }, { urgent: 'interrupt' })).toEqual({ sessionKey: 's', message: 'm', queueMode: 'interrupt' });
    expect(perMessageQueueMode({ sessionKey: 's', channel: 'other' }, { urgent: 'interrupt' })).toEqual({ sessionKey: 's', channel: 'other' });
    expect(perMessageQueueMode({ sessionKey: 's' }, { urgent: 'interrupt' })).toEqual({ sessionKey: 's' });
  });

  it("wraps a target so its clients' chat.send goes out with queueMode, everything else untouched", async () => {
    const sent: [string, unknown][] = [];
    const client = { name: 'c', events: [], closed: false, request: async (method: string, params?: unknown) => { sent.push([method, params]); return { type: 'res', id: '1', ok: true }; } } as unknown as TestClient;
    const session = { timeScale: 1, facts: {}, config: { marker: 1 }, connect: async () => client, sleep: async () => {}, sessionKey: (n: string) => n, close: async () => {} } as unknown as GatewaySession;
    const base: ConformanceTarget = { name: 'fake', kind: 'websocket', capabilities: new Set(['gateway']), openGateway: async () => session };
    expect(withPerMessageQueueMode(base, {})).toBe(base);
    const wrapped = withPerMessageQueueMode(base, { urgent: 'interrupt' });
    const s = await wrapped.openGateway!({});
    expect((s as unknown as { config: unknown }).config).toEqual({ marker: 1 });
    const c = await s.connect('alice');
    await c.request('chat.send', { sessionKey: 'k', message: 'm', channel: 'urgent' });
    await c.request('chat.history', { sessionKey: 'k', channel: 'urgent' });
    expect(sent).toEqual([['chat.send', { sessionKey: 'k', message: 'm', queueMode: 'interrupt' }], ['chat.history', { sessionKey: 'k', channel: 'urgent' }]]);
  });

  it('takes queue settings from a --peer-config object and refuses bad ones by path', () => {
    expect(queueFromPeerConfig(DEFAULT_PEER_QUEUE, { messages: { queue: { mode: 'collect', cap: 1, drop: 'new' } } })).toMatchObject({ mode: 'collect', cap: 1, drop: 'new', debounceMs: 500 });
    expect(queueFromPeerConfig(DEFAULT_PEER_QUEUE, { gateway: {} })).toBe(DEFAULT_PEER_QUEUE);
    expect(() => queueFromPeerConfig(DEFAULT_PEER_QUEUE, { messages: { queue: { cap: 0 } } })).toThrow(/messages\.queue\.cap must be an integer >= 1/);
  });

  it('knows the cases that judge a collect debounce by their procedure', () => {
    const c = (procedure: string): ConformanceCase => ({ id: 'x.y.z', title: 't', rules: [], level: 'MUST', requires: [], procedure, run: async () => {} });
    expect(judgesDebounce(c('Config collect, debounceMs 2000. ...'))).toBe(true);
    expect(judgesDebounce(c('Config followup. ...'))).toBe(false);
  });
});

describe('the validator loader (no peer needed)', () => {
  it('picks the validation module that exports validateToolCall, by its export line', () => {
    const pkg = tempDir();
    mkdirSync(join(pkg, 'dist'));
    writeFileSync(join(pkg, 'dist', 'validation-AAA.mjs'), 'function a() {}\nexport { a as n };\n');
    writeFileSync(join(pkg, 'dist', 'validation-BBB.mjs'), 'function validateToolCall() {}\nfunction v() {}\nexport { validateToolCall as q, v as t };\n');
    expect(findValidationModules(pkg)).toEqual([{ file: join(pkg, 'dist', 'validation-BBB.mjs'), alias: 'q' }]);
    expect(findValidationModules(join(pkg, 'nothing'))).toEqual([]);
  });

  it('refuses a missing or malformed schemas file with one line saying what to run', () => {
    const dir = tempDir();
    expect(() => readToolSchemas(join(dir, 'none.json'))).toThrow(/npm run peer:openclaw -- capture-tools/);
    writeFileSync(join(dir, 'bad.json'), '{"tools": [{"name": 1}]}');
    expect(() => readToolSchemas(join(dir, 'bad.json'))).toThrow(OpenClawToolsUnavailable);
  });
});

// ------------------------------------------------------------------ against the installed peer

let unavailable: string | null = null;
let validator: Awaited<ReturnType<typeof loadOpenClawToolValidator>> | null = null;
try {
  validator = await loadOpenClawToolValidator();
} catch (error) {
  unavailable = (error as Error).message;
  console.warn(`[lanesim] OpenClaw's validateToolCall not available: skipping its tests: ${unavailable}`);
}

describe.skipIf(validator === null)(`OpenClaw's validateToolCall in process (schemas: ${toolSchemasPath()})`, () => {
  it('returns the malformed read {} error in the words 2026.9.6 gives the model', () => {
    const v = validator!.validate({ id: 'call_1', name: 'read', arguments: {} });
    expect(v).toEqual({
      ok: false,
      isError: true,
      toolUseId: 'call_1',
      content: 'Validation failed for tool "read":\n  - path: must have required properties path\n\nReceived arguments:\n{}',
    });
    expect(validator!.validate({ id: 'call_2', name: 'read', arguments: '{"path":"src/a.ts"}' })).toEqual({ ok: true });
    expect(validator!.validate({ id: 'call_3', name: 'reed', arguments: {} })).toMatchObject({ ok: false, content: 'Tool "reed" not found' });
    expect(validator!.toolNames).toEqual(expect.arrayContaining(['edit', 'exec', 'read', 'write']));
  });

  it('runs the tool.validate cases: each passes or fails naming its rule, none errors', async () => {
    const target = await openClawToolTarget();
    const cases = TOOL_CASES.filter((c) => c.id.startsWith('tool.validate.'));
    const report = await runSuite({ target, cases, caseTimeoutMs: 30_000 });
    expect(report.results.length).toBe(cases.length);
    for (const r of report.results) {
      expect(['pass', 'fail'], `${r.id}: ${r.status} ${r.reason}`).toContain(r.status);
      if (r.status === 'fail') expect(r.rule, r.id).toMatch(/^TOOL-\d$/);
    }
    // TOOL-2's exact wording is lanesim's (DEP-6): OpenClaw's words fail it, and the observation quotes them.
    const missing = report.results.find((r) => r.id === 'tool.validate.missing-parameter')!;
    expect(missing.status).toBe('fail');
    expect(missing.observed).toContain('Validation failed for tool');
  });
});

describe.skipIf(validator !== null)('OpenClaw validateToolCall tests skipped', () => {
  it(`skipped: ${unavailable ?? ''}`, () => {
    expect(unavailable).not.toBeNull();
  });
});
