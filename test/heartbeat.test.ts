/**
 * HeartbeatMonitor (src/reference-impl/heartbeat.ts): HB-1..HB-3, HB-5, HB-6.
 * Everything runs on an @sinonjs/fake-timers clock; no real sleeps.
 */
import FakeTimers from '@sinonjs/fake-timers';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../src/model/clock.ts';
import type { HeartbeatConfig } from '../src/model/config-types.ts';
import type { TraceEvent } from '../src/model/events.ts';
import {
  HeartbeatMonitor,
  type HeartbeatMonitorOptions,
  type HeartbeatPayload,
} from '../src/reference-impl/heartbeat.ts';
import {
  SCHEDULE_CONNECTIONS,
  heartbeatScheduleArb,
  type HeartbeatSchedule,
} from './arbitraries/heartbeat-schedule.ts';

const NUM_RUNS = Number(process.env.LANESIM_PROPERTY_RUNS ?? 300);

/**
 * A fake clock as a lanesim Clock. (A fake-timers clock has `now` as a number
 * property, not a method, so it needs this thin adapter.) Counts setTimeout
 * calls so tests can check that noteSent arms nothing.
 */
function fakeClock(start = 0) {
  const fake = FakeTimers.createClock(start);
  const counters = { setTimeouts: 0, clearTimeouts: 0 };
  const clock: Clock = {
    now: () => fake.now,
    setTimeout: (callback, delayMs) => {
      counters.setTimeouts++;
      return fake.setTimeout(callback, delayMs);
    },
    clearTimeout: (handle) => {
      counters.clearTimeouts++;
      fake.clearTimeout(handle as FakeTimers.TimerId);
    },
  };
  return { fake, clock, counters };
}

interface Sent { t: number; connId: string; payload: HeartbeatPayload }

/** A monitor whose owner, like the real one, calls noteSent after each heartbeat frame. */
function setup(config: Partial<HeartbeatConfig> = {}, overrides: Partial<HeartbeatMonitorOptions> = {}) {
  const { fake, clock, counters } = fakeClock();
  const heartbeats: Sent[] = [];
  const pings: Array<{ t: number; connId: string }> = [];
  const dead: Array<{ t: number; connId: string; silentMs: number }> = [];
  const trace: TraceEvent[] = [];
  /** Connections that never answer pings (the others pong at once). */
  const silent = new Set<string>();
  const monitor: HeartbeatMonitor = new HeartbeatMonitor({
    clock,
    config,
    trace: (e) => trace.push(e),
    sendHeartbeat: (connId, payload) => {
      heartbeats.push({ t: fake.now, connId, payload });
      monitor.noteSent(connId);
    },
    sendPing: (connId) => {
      pings.push({ t: fake.now, connId });
      if (!silent.has(connId)) monitor.notePong(connId);
    },
    onDead: (connId, silentMs) => dead.push({ t: fake.now, connId, silentMs }),
    ...overrides,
  });
  return { fake, clock, counters, monitor, heartbeats, pings, dead, trace, silent };
}

const times = (list: ReadonlyArray<{ t: number }>) => list.map((e) => e.t);

