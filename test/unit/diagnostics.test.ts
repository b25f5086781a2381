/**
 * DIAG-1..DIAG-3: the `lane.wait` event (OpenClaw's "lane wait exceeded"
 * line with unambiguous fields) in hand-built situations, and the shape of
 * diagnostics() (OpenClaw's diagnostics.lanes).
 *
 * Field meanings (DIAG-2): queueAhead = live entries ahead of the task when it
 * joined the lane (0 for a resuming parked task, which joins at the front);
 * activeAhead = holders when it joined; activeNow = holders when it got its
 * slot (before counting itself); queueBehind = entries still waiting after it.
 */
import { describe, expect, it } from 'vitest';
import type { LaneWaitEvent } from '../../src/model/events.ts';
import { LaneScheduler, type LaneSchedulerOptions, type LaneWaitInfo } from '../../src/reference-impl/lane-scheduler.ts';
import type { Completion } from '../../src/reference-impl/task.ts';
import { fakeClock, ofType, recorder } from '../support/trace-recorder.ts';

function setup(options: Omit<LaneSchedulerOptions, 'clock' | 'trace'> = {}) {
  const { fake, clock } = fakeClock();
  const { trace, sink } = recorder();
  const hooked: LaneWaitInfo[] = [];
  const scheduler = new LaneScheduler({ clock, trace: sink, ...options, hooks: { onLaneWait: (info) => hooked.push(info), ...options.hooks } });
  const completions = new Map<string, Completion>();
  const submit = (id: string, lanes: string | string[]): void => {
    scheduler.submit(lanes, (ctx) => {
      completions.set(id, ctx.detach());
    }, { id });
  };
  const complete = (id: string): void => completions.get(id)!.done();
  const waits = (): Omit<LaneWaitEvent, 'type' | 't'>[] =>
    ofType(trace, 'lane.wait').map(({ type: _type, t: _t, ...rest }) => rest);
  return { fake, clock, trace, scheduler, hooked, completions, submit, complete, waits };
}

describe('lane.wait after a task parks (regression)', () => {
  it('activeNow does not count a task that parked in the same step (its release is one batch)', () => {
    const s = setup({ laneWaitWarnMs: 0, concurrency: (lane) => (lane.startsWith('nested:') ? 2 : 1) });
    s.scheduler.submit(['nested:t0', 'subagent'], (ctx) => {
      const completion = ctx.detach();
      s.clock.setTimeout(() => {
        const resume = ctx.park('await');
        s.clock.setTimeout(() => resume(() => completion.done()), 5);
      }, 1);
    }, { id: 'k0' });
    s.scheduler.submit(['session:s0', 'nested:t0', 'subagent'], () => 'sync', { id: 'k1' }); // holds session + nested, waits subagent
    s.submit('k2', ['nested:t0', 'subagent']); // nested:t0 is full (k0, k1): waits
    s.fake.tick(1); // k0 parks: subagent frees -> k1 runs and ends at once -> k2 gets nested:t0
    const k2 = s.waits().find((w) => w.taskId === 'k2' && w.lane === 'nested:t0');
    expect(k2).toEqual({ lane: 'nested:t0', taskId: 'k2', waitedMs: 1, queueAhead: 0, activeAhead: 2, activeNow: 0, queueBehind: 0 });
  });
});

