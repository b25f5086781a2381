/**
 * The gateway-level cases (queue, status, heartbeat, tools, cascade, session)
 * on the in-process reference target: the reference passes every one; each
 * gateway mutant (test/conformance/mutants/gateway-*.ts) is caught by the case
 * naming the rule it breaks, with no failure the break does not imply. Also
 * the in-process target's own plumbing (capabilities, virtual time, the
 * JSON wire, close) and the scripted model against the fake model server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CASCADE_CASES } from '../../src/conformance/cases/cascade.ts';
import { HB_CASES } from '../../src/conformance/cases/heartbeat.ts';
import { LANE_CASES } from '../../src/conformance/cases/lane.ts';
import { QUEUE_CASES } from '../../src/conformance/cases/queue.ts';
import { SESSION_CASES } from '../../src/conformance/cases/session.ts';
import { STATUS_CASES } from '../../src/conformance/cases/status.ts';
import { TOOL_CASES } from '../../src/conformance/cases/tools.ts';
import { openInProcessGateway, targetFromAdapter } from '../../src/conformance/in-process.ts';
import { matchesFilter, runSuite, type SuiteReport } from '../../src/conformance/runner.ts';
import { InProcessModelClient } from '../../src/conformance/scripted-model.ts';
import { createReferenceAdapter, referenceAdapter, referenceTarget } from '../../src/conformance/targets/reference.ts';
import type { ConformanceCase } from '../../src/conformance/types.ts';
import { startFakeModel, type FakeModelServer, type RequestLogEntry } from '../../src/fake-model/server.ts';
import { CASCADE_SCRIPT, type FakeModelScript } from '../../src/fake-model/script.ts';
import { HttpModelClient, ModelError, type ChatCompletionRequest, type ToolCallDelta } from '../../src/reference-impl/http-model-runtime.ts';
import { GATEWAY_MUTANTS } from './mutants/gateway-mutants.ts';
import { CASES_B_MUTANTS } from './mutants/cases-b-mutants.ts';
import { silentFollowups } from './mutants/gateway-silent-followups.ts';
import { MODEL_FAULT_CASES } from '../../src/conformance/cases/model-faults.ts';
import { NESTED_CASES } from '../../src/conformance/cases/nested.ts';

const GATEWAY_CASES: readonly ConformanceCase[] = [...QUEUE_CASES, ...STATUS_CASES, ...HB_CASES, ...TOOL_CASES, ...CASCADE_CASES, ...SESSION_CASES];

function failures(report: SuiteReport): string[] {
  return report.results.filter((r) => r.status !== 'pass').map((r) => `${r.id} ${r.status}: ${r.reason}`);
}

describe('gateway-level cases: the catalogue', () => {
  it('ids are unique and hierarchical, cite rules of the spec, say what they need', () => {
    const ids = new Set<string>();
    for (const c of GATEWAY_CASES) {
      expect(ids.has(c.id), c.id).toBe(false);
      ids.add(c.id);
      expect(c.id).toMatch(/^(queue|status|hb|tool|cascade|session)\.[a-z0-9-]+\.[a-z0-9-]+$/);
      expect(c.rules.length).toBeGreaterThan(0);
      for (const rule of c.rules) expect(rule).toMatch(/^(QUEUE|STATUS|HB|TOOL|WS|LANE|DEP)-\d+$/);
      expect(c.procedure.length).toBeGreaterThan(20);
      const tools = c.id.startsWith('tool.validate.');
      expect([...c.requires].sort()).toEqual(tools ? ['tools'] : ['gateway', 'model-script']);
    }
  });

  it('covers every MUST of QUEUE-1..21 (but the operator-only QUEUE-11 and the harness-only QUEUE-19), STATUS-1..9, HB-1..4, TOOL-1..9', () => {
    const cited = new Set(GATEWAY_CASES.flatMap((c) => c.rules));
    const want = [
      ...Array.from({ length: 21 }, (_, i) => `QUEUE-${i + 1}`).filter((r) => r !== 'QUEUE-11' && r !== 'QUEUE-19'),
      ...Array.from({ length: 9 }, (_, i) => `STATUS-${i + 1}`),
      'HB-1', 'HB-2', 'HB-3', 'HB-4',
      ...Array.from({ length: 9 }, (_, i) => `TOOL-${i + 1}`),
      'WS-13', 'WS-14', 'WS-15', 'WS-16', 'WS-17', 'WS-18', 'WS-19',
    ];
    expect(want.filter((r) => !cited.has(r))).toEqual([]);
  });
});

describe('gateway-level cases against the reference (in-process)', () => {
  it('the reference passes every case', async () => {
    const report = await runSuite({ target: referenceTarget(), cases: GATEWAY_CASES, caseTimeoutMs: 30_000 });
    expect(failures(report)).toEqual([]);
    expect(report.summary.pass).toBe(GATEWAY_CASES.length);
  });

  it('is deterministic: the same seed gives the same notes and outcomes', async () => {
    const only = ['queue.nothing-lost.burst', 'cascade.seed-004.end-to-end'];
    const one = await runSuite({ target: referenceTarget(), cases: GATEWAY_CASES, only, seed: 7 });
    const two = await runSuite({ target: referenceTarget(), cases: GATEWAY_CASES, only, seed: 7 });
    expect(one.results.map((r) => [r.id, r.status, r.notes])).toEqual(two.results.map((r) => [r.id, r.status, r.notes]));
  });

  it('the whole in-process catalogue (gateway-level and lane cases) runs in under 15 s', async () => {
    const cases = [...GATEWAY_CASES, ...LANE_CASES];
    const report = await runSuite({ target: referenceTarget(), cases, caseTimeoutMs: 30_000 });
    const slowest = [...report.results].sort((a, b) => b.durationMs - a.durationMs).slice(0, 5).map((r) => `${r.id} ${r.durationMs.toFixed(0)} ms`);
    expect(report.results.filter((r) => r.status === 'fail' || r.status === 'error').map((r) => `${r.id}: ${r.reason}`)).toEqual([]);
    expect(report.durationMs, `slowest: ${slowest.join(', ')}`).toBeLessThan(15_000);
  });
});

describe('gateway mutants', () => {
  it('there are at least 8, each with a case that exists', () => {
    expect(GATEWAY_MUTANTS.length).toBeGreaterThanOrEqual(8);
    for (const m of GATEWAY_MUTANTS) expect(GATEWAY_CASES.some((c) => c.id === m.caughtBy.id), m.name).toBe(true);
  });

  for (const mutant of GATEWAY_MUTANTS) {
    it(`${mutant.name} (${mutant.breaks}) is caught by ${mutant.caughtBy.id} under ${mutant.caughtBy.rules.join('/')}`, async () => {
      const report = await runSuite({ target: targetFromAdapter(mutant.adapter), cases: GATEWAY_CASES, caseTimeoutMs: 30_000 });
      const byId = new Map(report.results.map((r) => [r.id, r]));
      const catcher = byId.get(mutant.caughtBy.id)!;
      expect(catcher.status, `${catcher.id}: ${catcher.reason}`).toBe('fail');
      expect(mutant.caughtBy.rules).toContain(catcher.rule);
      const allowed = [mutant.caughtBy.id, ...mutant.alsoFails];
      const unexpected = report.results
        .filter((r) => r.status === 'error' || (r.status === 'fail' && !allowed.includes('*') && !matchesFilter(r.id, allowed.map((a) => (a.endsWith('.*') ? a.slice(0, -1) : a)))))
        .map((r) => `${r.id} ${r.status}: ${r.reason}`);
      expect(unexpected).toEqual([]);
    });
  }
});

// ------------------------------------------------------------------ the in-process target itself

describe('in-process target', () => {
  afterEach(() => {
    // A failed test must not leave the global fake clock behind.
    expect(typeof (globalThis.setTimeout as unknown as { clock?: unknown }).clock).toBe('undefined');
  });

  it('takes its capabilities from what the adapter implements', () => {
    expect([...referenceTarget().capabilities].sort()).toEqual(['gateway', 'lanes', 'model-script', 'tools', 'virtual-time']);
    expect([...targetFromAdapter({ name: 'tools only', validateToolCall: () => ({ ok: true }) }).capabilities]).toEqual(['tools']);
    expect([...targetFromAdapter(createReferenceAdapter({ lanes: false })).capabilities].sort()).toEqual(['gateway', 'model-script', 'tools', 'virtual-time']);
  });

  it('plays the socket: JSON round trips, error responses, virtual time, waitFor, facts, unique session keys, close', async () => {
    const wallStart = Date.now();
    const session = await openInProcessGateway(referenceAdapter, { config: { gateway: { heartbeat: { intervalMs: 9_000 } } } as never });
    try {
      expect(session.facts).toMatchObject({ heartbeatIntervalMs: 9_000, warnThresholdMs: 30_000, tickIntervalMs: 30_000 });
      expect(session.timeScale).toBe(1);
      expect(session.now()).toBe(0);
      expect(session.sessionKey('a')).not.toBe(session.sessionKey('b'));
      const client = await session.connect('alice');
      const unknown = await client.request('no.such.method', {});
      expect(unknown).toMatchObject({ type: 'res', ok: false, error: { code: 'UNKNOWN_METHOD', message: 'unknown method: no.such.method' } });
      const bad = await client.request('chat.send', { sessionKey: 'x' });
      expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
      expect(bad.error!.message).toMatch(/^invalid chat\.send params: /);
      const health = await client.request('health');
      expect(health).toMatchObject({ ok: true, payload: { ok: true, ts: 0 } });
      const sent = await client.request('chat.send', { sessionKey: session.sessionKey('s'), message: 'hi', idempotencyKey: 'k' });
      expect(sent).toMatchObject({ ok: true, payload: { status: 'started' } });
      // Five virtual minutes go by in an instant; waitFor steps timer by timer.
      const final = await client.waitFor((e) => e.event === 'chat' && (e.payload as { state?: string }).state === 'final', 300_000);
      expect(final).not.toBeNull();
      expect(final!.at).toBeGreaterThan(0);
      expect(final!.at).toBe(session.now());
      const none = await client.waitFor((e) => e.event === 'never', 300_000);
      expect(none).toBeNull();
      expect(session.now()).toBe(final!.at + 300_000);
      // Events went through JSON: a fresh object, no undefined fields.
      expect(JSON.parse(JSON.stringify(final))).toEqual(final);
      const log = await session.modelRequests();
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ index: 0, t: 0, lastUserMessage: 'hi', outcome: 'completed', rule: 'default' });
      await session.sleep(60_000);
      expect(session.now()).toBe(final!.at + 360_000);
    } finally {
      await session.close();
    }
    expect(Date.now() - wallStart).toBeLessThan(10_000);
    expect(Date.now()).toBeGreaterThan(1_600_000_000_000);
  });

  it('closing stops the gateway (runs aborted), clears timers and uninstalls the clock', async () => {
    const session = await openInProcessGateway(referenceAdapter, {});
    await session.setModel({ rules: [], default: { ttftMs: 60_000, outputTokens: 3 } });
    const client = await session.connect('alice');
    await client.request('chat.send', { sessionKey: session.sessionKey('s'), message: 'hi', idempotencyKey: 'k' });
    await session.sleep(1_000);
    expect(session.model.stats()).toEqual({ inFlight: 1, timers: 1 });
    await session.close();
    expect(session.model.stats()).toEqual({ inFlight: 0, timers: 0 });
    expect((await session.modelRequests())[0]!.outcome).toBe('client-closed');
    expect(client.events.some((e) => e.event === 'shutdown')).toBe(true);
    // A second session may open now; its session keys differ from the first one's.
    const again = await openInProcessGateway(referenceAdapter, {});
    expect(again.sessionKey('s')).not.toBe(session.sessionKey('s'));
    await again.close();
  });

  it('refuses a second session while one is open', async () => {
    const session = await openInProcessGateway(referenceAdapter, {});
    try {
      await expect(openInProcessGateway(referenceAdapter, {})).rejects.toThrow(/already open/);
    } finally {
      await session.close();
    }
  });
});

// ------------------------------------------------------------------ the scripted model vs the fake model server

describe('scripted model: the same script, in-process and over HTTP', () => {
  const servers: FakeModelServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  interface Played {
    text: string;
    calls: { id: string; name: string; arguments: string }[];
    finishReason: string | null;
    error: string | null;
  }

  async function play(client: { complete: InProcessModelClient['complete'] }, request: ChatCompletionRequest): Promise<Played> {
    let text = '';
    const calls: Played['calls'] = [];
    try {
      const { finishReason } = await client.complete(request, {
        onText: (t) => void (text += t),
        onToolCallDelta: (d: ToolCallDelta) => {
          const acc = (calls[d.index] ??= { id: '', name: '', arguments: '' });
          if (d.id !== undefined) acc.id = d.id;
          if (d.name !== undefined && d.name !== acc.name) acc.name += d.name;
          if (d.arguments !== undefined) acc.arguments += d.arguments;
        },
      }, new AbortController().signal);
      return { text, calls, finishReason, error: null };
    } catch (error) {
      return { text, calls, finishReason: null, error: error instanceof ModelError ? error.message : String(error) };
    }
  }

  const pick = (e: RequestLogEntry) => ({
    index: e.index, model: e.model, rule: e.rule, ruleIndex: e.ruleIndex, matchIndex: e.matchIndex, messageCount: e.messageCount, lastRole: e.lastRole,
    lastMessage: e.lastMessage, lastUserMessage: e.lastUserMessage, toolResults: e.toolResults, promptTokens: e.promptTokens,
    completionTokens: e.completionTokens, toolCalls: e.toolCalls, outcome: e.outcome, stream: e.stream, includeUsage: e.includeUsage,
  });

  it('answers the same requests with the same rules, texts, tool calls and log entries', async () => {
    const script: FakeModelScript = {
      rules: [
        { name: 'cut', match: { marker: '[cut]' }, respond: { ttftMs: 10, outputTokens: 8, error: { afterTokens: 3, message: 'upstream died' } } },
        { name: 'http', match: { marker: '[http]' }, respond: { ttftMs: 10, error: { status: 503, message: 'busy' } } },
        ...CASCADE_SCRIPT.rules,
      ],
    };
    const server = await startFakeModel({ script, seed: 9, timeScale: 1000 });
    servers.push(server);
    const http = new HttpModelClient({ baseUrl: server.url });
    const local = new InProcessModelClient({ script, seed: 9, timeScale: 1000 });
    const user = (content: string): ChatCompletionRequest => ({ model: 'fake-model', messages: [{ role: 'user', content }], stream: true, stream_options: { include_usage: true } });
    const requests: ChatCompletionRequest[] = [
      user('[lanesim:cascade] go'),
      user('[lanesim:cascade-coder] refactor'),
      { ...user('[lanesim:cascade-coder] refactor'), messages: [
        { role: 'user', content: '[lanesim:cascade-coder] refactor' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'read', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: "Error: read tool requires 'path' parameter. Received: {}" },
      ] },
      user('[cut] please'),
      user('[http] please'),
      user('anything else'),
    ];
    for (const request of requests) {
      const overHttp = await play(http, request);
      const inProcess = await play(local, request);
      expect(inProcess.text).toBe(overHttp.text);
      expect(inProcess.calls).toEqual(overHttp.calls);
      expect(inProcess.finishReason).toBe(overHttp.finishReason);
      expect(inProcess.error === null).toBe(overHttp.error === null);
    }
    expect(local.requests().map(pick)).toEqual(server.requests().map(pick));
    expect(local.requests().map((e) => e.rule)).toEqual(['coordinator-handoff', 'coder-malformed-read', 'coder-retry-read', 'cut', 'http', 'default']);
  });

  it('plays on the global timers at the planned times, and stops on abort', async () => {
    const { default: FakeTimers } = await import('@sinonjs/fake-timers');
    const clock = FakeTimers.install({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const local = new InProcessModelClient({ script: { rules: [], default: { ttftMs: 1_000, tokensPerSec: 10, outputTokens: 4, chunkTokens: 1 } } });
      const seen: [number, string][] = [];
      const done = local.complete({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true, stream_options: { include_usage: true } },
        { onText: (t) => void seen.push([Date.now(), t]), onToolCallDelta: () => {} }, new AbortController().signal);
      await clock.tickAsync(5_000);
      await expect(done).resolves.toEqual({ finishReason: 'stop' });
      expect(seen.map(([t]) => t)).toEqual([1_000, 1_100, 1_200, 1_300]);
      expect(local.requests()[0]).toMatchObject({ t: 0, durationMs: 1_300, outcome: 'completed' });
      const controller = new AbortController();
      const aborted = local.complete({ model: 'm', messages: [{ role: 'user', content: 'y' }], stream: true, stream_options: { include_usage: true } },
        { onText: () => {}, onToolCallDelta: () => {} }, controller.signal);
      await clock.tickAsync(500);
      controller.abort();
      await expect(aborted).rejects.toThrow(ModelError);
      expect(local.stats()).toEqual({ inFlight: 0, timers: 0 });
      expect(local.requests()[1]).toMatchObject({ t: 5_000, durationMs: 500, outcome: 'client-closed' });
    } finally {
      clock.uninstall();
    }
  });
});

// ------------------------------------------------------------------ cases-B: splits, QUEUE-11, model faults, nested agents, tool arguments

describe('the queue, model-fault and nested-agent cases (issue 11)', () => {
  const CASES: readonly ConformanceCase[] = [...GATEWAY_CASES, ...MODEL_FAULT_CASES, ...NESTED_CASES];

  it('cover QUEUE-11 and LANE-21..LANE-24, each case declaring what it needs of the gateway', () => {
    const cited = new Set(CASES.flatMap((c) => c.rules));
    expect(['QUEUE-11', 'LANE-21', 'LANE-22', 'LANE-23', 'LANE-24'].filter((r) => !cited.has(r))).toEqual([]);
    for (const c of [...NESTED_CASES]) expect(c.needs?.length ?? 0, c.id).toBeGreaterThan(0);
    // One configuration per case: no queue case needs two queue modes unless it is about resolving them (QUEUE-1).
    for (const c of QUEUE_CASES) {
      const modes = (c.needs ?? []).filter((n) => 'queueMode' in n);
      if (!c.rules.includes('QUEUE-1') && !c.rules.includes('LANE-23')) expect(modes.length, c.id).toBeLessThanOrEqual(1);
    }
  });

  it('the reference passes the model-fault and nested cases in process', async () => {
    const report = await runSuite({ target: referenceTarget(), cases: [...MODEL_FAULT_CASES, ...NESTED_CASES], caseTimeoutMs: 30_000 });
    expect(failures(report)).toEqual([]);
  });

  it('a followup-only gateway gets the followup halves run and the collect halves n/a, naming its declaration', async () => {
    const adapter = { ...referenceAdapter, name: 'followup only', supports: { queueModes: ['followup'] as const } };
    const runs = ['queue.cap.drop-new', 'queue.abort.queued', 'queue.clear.operator', 'queue.nothing-lost.burst', 'queue.abort.holding-session', 'model.stall.past-timeout'];
    const only = [...runs, 'queue.collect.drop-new', 'queue.collect.abort-buffered', 'queue.collect.clear-operator'];
    const report = await runSuite({ target: targetFromAdapter(adapter), cases: CASES, only });
    const byId = new Map(report.results.map((r) => [r.id, r]));
    // The cases that take any waiting mode run in the one it declares (in process: configured with followup).
    for (const id of runs) expect(byId.get(id)?.status, `${id}: ${byId.get(id)?.reason}`).toBe('pass');
    for (const id of ['queue.collect.drop-new', 'queue.collect.abort-buffered', 'queue.collect.clear-operator']) {
      expect(byId.get(id)?.status, id).toBe('n/a');
      expect(byId.get(id)?.reason).toMatch(/^declared unsupported: supports\.queueModes does not list collect/);
    }
  });

  it("queue.nothing-lost.burst fails a gateway that closes followups with an empty final (no verdict on what did not happen)", async () => {
    const report = await runSuite({ target: targetFromAdapter(silentFollowups.adapter), cases: CASES, only: ['queue.nothing-lost.burst'], seed: 3 });
    const burst = report.results[0]!;
    expect(burst.status, burst.reason).toBe('fail');
    expect(burst.checks.map((k) => k.rule)).toContain('WS-17');
  });

  for (const mutant of CASES_B_MUTANTS) {
    it(`${mutant.name} (${mutant.breaks}) is caught by ${mutant.caughtBy.id} under ${mutant.caughtBy.rules.join('/')}`, async () => {
      const report = await runSuite({ target: targetFromAdapter(mutant.adapter), cases: CASES, caseTimeoutMs: 30_000 });
      const catcher = report.results.find((r) => r.id === mutant.caughtBy.id)!;
      expect(catcher.status, `${catcher.id}: ${catcher.reason}`).toBe('fail');
      expect(mutant.caughtBy.rules).toContain(catcher.rule);
      const allowed = [mutant.caughtBy.id, ...mutant.alsoFails];
      const unexpected = report.results
        .filter((r) => r.status === 'error' || (r.status === 'fail' && !allowed.includes('*') && !matchesFilter(r.id, allowed.map((a) => (a.endsWith('.*') ? a.slice(0, -1) : a)))))
        .map((r) => `${r.id} ${r.status}: ${r.reason}`);
      expect(unexpected).toEqual([]);
    });
  }
});
