/**
 * Message queue modes (QUEUE-*), drop policies, collect prompts, overflow
 * summaries, debounce timing, receipts and lane.status payloads (STATUS-*),
 * on the reference SessionRouter with a scripted executor on a fake clock.
 *
 * Unless a test says otherwise every run takes 1000 ms and streams
 * throughout; session `a`; message i has msgId m<i> and runId r<i>.
 */
import { describe, expect, it } from 'vitest';
import { checkTrace, checkerSuite } from '../../src/model/invariants/index.ts';
import { COLLECT_HEADER, GIST_MAX_CHARS, gistOf } from '../../src/reference-impl/queue-texts.ts';
import { plainScript } from '../support/scripted-executor.ts';
import { routerHarness } from '../support/router-harness.ts';
import { formatViolations, ofType } from '../support/trace-recorder.ts';

type Harness = ReturnType<typeof routerHarness>;

/** Runs the clock out and checks every invariant over the whole trace. */
function finishClean(h: Harness): void {
  h.fake.runAll();
  const violations = checkTrace(h.trace, checkerSuite({ warnThresholdMs: h.config.agents.defaults.lane.warnThresholdMs }), h.fake.now);
  expect(violations, formatViolations(violations)).toEqual([]);
  expect(h.router.scheduler.liveTasks).toBe(0);
  expect(h.router.activeSessions).toBe(0);
  expect(h.lastStatus()?.state ?? 'idle').toBe('idle');
}

const started = (h: Harness) => h.executor.started.map((r) => ({ t: r.t, runId: r.runId, prompt: r.prompt }));
const outcomes = (h: Harness) => h.settles.map((s) => [s.msgId, s.outcome, s.runId, s.code, s.t]);

const collectOf = (...texts: string[]): string =>
  [COLLECT_HEADER, ...texts.map((t, i) => `---\nQueued #${i + 1}\n${t}`)].join('\n\n');

describe('mode steer (QUEUE-3)', () => {
  it('injects a message into the streaming run: receipt steered, settled steered into that run, no new run', () => {
    const h = routerHarness({ messages: { queue: { mode: 'steer' } } });
    expect(h.send('start')).toMatchObject({ status: 'started', runId: 'r1', mode: 'steer', code: null });
    h.fake.tick(300);
    expect(h.send('also this')).toMatchObject({ status: 'steered', runId: 'r2', mode: 'steer', code: null, message: null });
    expect(h.executor.steers).toEqual([{ t: 300, runId: 'r1', msgId: 'm2', text: 'also this' }]);
    finishClean(h);
    expect(outcomes(h)).toEqual([['m1', 'ran', 'r1', null, 0], ['m2', 'steered', 'r1', null, 300]]);
    expect(started(h)).toEqual([{ t: 0, runId: 'r1', prompt: 'start' }]);
  });

  it('falls back to a followup when the run is not streaming (between model turns)', () => {
    const h = routerHarness({ messages: { queue: { mode: 'steer' } } }, () => plainScript(1000, { streamFromMs: 500, streamToMs: 800 }));
    h.send('start');
    h.fake.tick(200); // not streaming yet
    expect(h.send('later')).toMatchObject({ status: 'queued', runId: 'r2' });
    h.fake.tick(400); // t=600: streaming
    expect(h.send('now')).toMatchObject({ status: 'steered' });
    h.fake.tick(300); // t=900: streaming window over
    expect(h.send('after')).toMatchObject({ status: 'queued' });
    expect(h.executor.steers.map((s) => s.msgId)).toEqual(['m3']);
    finishClean(h);
    expect(started(h)).toEqual([
      { t: 0, runId: 'r1', prompt: 'start' },
      { t: 1000, runId: 'r2', prompt: 'later' },
      { t: 2000, runId: 'r4', prompt: 'after' },
    ]);
    expect(outcomes(h)).toEqual([
      ['m1', 'ran', 'r1', null, 0], ['m3', 'steered', 'r1', null, 600], ['m2', 'ran', 'r2', null, 1000], ['m4', 'ran', 'r4', null, 2000],
    ]);
  });
});