describe('lane.wait (DIAG-1, DIAG-2)', () => {
  it("two sessions, main cap 1: the live-observed line lane=main waitedMs=6676 queueAhead=0 activeAhead=1 activeNow=0 queueBehind=0", () => {
    const s = setup();
    s.submit('A', ['session:a', 'main']);
    s.submit('B', ['session:b', 'main']);
    s.fake.tick(6676);
    s.complete('A');
    expect(s.waits()).toEqual([{ lane: 'main', taskId: 'B', waitedMs: 6676, queueAhead: 0, activeAhead: 1, activeNow: 0, queueBehind: 0 }]);
    expect(s.hooked).toEqual(s.waits());
    expect(ofType(s.trace, 'lane.wait')[0]!.t).toBe(6676);
  });

  it('queueAhead is what was queued AT ENQUEUE (not what is left behind); queueBehind is what is left behind', () => {
    const s = setup();
    s.submit('A', 'main');
    s.submit('B', 'main');
    s.fake.tick(100);
    s.submit('C', 'main');
    s.fake.tick(100);
    s.submit('D', 'main');
    s.fake.tick(2800); // t=3000
    s.complete('A');
    s.fake.tick(1000); // t=4000
    s.complete('B');
    s.complete('C');
    expect(s.waits()).toEqual([
      { lane: 'main', taskId: 'B', waitedMs: 3000, queueAhead: 0, activeAhead: 1, activeNow: 0, queueBehind: 2 },
      { lane: 'main', taskId: 'C', waitedMs: 3900, queueAhead: 1, activeAhead: 1, activeNow: 0, queueBehind: 1 },
      { lane: 'main', taskId: 'D', waitedMs: 3800, queueAhead: 2, activeAhead: 1, activeNow: 0, queueBehind: 0 },
    ]);
  });

  it('activeNow counts the holders still there when the slot is granted (cap 2)', () => {
    const s = setup({ concurrency: () => 2 });
    s.submit('A', 'main');
    s.submit('B', 'main');
    s.submit('C', 'main');
    s.fake.tick(2500);
    s.complete('A');
    expect(s.waits()).toEqual([{ lane: 'main', taskId: 'C', waitedMs: 2500, queueAhead: 0, activeAhead: 2, activeNow: 1, queueBehind: 0 }]);
  });

  it('is emitted only at waitedMs >= laneWaitWarnMs: 1999 ms no, 2000 ms yes (default 2000)', () => {
    const s = setup();
    s.submit('A', 'main');
    s.submit('B', 'main');
    s.submit('C', 'main');
    s.fake.tick(1999);
    s.complete('A'); // B waited 1999 ms
    expect(s.waits()).toEqual([]);
    s.fake.tick(1);
    s.complete('B'); // C waited 2000 ms
    expect(s.waits().map((w) => [w.taskId, w.waitedMs])).toEqual([['C', 2000]]);
  });

  it('each lane of a path reports its own wait (the session wait, then the global one)', () => {
    const s = setup({ laneWaitWarnMs: 1000 });
    s.submit('A', ['session:a', 'main']);
    s.submit('X', ['session:x', 'main']);
    s.submit('B', ['session:a', 'main']); // waits in session:a behind A
    s.fake.tick(1500);
    s.complete('A'); // B: session:a after 1500 ms, then joins main behind X
    s.fake.tick(1200);
    s.complete('X'); // B: main after 1200 ms
    expect(s.waits()).toEqual([
      { lane: 'main', taskId: 'X', waitedMs: 1500, queueAhead: 0, activeAhead: 1, activeNow: 0, queueBehind: 0 },
      { lane: 'session:a', taskId: 'B', waitedMs: 1500, queueAhead: 0, activeAhead: 1, activeNow: 0, queueBehind: 0 },
      { lane: 'main', taskId: 'B', waitedMs: 1200, queueAhead: 0, activeAhead: 1, activeNow: 0, queueBehind: 0 },
    ]);
  });

  it('laneWaitWarnMs 0 reports every grant; a negative value is refused', () => {
    const s = setup({ laneWaitWarnMs: 0 });
    s.submit('A', 'main');
    expect(s.waits()).toEqual([{ lane: 'main', taskId: 'A', waitedMs: 0, queueAhead: 0, activeAhead: 0, activeNow: 0, queueBehind: 0 }]);
    expect(() => new LaneScheduler({ laneWaitWarnMs: -1 })).toThrow(RangeError);
  });
});

describe('diagnostics() (OpenClaw diagnostics.lanes)', () => {
  it('per lane {lane, queuedCount, activeCount, maxConcurrent, draining, blockedBy}', () => {
    const s = setup({ concurrency: (lane) => (lane === 'main' ? 2 : 1) });
    s.submit('A', ['session:a', 'main']);
    s.submit('B', ['session:b', 'main']);
    s.submit('C', ['session:c', 'main']);
    s.submit('D', ['session:a', 'main']);
    expect(s.scheduler.diagnostics()).toEqual([
      { lane: 'session:a', queuedCount: 1, activeCount: 1, maxConcurrent: 1, draining: false, blockedBy: ['A'] },
      { lane: 'main', queuedCount: 1, activeCount: 2, maxConcurrent: 2, draining: false, blockedBy: ['A', 'B'] },
      { lane: 'session:b', queuedCount: 0, activeCount: 1, maxConcurrent: 1, draining: false, blockedBy: [] },
      { lane: 'session:c', queuedCount: 0, activeCount: 1, maxConcurrent: 1, draining: false, blockedBy: [] },
    ]);
    s.scheduler.startDraining('session:c');
    expect(s.scheduler.diagnostics().find((d) => d.lane === 'session:c')!.draining).toBe(true);
    s.scheduler.startDraining();
    expect(s.scheduler.diagnostics().every((d) => d.draining)).toBe(true);
  });

  it('idle session lanes disappear; global lanes stay', () => {
    const s = setup();
    s.submit('A', ['session:a', 'main']);
    s.complete('A');
    expect(s.scheduler.diagnostics()).toEqual([
      { lane: 'main', queuedCount: 0, activeCount: 0, maxConcurrent: 1, draining: false, blockedBy: [] },
    ]);
  });
});