describe('HeartbeatMonitor options', () => {
  const cb = { sendHeartbeat: () => {}, sendPing: () => {}, onDead: () => {} };

  it('defaults to 15 s heartbeats, 15 s pings, 45 s dead', () => {
    const m = new HeartbeatMonitor({ ...cb, clock: fakeClock().clock });
    expect([m.intervalMs, m.pingIntervalMs, m.deadAfterMs]).toEqual([15_000, 15_000, 45_000]);
    m.close();
  });

  it.each([
    ['intervalMs', 0], ['intervalMs', -1], ['intervalMs', 1.5], ['intervalMs', Number.NaN],
    ['intervalMs', '15000'], ['pingIntervalMs', 0], ['pingIntervalMs', Number.POSITIVE_INFINITY],
    ['deadAfterMs', 0], ['intervalMs', 2 ** 31],
  ])('rejects config.%s = %s with a RangeError naming it', (name, value) => {
    const config = { [name]: value } as unknown as Partial<HeartbeatConfig>;
    expect(() => new HeartbeatMonitor({ ...cb, config })).toThrow(RangeError);
    expect(() => new HeartbeatMonitor({ ...cb, config })).toThrow(name);
  });

  it('rejects deadAfterMs <= pingIntervalMs', () => {
    const config = { pingIntervalMs: 15_000, deadAfterMs: 15_000 };
    expect(() => new HeartbeatMonitor({ ...cb, config })).toThrow(RangeError);
    expect(() => new HeartbeatMonitor({ ...cb, config })).toThrow(/deadAfterMs.*pingIntervalMs/);
  });

  it.each(['sendHeartbeat', 'sendPing', 'onDead'])('rejects a missing %s callback', (name) => {
    const opts = { ...cb, [name]: undefined } as unknown as HeartbeatMonitorOptions;
    expect(() => new HeartbeatMonitor(opts)).toThrow(RangeError);
    expect(() => new HeartbeatMonitor(opts)).toThrow(name);
  });

  it('rejects a clock without the Clock methods', () => {
    const clock = FakeTimers.createClock(0) as unknown as Clock; // `now` is a number there
    expect(() => new HeartbeatMonitor({ ...cb, clock })).toThrow(/clock/);
  });

  it('validates watch and runStarted times', () => {
    const { monitor } = setup();
    monitor.addConnection('c');
    expect(() => monitor.watch('c', 'r', { enqueuedAt: Number.NaN })).toThrow(/enqueuedAt/);
    expect(() => monitor.runStarted('r', Number.POSITIVE_INFINITY)).toThrow(/startedAt/);
    expect(() => monitor.watch('c', '', { enqueuedAt: 0 })).toThrow(TypeError);
    monitor.close();
  });
});

