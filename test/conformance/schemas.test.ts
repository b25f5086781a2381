/**
 * The payload schemas (src/conformance/schemas.ts): every payload the
 * reference sends conforms (read from a live in-process session: events of
 * every kind and the answers of every method), and a malformed one is named
 * by field path and value, under the rule that defines it.
 */
import { describe, expect, it } from 'vitest';
import { openInProcessGateway } from '../../src/conformance/in-process.ts';
import { PAYLOADS, abortedRunIds, payloadProblem, type PayloadKind } from '../../src/conformance/schemas.ts';
import { referenceAdapter } from '../../src/conformance/targets/reference.ts';

const EVENT_KINDS: Record<string, PayloadKind> = { 'lane.status': 'laneStatus', heartbeat: 'heartbeat', chat: 'chat', agent: 'agent', shutdown: 'shutdown', tick: 'tick' };

describe('payload schemas', () => {
  it('accept every payload the reference sends: events of every kind, and every method\'s answer', async () => {
    const session = await openInProcessGateway(referenceAdapter, { config: { messages: { queue: { mode: 'followup' } }, agents: { defaults: { maxConcurrent: 1 } } } as never });
    const seen = new Map<string, number>();
    const problems: string[] = [];
    const judge = (kind: PayloadKind, value: unknown): void => {
      seen.set(kind, (seen.get(kind) ?? 0) + 1);
      const p = payloadProblem(kind, value);
      if (p !== null) problems.push(p);
    };
    try {
      await session.setModel({ rules: [{ name: 'long', match: { marker: '[long]' }, respond: { ttftMs: 40_000, outputTokens: 30, tokensPerSec: 10, chunkTokens: 1, jitter: 0 } }], default: { ttftMs: 200, outputTokens: 5 } });
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const s = session.sessionKey('s');
      const a = await alice.request('chat.send', { sessionKey: s, message: 'think [long]', idempotencyKey: 'a' });
      judge('response', a);
      judge('chatSend', a.payload);
      const b = await bob.request('chat.send', { sessionKey: s, message: 'behind', idempotencyKey: 'b' });
      judge('chatSend', b.payload);
      judge('chatSend', (await bob.request('chat.send', { sessionKey: s, message: 'behind', idempotencyKey: 'b' })).payload);
      judge('subscribe', (await bob.request('sessions.subscribe', { sessionKey: s })).payload);
      await session.sleep(45_000);
      judge('chatHistory', (await bob.request('chat.history', { sessionKey: s })).payload);
      judge('diagnosticsLanes', (await bob.request('diagnostics.lanes', {})).payload);
      judge('health', (await bob.request('health', {})).payload);
      judge('chatAbort', (await bob.request('chat.abort', { sessionKey: s, runId: (b.payload as { runId: string }).runId })).payload);
      await session.sleep(20_000);
      const unknown = await bob.request('no.such.method', {});
      judge('response', unknown);
      for (const client of [alice, bob]) {
        for (const e of client.events) {
          const kind = EVENT_KINDS[e.event];
          if (kind !== undefined) judge(kind, e.payload);
          if (kind === 'chat') judge('chatState', e.payload);
        }
      }
    } finally {
      await session.close();
    }
    expect(problems).toEqual([]);
    for (const kind of ['laneStatus', 'heartbeat', 'chat', 'agent', 'chatSend', 'chatAbort', 'chatHistory', 'diagnosticsLanes', 'health', 'subscribe', 'response', 'tick'] as PayloadKind[]) {
      expect(seen.get(kind) ?? 0, kind).toBeGreaterThan(0);
    }
  });

  const status = {
    lane: 'session:s', sessionKey: 's', state: 'active', reason: 'enqueue',
    active: { runId: 'r1', agentId: null, elapsedMs: 10, waitingFor: null },
    waiting: [{ runId: 'r2', position: 1, queueAhead: 0, waitedMs: 5, warning: false }],
    queued: 1, processing: { index: 1, total: 2 }, warning: false, warnThresholdMs: 30_000,
    actions: { cancel: { method: 'chat.abort', params: { sessionKey: 's', runId: 'r1' } }, viewPartial: { method: 'chat.history', params: { sessionKey: 's', runId: 'r1' } } },
  };

  it('name the missing field, its path and the value, under the defining rule (STATUS-2)', () => {
    expect(PAYLOADS.laneStatus.rule).toBe('STATUS-2');
    expect(payloadProblem('laneStatus', status)).toBeNull();
    const { waiting: _w, ...noWaiting } = status;
    expect(payloadProblem('laneStatus', noWaiting)).toMatch(/^lane\.status payload \/waiting is required; got \{"lane":"session:s"/);
    expect(payloadProblem('laneStatus', { ...status, queued: '1' })).toMatch(/\/queued must be integer \(got "1"\)/);
    expect(payloadProblem('laneStatus', { ...status, extra: 1 })).toMatch(/\/extra is not one of its fields/);
    expect(payloadProblem('laneStatus', { ...status, active: { runId: 'r1' } })).toMatch(/\/active\/agentId is required/);
    expect(payloadProblem('laneStatus', { ...status, state: 'busy' })).toMatch(/\/state must be one of "idle", "active", "waiting" \(got "busy"\)/);
    expect(payloadProblem('laneStatus', undefined)).toMatch(/must be object \(got undefined\)/);
  });

  it('hold each payload to its rule: HB-4 exactly, WS-15 per state, WS-20 lifecycle phases, WS-13 rejected with code, DIAG-3 entries', () => {
    expect(payloadProblem('heartbeat', { runId: 'r', elapsedMs: 1, queued: true, sessionKey: null })).toBeNull();
    expect(payloadProblem('heartbeat', { runId: 'r', elapsedMs: 1, queued: true, sessionKey: null, extra: 0 })).toMatch(/\/extra is not one of its fields/);
    expect(payloadProblem('chatState', { runId: 'r', sessionKey: 's', seq: 3, state: 'final' })).toMatch(/\/message is required/);
    expect(payloadProblem('chatState', { runId: 'r', sessionKey: 's', seq: 0, state: 'error', errorCode: 'X' })).toMatch(/\/errorMessage is required/);
    expect(payloadProblem('chat', { runId: 'r', sessionKey: 's', seq: 1, state: 'delta', deltaText: 'a', extra: 1 })).toBeNull();
    // WS-20: a lifecycle event names its phase; a phase of the gateway's own (OpenClaw's model) is a form the per-run order judges.
    expect(payloadProblem('agent', { runId: 'r', sessionKey: 's', seq: 1, stream: 'lifecycle', data: { phase: 'model' } })).toBeNull();
    expect(payloadProblem('agent', { runId: 'r', sessionKey: 's', seq: 1, stream: 'lifecycle', data: {} })).toMatch(/\/data\/phase is required/);
    expect(payloadProblem('agent', { runId: 'r', sessionKey: 's', seq: 1, stream: 'lifecycle', data: { phase: '' } })).toMatch(/\/data\/phase/);
    expect(payloadProblem('agent', { runId: 'r', sessionKey: 's', seq: 0, stream: 'lifecycle', data: { phase: 'start' } })).toMatch(/\/seq must be >= 1/);
    // WS-18: either form, the boolean consistent with the list.
    expect(payloadProblem('chatAbort', { aborted: ['r1'] })).toBeNull();
    expect(payloadProblem('chatAbort', { ok: true, aborted: true, runIds: ['r1'] })).toBeNull();
    expect(payloadProblem('chatAbort', { ok: true, aborted: false, runIds: [] })).toBeNull();
    expect(payloadProblem('chatAbort', { ok: true, aborted: true, runIds: [] })).not.toBeNull();
    expect(payloadProblem('chatAbort', { ok: true, aborted: false, runIds: ['r1'] })).not.toBeNull();
    expect(payloadProblem('chatAbort', { aborted: true })).not.toBeNull();
    expect(payloadProblem('chatAbort', {})).not.toBeNull();
    expect(abortedRunIds({ aborted: ['a', 'b'] })).toEqual(['a', 'b']);
    expect(abortedRunIds({ aborted: true, runIds: ['c'] })).toEqual(['c']);
    expect(payloadProblem('chatSend', { runId: 'r', status: 'rejected' })).toMatch(/\/code is required/);
    expect(payloadProblem('chatSend', { runId: 'r', status: 'ok' })).toBeNull();
    expect(payloadProblem('diagnosticsLanes', { lanes: [{ lane: 'main', queuedCount: 0, activeCount: 0, maxConcurrent: 0, draining: false, blockedBy: [] }] })).toMatch(/\/lanes\/0\/maxConcurrent must be >= 1/);
    expect(payloadProblem('chatHistory', { messages: [], inFlightRun: { runId: 'r', text: 'x', startedAt: 1 } })).toBeNull();
    expect(payloadProblem('response', { type: 'res', id: '1', ok: false })).toMatch(/\/error is required/);
    expect(payloadProblem('response', { type: 'res', id: '1', ok: false, error: { code: 'X' } })).toMatch(/\/error\/message is required/);
  });
});
