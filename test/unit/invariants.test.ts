/**
 * Each invariant checker on hand-written traces: one that violates it (the
 * violation names the invariant, the rule and the offending events) and one
 * that does not. Rule ids are checked by family (LANE-n, QUEUE-n, ...): the
 * numbering follows docs/SPEC.md, which may renumber.
 */
import { describe, expect, it } from 'vitest';
import type { LaneStatusPayload, LaneStatusWaiting, TraceEvent } from '../../src/model/events.ts';
import {
  AbortSettlesChecker,
  FifoChecker,
  LaneOccupancyChecker,
  NothingLostChecker,
  SilenceChecker,
  ToolResultChecker,
  WaitWarningChecker,
  checkTrace,
  checkerSuite,
  type TraceChecker,
} from '../../src/model/invariants/index.ts';

const run = (checker: TraceChecker, trace: TraceEvent[], endT?: number) => checkTrace(trace, [checker], endT);

function status(sessionKey: string, waiting: LaneStatusWaiting[], t = 0): TraceEvent {
  const payload: LaneStatusPayload = {
    lane: `session:${sessionKey}`, sessionKey, state: waiting.length > 0 ? 'waiting' : 'idle', reason: 'enqueue', active: null,
    waiting, queued: waiting.length, processing: { index: 0, total: waiting.length },
    warning: waiting.some((w) => w.warning), warnThresholdMs: 1000, actions: { cancel: null, viewPartial: null },
  };
  return { type: 'lane.status', t, sessionKey, status: payload };
}
const msg = (t: number, id: string, sessionKey = 'a', connId: string | null = 'c1'): TraceEvent => ({
  type: 'message', t, msgId: `m${id}`, runId: `r${id}`, sessionKey, connId, mode: 'followup',
});

const enq = (t: number, taskId: string, lane: string, front = false): TraceEvent => ({
  type: 'enqueue', t, taskId, lane, queueAhead: 0, activeAhead: 0, front,
});
const grant = (t: number, taskId: string, lane: string): TraceEvent => ({ type: 'grant', t, taskId, lane, waitedMs: 0 });
const start = (t: number, taskId: string, lanes: string[]): TraceEvent => ({ type: 'start', t, taskId, lanes, waitedMs: 0 });
const end = (t: number, taskId: string): TraceEvent => ({ type: 'end', t, taskId });
const open = (lane: string, maxConcurrent: number): TraceEvent => ({ type: 'lane.open', t: 0, lane, maxConcurrent });
const settle = (t: number, id: string, outcome: 'ran' | 'merged' | 'steered' | 'summarized' | 'rejected' | 'aborted', runId: string | null, code: string | null = null): TraceEvent => ({
  type: 'settle', t, msgId: `m${id}`, outcome, runId, code,
});
const frame = (t: number, connId: string, runId: string | null, state: string | null, event = 'chat'): TraceEvent => ({
  type: 'frame', t, connId, event, runId, state,
});

/** Runs a lane through one task: enqueue, grant, start, end. */
const through = (t: number, taskId: string, lane: string, until: number): TraceEvent[] => [
  enq(t, taskId, lane), grant(t, taskId, lane), start(t, taskId, [lane]), end(until, taskId),
];

