/**
 * The discrete-event engine's queue against a model (a sorted list): events
 * come out by time, then in the order they were pushed, whatever mix of
 * whole-ms and fractional times, cancels and partial drains.
 * Replay a failure: LANESIM_SEED=<seed printed by fast-check>.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../src/sim/event-queue.ts';
import { TimeIndex } from '../../src/sim/time-index.ts';
import { eventQueueOps } from '../arbitraries/event-queue-ops.ts';
import { propertySeed } from '../support/property-runs.ts';

function params(numRuns: number): fc.Parameters<unknown> {
  const seed = propertySeed();
  return seed === undefined ? { numRuns, verbose: 1 } : { numRuns, verbose: 1, seed };
}

interface Entry { time: number; seq: number; handle: number; live: boolean }

/** A plain check (expect() per step would be most of this property's time). */
function same<T>(actual: T, expected: T, what: string): void {
  if (!Object.is(actual, expected)) throw new Error(`${what}: got ${String(actual)}, want ${String(expected)}`);
}

describe('EventQueue (property)', () => {
  it('pops live events in (time, push order), honours cancels and limits, counts pending', () => {
    fc.assert(
      fc.property(eventQueueOps, (ops) => {
        const heap = new EventQueue(4);
        const entries: Entry[] = [];
        let pending = 0;
        let now = 0;
        for (const op of ops) {
          if (op.kind === 'push' || op.kind === 'again') {
            if (op.kind === 'again' && entries.length === 0) continue;
            const time = op.kind === 'push' ? now + op.delay : entries[op.pick % entries.length]!.time;
            const seq = entries.length;
            const handle = heap.push(time, () => seq);
            entries.push({ time, seq, handle, live: true });
            pending++;
          } else if (op.kind === 'cancel') {
            if (entries.length === 0) continue;
            const entry = entries[op.pick % entries.length]!;
            same(heap.cancel(entry.handle), entry.live, `cancel of push ${entry.seq}`);
            if (entry.live) pending--;
            entry.live = false;
          } else {
            const limit = now + op.ahead;
            for (let k = 0; k < op.count; k++) {
              let want: Entry | undefined;
              for (const e of entries) {
                if (e.live && (want === undefined || e.time < want.time || (e.time === want.time && e.seq < want.seq))) want = e;
              }
              same(heap.peekTime(), want === undefined ? Infinity : want.time, 'peekTime');
              const callback = heap.popUntil(limit);
              if (want === undefined || want.time > limit) {
                same(callback, null, `popUntil(${limit}) with nothing due`);
                break;
              }
              same((callback as (() => unknown) | null)?.(), want.seq as unknown, `popUntil(${limit}): push number`);
              same(heap.poppedTime, want.time, 'poppedTime');
              want.live = false;
              pending--;
              now = want.time;
            }
          }
          same(heap.pending, pending, 'pending');
        }
      }),
      params(200),
    );
  });
});

describe('TimeIndex', () => {
  it('maps times (whole, fractional, huge, negative), overwrites, refuses past half full, and resets', () => {
    const index = new TimeIndex(32);
    const times = [0, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 40), 0.5, 1e-9, 7, 7 + 32, 7 + 64, 86_400_000.25];
    times.forEach((t, i) => index.set(t, i));
    times.forEach((t, i) => expect(index.get(t)).toBe(i));
    expect(index.get(12345)).toBe(-1);
    expect(index.get(0.25)).toBe(-1);
    index.set(7, 99);
    expect(index.get(7)).toBe(99);
    expect(index.size).toBe(times.length);
    for (let t = 100; index.size < 16; t++) index.set(t, 1);
    expect(() => index.set(1000, 1)).toThrow(/full/);
    index.set(100, 5); // an existing key still updates when full
    expect(index.get(100)).toBe(5);
    index.reset(128);
    expect(index.capacity).toBe(128);
    expect(index.size).toBe(0);
    expect(index.get(7)).toBe(-1);
  });
});

describe('EventQueue', () => {
  it('treats -0 as 0 and refuses NaN', () => {
    const heap = new EventQueue(4);
    const order: string[] = [];
    heap.push(0, () => order.push('a'));
    heap.push(-0, () => order.push('b'));
    heap.push(0, () => order.push('c'));
    while (heap.peekTime() !== Infinity) heap.pop()!();
    expect(order).toEqual(['a', 'b', 'c']);
    expect(() => heap.push(Number.NaN, () => {})).toThrow(RangeError);
    expect(heap.pending).toBe(0);
  });

  it('counts the pushes that joined a time already queued', () => {
    const heap = new EventQueue(4);
    for (const t of [1, 1, 2, 1, 3]) heap.push(t, () => {});
    expect(heap.stats).toEqual({ pushes: 5, joined: 2 });
    heap.pop();
    heap.pop();
    heap.pop(); // time 1 is done
    heap.push(1, () => {});
    heap.push(2, () => {});
    expect(heap.stats).toEqual({ pushes: 7, joined: 3 });
  });
});
