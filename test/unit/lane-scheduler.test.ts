/**
 * LaneScheduler unit tests (LANE-*): clear, abort (queued vs running), drain,
 * reset, bad lane order, duplicate ids, errors reject only their caller,
 * park + resume at the front, whenIdle, pause + resume, and regressions.
 * Everything on a fake clock.
 */
import { describe, expect, it } from 'vitest';
import { LaneError, LaneErrorCode } from '../../src/model/codes.ts';
import { LaneScheduler, type LaneSchedulerOptions } from '../../src/reference-impl/lane-scheduler.ts';
import { TaskState, type Completion, type Task, type TaskContext, type TaskOutcome } from '../../src/reference-impl/task.ts';
import { fakeClock, formatViolations, laneViolations, ofType, recorder } from '../support/trace-recorder.ts';

function setup(options: Omit<LaneSchedulerOptions, 'clock' | 'trace'> = {}) {
  const { fake, clock } = fakeClock();
  const { trace, sink } = recorder();
  const scheduler = new LaneScheduler({ clock, trace: sink, ...options });
  const settled = new Map<string, { outcome: TaskOutcome; value: unknown; t: number }[]>();
  const completions = new Map<string, Completion>();
  const contexts = new Map<string, TaskContext>();
  /** A detached task: it runs until the test calls completions.get(id).done(). */
  const submit = (id: string, lanes: string | string[]): Task =>
    scheduler.submit(
      lanes,
      (ctx) => {
        contexts.set(id, ctx);
        completions.set(id, ctx.detach());
      },
      {
        id,
        onSettled: (outcome, value) => {
          const list = settled.get(id) ?? [];
          list.push({ outcome, value, t: clock.now() });
          settled.set(id, list);
        },
      },
    );
  const complete = (id: string, value?: unknown): void => completions.get(id)!.done(value);
  const holders = (lane: string): string[] => (scheduler.getLane(lane)?.holders ?? []).map((t) => t.taskId).sort();
  const waiting = (lane: string): string[] => {
    const l = scheduler.getLane(lane);
    return l === undefined ? [] : [...l.waiting()].map((t) => t.taskId);
  };
  const check = (): void => {
    const violations = laneViolations(trace, fake.now);
    expect(violations, formatViolations(violations)).toEqual([]);
  };
  return { fake, clock, trace, scheduler, settled, completions, contexts, submit, complete, holders, waiting, check };
}

describe('clearLane (LANE-11)', () => {
  it('rejects every queued task with LANE_CLEARED; running tasks go on; returns how many', async () => {
    const s = setup();
    s.submit('A', 'main');
    s.submit('B', 'main');
    const c = s.scheduler.enqueue('main', () => 'c', { id: 'C' });
    expect(s.scheduler.clearLane('main', 'operator')).toBe(2);
    expect(s.settled.get('B')).toEqual([{ outcome: 'cleared', value: expect.any(LaneError), t: 0 }]);
    const error = s.settled.get('B')![0]!.value as LaneError;
    expect([error.code, error.message, error.lane]).toEqual([LaneErrorCode.CLEARED, 'lane main cleared: task B removed (operator)', 'main']);
    await expect(c).rejects.toMatchObject({ code: 'LANE_CLEARED' });
    expect(ofType(s.trace, 'clear')).toEqual([{ type: 'clear', t: 0, lane: 'main', taskIds: ['B', 'C'] }]);
    expect(s.holders('main')).toEqual(['A']);
    expect(s.scheduler.clearLane('main')).toBe(0);
    expect(s.scheduler.clearLane('no-such-lane')).toBe(0);
    s.complete('A');
    expect(s.settled.get('A')!.map((x) => x.outcome)).toEqual(['ok']);
    s.check();
  });

  it('a task cleared from a later lane gives back the earlier lanes it held', () => {
    const s = setup();
    s.submit('A', 'main');
    s.submit('B', ['session:s', 'main']); // holds session:s, waits for main
    s.submit('C', ['session:s', 'main']); // waits for session:s
    s.scheduler.clearLane('main');
    expect(s.settled.get('B')!.map((x) => x.outcome)).toEqual(['cleared']);
    expect(s.holders('session:s')).toEqual(['C']);
    expect(s.waiting('main')).toEqual(['C']);
    s.check();
  });
});