describe('heartbeats (HB-1, HB-2, HB-3)', () => {
  it('first heartbeat at +intervalMs, then every intervalMs while silent', () => {
    const { fake, monitor, heartbeats } = setup();
    monitor.addConnection('c');
    monitor.watch('c', 'r1', { enqueuedAt: 0 });
    fake.tick(14_999);
    expect(heartbeats).toEqual([]);
    fake.tick(1);
    expect(times(heartbeats)).toEqual([15_000]);
    fake.tick(45_000);
    expect(times(heartbeats)).toEqual([15_000, 30_000, 45_000, 60_000]);
    expect(heartbeats.every((h) => h.connId === 'c')).toBe(true);
    monitor.close();
  });

  it('deltas every 150 ms suppress heartbeats entirely, without creating timers per frame', () => {
    const { fake, monitor, heartbeats, counters } = setup({ pingIntervalMs: 60_000, deadAfterMs: 600_000 });
    monitor.addConnection('c');
    monitor.watch('c', 'r1', { enqueuedAt: 0 });
    monitor.runStarted('r1', 0);
    const before = counters.setTimeouts;
    let frames = 0;
    const delta = () => {
      monitor.noteSent('c');
      frames++;
      if (frames < 400) fake.setTimeout(delta, 150); // 60 s of deltas
    };
    fake.setTimeout(delta, 150);
    fake.tick(60_000);
    expect(frames).toBe(400);
    expect(heartbeats).toEqual([]);
    // Lazy rescheduling: one heartbeat-timer wake-up per 15 s (+1 ping), not one per frame.
    expect(counters.setTimeouts - before).toBeLessThanOrEqual(6);
    expect(counters.clearTimeouts).toBe(0);
    // The deltas stop at 60 000: the next heartbeat is exactly 15 s later.
    fake.tick(15_000);
    expect(times(heartbeats)).toEqual([75_000]);
    expect(heartbeats[0]?.payload).toEqual({ runId: 'r1', elapsedMs: 75_000, queued: false });
    monitor.close();
  });

  it('noteSent is O(1) and touches no timer', () => {
    const { fake, monitor, counters } = setup();
    monitor.addConnection('c');
    monitor.watch('c', 'r1', { enqueuedAt: 0 });
    const armed = fake.countTimers();
    const sets = counters.setTimeouts;
    for (let i = 0; i < 10_000; i++) monitor.noteSent('c');
    expect(fake.countTimers()).toBe(armed);
    expect(counters.setTimeouts).toBe(sets);
    expect(counters.clearTimeouts).toBe(0);
    monitor.close();
  });

  it('a frame at +10 s moves the next heartbeat to +25 s', () => {
    const { fake, monitor, heartbeats } = setup();
    monitor.addConnection('c');
    monitor.watch('c', 'r1', { enqueuedAt: 0 });
    fake.tick(10_000);
    monitor.noteSent('c');
    fake.tick(14_999);
    expect(heartbeats).toEqual([]);
    fake.tick(1);
    expect(times(heartbeats)).toEqual([25_000]);
    fake.tick(15_000);
    expect(times(heartbeats)).toEqual([25_000, 40_000]);
    monitor.close();
  });

  it('stops on unwatch and on unwatchRun, for every watcher', () => {
    const { fake, monitor, heartbeats } = setup();
    for (const c of ['a', 'b', 'c']) monitor.addConnection(c);
    monitor.watch('a', 'r1', { enqueuedAt: 0 });
    monitor.watch('b', 'r1', { enqueuedAt: 0 });
    monitor.watch('c', 'r1', { enqueuedAt: 0 });
    monitor.watch('c', 'r2', { enqueuedAt: 0 });
    fake.tick(15_000);
    expect(heartbeats.map((h) => h.connId).sort()).toEqual(['a', 'b', 'c']);
    monitor.unwatch('a', 'r1');
    expect(monitor.stats().watching).toBe(2);
    fake.tick(15_000);
    expect(heartbeats.slice(3).map((h) => h.connId).sort()).toEqual(['b', 'c']);
    monitor.unwatchRun('r1'); // b watches nothing now; c still watches r2
    expect(monitor.stats().watching).toBe(1);
    fake.tick(15_000);
    expect(heartbeats.slice(5)).toEqual([{ t: 45_000, connId: 'c', payload: { runId: 'r2', elapsedMs: 45_000, queued: true } }]);
    monitor.unwatch('c', 'r2');
    fake.tick(120_000);
    expect(heartbeats).toHaveLength(6);
    expect(monitor.stats()).toMatchObject({ connections: 3, watching: 0, runs: 0 });
    monitor.close();
  });

  it('HB-3: an idle connection that starts watching gets its first heartbeat intervalMs after watching began', () => {
    const { fake, monitor, heartbeats } = setup();
    monitor.addConnection('c');
    monitor.noteSent('c'); // a frame long ago
    fake.tick(100_000);
    monitor.watch('c', 'r1', { enqueuedAt: 100_000 });
    fake.tick(14_999);
    expect(heartbeats).toEqual([]);
    fake.tick(1);
    expect(times(heartbeats)).toEqual([115_000]);
    // Unwatch, then watch again 3 s after the last frame: counted from the watch.
    monitor.unwatch('c', 'r1');
    fake.tick(3_000);
    monitor.watch('c', 'r2', { enqueuedAt: 118_000 });
    fake.tick(14_999);
    expect(times(heartbeats)).toEqual([115_000]);
    fake.tick(1);
    expect(times(heartbeats)).toEqual([115_000, 133_000]);
    monitor.close();
  });

  it('HB-3: a frame after watching began counts from the frame', () => {
    const { fake, monitor, heartbeats } = setup();
    monitor.addConnection('c');
    fake.tick(50_000);
    monitor.watch('c', 'r1', { enqueuedAt: 50_000 });
    fake.tick(5_000);
    monitor.noteSent('c');
    fake.tick(14_999);
    expect(times(heartbeats)).toEqual([]); // nothing at 65 000 (watchStart + 15 s): the frame moved it
    fake.tick(1);
    expect(times(heartbeats)).toEqual([70_000]);
    monitor.close();
  });

  it('payload: queued (since enqueue) until the run starts, then elapsed since start', () => {
    const { fake, monitor, heartbeats, trace } = setup();
    monitor.addConnection('c');
    fake.tick(1_000);
    monitor.watch('c', 'r1', { enqueuedAt: 500 }); // enqueued before the watch call
    fake.tick(15_000);
    expect(heartbeats[0]).toEqual({ t: 16_000, connId: 'c', payload: { runId: 'r1', elapsedMs: 15_500, queued: true } });
    fake.tick(5_000);
    monitor.runStarted('r1', 21_000);
    fake.tick(10_000);
    expect(heartbeats[1]).toEqual({ t: 31_000, connId: 'c', payload: { runId: 'r1', elapsedMs: 10_000, queued: false } });
    expect(trace.filter((e) => e.type === 'heartbeat')).toEqual([
      { type: 'heartbeat', t: 16_000, connId: 'c', runId: 'r1', elapsedMs: 15_500 },
      { type: 'heartbeat', t: 31_000, connId: 'c', runId: 'r1', elapsedMs: 10_000 },
    ]);
    monitor.close();
  });

  it('payload: the earliest-started watched run wins over queued ones; all queued: the earliest enqueued', () => {
    const { fake, monitor, heartbeats } = setup();
    monitor.addConnection('c');
    monitor.runStarted('r-old', 0); // started before anyone watched it
    fake.tick(2_000);
    monitor.watch('c', 'q-late', { enqueuedAt: 1_500 });
    monitor.watch('c', 'q-early', { enqueuedAt: 200 });
    fake.tick(15_000);
    expect(heartbeats.at(-1)?.payload).toEqual({ runId: 'q-early', elapsedMs: 16_800, queued: true });
    monitor.watch('c', 'r-new', { enqueuedAt: 17_000 });
    monitor.runStarted('r-new', 17_000);
    fake.tick(15_000);
    expect(heartbeats.at(-1)?.payload).toEqual({ runId: 'r-new', elapsedMs: 15_000, queued: false });
    monitor.watch('c', 'r-old', { enqueuedAt: 0 });
    fake.tick(15_000);
    expect(heartbeats.at(-1)?.payload).toEqual({ runId: 'r-old', elapsedMs: 47_000, queued: false });
    monitor.unwatchRun('r-old');
    monitor.unwatchRun('r-new');
    fake.tick(15_000);
    expect(heartbeats.at(-1)?.payload).toEqual({ runId: 'q-early', elapsedMs: 61_800, queued: true });
    monitor.close();
  });

  it('a second watch of the same run keeps the first enqueuedAt; a second runStarted keeps the first start', () => {
    const { fake, monitor, heartbeats } = setup();
    monitor.addConnection('c');
    monitor.watch('c', 'r', { enqueuedAt: 0 });
    monitor.watch('c', 'r', { enqueuedAt: 9_000 });
    fake.tick(15_000);
    expect(heartbeats.at(-1)?.payload).toEqual({ runId: 'r', elapsedMs: 15_000, queued: true });
    monitor.runStarted('r', 15_000);
    monitor.runStarted('r', 20_000);
    fake.tick(15_000);
    expect(heartbeats.at(-1)?.payload).toEqual({ runId: 'r', elapsedMs: 15_000, queued: false });
    monitor.close();
  });
});

