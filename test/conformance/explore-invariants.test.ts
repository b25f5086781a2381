/**
 * The invariant checkers the explorer added to src/model/invariants
 * (opt-in in checkerSuite, so simulation reports are unchanged):
 * INV-STATUS-VALUES (STATUS-2/4/6/7/8) and INV-HEARTBEAT-WAIT (HB-3/HB-4),
 * on hand-built traces: a correct one passes, each break is named by its rule.
 */
import { describe, expect, it } from 'vitest';
import type { LaneStatusPayload, TraceEvent } from '../../src/model/events.ts';
import { HeartbeatWaitChecker, StatusValuesChecker, checkTrace, checkerSuite } from '../../src/model/invariants/index.ts';

function status(over: Partial<LaneStatusPayload> = {}): LaneStatusPayload {
  const base: LaneStatusPayload = {
    lane: 'session:s', sessionKey: 's', state: 'active', reason: 'enqueue',
    active: { runId: 'r1', agentId: null, elapsedMs: 10, waitingFor: null },
    waiting: [{ runId: 'r2', position: 1, queueAhead: 0, waitedMs: 5, warning: false }],
    queued: 1, processing: { index: 1, total: 2 }, warning: false, warnThresholdMs: 1000,
    actions: {
      cancel: { method: 'chat.abort', params: { sessionKey: 's', runId: 'r1' } },
      viewPartial: { method: 'chat.history', params: { sessionKey: 's', runId: 'r1' } },
    },
  };
  return { ...base, ...over };
}

const rulesOf = (events: TraceEvent[]): string[] => checkTrace(events, [new StatusValuesChecker()]).map((v) => v.rule);

describe('INV-STATUS-VALUES', () => {
  it('a consistent status passes, and an idle one with index = total', () => {
    expect(rulesOf([{ type: 'lane.status', t: 1, sessionKey: 's', status: status() }])).toEqual([]);
    const idle = status({ state: 'idle', active: null, waiting: [], queued: 0, processing: { index: 2, total: 2 }, actions: { cancel: null, viewPartial: null } });
    expect(rulesOf([{ type: 'lane.status', t: 1, sessionKey: 's', status: idle }])).toEqual([]);
  });

  it('names each broken value by its rule', () => {
    const at = (s: LaneStatusPayload): TraceEvent[] => [{ type: 'lane.status', t: 1, sessionKey: 's', status: s }];
    expect(rulesOf(at(status({ waiting: [{ runId: 'r2', position: 2, queueAhead: 0, waitedMs: 5, warning: false }] })))).toEqual(['STATUS-2']);
    expect(rulesOf(at(status({ queued: 3 })))).toEqual(['STATUS-2']);
    expect(rulesOf(at(status({ processing: { index: 1, total: 1 } })))).toEqual(['STATUS-6']);
    expect(rulesOf(at(status({ waiting: [{ runId: 'r2', position: 1, queueAhead: 0, waitedMs: 1000, warning: false }] })))).toEqual(['STATUS-4']);
    expect(rulesOf(at(status({ actions: { cancel: { method: 'chat.abort', params: { sessionKey: 's', runId: 'r9' } }, viewPartial: status().actions.viewPartial } })))).toEqual(['STATUS-7']);
    expect(rulesOf(at(status({ state: 'waiting' })))).toEqual(['STATUS-2']);
    const idleBusy = status({ state: 'idle', active: null, waiting: [], queued: 0, processing: { index: 1, total: 2 }, actions: { cancel: null, viewPartial: null } });
    expect(rulesOf(at(idleBusy))).toContain('STATUS-8');
  });

  it('is opt-in in checkerSuite (simulation reports are unchanged)', () => {
    expect(checkerSuite().some((c) => c.invariant === 'INV-STATUS-VALUES' || c.invariant === 'INV-HEARTBEAT-WAIT')).toBe(false);
    const on = checkerSuite({ statusValues: true, heartbeatWaits: true }).map((c) => c.invariant);
    expect(on).toContain('INV-STATUS-VALUES');
    expect(on).toContain('INV-HEARTBEAT-WAIT');
  });
});

describe('INV-HEARTBEAT-WAIT', () => {
  const waiting: TraceEvent[] = [
    { type: 'message', t: 0, msgId: 'm1', runId: 'm1', sessionKey: 's', connId: 'c1', mode: 'collect' },
    { type: 'settle', t: 100, msgId: 'm1', outcome: 'merged', runId: 'r7', code: null },
  ];
  const run = (events: TraceEvent[]): string[] => checkTrace(events, [new HeartbeatWaitChecker()]).map((v) => v.rule);

  it('a heartbeat naming the message or its carrying run, while it waits, passes', () => {
    expect(run([...waiting, { type: 'heartbeat', t: 200, connId: 'c1', runId: 'r7', elapsedMs: 50 }])).toEqual([]);
    expect(run([...waiting, { type: 'heartbeat', t: 200, connId: 'c1', runId: 'm1', elapsedMs: 200 }])).toEqual([]);
  });

  it('a heartbeat naming another run is HB-4; one after the wait ended is HB-3; a negative elapsedMs is HB-4', () => {
    expect(run([...waiting, { type: 'heartbeat', t: 200, connId: 'c1', runId: 'other', elapsedMs: 5 }])).toEqual(['HB-4']);
    const ended: TraceEvent[] = [...waiting, { type: 'frame', t: 300, connId: 'c1', event: 'chat', runId: 'r7', state: 'final' }];
    expect(run([...ended, { type: 'heartbeat', t: 300, connId: 'c1', runId: 'r7', elapsedMs: 5 }])).toEqual([]);
    expect(run([...ended, { type: 'heartbeat', t: 900, connId: 'c1', runId: 'r7', elapsedMs: 5 }])).toEqual(['HB-3']);
    expect(run([...waiting, { type: 'heartbeat', t: 200, connId: 'c1', runId: 'r7', elapsedMs: -1 }])).toEqual(['HB-4']);
  });
});