describe('INV-CAP (LaneOccupancyChecker)', () => {
  it('flags a lane with more holders than maxConcurrent, naming both grants', () => {
    const trace: TraceEvent[] = [
      open('main', 1),
      enq(0, 'A', 'main'), grant(0, 'A', 'main'), start(0, 'A', ['main']),
      enq(5, 'B', 'main'), grant(5, 'B', 'main'),
    ];
    const [v, ...more] = run(new LaneOccupancyChecker(), trace);
    expect(more).toEqual([]);
    expect(v).toMatchObject({ invariant: 'INV-CAP', t: 5 });
    expect(v!.rule).toMatch(/^LANE-\d+$/);
    expect(v!.message).toBe('lane main has 2 holders, maxConcurrent 1: B granted while A held it');
    expect(v!.events).toEqual([trace[5], trace[2]]);
  });

  it('session lanes are capped at 1 even without a lane.open; a cap of 2 admits two', () => {
    const session = [enq(0, 'A', 'session:x'), grant(0, 'A', 'session:x'), enq(1, 'B', 'session:x'), grant(1, 'B', 'session:x')];
    expect(run(new LaneOccupancyChecker(), session).map((v) => v.invariant)).toEqual(['INV-CAP']);
    const two = [open('main', 2), enq(0, 'A', 'main'), grant(0, 'A', 'main'), enq(1, 'B', 'main'), grant(1, 'B', 'main')];
    expect(run(new LaneOccupancyChecker(), two)).toEqual([]);
  });

  it('holds when slots are released in time (end, error, park, queued abort, reset)', () => {
    const trace: TraceEvent[] = [
      open('main', 1),
      ...through(0, 'A', 'main', 10),
      enq(10, 'B', 'main'), grant(10, 'B', 'main'), start(10, 'B', ['main']), { type: 'error', t: 20, taskId: 'B', message: 'boom' },
      enq(20, 'C', 'main'), grant(20, 'C', 'main'), start(20, 'C', ['main']), { type: 'park', t: 30, taskId: 'C', lanes: ['main'], awaiting: 'x' },
      enq(30, 'D', 'main'), grant(30, 'D', 'main'), start(30, 'D', ['main']),
      { type: 'reset', t: 40, lane: 'main', generation: 1 },
      enq(40, 'E', 'main'), grant(40, 'E', 'main'),
    ];
    expect(run(new LaneOccupancyChecker(), trace)).toEqual([]);
  });
});

describe('INV-SESSION-EXCLUSIVE (LaneOccupancyChecker)', () => {
  it('flags two runs at once in one session, naming both starts', () => {
    // A reset forgets A's slot (no INV-CAP), but A still runs when B starts.
    const trace: TraceEvent[] = [
      enq(0, 'A', 'session:s'), grant(0, 'A', 'session:s'), start(0, 'A', ['session:s', 'main']),
      { type: 'reset', t: 5, lane: 'session:s', generation: 1 },
      enq(6, 'B', 'session:s'), grant(6, 'B', 'session:s'), start(6, 'B', ['session:s', 'main']),
    ];
    const violations = run(new LaneOccupancyChecker(), trace);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ invariant: 'INV-SESSION-EXCLUSIVE', t: 6, events: [trace[2], trace[6]] });
    expect(violations[0]!.rule).toMatch(/^LANE-\d+$/);
    expect(violations[0]!.message).toBe('two runs at once in session:s: B started while A (started t=0) still runs');
  });

  it('a parked task does not run: another task may start in its session', () => {
    const trace: TraceEvent[] = [
      enq(0, 'A', 'session:s'), grant(0, 'A', 'session:s'), start(0, 'A', ['session:s']),
      { type: 'park', t: 5, taskId: 'A', lanes: ['session:s'], awaiting: 'nested:t' },
      enq(6, 'B', 'session:s'), grant(6, 'B', 'session:s'), start(6, 'B', ['session:s']), end(9, 'B'),
      enq(9, 'A', 'session:s', true), grant(9, 'A', 'session:s'), start(9, 'A', ['session:s']), end(12, 'A'),
    ];
    expect(run(new LaneOccupancyChecker(), trace)).toEqual([]);
  });
});