describe('abort (LANE-12)', () => {
  it('a queued task is removed and settled aborted (LANE_ABORTED); the lane keeps its order', () => {
    const s = setup();
    s.submit('A', 'main');
    s.submit('B', 'main');
    s.submit('C', 'main');
    expect(s.scheduler.abort('B', 'user')).toBe(true);
    const error = s.settled.get('B')![0]!.value as LaneError;
    expect([s.settled.get('B')![0]!.outcome, error.code, error.message]).toEqual(['aborted', 'LANE_ABORTED', 'task B aborted: user']);
    expect(ofType(s.trace, 'abort')).toEqual([{ type: 'abort', t: 0, taskId: 'B', phase: 'queued', reason: 'user' }]);
    expect(s.waiting('main')).toEqual(['C']);
    expect(s.scheduler.abort('B')).toBe(false); // already settled
    expect(s.scheduler.abort('nope')).toBe(false);
    s.complete('A');
    expect(s.holders('main')).toEqual(['C']);
    s.check();
  });

  it('a running task is only signalled: it keeps its lanes until it settles', () => {
    const s = setup();
    s.submit('A', ['session:s', 'main']);
    s.submit('B', ['session:s', 'main']);
    const ctx = s.contexts.get('A')!;
    let fired = 0;
    ctx.signal.addEventListener('abort', () => fired++);
    expect(ctx.aborted).toBe(false);
    expect(s.scheduler.abort('A', 'stop')).toBe(true);
    expect([fired, ctx.aborted, (ctx.signal.reason as LaneError).code]).toEqual([1, true, 'LANE_ABORTED']);
    expect(ofType(s.trace, 'abort')[0]).toMatchObject({ taskId: 'A', phase: 'running' });
    expect(s.holders('session:s')).toEqual(['A']);
    expect(s.scheduler.abort('A')).toBe(true); // still live: signalled again (no-op)
    expect(fired).toBe(1);
    s.fake.tick(300);
    s.complete('A');
    expect(s.holders('session:s')).toEqual(['B']);
    s.check();
  });

  it('enqueue(): an AbortSignal removes a queued task; an already-aborted signal refuses at once', async () => {
    const s = setup();
    s.submit('A', 'main');
    const controller = new AbortController();
    const p = s.scheduler.enqueue('main', () => 'never', { id: 'B', signal: controller.signal });
    controller.abort();
    await expect(p).rejects.toMatchObject({ code: 'LANE_ABORTED' });
    expect(s.waiting('main')).toEqual([]);
    await expect(s.scheduler.enqueue('main', () => 1, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'LANE_ABORTED', message: 'aborted before it was queued',
    });
  });
});

describe('draining (LANE-13)', () => {
  it('refuses new tasks with LANE_DRAINING and a clear message; queued and running ones go on', () => {
    const s = setup();
    s.submit('A', 'main');
    s.submit('B', 'main');
    s.scheduler.startDraining();
    expect(s.scheduler.isDraining).toBe(true);
    let error: unknown;
    try {
      s.submit('C', ['session:x', 'main']);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LaneError);
    expect(error).toMatchObject({ code: 'LANE_DRAINING', message: 'gateway is draining: new tasks are not accepted', lane: 'session:x' });
    expect(ofType(s.trace, 'reject')).toEqual([
      { type: 'reject', t: 0, taskId: 'C', lane: 'session:x', code: 'LANE_DRAINING', message: 'gateway is draining: new tasks are not accepted' },
    ]);
    expect(s.scheduler.getLane('session:x')).toBeUndefined(); // not left behind by the refusal
    expect(s.scheduler.diagnostics().find((d) => d.lane === 'main')).toMatchObject({ draining: true, queuedCount: 1, activeCount: 1 });
    s.complete('A');
    s.complete('B');
    expect(s.settled.get('B')!.map((x) => x.outcome)).toEqual(['ok']);
    s.scheduler.stopDraining();
    expect(() => s.submit('D', 'main')).not.toThrow();
  });

  it('one lane can drain on its own', () => {
    const s = setup();
    s.scheduler.startDraining('cron');
    expect(() => s.submit('A', ['session:y', 'cron'])).toThrow('lane cron is draining: new tasks are not accepted');
    expect(() => s.submit('B', 'main')).not.toThrow();
    expect(ofType(s.trace, 'drain')).toEqual([{ type: 'drain', t: 0, lane: 'cron' }]);
    s.scheduler.stopDraining('cron');
    expect(() => s.submit('C', 'cron')).not.toThrow();
  });
});