describe('mode followup (QUEUE-4)', () => {
  it('one later turn per message, in arrival order, each settled ran when its run starts', () => {
    const h = routerHarness({ messages: { queue: { mode: 'followup' } } });
    h.send('one');
    h.fake.tick(100);
    expect(h.send('two')).toMatchObject({ status: 'queued', runId: 'r2', mode: 'followup' });
    h.fake.tick(100);
    expect(h.send('three')).toMatchObject({ status: 'queued', runId: 'r3' });
    finishClean(h);
    expect(started(h)).toEqual([
      { t: 0, runId: 'r1', prompt: 'one' },
      { t: 1000, runId: 'r2', prompt: 'two' },
      { t: 2000, runId: 'r3', prompt: 'three' },
    ]);
    expect(outcomes(h)).toEqual([['m1', 'ran', 'r1', null, 0], ['m2', 'ran', 'r2', null, 1000], ['m3', 'ran', 'r3', null, 2000]]);
    expect(h.executor.steers).toEqual([]);
  });

  it('an idle session runs the message at once whatever the mode (QUEUE-2)', () => {
    for (const mode of ['steer', 'followup', 'collect', 'steer-backlog', 'interrupt'] as const) {
      const h = routerHarness({ messages: { queue: { mode } } });
      expect(h.send('hello')).toEqual({ status: 'started', runId: 'r1', mode, code: null, message: null, msgId: 'm1' });
      finishClean(h);
    }
  });
});

describe('mode collect (QUEUE-7..QUEUE-10)', () => {
  it('merges the messages queued during a run into one turn with the exact collect prompt', () => {
    const h = routerHarness({ messages: { queue: { mode: 'collect', debounceMs: 0 } } });
    h.send('first');
    h.fake.tick(100);
    expect(h.send('<a>')).toMatchObject({ status: 'queued', runId: 'r2', mode: 'collect' });
    h.fake.tick(100);
    h.send('<b>');
    finishClean(h);
    const merged = started(h)[1]!;
    expect(merged).toEqual({ t: 1000, runId: 'a#collect1', prompt: '[Queued messages while agent was busy]\n\n---\nQueued #1\n<a>\n\n---\nQueued #2\n<b>' });
    expect(ofType(h.trace, 'merge')).toEqual([{ type: 'merge', t: 1000, runId: 'a#collect1', msgIds: ['m2', 'm3'] }]);
    expect(outcomes(h).slice(1)).toEqual([['m2', 'merged', 'a#collect1', null, 1000], ['m3', 'merged', 'a#collect1', null, 1000]]);
    // A sender finds the run carrying its message by its own runId.
    expect(h.router.runForMessage('r2')).toBeUndefined(); // done by now
  });

  it('a single queued message runs as itself (its own runId, outcome ran)', () => {
    const h = routerHarness({ messages: { queue: { mode: 'collect', debounceMs: 0 } } });
    h.send('first');
    h.fake.tick(100);
    h.send('only');
    finishClean(h);
    expect(started(h)).toEqual([{ t: 0, runId: 'r1', prompt: 'first' }, { t: 1000, runId: 'r2', prompt: 'only' }]);
    expect(ofType(h.trace, 'merge')).toEqual([]);
    expect(h.settleOf('m2')).toMatchObject({ outcome: 'ran', runId: 'r2' });
  });

  it('messages for two routes drain as two runs, in order of first arrival (QUEUE-10)', () => {
    const h = routerHarness({ messages: { queue: { mode: 'collect', debounceMs: 0 } } });
    h.send('first');
    h.fake.tick(10);
    h.send('b1', { route: 'thread-b' });
    h.send('a1', { route: 'thread-a' });
    h.send('b2', { route: 'thread-b' });
    h.send('a2', { route: 'thread-a' });
    finishClean(h);
    expect(started(h)).toEqual([
      { t: 0, runId: 'r1', prompt: 'first' },
      { t: 1000, runId: 'a#collect1', prompt: collectOf('b1', 'b2') },
      { t: 2000, runId: 'a#collect2', prompt: collectOf('a1', 'a2') },
    ]);
    expect(ofType(h.trace, 'merge').map((m) => m.msgIds)).toEqual([['m2', 'm4'], ['m3', 'm5']]);
  });

  it('drains at exactly max(run end, last enqueue + debounceMs): the quiet window outlasts the run', () => {
    const h = routerHarness({ messages: { queue: { mode: 'collect', debounceMs: 500 } } });
    h.send('first'); // 0..1000
    h.fake.tick(700);
    h.send('x');
    h.fake.tick(200);
    h.send('y'); // t=900: quiet until 1400
    h.fake.tick(499); // t=1399: run ended at 1000, still quiet
    expect(h.executor.started).toHaveLength(1);
    h.fake.tick(1); // t=1400
    expect(started(h)[1]).toEqual({ t: 1400, runId: 'a#collect1', prompt: collectOf('x', 'y') });
    finishClean(h);
  });

  it('drains at exactly max(run end, last enqueue + debounceMs): the run outlasts the quiet window', () => {
    const h = routerHarness({ messages: { queue: { mode: 'collect', debounceMs: 500 } } });
    h.send('first'); // 0..1000
    h.fake.tick(100);
    h.send('x');
    h.fake.tick(100);
    h.send('y'); // quiet from 700, run ends at 1000
    h.fake.tick(799); // t=999
    expect(h.executor.started).toHaveLength(1);
    h.fake.tick(1); // t=1000
    expect(started(h)[1]).toEqual({ t: 1000, runId: 'a#collect1', prompt: collectOf('x', 'y') });
    finishClean(h);
  });

  it('a message arriving in the quiet window after the run restarts the window', () => {
    const h = routerHarness({ messages: { queue: { mode: 'collect', debounceMs: 500 } } });
    h.send('first');
    h.fake.tick(800);
    h.send('x'); // quiet until 1300
    h.fake.tick(400);
    h.send('y'); // t=1200 (session idle but x buffered): quiet until 1700
    h.fake.tick(499);
    expect(h.executor.started).toHaveLength(1);
    h.fake.tick(1);
    expect(started(h)[1]).toEqual({ t: 1700, runId: 'a#collect1', prompt: collectOf('x', 'y') });
    finishClean(h);
  });
});