describe('INV-FIFO (FifoChecker)', () => {
  it('flags a lane granting a later arrival first, naming the skipped head and the grant', () => {
    const trace: TraceEvent[] = [enq(0, 'A', 'main'), enq(1, 'B', 'main'), grant(2, 'B', 'main')];
    const violations = run(new FifoChecker(), trace);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ invariant: 'INV-FIFO', t: 2 });
    expect(violations[0]!.rule).toMatch(/^LANE-\d+$/);
    expect(violations[0]!.message).toBe('lane main granted B before A, which joined earlier (t=0)');
    expect(violations[0]!.events[0]).toBe(trace[0]);
    expect(violations[0]!.events.at(-1)).toBe(trace[2]);
  });

  it('holds for arrival order, with front-of-queue resumes and removed entries (queued abort, clear)', () => {
    const trace: TraceEvent[] = [
      enq(0, 'A', 'main'), enq(1, 'B', 'main'), enq(2, 'C', 'main'), enq(3, 'D', 'main'),
      { type: 'abort', t: 4, taskId: 'A', phase: 'queued', reason: 'x' },
      { type: 'clear', t: 4, lane: 'main', taskIds: ['B'] },
      enq(5, 'P', 'main', true), // a parked task resuming goes first
      grant(6, 'P', 'main'), grant(7, 'C', 'main'), grant(8, 'D', 'main'),
    ];
    expect(run(new FifoChecker(), trace)).toEqual([]);
  });
});

describe('INV-ABORT-SETTLES (AbortSettlesChecker)', () => {
  const abort = (t: number): TraceEvent => ({ type: 'abort', t, taskId: 'A', phase: 'running', reason: 'chat.abort' });

  it('flags a running task that settles later than the grace after its abort', () => {
    const trace = [abort(0), end(1001, 'A')];
    const [v] = run(new AbortSettlesChecker(1000), trace);
    expect(v).toMatchObject({ invariant: 'INV-ABORT-SETTLES', t: 1001, events: trace });
    expect(v!.rule).toMatch(/^LANE-\d+$/);
    expect(v!.message).toContain('settled only at t=1001');
  });

  it('flags one that never settles (at the end of the trace), naming the abort', () => {
    const trace = [abort(0)];
    const [v] = run(new AbortSettlesChecker(1000), trace, 5000);
    expect(v).toMatchObject({ invariant: 'INV-ABORT-SETTLES', t: 5000, events: trace });
    expect(v!.message).toContain('never settled');
  });

  it('holds for a settle within the grace (exactly at it too), and ignores queued aborts', () => {
    expect(run(new AbortSettlesChecker(1000), [abort(0), end(1000, 'A')])).toEqual([]);
    expect(run(new AbortSettlesChecker(1000), [{ type: 'abort', t: 0, taskId: 'Q', phase: 'queued', reason: 'x' }], 9999)).toEqual([]);
  });
});