describe('resetLane (LANE-14)', () => {
  it('bumps the generation, forgets the holders (queued tasks start), and ignores completions from before', () => {
    const s = setup();
    s.submit('OLD', 'main');
    s.submit('NEW', 'main');
    s.submit('NEXT', 'main');
    s.scheduler.resetLane('main');
    expect(ofType(s.trace, 'reset')).toEqual([{ type: 'reset', t: 0, lane: 'main', generation: 1 }]);
    expect(s.scheduler.getLane('main')!.generation).toBe(1);
    expect(s.holders('main')).toEqual(['NEW']);
    s.complete('OLD'); // a stale completion: settles its caller, frees nothing
    expect(s.settled.get('OLD')!.map((x) => x.outcome)).toEqual(['ok']);
    expect(s.holders('main')).toEqual(['NEW']);
    expect(s.waiting('main')).toEqual(['NEXT']);
    s.scheduler.resetLane('main');
    expect(s.scheduler.getLane('main')!.generation).toBe(2);
    s.check();
  });

  it('resetting a SESSION lane lets a second task run in the session while the forgotten one still runs (INV-SESSION-EXCLUSIVE flags it)', () => {
    const s = setup({ concurrency: () => 2 });
    s.submit('A', ['session:s', 'main']);
    s.submit('B', ['session:s', 'main']);
    s.scheduler.resetLane('session:s');
    expect(s.holders('session:s')).toEqual(['B']);
    const violations = laneViolations(s.trace, s.fake.now);
    expect(violations.map((v) => v.invariant)).toEqual(['INV-SESSION-EXCLUSIVE']);
  });
});

describe('submit at the door', () => {
  it('bad lane order (LANE-6) is refused with LANE_BAD_ORDER', () => {
    const s = setup();
    expect(() => s.submit('A', ['main', 'session:s'])).toThrow(expect.objectContaining({ code: 'LANE_BAD_ORDER' }));
    expect(() => s.submit('B', ['main', 'subagent'])).toThrow(
      'lane order main -> subagent: lanes must go session:<key> -> nested:<target> -> one global lane',
    );
    expect(() => s.submit('C', ['session:a', 'session:b'])).toThrow(expect.objectContaining({ code: 'LANE_BAD_ORDER' }));
    expect(ofType(s.trace, 'reject').map((r) => [r.taskId, r.code])).toEqual([['A', 'LANE_BAD_ORDER'], ['B', 'LANE_BAD_ORDER'], ['C', 'LANE_BAD_ORDER']]);
    expect(s.scheduler.liveTasks).toBe(0);
  });

  it('a duplicate live id is refused with LANE_DUPLICATE_TASK; once settled the id is free again', () => {
    const s = setup();
    s.submit('A', 'main');
    expect(() => s.submit('A', 'main')).toThrow(expect.objectContaining({ code: 'LANE_DUPLICATE_TASK', message: 'task id A is already queued or running' }));
    s.complete('A');
    expect(() => s.submit('A', 'main')).not.toThrow();
  });

  it('no lanes or no function: LANE_INVALID; a blank lane name means main', () => {
    const s = setup();
    expect(() => s.scheduler.submit([], () => {})).toThrow(expect.objectContaining({ code: 'LANE_INVALID' }));
    expect(() => s.scheduler.submit('main', 'nope' as never)).toThrow(expect.objectContaining({ code: 'LANE_INVALID' }));
    s.submit('A', '   ');
    expect(s.holders('main')).toEqual(['A']);
  });
});