describe('mode steer-backlog (QUEUE-5)', () => {
  it('steers into the streaming run now and also keeps the message for a followup turn', () => {
    const h = routerHarness({ messages: { queue: { mode: 'steer-backlog' } } });
    h.send('start');
    h.fake.tick(250);
    expect(h.send('more')).toMatchObject({ status: 'queued', runId: 'r2', mode: 'steer-backlog' });
    expect(h.executor.steers).toEqual([{ t: 250, runId: 'r1', msgId: 'm2', text: 'more' }]);
    expect(ofType(h.trace, 'steer')).toEqual([{ type: 'steer', t: 250, msgId: 'm2', runId: 'r1' }]);
    finishClean(h);
    expect(started(h)).toEqual([{ t: 0, runId: 'r1', prompt: 'start' }, { t: 1000, runId: 'r2', prompt: 'more' }]);
    expect(outcomes(h)).toEqual([['m1', 'ran', 'r1', null, 0], ['m2', 'ran', 'r2', null, 1000]]);
  });

  it('when the run is not streaming it is a plain followup (no steer)', () => {
    const h = routerHarness({ messages: { queue: { mode: 'steer-backlog' } } }, () => plainScript(1000, { streamToMs: 0 }));
    h.send('start');
    h.fake.tick(250);
    expect(h.send('more')).toMatchObject({ status: 'queued' });
    expect(h.executor.steers).toEqual([]);
    expect(ofType(h.trace, 'steer')).toEqual([]);
    finishClean(h);
  });
});

