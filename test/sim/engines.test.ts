import { describe, expect, it } from 'vitest';
import { DiscreteEventEngine } from '../../src/sim/discrete-event-engine.ts';
import { EventQueue } from '../../src/sim/event-queue.ts';
import { FakeTimersEngine } from '../../src/sim/fake-timers-engine.ts';
import { Prng } from '../../src/model/prng.ts';

describe('EventQueue', () => {
  it('pops in time order, ties in insertion order, and skips cancelled events', () => {
    const heap = new EventQueue(2);
    const prng = new Prng(9);
    const order: string[] = [];
    const expected: { time: number; seq: number; name: string }[] = [];
    const handles: number[] = [];
    for (let i = 0; i < 500; i++) {
      const time = prng.int(0, 50);
      const name = `e${i}`;
      handles.push(heap.push(time, () => order.push(name)));
      expected.push({ time, seq: i, name });
    }
    const cancelled = new Set<string>();
    for (let i = 0; i < 500; i += 7) {
      expect(heap.cancel(handles[i]!)).toBe(true);
      cancelled.add(`e${i}`);
    }
    expect(heap.cancel(handles[0]!)).toBe(false); // already cancelled
    expect(heap.pending).toBe(500 - cancelled.size);
    while (heap.peekTime() !== Infinity) heap.pop()!();
    const want = expected
      .filter((e) => !cancelled.has(e.name))
      .sort((a, b) => a.time - b.time || a.seq - b.seq)
      .map((e) => e.name);
    expect(order).toEqual(want);
    expect(heap.pending).toBe(0);
  });

  it('a stale handle cannot cancel a reused slot', () => {
    const heap = new EventQueue();
    let ran = 0;
    const first = heap.push(1, () => ran++);
    heap.pop()!();
    heap.push(2, () => ran++); // reuses the slot
    expect(heap.cancel(first)).toBe(false);
    heap.pop()!();
    expect(ran).toBe(2);
  });
});

describe('engines', () => {
  it('discrete-event: timers run at their virtual times, a time limit stops the run', async () => {
    const engine = new DiscreteEventEngine();
    const seen: number[] = [];
    const clock = engine.clock;
    clock.setTimeout(() => seen.push(clock.now()), 100);
    clock.setTimeout(() => {
      seen.push(clock.now());
      clock.setTimeout(() => seen.push(clock.now()), 5_000);
    }, 50);
    const cancelled = clock.setTimeout(() => seen.push(-1), 75);
    clock.clearTimeout(cancelled);
    const result = await engine.run(1_000);
    expect(seen).toEqual([50, 100]);
    expect(result).toMatchObject({ reason: 'time-limit', endMs: 1_000, events: 2 });
    const rest = await engine.run(10_000);
    expect(seen).toEqual([50, 100, 5_050]);
    expect(rest.reason).toBe('idle');
  });

  it('fake-timers: installs over the globals, so code calling setTimeout and Date.now runs on virtual time', async () => {
    const engine = new FakeTimersEngine();
    engine.start();
    try {
      const seen: number[] = [];
      setTimeout(() => {
        seen.push(Date.now());
        void Promise.resolve().then(() => setTimeout(() => seen.push(Date.now()), 30));
      }, 20);
      const result = await engine.run(10_000);
      expect(seen).toEqual([20, 50]);
      expect(result.reason).toBe('idle');
    } finally {
      engine.dispose();
    }
    // Uninstalled: the real clock is back.
    expect(Date.now()).toBeGreaterThan(1_600_000_000_000);
  });

  it('fake-timers: stop() ends the run after the current timer', async () => {
    const engine = new FakeTimersEngine();
    engine.start();
    try {
      let n = 0;
      const tick = (): void => {
        n++;
        if (n === 5) engine.stop();
        setTimeout(tick, 10);
      };
      setTimeout(tick, 10);
      const result = await engine.run(1_000_000);
      expect(result.reason).toBe('stopped');
      expect(n).toBe(5);
    } finally {
      engine.dispose();
    }
  });
});