describe('INV-NOTHING-LOST (NothingLostChecker)', () => {
  it('flags a message that never settles, naming it', () => {
    const trace = [msg(0, '1')];
    const [v] = run(new NothingLostChecker(), trace, 100);
    expect(v).toMatchObject({ invariant: 'INV-NOTHING-LOST', t: 100, events: trace });
    expect(v!.rule).toMatch(/^QUEUE-\d+$/);
    expect(v!.message).toBe('message m1 (session a, accepted t=0) never settled: lost');
  });

  it('flags a message settled twice, naming both settles', () => {
    const trace = [msg(0, '1'), settle(1, '1', 'ran', 'r1'), settle(2, '1', 'aborted', null, 'X')];
    const violations = run(new NothingLostChecker(), trace);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ invariant: 'INV-NOTHING-LOST', events: [trace[1], trace[2]] });
    expect(violations[0]!.message).toBe('message m1 settled twice: ran then aborted');
  });

  it('flags a settle of a message never accepted, and a refusal without an error code', () => {
    expect(run(new NothingLostChecker(), [settle(0, '9', 'ran', 'r9')])[0]!.message).toBe('message m9 settled (ran) but was never accepted');
    const [v] = run(new NothingLostChecker(), [msg(0, '1'), settle(0, '1', 'rejected', null, null)]);
    expect(v!.message).toBe('message m1 rejected without an error code its sender can see');
  });

  it('flags a summarized message whose carrying run never started', () => {
    const trace = [msg(0, '1'), settle(5, '1', 'summarized', 'rX')];
    const [v] = run(new NothingLostChecker(), trace);
    expect(v).toMatchObject({ invariant: 'INV-NOTHING-LOST', events: [trace[1]] });
    expect(v!.rule).toMatch(/^QUEUE-\d+$/);
    expect(v!.message).toBe('message m1 dropped into a summary carried by rX, which never started');
  });

  it('with senderMustHear, flags a refused message whose sender got no error frame', () => {
    const trace = [msg(0, '1'), settle(0, '1', 'rejected', null, 'QUEUE_FULL')];
    const [v] = run(new NothingLostChecker({ senderMustHear: true }), trace);
    expect(v).toMatchObject({ invariant: 'INV-NOTHING-LOST', events: trace });
    expect(v!.message).toContain('its sender c1 never heard');
    expect(run(new NothingLostChecker({ senderMustHear: true }), [...trace, frame(1, 'c1', 'r1', 'error')])).toEqual([]);
  });

  it('holds when every message settles once with its outcome', () => {
    const trace: TraceEvent[] = [
      msg(0, '1'), msg(0, '2'), msg(0, '3'), msg(0, '4'),
      start(0, 'r1', ['session:a', 'main']), settle(0, '1', 'ran', 'r1'),
      settle(1, '2', 'steered', 'r1'), settle(2, '3', 'aborted', null, 'LANE_CLEARED'),
      start(5, 'r5', ['session:a', 'main']), settle(5, '4', 'summarized', 'r5'),
    ];
    expect(run(new NothingLostChecker(), trace)).toEqual([]);
  });
});

describe('INV-WAIT-WARNING / INV-WAIT-STATUS (WaitWarningChecker)', () => {
  const w = (runId: string, waitedMs: number, warning: boolean): LaneStatusWaiting => ({ runId, position: 1, queueAhead: 0, waitedMs, warning });

  it('flags a message that waited and was never listed in a lane.status (STATUS-3)', () => {
    const trace = [msg(0, '1'), settle(50, '1', 'ran', 'r1')];
    const [v] = run(new WaitWarningChecker({ warnThresholdMs: 1000 }), trace);
    expect(v).toMatchObject({ invariant: 'INV-WAIT-STATUS', rule: 'STATUS-3', t: 50, events: trace });
    expect(v!.message).toBe('message m1 (run r1) waited 50 ms and no lane.status ever listed it');
  });

  it('flags a waiting message with no warning by warnThresholdMs (STATUS-4), at the crossing', () => {
    const trace = [msg(0, '1'), status('a', [w('r1', 0, false)], 0), status('a', [w('r1', 999, false)], 999), settle(3000, '1', 'ran', 'r1')];
    const [v, ...more] = run(new WaitWarningChecker({ warnThresholdMs: 1000 }), trace);
    expect(more).toEqual([]);
    expect(v).toMatchObject({ invariant: 'INV-WAIT-WARNING', t: 1000, events: [trace[0]] });
    expect(v!.rule).toMatch(/^STATUS-\d+$/);
    expect(v!.message).toBe('message m1 (run r1) waited past warnThresholdMs 1000 ms with no lane.status warning by t=1000');
  });

  it('holds for a message listed, then warned exactly at the threshold; and for one settled at once', () => {
    const trace = [
      msg(0, '1'), status('a', [w('r1', 0, false)], 0), status('a', [w('r1', 1000, true)], 1000), settle(3000, '1', 'ran', 'r1'),
      msg(4000, '2'), settle(4000, '2', 'steered', 'r9'),
    ];
    expect(run(new WaitWarningChecker({ warnThresholdMs: 1000 }), trace, 5000)).toEqual([]);
  });

  it('toleranceMs allows a late warning, no later', () => {
    const late = (t: number) => [msg(0, '1'), status('a', [w('r1', 0, false)], 0), status('a', [w('r1', t, true)], t), settle(3000, '1', 'ran', 'r1')];
    expect(run(new WaitWarningChecker({ warnThresholdMs: 1000, toleranceMs: 50 }), late(1050))).toEqual([]);
    expect(run(new WaitWarningChecker({ warnThresholdMs: 1000, toleranceMs: 50 }), late(1051))).toHaveLength(1);
  });
});

