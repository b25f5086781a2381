/**
 * docs/SPEC.md DEP-9: forms of OpenClaw's that conform (the same behaviour,
 * another spelling) pass the cases that read them, and the same forms carrying
 * a broken behaviour still fail. Each gateway here is the reference with one
 * form changed (a thin wrapper, as the mutants are).
 */
import { describe, expect, it } from 'vitest';
import type { InProcessGateway } from '../../src/conformance/adapter.ts';
import { AGENT_EVENT_CASES } from '../../src/conformance/cases/agent-events.ts';
import { QUEUE_CASES } from '../../src/conformance/cases/queue.ts';
import { targetFromAdapter } from '../../src/conformance/in-process.ts';
import { runSuite, type SuiteReport } from '../../src/conformance/runner.ts';
import { createReferenceAdapter } from '../../src/conformance/targets/reference.ts';
import { isRecord } from './mutants/gateway-mutant.ts';

const CASES = [...QUEUE_CASES, ...AGENT_EVENT_CASES];

/** OpenClaw's chat.abort answer `{ok, aborted: boolean, runIds}`; `lie` makes `aborted` disagree with the list. */
function abortAnswerForm(lie: boolean) {
  return (inner: InProcessGateway): InProcessGateway => ({
    ...inner,
    async request(connId, method, params) {
      const res = await inner.request(connId, method, params);
      if (method !== 'chat.abort' || !isRecord(res) || !Array.isArray(res['aborted'])) return res;
      const runIds = res['aborted'] as string[];
      return { ok: true, aborted: lie ? runIds.length === 0 : runIds.length > 0, runIds };
    },
  });
}

/** OpenClaw's refusal of a blank message: an INVALID_REQUEST error response instead of taking it. */
function refuseBlank(inner: InProcessGateway): InProcessGateway {
  return {
    ...inner,
    request(connId, method, params) {
      const p = (params ?? {}) as { message?: unknown };
      if (method === 'chat.send' && typeof p.message === 'string' && p.message.trim() === '') {
        throw Object.assign(new Error('message or attachment required'), { code: 'INVALID_REQUEST' });
      }
      return inner.request(connId, method, params);
    },
  };
}

/**
 * OpenClaw's agent events: a `run_status` stream before the lifecycle start and a `model` phase after it. `early`: an
 * `assistant` event before the start too (a run's own stream: not allowed before it).
 */
function openclawAgentEvents(early: boolean) {
  return (inner: InProcessGateway): InProcessGateway => ({
    ...inner,
    open(connId, send) {
      const seqs = new Map<string, number>();
      // Renumbered per run from 1 (WS-20), the added events included.
      const emit = (payload: Record<string, unknown>, seq: number): void => {
        const runId = String(payload['runId']);
        const n = (seqs.get(runId) ?? 0) + 1;
        seqs.set(runId, n);
        send('agent', { ...payload, seq: n }, seq);
      };
      inner.open(connId, (event, payload, seq) => {
        if (event === 'agent' && isRecord(payload) && payload['stream'] === 'lifecycle' && isRecord(payload['data']) && payload['data']['phase'] === 'start') {
          emit({ ...payload, stream: 'run_status', data: { phase: 'preparing_workspace' } }, seq);
          if (early) emit({ ...payload, stream: 'assistant', data: { text: '' } }, seq);
          emit(payload, seq);
          emit({ ...payload, data: { phase: 'model' } }, seq);
          return;
        }
        if (event === 'agent' && isRecord(payload)) {
          emit(payload, seq);
          return;
        }
        send(event, payload, seq);
      });
    },
  });
}

async function run(name: string, wrap: (inner: InProcessGateway) => InProcessGateway, only: string[]): Promise<SuiteReport> {
  const adapter = createReferenceAdapter({ name, wrapGateway: (inner) => wrap(inner) });
  return runSuite({ target: targetFromAdapter(adapter), cases: CASES, only, caseTimeoutMs: 30_000 });
}

function verdicts(report: SuiteReport): Record<string, string> {
  return Object.fromEntries(report.results.map((r) => [r.id, r.status === 'fail' ? `fail ${(r.checks ?? []).map((c) => c.rule).join(',')}` : r.status]));
}

describe('DEP-9 forms conform; the same forms with a broken behaviour do not', () => {
  it('WS-18: chat.abort answered {aborted: true|false, runIds} passes the abort cases; aborted disagreeing with runIds fails WS-18', async () => {
    const only = ['queue.abort.queued', 'queue.abort.running', 'agent.lifecycle.end-and-abort'];
    const form = await run('abort answer, OpenClaw form', abortAnswerForm(false), only);
    expect(verdicts(form)).toEqual({ 'queue.abort.queued': 'pass', 'queue.abort.running': 'pass', 'agent.lifecycle.end-and-abort': 'pass' });
    const lie = await run('abort answer, aborted disagrees', abortAnswerForm(true), ['queue.abort.queued']);
    const result = lie.results.find((r) => r.id === 'queue.abort.queued')!;
    expect(result.status).toBe('fail');
    expect(result.checks?.some((c) => c.rule === 'WS-18' && /runIds/.test(c.observed))).toBe(true);
  });

  it('WS-13: a blank message refused as INVALID_REQUEST: queue.cap.summarize judges the summary without it and passes', async () => {
    const report = await run('blank refused', refuseBlank, ['queue.cap.summarize']);
    const result = report.results.find((r) => r.id === 'queue.cap.summarize')!;
    expect(result.status, JSON.stringify(result.checks)).toBe('pass');
    expect(result.notes.some((n) => /blank message was refused as a request error/.test(n))).toBe(true);
  });

  it('WS-20: run_status before the start and a model phase pass; an assistant event before the start fails WS-20', async () => {
    const ok = await run('OpenClaw agent events', openclawAgentEvents(false), ['agent.lifecycle.end-and-abort']);
    expect(verdicts(ok)).toEqual({ 'agent.lifecycle.end-and-abort': 'pass' });
    const early = await run('assistant before start', openclawAgentEvents(true), ['agent.lifecycle.end-and-abort']);
    const result = early.results.find((r) => r.id === 'agent.lifecycle.end-and-abort')!;
    expect(result.status).toBe('fail');
    expect(result.checks?.some((c) => c.rule === 'WS-20' && /before the run's lifecycle, tool, assistant, usage events/.test(c.expected))).toBe(true);
  });
});
