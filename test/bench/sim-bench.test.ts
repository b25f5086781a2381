/**
 * The simulator bench's queue workloads: the engine and its peer (a binary
 * heap of event objects) must do the same work, or the ratio the bench
 * prints means nothing. Same delays in the same pop order end at the same
 * virtual time; a queue that popped out of time order would drift off (tie
 * order is invisible here: every event is the same callback; the queue's own
 * property test checks it).
 */
import { describe, expect, it } from 'vitest';
import { TIMER_WORKLOADS, engineEventsPerSec, objectHeapEventsPerSec, typedArrayHeapPushPopPerSec } from '../../bench/sim.bench.ts';

describe('sim bench workloads', () => {
  for (const workload of TIMER_WORKLOADS) {
    it(`${workload}: the engine and the object heap run the same events to the same end time`, () => {
      const engine = engineEventsPerSec(20_000, 500, workload);
      const peer = objectHeapEventsPerSec(20_000, 500, workload);
      expect(engine.endTime).toBeGreaterThan(0);
      expect(engine.endTime).toBe(peer.endTime);
      expect(engine.eventsPerSec).toBeGreaterThan(0);
      expect(Number.isFinite(peer.eventsPerSec)).toBe(true);
    });
  }

  it('the bare typed-array heap reference runs', () => {
    expect(typedArrayHeapPushPopPerSec(10_000, 100)).toBeGreaterThan(0);
  });
});