describe('INV-SILENCE (SilenceChecker)', () => {
  it('flags a waiting client that hears nothing for longer than the bound', () => {
    const trace: TraceEvent[] = [
      { type: 'conn', t: 0, connId: 'c1', state: 'open' },
      msg(0, '1'),
      frame(15_001, 'c1', null, null, 'heartbeat'),
    ];
    const [v] = run(new SilenceChecker({ boundMs: 15_000 }), trace);
    expect(v).toMatchObject({ invariant: 'INV-SILENCE', t: 15_001, events: [trace[2]] });
    expect(v!.rule).toMatch(/^HB-\d+$/);
    expect(v!.message).toBe('client c1 heard nothing for 15001 ms (bound 15000 ms) while waiting on r1, from t=0 to t=15001');
  });

  it('holds with frames within the bound until the answer; a closed connection stops the clock', () => {
    const answered: TraceEvent[] = [
      { type: 'conn', t: 0, connId: 'c1', state: 'open' },
      msg(0, '1'),
      frame(15_000, 'c1', null, null, 'heartbeat'),
      settle(20_000, '1', 'ran', 'r1'),
      frame(30_000, 'c1', 'r1', 'final'),
    ];
    expect(run(new SilenceChecker({ boundMs: 15_000 }), answered, 100_000)).toEqual([]);
    const closed: TraceEvent[] = [{ type: 'conn', t: 0, connId: 'c1', state: 'open' }, msg(0, '1'), { type: 'conn', t: 1000, connId: 'c1', state: 'closed' }];
    expect(run(new SilenceChecker({ boundMs: 15_000 }), closed, 100_000)).toEqual([]);
  });
});

describe('INV-TOOL-RETURNED (ToolResultChecker)', () => {
  const call: TraceEvent = { type: 'tool_call', t: 0, runId: 'r1', callId: 'k1', tool: 'read', valid: false };

  it('flags a malformed call whose error was only logged, naming the call and the result', () => {
    const result: TraceEvent = { type: 'tool_result', t: 1, runId: 'r1', callId: 'k1', tool: 'read', isError: true, delivery: 'logged', text: 'x' };
    const [v] = run(new ToolResultChecker(), [call, result]);
    expect(v).toMatchObject({ invariant: 'INV-TOOL-RETURNED', t: 1, events: [call, result] });
    expect(v!.rule).toMatch(/^TOOL-\d+$/);
    expect(v!.message).toBe('malformed read call k1 in run r1: error only logged, the agent never saw it');
  });

  it('flags a malformed call that never got a result', () => {
    const [v] = run(new ToolResultChecker(), [call], 10);
    expect(v).toMatchObject({ invariant: 'INV-TOOL-RETURNED', t: 10, events: [call] });
    expect(v!.message).toBe('malformed read call k1 in run r1 never got a tool_result');
  });

  it('holds when the error is returned to the agent', () => {
    const checker = new ToolResultChecker();
    const returned: TraceEvent = { type: 'tool_result', t: 1, runId: 'r1', callId: 'k1', tool: 'read', isError: true, delivery: 'returned', text: 'x' };
    expect(run(checker, [call, returned])).toEqual([]);
    expect(checker.returned).toBe(1);
  });
});