describe('pings and dead peers (HB-5, HB-6)', () => {
  it('pings every pingIntervalMs, watching or not, and traces ping/pong', () => {
    const { fake, monitor, pings, trace } = setup();
    monitor.addConnection('idle');
    fake.tick(5_000);
    monitor.addConnection('busy');
    monitor.watch('busy', 'r', { enqueuedAt: 5_000 });
    fake.tick(40_000);
    expect(pings).toEqual([
      { t: 15_000, connId: 'idle' }, { t: 20_000, connId: 'busy' },
      { t: 30_000, connId: 'idle' }, { t: 35_000, connId: 'busy' },
      { t: 45_000, connId: 'idle' },
    ]);
    expect(trace.filter((e) => e.type === 'ping' || e.type === 'pong').slice(0, 2)).toEqual([
      { type: 'ping', t: 15_000, connId: 'idle' },
      { type: 'pong', t: 15_000, connId: 'idle' },
    ]);
    expect(monitor.stats().pings).toBe(5);
    monitor.close();
  });

  it('pings do not count as frames for HB-1', () => {
    const { fake, monitor, heartbeats } = setup({ intervalMs: 15_000, pingIntervalMs: 5_000 });
    monitor.addConnection('c');
    monitor.watch('c', 'r', { enqueuedAt: 0 });
    fake.tick(15_000);
    expect(times(heartbeats)).toEqual([15_000]);
    monitor.close();
  });

  it('declares a silent peer dead exactly at deadAfterMs, once, and forgets it', () => {
    const { fake, monitor, dead, pings, trace, heartbeats, silent } = setup();
    silent.add('c');
    monitor.addConnection('c');
    monitor.watch('c', 'r', { enqueuedAt: 0 });
    fake.tick(44_999);
    expect(dead).toEqual([]);
    expect(times(pings)).toEqual([15_000, 30_000]);
    fake.tick(1);
    expect(dead).toEqual([{ t: 45_000, connId: 'c', silentMs: 45_000 }]);
    expect(times(pings)).toEqual([15_000, 30_000]); // no ping at 45 000: it is dead
    expect(trace.filter((e) => e.type === 'peer.dead')).toEqual([{ type: 'peer.dead', t: 45_000, connId: 'c', silentMs: 45_000 }]);
    expect(monitor.stats()).toMatchObject({ connections: 0, watching: 0, dead: 1, runs: 0 });
    expect(fake.countTimers()).toBe(0);
    const heartbeatsAtDeath = heartbeats.length;
    fake.tick(300_000);
    expect(dead).toHaveLength(1);
    expect(heartbeats).toHaveLength(heartbeatsAtDeath);
    // Calls about a forgotten connection are no-ops; it can be added again.
    monitor.noteSent('c');
    monitor.watch('c', 'r', { enqueuedAt: 0 });
    monitor.addConnection('c');
    expect(monitor.stats().connections).toBe(1);
    monitor.close();
  });

  it('inbound traffic keeps a peer alive; silence is counted from the last inbound frame', () => {
    const { fake, monitor, dead, silent } = setup();
    silent.add('c');
    monitor.addConnection('c');
    for (let i = 0; i < 10; i++) {
      fake.tick(40_000);
      monitor.noteInbound('c');
    }
    expect(dead).toEqual([]);
    fake.tick(4_999);
    monitor.notePong('c'); // last inbound: 404 999
    fake.tick(44_999);
    expect(dead).toEqual([]);
    fake.tick(1);
    expect(dead).toEqual([{ t: 449_999, connId: 'c', silentMs: 45_000 }]);
    monitor.close();
  });

  it('a responsive peer lives forever', () => {
    const { fake, monitor, dead, pings } = setup();
    monitor.addConnection('c');
    fake.tick(3_600_000);
    expect(dead).toEqual([]);
    expect(pings).toHaveLength(240);
    monitor.close();
  });
});