describe('errors (LANE-9)', () => {
  it('a failing task rejects only its caller; the lane keeps draining', async () => {
    const s = setup();
    const boom = new Error('boom');
    const a = s.scheduler.enqueue('main', () => {
      throw boom;
    });
    const b = s.scheduler.enqueue('main', async () => {
      throw new Error('async boom');
    });
    const c = s.scheduler.enqueue('main', () => 'fine');
    await expect(a).rejects.toBe(boom);
    await expect(b).rejects.toThrow('async boom');
    await expect(c).resolves.toBe('fine');
    expect(ofType(s.trace, 'error').map((e) => e.message)).toEqual(['boom', 'async boom']);
    expect(s.scheduler.liveTasks).toBe(0);
    s.check();
  });
});

describe('park and resume (LANE-22)', () => {
  it('a parked task frees its lanes; on resume it queues at the FRONT of each lane and continues once it holds them', () => {
    const s = setup();
    let resume: ((continuation: () => void) => void) | null = null;
    let completion: Completion | null = null;
    s.scheduler.submit(['session:s', 'main'], (ctx) => {
      completion = ctx.detach();
      resume = ctx.park('nested:t');
    }, { id: 'P' });
    expect(ofType(s.trace, 'park')).toEqual([{ type: 'park', t: 0, taskId: 'P', lanes: ['session:s', 'main'], awaiting: 'nested:t' }]);
    expect(s.scheduler.getTask('P')!.state).toBe(TaskState.Parked);
    s.submit('X', 'main'); // main is free while P is parked
    s.submit('Z', 'main');
    expect(s.waiting('main')).toEqual(['Z']);
    s.fake.tick(50);
    let continued = -1;
    resume!(() => {
      continued = s.clock.now();
    });
    // session:s was free: P holds it again and joins main AHEAD of Z.
    expect(s.waiting('main')).toEqual(['P', 'Z']);
    expect(ofType(s.trace, 'enqueue').filter((e) => e.taskId === 'P').slice(-2)).toEqual([
      { type: 'enqueue', t: 50, taskId: 'P', lane: 'session:s', queueAhead: 0, activeAhead: 0, front: true },
      { type: 'enqueue', t: 50, taskId: 'P', lane: 'main', queueAhead: 0, activeAhead: 1, front: true },
    ]);
    s.fake.tick(10);
    s.complete('X');
    expect(s.holders('main')).toEqual(['P']);
    expect(continued).toBe(60);
    completion!.done();
    expect(s.holders('main')).toEqual(['Z']);
    s.complete('Z');
    expect(s.scheduler.liveTasks).toBe(0);
    s.check();
  });

  it('a resuming parked task waits at the front of a session lane another run took meanwhile', () => {
    const s = setup();
    let resume: ((continuation: () => void) => void) | null = null;
    s.scheduler.submit(['session:s', 'main'], (ctx) => {
      s.completions.set('P', ctx.detach());
      resume = ctx.park('nested:t');
    }, { id: 'P' });
    s.submit('Y', ['session:s', 'main']); // takes session:s while P is parked
    s.submit('W', ['session:s', 'main']); // waits behind Y
    let continued = false;
    resume!(() => {
      continued = true;
    });
    expect(s.waiting('session:s')).toEqual(['P', 'W']);
    s.complete('Y');
    expect(continued).toBe(true);
    expect(s.waiting('session:s')).toEqual(['W']);
    s.complete('P');
    s.complete('W');
    s.check();
  });

  it('park() needs a running, detached task', () => {
    const s = setup();
    let error: unknown = null;
    s.scheduler.submit('main', (ctx) => {
      try {
        ctx.park('x');
      } catch (e) {
        error = e;
      }
    });
    expect(error).toMatchObject({ code: 'LANE_INVALID' });
  });
});