describe('mode interrupt (QUEUE-6)', () => {
  it('aborts the active run, tells every waiting sender, then runs the newest message', () => {
    const h = routerHarness({ messages: { queue: { mode: 'interrupt', byChannel: { slow: 'followup' } } } });
    h.send('start');
    h.fake.tick(100);
    h.send('queued one', { channel: 'slow' });
    h.send('queued two', { channel: 'slow' });
    h.fake.tick(100);
    // The active run settles inside its abort event here, so the newest message starts at once.
    expect(h.send('stop, do this')).toMatchObject({ status: 'started', runId: 'r4', mode: 'interrupt' });
    expect(h.executor.settled[0]).toEqual({ t: 200, runId: 'r1', how: 'aborted' });
    finishClean(h);
    expect(outcomes(h)).toEqual([
      ['m1', 'ran', 'r1', null, 0],
      ['m2', 'aborted', null, 'QUEUE_INTERRUPTED', 200],
      ['m3', 'aborted', null, 'QUEUE_INTERRUPTED', 200],
      ['m4', 'ran', 'r4', null, 200],
    ]);
    expect(started(h)).toEqual([{ t: 0, runId: 'r1', prompt: 'start' }, { t: 200, runId: 'r4', prompt: 'stop, do this' }]);
    expect(ofType(h.trace, 'abort').map((a) => [a.taskId, a.phase])).toEqual([['r2', 'queued'], ['r3', 'queued'], ['r1', 'running']]);
  });

  it('when the aborted run settles a step later, the newest message waits for it (receipt queued)', () => {
    const h = routerHarness({ messages: { queue: { mode: 'interrupt' } } }, () => plainScript(1000, { abortSettle: 'timer' }));
    h.send('start');
    h.fake.tick(100);
    expect(h.send('instead')).toMatchObject({ status: 'queued', runId: 'r2' });
    expect(h.executor.started).toHaveLength(1);
    h.fake.tick(0); // the abort settles on the next timer step (a 0 ms timer, due now)
    expect(started(h)).toEqual([{ t: 0, runId: 'r1', prompt: 'start' }, { t: 100, runId: 'r2', prompt: 'instead' }]);
    finishClean(h);
  });
});

describe('drop policy old (QUEUE-14)', () => {
  it('at cap the oldest waiting message is dropped and its sender told QUEUE_DROPPED; the newcomer queues', () => {
    const h = routerHarness({ messages: { queue: { mode: 'followup', cap: 2, drop: 'old' } } });
    h.send('running');
    h.fake.tick(10);
    h.send('w1');
    h.send('w2');
    h.fake.tick(10);
    expect(h.send('w3')).toMatchObject({ status: 'queued', runId: 'r4' });
    expect(h.settleOf('m2')).toMatchObject({ t: 20, outcome: 'rejected', runId: null, code: 'QUEUE_DROPPED' });
    expect(ofType(h.trace, 'drop')).toEqual([{ type: 'drop', t: 20, msgId: 'm2', sessionKey: 'a', policy: 'old', gist: 'w1' }]);
    finishClean(h);
    expect(started(h).map((r) => r.prompt)).toEqual(['running', 'w2', 'w3']);
  });

  it('collect: drops from the buffer head too', () => {
    const h = routerHarness({ messages: { queue: { mode: 'collect', cap: 2, drop: 'old', debounceMs: 0 } } });
    h.send('running');
    h.send('b1');
    h.send('b2');
    h.send('b3');
    expect(h.settleOf('m2')).toMatchObject({ outcome: 'rejected', code: 'QUEUE_DROPPED' });
    finishClean(h);
    expect(started(h)[1]).toMatchObject({ runId: 'a#collect1', prompt: collectOf('b2', 'b3') });
  });
});

describe('drop policy new (QUEUE-13)', () => {
  it('at cap the incoming message is refused: receipt rejected QUEUE_FULL, settled rejected; the queue is unchanged', () => {
    const h = routerHarness({ messages: { queue: { mode: 'followup', cap: 1, drop: 'new' } } });
    h.send('running');
    h.send('kept');
    const refused = h.send('refused');
    expect(refused).toEqual({
      status: 'rejected', runId: 'r3', mode: 'followup', code: 'QUEUE_FULL',
      message: 'session a queue is full (cap 1): message refused', msgId: 'm3',
    });
    expect(h.settleOf('m3')).toMatchObject({ t: 0, outcome: 'rejected', runId: null, code: 'QUEUE_FULL' });
    expect(ofType(h.trace, 'drop')).toEqual([]);
    finishClean(h);
    expect(started(h).map((r) => r.prompt)).toEqual(['running', 'kept']);
  });
});