describe('lifecycle and robustness', () => {
  it('removeConnection stops every timer and is idempotent; close clears everything', () => {
    const { fake, monitor, heartbeats, pings } = setup();
    monitor.addConnection('a');
    monitor.addConnection('b');
    monitor.watch('a', 'r', { enqueuedAt: 0 });
    monitor.watch('b', 'r', { enqueuedAt: 0 });
    expect(fake.countTimers()).toBe(4);
    monitor.removeConnection('a');
    monitor.removeConnection('a');
    expect(fake.countTimers()).toBe(2);
    monitor.removeConnection('b');
    expect(fake.countTimers()).toBe(0);
    expect(monitor.stats()).toMatchObject({ connections: 0, watching: 0, runs: 0 });
    fake.tick(100_000);
    expect(heartbeats).toEqual([]);
    expect(pings).toEqual([]);

    monitor.addConnection('c');
    monitor.watch('c', 'r', { enqueuedAt: 0 });
    monitor.runStarted('r2', 0);
    expect(fake.countTimers()).toBe(2);
    monitor.close();
    expect(fake.countTimers()).toBe(0);
    expect(monitor.stats()).toMatchObject({ connections: 0, watching: 0, runs: 0 });
    monitor.addConnection('d'); // inert after close
    monitor.watch('d', 'r', { enqueuedAt: 0 });
    expect(fake.countTimers()).toBe(0);
  });

  it('a duplicate addConnection throws; unknown connections are no-ops', () => {
    const { monitor } = setup();
    monitor.addConnection('c');
    expect(() => monitor.addConnection('c')).toThrow(/already/);
    monitor.noteSent('x');
    monitor.noteInbound('x');
    monitor.notePong('x');
    monitor.watch('x', 'r', { enqueuedAt: 0 });
    monitor.unwatch('x', 'r');
    monitor.unwatchRun('nope');
    monitor.removeConnection('x');
    expect(monitor.stats()).toMatchObject({ connections: 1, watching: 0, runs: 0 });
    monitor.close();
  });

  it('callbacks that throw do not break the monitor for other connections', () => {
    const got: string[] = [];
    const { fake, monitor } = setup({}, {
      sendHeartbeat: (connId) => {
        if (connId === 'bad') throw new Error('socket gone');
        got.push(`hb:${connId}@${fake.now}`);
        monitor.noteSent(connId);
      },
      sendPing: (connId) => {
        if (connId === 'bad') throw new Error('ping failed');
        monitor.notePong(connId);
      },
      onDead: () => {
        throw new Error('close failed');
      },
      trace: (e) => {
        if (e.type === 'pong') throw new Error('sink broke');
      },
    });
    monitor.addConnection('bad');
    monitor.addConnection('good');
    monitor.watch('bad', 'r', { enqueuedAt: 0 });
    monitor.watch('good', 'r', { enqueuedAt: 0 });
    fake.tick(30_000);
    expect(got).toEqual(['hb:good@15000', 'hb:good@30000']);
    // bad: 2 heartbeats + 2 pings threw; good: 2 pongs threw in the sink.
    expect(monitor.stats()).toMatchObject({ heartbeats: 4, pings: 4, callbackErrors: 6 });
    fake.tick(15_000); // bad never answered: dead at 45 000, onDead throws
    expect(monitor.stats()).toMatchObject({ connections: 1, dead: 1 });
    // +1 onDead, +1 good's pong at 45 000, and +1 if bad's heartbeat timer fired before its liveness timer.
    expect(monitor.stats().callbackErrors).toBeGreaterThanOrEqual(8);
    fake.tick(15_000);
    expect(got).toEqual(['hb:good@15000', 'hb:good@30000', 'hb:good@45000', 'hb:good@60000']);
    monitor.close();
    expect(fake.countTimers()).toBe(0);
  });

  it('callbacks may call back into the monitor', () => {
    const { fake, monitor, silent } = setup({}, {
      sendHeartbeat: (connId) => {
        if (connId === 'a') monitor.removeConnection('a');
        if (connId === 'b') {
          monitor.unwatch('b', 'r');
          monitor.watch('b', 'r2', { enqueuedAt: fake.now });
        }
        if (connId === 'c') monitor.close();
      },
      onDead: (connId) => monitor.removeConnection(connId),
    });
    silent.add('b');
    monitor.addConnection('a');
    monitor.addConnection('b');
    monitor.watch('a', 'r', { enqueuedAt: 0 });
    monitor.watch('b', 'r', { enqueuedAt: 0 });
    fake.tick(15_000);
    expect(monitor.stats()).toMatchObject({ connections: 1, watching: 1, heartbeats: 2 });
    expect(fake.countTimers()).toBe(2); // b: heartbeat + liveness, exactly one of each
    fake.tick(15_000);
    expect(monitor.stats()).toMatchObject({ heartbeats: 3 });
    monitor.addConnection('c');
    monitor.watch('c', 'r', { enqueuedAt: fake.now });
    fake.tick(15_000); // b dies at 45 000 first, then c's heartbeat closes the monitor
    expect(fake.countTimers()).toBe(0);
    expect(monitor.stats()).toMatchObject({ connections: 0, dead: 1 });
  });

  it('works on the global clock under installed fake timers (withGlobal)', () => {
    const fake = FakeTimers.withGlobal(globalThis).install({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const hb: number[] = [];
      const monitor: HeartbeatMonitor = new HeartbeatMonitor({
        config: { intervalMs: 1_000, pingIntervalMs: 10_000, deadAfterMs: 20_000 },
        sendHeartbeat: (connId) => {
          hb.push(Date.now());
          monitor.noteSent(connId);
        },
        sendPing: () => {},
        onDead: () => {},
      });
      monitor.addConnection('c');
      monitor.watch('c', 'r', { enqueuedAt: 0 });
      fake.tick(3_000);
      expect(hb).toEqual([1_000, 2_000, 3_000]);
      monitor.close();
      expect(fake.countTimers()).toBe(0);
    } finally {
      fake.uninstall();
    }
  });
});

// ------------------------------------------------------------------ property

interface LogEntry { t: number; kind: 'watchOn' | 'watchOff' | 'frame' | 'heartbeat' }

/**
 * Replays a schedule on a fake clock against a model of what the owner told
 * the monitor, checking each callback as it happens, and returns the log of
 * every send and watch transition per connection for the gap check.
 */
function replay(schedule: HeartbeatSchedule): void {
  const { config, responsive, commands } = schedule;
  const { fake, clock } = fakeClock();
  const ids = Array.from({ length: SCHEDULE_CONNECTIONS }, (_, i) => `c${i}`);
  const model = ids.map(() => ({
    present: false, watched: new Map<string, number>(), lastInbound: 0, lastPing: 0, log: [] as LogEntry[],
  }));
  const startedAt = new Map<string, number>();
  const indexOf = (connId: string) => {
    const i = ids.indexOf(connId);
    const m = model[i];
    if (m === undefined) throw new Error(`unknown connId ${connId}`);
    return m;
  };
  const expectedPayload = (watched: Map<string, number>, now: number): HeartbeatPayload => {
    let best: { runId: string; at: number } | null = null;
    for (const runId of watched.keys()) {
      const s = startedAt.get(runId);
      if (s !== undefined && (best === null || s < best.at)) best = { runId, at: s };
    }
    if (best !== null) return { runId: best.runId, elapsedMs: Math.max(0, now - best.at), queued: false };
    for (const [runId, e] of watched) if (best === null || e < best.at) best = { runId, at: e };
    if (best === null) throw new Error('no watched run');
    return { runId: best.runId, elapsedMs: Math.max(0, now - best.at), queued: true };
  };

  const monitor: HeartbeatMonitor = new HeartbeatMonitor({
    clock,
    config,
    sendHeartbeat: (connId, payload) => {
      const m = indexOf(connId);
      // Never to a connection that is gone or watches nothing.
      expect(m.present).toBe(true);
      expect(m.watched.size).toBeGreaterThan(0);
      expect(payload).toEqual(expectedPayload(m.watched, fake.now));
      m.log.push({ t: fake.now, kind: 'heartbeat' });
      monitor.noteSent(connId);
    },
    sendPing: (connId) => {
      const m = indexOf(connId);
      expect(m.present).toBe(true);
      expect(fake.now - m.lastPing).toBe(config.pingIntervalMs); // HB-5 cadence
      m.lastPing = fake.now;
      if (responsive[ids.indexOf(connId)] === true) {
        monitor.notePong(connId);
        m.lastInbound = fake.now;
      }
    },
    onDead: (connId, silentMs) => {
      const m = indexOf(connId);
      expect(m.present).toBe(true);
      expect(silentMs).toBe(fake.now - m.lastInbound);
      expect(silentMs).toBe(config.deadAfterMs); // exactly at deadAfterMs, never before
      if (m.watched.size > 0) m.log.push({ t: fake.now, kind: 'watchOff' });
      m.watched.clear();
      m.present = false;
    },
  });

  const add = (i: number) => {
    const m = model[i];
    if (m === undefined || m.present) return;
    monitor.addConnection(ids[i] ?? '');
    Object.assign(m, { present: true, lastInbound: fake.now, lastPing: fake.now });
  };
  const send = (i: number) => {
    const m = model[i];
    if (m?.present) m.log.push({ t: fake.now, kind: 'frame' });
    monitor.noteSent(ids[i] ?? '');
  };
  ids.forEach((_, i) => add(i));

  for (const cmd of commands) {
    const runId = 'run' in cmd ? `r${cmd.run}` : '';
    const i = 'conn' in cmd ? cmd.conn : -1;
    const m = model[i];
    const connId = ids[i] ?? '';
    switch (cmd.kind) {
      case 'watch':
        if (m?.present && !m.watched.has(runId)) {
          if (m.watched.size === 0) m.log.push({ t: fake.now, kind: 'watchOn' });
          m.watched.set(runId, fake.now - cmd.enqueuedAgoMs);
        }
        monitor.watch(connId, runId, { enqueuedAt: fake.now - cmd.enqueuedAgoMs });
        break;
      case 'unwatch':
        if (m?.watched.delete(runId) === true && m.watched.size === 0) m.log.push({ t: fake.now, kind: 'watchOff' });
        monitor.unwatch(connId, runId);
        break;
      case 'unwatchRun':
        startedAt.delete(runId);
        for (const mm of model) {
          if (mm.watched.delete(runId) && mm.watched.size === 0) mm.log.push({ t: fake.now, kind: 'watchOff' });
        }
        monitor.unwatchRun(runId);
        break;
      case 'runStarted':
        if (!startedAt.has(runId)) startedAt.set(runId, fake.now);
        monitor.runStarted(runId, fake.now);
        break;
      case 'send':
        send(i);
        break;
      case 'inbound':
        if (m?.present) m.lastInbound = fake.now;
        monitor.noteInbound(connId);
        break;
      case 'remove':
        if (m?.present) {
          if (m.watched.size > 0) m.log.push({ t: fake.now, kind: 'watchOff' });
          m.watched.clear();
          m.present = false;
        }
        monitor.removeConnection(connId);
        break;
      case 'add':
        add(i);
        break;
      case 'advance':
        fake.tick(cmd.ms);
        break;
      case 'stream':
        for (let k = 0; k < cmd.frames; k++) {
          fake.tick(cmd.everyMs);
          send(i);
        }
        break;
    }
    const present = model.filter((mm) => mm.present);
    expect(monitor.stats()).toMatchObject({
      connections: present.length,
      watching: present.filter((mm) => mm.watched.size > 0).length,
    });
    // At most two timers per connection (liveness, and heartbeat while watching).
    expect(fake.countTimers()).toBe(present.length + present.filter((mm) => mm.watched.size > 0).length);
  }

  const end = fake.now;
  for (const m of model) {
    // HB-1: while watching, never silent for more than intervalMs; HB-2:
    // a heartbeat goes out exactly when the silence reaches intervalMs.
    let watching = false;
    let anchor = 0;
    for (const e of m.log) {
      if (e.kind === 'watchOn') {
        expect(watching).toBe(false);
        watching = true;
        anchor = e.t;
        continue;
      }
      if (e.kind === 'heartbeat') {
        expect(watching).toBe(true);
        expect(e.t - anchor).toBe(config.intervalMs);
      }
      if (watching) expect(e.t - anchor).toBeLessThanOrEqual(config.intervalMs);
      if (e.kind === 'watchOff') watching = false;
      else anchor = e.t;
    }
    if (watching) expect(end - anchor).toBeLessThan(config.intervalMs);
    if (m.present) {
      expect(end - m.lastInbound).toBeLessThan(config.deadAfterMs); // HB-6: no missed death
      expect(end - m.lastPing).toBeLessThan(config.pingIntervalMs); // HB-5: no missed ping
    }
  }
  monitor.close();
  expect(fake.countTimers()).toBe(0);
}

describe('property: random schedules', () => {
  it('watching connections are never silent for more than intervalMs; idle ones get no heartbeats', () => {
    fc.assert(fc.property(heartbeatScheduleArb, (schedule) => replay(schedule)), { numRuns: NUM_RUNS });
  });

  it('a known schedule replays (regression shape)', () => {
    replay({
      config: { intervalMs: 100, pingIntervalMs: 50, deadAfterMs: 120 },
      responsive: [true, false, true, true],
      commands: [
        { kind: 'watch', conn: 0, run: 0, enqueuedAgoMs: 10 },
        { kind: 'watch', conn: 1, run: 0, enqueuedAgoMs: 0 },
        { kind: 'stream', conn: 0, everyMs: 30, frames: 10 },
        { kind: 'runStarted', run: 0 },
        { kind: 'advance', ms: 250 },
        { kind: 'unwatchRun', run: 0 },
        { kind: 'add', conn: 1 },
        { kind: 'watch', conn: 1, run: 1, enqueuedAgoMs: 5 },
        { kind: 'advance', ms: 99 },
        { kind: 'send', conn: 1 },
        { kind: 'advance', ms: 300 },
      ],
    });
  });
});