describe('whenIdle / pause / resume', () => {
  it('whenIdle resolves once nothing is queued, running or parked', async () => {
    const s = setup();
    await s.scheduler.whenIdle(); // idle already
    s.submit('A', 'main');
    s.submit('B', 'main');
    let idle = false;
    const p = s.scheduler.whenIdle().then(() => {
      idle = true;
    });
    s.complete('A');
    await Promise.resolve();
    expect(idle).toBe(false);
    s.complete('B');
    await p;
    expect(idle).toBe(true);
  });

  it('paused: tasks queue but nothing is granted; resume grants in FIFO order', () => {
    const s = setup({ concurrency: () => 2 });
    s.scheduler.pause();
    expect(s.scheduler.isPaused).toBe(true);
    s.submit('A', 'main');
    s.submit('B', 'main');
    s.submit('C', 'main');
    expect(s.holders('main')).toEqual([]);
    expect(s.waiting('main')).toEqual(['A', 'B', 'C']);
    s.fake.tick(100);
    s.scheduler.resume();
    expect(s.holders('main')).toEqual(['A', 'B']);
    expect(ofType(s.trace, 'grant').map((g) => [g.taskId, g.waitedMs])).toEqual([['A', 100], ['B', 100]]);
    s.scheduler.resume(); // no-op
    s.complete('A');
    expect(s.holders('main')).toEqual(['B', 'C']);
    s.check();
  });
});

describe('wait warnings (STATUS-4, scheduler level)', () => {
  it('onWaitWarning fires exactly at warnThresholdMs for a task still waiting, not before', () => {
    const warned: [string, number][] = [];
    const { fake, clock } = fakeClock();
    const scheduler = new LaneScheduler({ clock, warnThresholdMs: 1000, hooks: { onWaitWarning: (task) => warned.push([task.taskId, clock.now()]) } });
    scheduler.submit('main', (ctx) => void ctx.detach(), { id: 'A' });
    fake.tick(300);
    scheduler.submit('main', () => 'x', { id: 'B' });
    fake.tick(999);
    expect(warned).toEqual([]);
    fake.tick(1);
    expect(warned).toEqual([['B', 1300]]);
  });
});