describe('drop policy summarize (QUEUE-15, QUEUE-16)', () => {
  it('drops the oldest into a one-line gist that rides on the next run that starts, prefixed with a blank line', () => {
    const h = routerHarness({ messages: { queue: { mode: 'followup', cap: 1, drop: 'summarize' } } });
    h.send('running');
    h.send('  first\n\tmessage  ');
    h.fake.tick(5);
    expect(h.send('second')).toMatchObject({ status: 'queued', runId: 'r3' });
    expect(ofType(h.trace, 'drop')).toEqual([{ type: 'drop', t: 5, msgId: 'm2', sessionKey: 'a', policy: 'summarize', gist: 'first message' }]);
    finishClean(h);
    expect(started(h)[1]).toEqual({
      t: 1000, runId: 'r3',
      prompt: '[Queue overflow] Dropped 1 message(s) due to cap.\nSummary:\n- first message\n\nsecond',
    });
    expect(h.settleOf('m2')).toMatchObject({ t: 1000, outcome: 'summarized', runId: 'r3', code: null });
    expect(h.executor.started[1]!.summarized).toEqual(['m2']);
  });

  it('several drops make one summary, N counted, one line each in drop order', () => {
    const h = routerHarness({ messages: { queue: { mode: 'followup', cap: 1, drop: 'summarize' } } });
    h.send('running');
    h.send('one');
    h.send('two');
    h.send('three');
    finishClean(h);
    expect(started(h)[1]!.prompt).toBe('[Queue overflow] Dropped 2 message(s) due to cap.\nSummary:\n- one\n- two\n\nthree');
  });

  it('gists keep at most 160 characters: 159 and an ellipsis when cut', () => {
    const exact = 'x'.repeat(GIST_MAX_CHARS);
    const long = 'y'.repeat(GIST_MAX_CHARS + 40);
    expect(gistOf(exact)).toBe(exact);
    expect(gistOf(long)).toBe(`${'y'.repeat(GIST_MAX_CHARS - 1)}…`);
    expect(gistOf(long)).toHaveLength(GIST_MAX_CHARS);
    expect(gistOf('   ')).toBe('(empty message)');
    const h = routerHarness({ messages: { queue: { mode: 'followup', cap: 1, drop: 'summarize' } } });
    h.send('running');
    h.send(long);
    h.send('next');
    finishClean(h);
    expect(started(h)[1]!.prompt).toBe(`[Queue overflow] Dropped 1 message(s) due to cap.\nSummary:\n- ${'y'.repeat(159)}…\n\nnext`);
  });

  it('with collect, the summary goes ahead of the merged prompt', () => {
    const h = routerHarness({ messages: { queue: { mode: 'collect', cap: 2, drop: 'summarize', debounceMs: 0 } } });
    h.send('running');
    h.send('b1');
    h.send('b2');
    h.send('b3');
    finishClean(h);
    expect(started(h)[1]).toEqual({
      t: 1000, runId: 'a#collect1',
      prompt: `[Queue overflow] Dropped 1 message(s) due to cap.\nSummary:\n- b1\n\n${collectOf('b2', 'b3')}`,
    });
  });

  it('a summary with nothing left to carry it becomes its own turn', () => {
    const h = routerHarness({ messages: { queue: { mode: 'followup', cap: 1, drop: 'summarize' } } });
    h.send('running');
    h.send('one');
    h.send('two'); // one -> summary, two waits
    h.router.abort('a', 'r3'); // two leaves: the summary is stranded
    finishClean(h);
    const summary = h.executor.started[1]!;
    expect(summary.runId).toMatch(/^a#summary\d+$/);
    expect(summary.prompt).toBe('[Queue overflow] Dropped 1 message(s) due to cap.\nSummary:\n- one');
    expect(h.settleOf('m2')).toMatchObject({ outcome: 'summarized', runId: summary.runId });
    expect(h.settleOf('m3')).toMatchObject({ outcome: 'aborted', code: 'LANE_ABORTED' });
  });
});

describe('receipts', () => {
  it('started / queued / steered / rejected, and GATEWAY_SHUTDOWN after shutdown', () => {
    const h = routerHarness({ messages: { queue: { mode: 'steer', cap: 1, drop: 'new', byChannel: { later: 'followup' } } } });
    expect(h.send('a').status).toBe('started');
    expect(h.send('b').status).toBe('steered');
    expect(h.send('c', { channel: 'later' }).status).toBe('queued');
    expect(h.send('d', { channel: 'later' })).toMatchObject({ status: 'rejected', code: 'QUEUE_FULL' });
    h.router.shutdown({ abortRunning: false });
    expect(h.settleOf('m3')).toMatchObject({ outcome: 'rejected', code: 'GATEWAY_SHUTDOWN' });
    expect(h.send('e')).toEqual({
      status: 'rejected', runId: 'r5', mode: 'steer', code: 'GATEWAY_SHUTDOWN',
      message: 'gateway is shutting down: message not accepted', msgId: 'm5',
    });
    finishClean(h);
    expect(h.executor.settled).toEqual([{ t: 1000, runId: 'r1', how: 'done' }]);
  });
});

describe('lane.status payloads (STATUS-*)', () => {
  it('positions, queueAhead at enqueue, processing "i of n", actions on the active run, idle when drained', () => {
    const h = routerHarness({ messages: { queue: { mode: 'followup' } }, agents: { defaults: { lane: { warnThresholdMs: 5000 } } } });
    h.send('one');
    h.fake.tick(100);
    h.send('two');
    h.fake.tick(100);
    h.send('three');
    expect(h.lastStatus()).toEqual({
      lane: 'session:a', sessionKey: 'a', state: 'active', reason: 'enqueue',
      active: { runId: 'r1', agentId: null, elapsedMs: 200, waitingFor: null },
      waiting: [
        { runId: 'r2', position: 1, queueAhead: 0, waitedMs: 100, warning: false },
        { runId: 'r3', position: 2, queueAhead: 1, waitedMs: 0, warning: false },
      ],
      queued: 2,
      processing: { index: 1, total: 3 },
      warning: false,
      warnThresholdMs: 5000,
      actions: {
        cancel: { method: 'chat.abort', params: { sessionKey: 'a', runId: 'r1' } },
        viewPartial: { method: 'chat.history', params: { sessionKey: 'a', runId: 'r1' } },
      },
    });
    h.fake.tick(800); // t=1000: r1 ends, r2 starts: "2 of 3"
    expect(h.lastStatus()).toMatchObject({
      state: 'active', reason: 'start', active: { runId: 'r2', elapsedMs: 0 }, processing: { index: 2, total: 3 },
      waiting: [{ runId: 'r3', position: 1, queueAhead: 1, waitedMs: 800, warning: false }],
      actions: { cancel: { params: { runId: 'r2' } } },
    });
    h.fake.tick(2000);
    expect(h.lastStatus()).toEqual({
      lane: 'session:a', sessionKey: 'a', state: 'idle', reason: 'end', active: null, waiting: [], queued: 0,
      processing: { index: 3, total: 3 }, warning: false, warnThresholdMs: 5000, actions: { cancel: null, viewPartial: null },
    });
    finishClean(h);
  });

  it('the warning flag turns on exactly at warnThresholdMs, not 1 ms before, per message', () => {
    const h = routerHarness({ messages: { queue: { mode: 'followup' } }, agents: { defaults: { lane: { warnThresholdMs: 1500 } } } }, () => plainScript(10_000));
    h.send('long run');
    h.fake.tick(200);
    h.send('waits'); // accepted at 200: warns at 1700
    h.fake.tick(300);
    h.send('waits too'); // accepted at 500: warns at 2000
    h.fake.tick(1199); // t=1699
    expect(h.lastStatus()!.warning).toBe(false);
    expect(h.router.status('a').waiting.map((w) => [w.runId, w.waitedMs, w.warning])).toEqual([['r2', 1499, false], ['r3', 1199, false]]);
    h.fake.tick(1); // t=1700
    expect(h.lastStatus()).toMatchObject({ reason: 'warn', warning: true });
    expect(h.lastStatus()!.waiting.map((w) => [w.runId, w.waitedMs, w.warning])).toEqual([['r2', 1500, true], ['r3', 1200, false]]);
    expect(h.statuses.at(-1)!.t).toBe(1700);
    h.fake.tick(299);
    expect(h.lastStatus()!.waiting[1]!.warning).toBe(false);
    h.fake.tick(1); // t=2000
    expect(h.lastStatus()!.waiting.map((w) => w.warning)).toEqual([true, true]);
    expect(h.statuses.at(-1)!.t).toBe(2000);
    finishClean(h);
  });

  it('a message that never waits (idle session) gets no warning timer status, and nothing is emitted twice unchanged', () => {
    const h = routerHarness({ agents: { defaults: { lane: { warnThresholdMs: 1000 } } } }, () => plainScript(5000));
    h.send('alone');
    h.fake.runAll();
    expect(h.statuses.map((s) => [s.t, s.status.state, s.status.reason])).toEqual([[0, 'active', 'start'], [5000, 'idle', 'end']]);
  });
});

describe('regressions', () => {
  describe('lane.status while the session slot is held but the run waits for a global slot', () => {
    it('lists the waiting message and warns at warnThresholdMs (the seed-004 situation: session held, main full)', () => {
      const h = routerHarness(
        { agents: { defaults: { maxConcurrent: 1, lane: { warnThresholdMs: 5000 } } } },
        () => plainScript(20_000),
      );
      h.send('busy elsewhere', { session: 'b' }); // holds main for 20 s
      h.send('mine', { session: 'a' }); // gets session:a, waits for main
      const status = h.lastStatus('a')!;
      expect(status.waiting.map((w) => w.runId)).toEqual(['r2']);
      expect(status.waiting[0]).toMatchObject({ position: 1, queueAhead: 0, warning: false });
      h.fake.tick(4999);
      expect(h.lastStatus('a')!.warning).toBe(false);
      h.fake.tick(1);
      expect(h.lastStatus('a')!.warning).toBe(true);
      expect(h.lastStatus('a')!.waiting[0]).toMatchObject({ runId: 'r2', waitedMs: 5000, warning: true });
      h.fake.runAll();
      const violations = checkTrace(h.trace, checkerSuite({ warnThresholdMs: 5000 }), h.fake.now);
      expect(violations, formatViolations(violations)).toEqual([]);
    });
  });

  describe('shutdown while a run is still working', () => {
    for (const nestedAgentParallel of [false, true]) {
      it(`a nested call refused because the gateway drains comes back as an error outcome (nestedAgentParallel ${nestedAgentParallel})`, () => {
        const h = routerHarness(
          { agents: { defaults: { lane: { nestedAgentParallel } } } },
          () => plainScript(1000, { nested: { atMs: 100, target: 1 } }),
        );
        h.send('work');
        h.fake.tick(50);
        h.router.shutdown({ abortRunning: false });
        expect(() => h.fake.runAll()).not.toThrow();
        expect(h.executor.nestedCalls).toHaveLength(1);
        expect(h.executor.nestedCalls[0]).toMatchObject({ t: 100, outcome: 'error', resumedAt: 100 });
        expect(h.executor.settled).toEqual([{ t: 1000, runId: 'r1', how: 'done' }]);
        expect(h.router.scheduler.liveTasks).toBe(0);
        expect(h.router.getRun(h.executor.nestedCalls[0]!.nestedRunId)).toBeUndefined();
        const violations = checkTrace(h.trace, checkerSuite({ warnThresholdMs: h.config.agents.defaults.lane.warnThresholdMs }), h.fake.now);
        expect(violations, formatViolations(violations)).toEqual([]);
      });
    }
  });

  describe('lane.status for a merged (collect) run waiting for a global slot', () => {
    it('lists every merged message under its own runId and warns each one at warnThresholdMs', () => {
      const h = routerHarness(
        { agents: { defaults: { maxConcurrent: 1, lane: { warnThresholdMs: 3000 } } }, messages: { queue: { mode: 'collect', debounceMs: 0 } } },
        () => plainScript(10_000),
      );
      h.send('other session', { session: 'b' }); // holds main for 10 s
      h.send('first', { session: 'a' }); // r2: holds session:a, waits for main
      h.send('second', { session: 'a' }); // r3, r4: collect buffer
      h.send('third', { session: 'a' });
      expect(h.lastStatus('a')!.waiting.map((w) => w.runId)).toEqual(['r2', 'r3', 'r4']);
      h.router.abort('a', 'r2'); // the buffer drains into one merged run, which holds session:a and waits for main
      h.fake.tick(1);
      expect(h.trace.filter((e) => e.type === 'merge')).toHaveLength(1);
      expect(h.lastStatus('a')!.waiting.map((w) => w.runId)).toEqual(['r3', 'r4']);
      h.fake.tick(2999);
      const status = h.lastStatus('a')!;
      expect(status.waiting.map((w) => [w.runId, w.position, w.warning])).toEqual([['r3', 1, true], ['r4', 2, true]]);
      h.fake.runAll();
      const violations = checkTrace(h.trace, checkerSuite({ warnThresholdMs: 3000 }), h.fake.now);
      expect(violations, formatViolations(violations)).toEqual([]);
    });
  });

  describe('drop summarize when the only thing waiting is a stranded overflow summary run', () => {
    it('drops the summary run (not its gists): the next message carries the summary, nothing is lost', () => {
      const h = routerHarness(
        { agents: { defaults: { maxConcurrent: 1 } }, messages: { queue: { mode: 'followup', cap: 1, drop: 'summarize' } } },
        () => plainScript(1000),
      );
      h.send('elsewhere', { session: 'b' }); // r1 holds main
      h.send('one', { session: 'a' }); // r2 holds session:a, waits for main
      h.send('two', { session: 'a' }); // cap 1: r2 is dropped into the overflow summary; r3 waits
      h.router.clear('a'); // r3 cleared; the overflow is stranded: a summary run is queued
      expect(h.trace.some((e) => e.type === 'enqueue' && e.taskId.startsWith('a#summary'))).toBe(true);
      const receipt = h.send('three', { session: 'a' }); // cap 1 again, and the head is the summary run
      expect(receipt.status).toBe('queued');
      h.fake.runAll();
      expect(h.settleOf('m2')).toMatchObject({ outcome: 'summarized', runId: 'r4' });
      expect(h.settleOf('m3')).toMatchObject({ outcome: 'aborted', code: 'LANE_CLEARED' });
      expect(h.settleOf('m4')).toMatchObject({ outcome: 'ran', runId: 'r4' });
      expect(h.prompts().at(-1)).toBe('[Queue overflow] Dropped 1 message(s) due to cap.\nSummary:\n- one\n\nthree');
      const violations = checkTrace(h.trace, checkerSuite({ warnThresholdMs: h.config.agents.defaults.lane.warnThresholdMs }), h.fake.now);
      expect(violations, formatViolations(violations)).toEqual([]);
    });
  });

  describe('collect: the buffer emptied (clear, abort) while its drain timer is armed', () => {
    for (const how of ['clear', 'abort'] as const) {
      it(`${how}: the session is forgotten once the timer fires with nothing to drain`, () => {
        const h = routerHarness({ messages: { queue: { mode: 'collect', debounceMs: 500 } } }, () => plainScript(1000));
        h.send('first'); // r1 runs 0..1000
        h.fake.tick(900);
        h.send('second'); // buffered; drains at max(1000, 900 + 500) = 1400
        h.fake.tick(300); // t=1200: r1 ended, the drain timer is armed
        if (how === 'clear') expect(h.router.clear('a')).toBe(1);
        else expect(h.router.abort('a', 'r2')).toEqual({ aborted: ['r2'] });
        expect(h.settleOf('m2')).toMatchObject({ outcome: 'aborted' });
        h.fake.runAll();
        expect(h.executor.started.map((r) => r.runId)).toEqual(['r1']);
        expect(h.router.activeSessions).toBe(0);
        expect(h.lastStatus('a')!.state).toBe('idle');
      });
    }
  });
});
