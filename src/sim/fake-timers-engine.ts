/**
 * The fake-timers engine: @sinonjs/fake-timers installed over the globals,
 * so the code under simulation is the real thing, calling setTimeout and
 * Date.now as it would in production (the reference gateway uses the global
 * clock here). Timers run one at a time with their microtasks flushed in
 * between, so promise-based gateway code works too.
 */
import FakeTimers from '@sinonjs/fake-timers';
import { globalClock, type Clock } from '../model/clock.ts';
import type { EngineRunResult, SimEngine } from './engine.ts';

type InstalledClock = ReturnType<typeof FakeTimers.install>;

const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date'] as const;

export class FakeTimersEngine implements SimEngine {
  readonly name = 'fake-timers' as const;
  readonly clock: Clock = globalClock;
  private fake: InstalledClock | null = null;
  private stopped = false;

  start(): void {
    if (this.fake !== null) throw new Error('fake-timers engine already started');
    this.fake = FakeTimers.withGlobal(globalThis).install({
      now: 0,
      toFake: [...FAKED],
      loopLimit: 100_000_000,
    });
  }

  async run(limitMs: number, maxEvents = Number.MAX_SAFE_INTEGER): Promise<EngineRunResult> {
    const fake = this.fake;
    if (fake === null) throw new Error('fake-timers engine not started');
    this.stopped = false;
    let limitHit = false;
    // A sentinel timer marks the time limit, so no peeking into fake-timers' internals is needed.
    const sentinel = fake.setTimeout(() => {
      limitHit = true;
    }, Math.max(0, limitMs - fake.now));
    let events = 0;
    try {
      for (;;) {
        if (limitHit) return { endMs: fake.now, events, reason: 'time-limit' };
        if (this.stopped) return { endMs: fake.now, events, reason: 'stopped' };
        if (events >= maxEvents) return { endMs: fake.now, events, reason: 'event-limit' };
        if (fake.countTimers() <= 1) {
          await flushMicrotasks();
          if (fake.countTimers() <= 1) return { endMs: fake.now, events, reason: 'idle' };
        }
        await fake.nextAsync();
        if (!limitHit) events++;
      }
    } finally {
      fake.clearTimeout(sentinel);
    }
  }

  stop(): void {
    this.stopped = true;
  }

  dispose(): void {
    this.stopped = true;
    if (this.fake !== null) {
      this.fake.uninstall();
      this.fake = null;
    }
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