describe('regressions', () => {
  it('a task whose later lane was deleted (idle) while it waited joins the live lane, so the cap holds', () => {
    const s = setup({ concurrency: () => 1 });
    s.submit('A', ['session:a']);
    s.submit('T', ['session:a', 'nested:t']); // waits in session:a; nested:t exists but is idle
    s.submit('U', ['nested:t']);
    s.complete('U'); // nested:t idle again: the scheduler forgets it
    s.submit('V', ['nested:t']); // a fresh nested:t, held by V
    expect(s.holders('nested:t')).toEqual(['V']);
    s.complete('A'); // T gets session:a and must now WAIT for nested:t (cap 1, held by V)
    expect(s.holders('nested:t')).toEqual(['V']);
    expect(s.waiting('nested:t')).toEqual(['T']);
    s.check();
    s.complete('V');
    expect(s.holders('nested:t')).toEqual(['T']);
    s.complete('T');
    expect(s.scheduler.liveTasks).toBe(0);
    s.check();
  });

  it('a parked task resumes into its session lane even after the lane was forgotten, behind the run holding it', () => {
    const s = setup({ concurrency: () => 1 });
    let resume: ((continuation: () => void) => void) | null = null;
    s.scheduler.submit(['session:a', 'main'], (ctx) => {
      const completion = ctx.detach();
      resume = ctx.park('nested:x');
      s.completions.set('P', completion);
    }, { id: 'P' });
    // Parking released session:a and main; both idle: session:a is forgotten.
    s.submit('B', ['session:a', 'main']);
    expect(s.holders('session:a')).toEqual(['B']);
    let continued = false;
    resume!(() => {
      continued = true;
    });
    // P waits at the front of session:a, behind B's slot; it must not run beside B.
    expect(continued).toBe(false);
    expect(s.holders('session:a')).toEqual(['B']);
    expect(s.waiting('session:a')).toEqual(['P']);
    s.check();
    s.complete('B');
    expect(continued).toBe(true);
    s.complete('P');
    expect(s.scheduler.liveTasks).toBe(0);
    s.check();
  });

  it('a running task that settles inside its abort event: the trace says abort, then error (INV-ABORT-SETTLES holds)', () => {
    const s = setup();
    s.scheduler.submit(['session:a', 'main'], (ctx) => {
      const completion = ctx.detach();
      ctx.signal.addEventListener('abort', () => completion.fail(ctx.signal.reason), { once: true });
    }, { id: 'R' });
    s.fake.tick(10);
    expect(s.scheduler.abort('R', 'user')).toBe(true);
    const tail = s.trace.filter((e) => e.type === 'abort' || e.type === 'error' || e.type === 'end').map((e) => e.type);
    expect(tail).toEqual(['abort', 'error']);
    s.fake.tick(5000);
    const violations = laneViolations(s.trace, s.fake.now);
    expect(violations, formatViolations(violations)).toEqual([]);
  });

  it('clearLane leaves a resumed parked task (a running task taking its lanes back) alone: it settles once', () => {
    const s = setup();
    let resume: ((continuation: () => void) => void) | null = null;
    s.scheduler.submit(['session:a', 'main'], (ctx) => {
      const completion = ctx.detach();
      s.completions.set('P', completion);
      ctx.signal.addEventListener('abort', () => completion.fail(ctx.signal.reason), { once: true });
      resume = ctx.park('nested:x');
    }, { id: 'P', onSettled: (outcome) => s.settled.set('P', [...(s.settled.get('P') ?? []), { outcome, value: null, t: s.clock.now() }]) });
    s.submit('B', ['session:a', 'main']); // takes session:a while P is parked
    s.submit('C', ['session:a', 'main']); // waits behind B
    resume!(() => {}); // P queues again at the front of session:a
    expect(s.waiting('session:a')).toEqual(['P', 'C']);
    expect(s.scheduler.clearLane('session:a')).toBe(1);
    expect(s.settled.get('C')?.map((x) => x.outcome)).toEqual(['cleared']);
    expect(s.settled.get('P')).toBeUndefined();
    expect(s.waiting('session:a')).toEqual(['P']);
    s.complete('B');
    s.complete('P');
    expect(s.settled.get('P')?.map((x) => x.outcome)).toEqual(['ok']);
    expect(s.scheduler.liveTasks).toBe(0);
    s.check();
  });
});

describe('times on a clock far from zero (task times are kept relative to the scheduler epoch)', () => {
  it('traces absolute times, measures waits exactly, and warns at the crossing', async () => {
    const { default: FakeTimers } = await import('@sinonjs/fake-timers');
    const { clockFromFakeTimers } = await import('../../src/model/clock.ts');
    const { LaneScheduler } = await import('../../src/reference-impl/lane-scheduler.ts');
    const start = 1_700_000_000_123;
    const fake = FakeTimers.createClock(start);
    const events: { type: string; t: number; waitedMs?: number }[] = [];
    const warned: number[] = [];
    const scheduler = new LaneScheduler({
      clock: clockFromFakeTimers(fake),
      trace: (e) => events.push(e as { type: string; t: number }),
      warnThresholdMs: 5_000,
      hooks: { onWaitWarning: () => warned.push(fake.now) },
    });
    scheduler.submit('main', (ctx) => {
      const done = ctx.detach();
      fake.setTimeout(() => done.done(), 7_000);
    }, { id: 'a' });
    scheduler.submit('main', () => undefined, { id: 'b' });
    fake.tick(10_000);
    expect(events.find((e) => e.type === 'enqueue')!.t).toBe(start);
    const startB = events.find((e) => e.type === 'start' && (e as unknown as { taskId: string }).taskId === 'b')!;
    expect(startB.t).toBe(start + 7_000);
    expect(startB.waitedMs).toBe(7_000);
    expect(warned).toEqual([start + 5_000]);
  });
});