describe('checkerSuite / checkTrace', () => {
  it('builds the asked-for checkers and returns every violation in time order', () => {
    expect(checkerSuite().map((c) => c.invariant)).toEqual(['INV-CAP', 'INV-FIFO', 'INV-ABORT-SETTLES', 'INV-NOTHING-LOST']);
    expect(checkerSuite({ lanes: false, warnThresholdMs: 10, silenceBoundMs: 10, tools: true }).map((c) => c.invariant)).toEqual([
      'INV-NOTHING-LOST', 'INV-WAIT-WARNING', 'INV-SILENCE', 'INV-TOOL-RETURNED',
    ]);
    const trace: TraceEvent[] = [msg(0, '1'), enq(0, 'A', 'main'), enq(1, 'B', 'main'), grant(2, 'B', 'main')];
    const violations = checkTrace(trace, checkerSuite(), 50);
    expect(violations.map((v) => [v.invariant, v.t])).toEqual([['INV-FIFO', 2], ['INV-NOTHING-LOST', 50]]);
  });
});

describe('regression: INV-WAIT-WARNING', () => {
  it('a message dropped into an overflow summary stops waiting at the drop (it left the queue)', () => {
    const trace: TraceEvent[] = [
      msg(0, '1'),
      status('a', [{ runId: 'r1', position: 1, queueAhead: 0, waitedMs: 0, warning: false }], 0),
      { type: 'drop', t: 10, msgId: 'm1', sessionKey: 'a', policy: 'summarize', gist: 'hello' },
      status('a', [], 10),
      { type: 'start', t: 5000, taskId: 'r2', lanes: ['session:a', 'main'], waitedMs: 5000 },
      { type: 'settle', t: 5000, msgId: 'm1', outcome: 'summarized', runId: 'r2', code: null },
    ];
    expect(run(new WaitWarningChecker({ warnThresholdMs: 1000 }), trace, 6000)).toEqual([]);
  });
});

describe('regression: INV-FIFO', () => {
  it('a task that ends while it waits in a queue (a resumed parked task, aborted) drops out of that queue', () => {
    const trace: TraceEvent[] = [
      { type: 'enqueue', t: 0, taskId: 'B', lane: 'session:a', queueAhead: 0, activeAhead: 0, front: false },
      { type: 'grant', t: 0, taskId: 'B', lane: 'session:a', waitedMs: 0 },
      { type: 'enqueue', t: 1, taskId: 'P', lane: 'session:a', queueAhead: 0, activeAhead: 1, front: true },
      { type: 'abort', t: 2, taskId: 'P', phase: 'running', reason: 'chat.abort' },
      { type: 'error', t: 2, taskId: 'P', message: 'aborted' },
      { type: 'enqueue', t: 2, taskId: 'C', lane: 'session:a', queueAhead: 0, activeAhead: 1, front: false },
      { type: 'end', t: 3, taskId: 'B' },
      { type: 'grant', t: 3, taskId: 'C', lane: 'session:a', waitedMs: 1 },
    ];
    expect(run(new FifoChecker(), trace)).toEqual([]);
  });
});

describe('regression: INV-CAP', () => {
  it('a task cleared from one lane gives back the lanes it held (no phantom holder)', () => {
    const trace: TraceEvent[] = [
      { type: 'lane.open', t: 0, lane: 'session:a', maxConcurrent: 1 },
      { type: 'lane.open', t: 0, lane: 'subagent', maxConcurrent: 1 },
      { type: 'enqueue', t: 0, taskId: 'X', lane: 'session:a', queueAhead: 0, activeAhead: 0, front: false },
      { type: 'grant', t: 0, taskId: 'X', lane: 'session:a', waitedMs: 0 },
      { type: 'enqueue', t: 0, taskId: 'X', lane: 'subagent', queueAhead: 0, activeAhead: 1, front: false },
      { type: 'clear', t: 5, lane: 'subagent', taskIds: ['X'] },
      { type: 'enqueue', t: 5, taskId: 'Y', lane: 'session:a', queueAhead: 0, activeAhead: 0, front: false },
      { type: 'grant', t: 5, taskId: 'Y', lane: 'session:a', waitedMs: 0 },
    ];
    expect(run(new LaneOccupancyChecker(), trace)).toEqual([]);
  });
});
