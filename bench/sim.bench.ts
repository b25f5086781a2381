/**
 * `npm run bench -- sim`: the simulator's speed.
 * - the discrete-event engine's raw rate: timer events with trivial callbacks,
 *   each rescheduling itself (a steady queue of `live` events), events/s, on
 *   three delay workloads, against a binary heap of event objects run in the
 *   same process (the peer);
 * - the nested-agent cascade (baseline and fixed) on the fake-timers engine,
 *   wall ms per pair after warm-up (target < 100 ms);
 * - the 10,000-session hour on the discrete-event engine, wall s (target < 10 s).
 */
import { nestedAgentCascade } from '../src/scenarios/nested-agent-cascade.ts';
import { largeHour } from '../src/scenarios/large-hour.ts';
import { DiscreteEventEngine } from '../src/sim/discrete-event-engine.ts';
import { runSimulation } from '../src/sim/simulation.ts';

/**
 * Timer delays for the engine's raw rate, each a steady queue of `live`
 * events where every event reschedules itself:
 * - `clustered`: whole ms, 0-999 ms ahead (what the simulator schedules:
 *   whole-ms timers, many falling on the same millisecond);
 * - `sparse`: whole ms, 0-999,999 ms ahead (almost every event its own millisecond);
 * - `fractional`: microsecond fractions of a ms, 0-999.999 ms ahead (the engine's other path).
 */
export type TimerWorkload = 'clustered' | 'sparse' | 'fractional';
export const TIMER_WORKLOADS: readonly TimerWorkload[] = ['clustered', 'sparse', 'fractional'];

/** A pseudo-random delay source (xorshift), the same sequence for the engine and its peer. */
function delays(workload: TimerWorkload): () => number {
  let x = 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const r = x >>> 0;
    return workload === 'clustered' ? r % 1000 : workload === 'sparse' ? r % 1_000_000 : (r % 1_000_000) / 1000;
  };
}

/** A rate run: events per second, and the virtual time of the last event (equal for the engine and its peer: same work). */
export interface QueueRun {
  eventsPerSec: number;
  endTime: number;
}

export function engineEventsPerSec(events = 5_000_000, live = 10_000, workload: TimerWorkload = 'clustered'): QueueRun {
  const engine = new DiscreteEventEngine();
  const clock = engine.clock;
  const next = delays(workload);
  let left = events;
  const tick = (): void => {
    if (--left <= 0) {
      engine.stop();
      return;
    }
    clock.setTimeout(tick, next());
  };
  for (let i = 0; i < live; i++) clock.setTimeout(tick, i % 1000);
  const t0 = process.hrtime.bigint();
  const run = engine.runSync(Number.MAX_SAFE_INTEGER);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { eventsPerSec: events / seconds, endTime: run.endMs };
}

interface HeapNode {
  time: number;
  seq: number;
  callback: () => void;
}

/**
 * The peer: the textbook discrete-event queue, a binary heap of event
 * objects ordered by (time, sequence), running the same workload through
 * the same kind of loop (pop, advance the time, run the callback).
 */
export function objectHeapEventsPerSec(events = 5_000_000, live = 10_000, workload: TimerWorkload = 'clustered'): QueueRun {
  const heap: HeapNode[] = [];
  let seq = 0;
  let now = 0;
  const less = (a: HeapNode, b: HeapNode): boolean => a.time < b.time || (a.time === b.time && a.seq < b.seq);
  const push = (time: number, callback: () => void): void => {
    const node = { time, seq: seq++, callback };
    let i = heap.length;
    heap.push(node);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(node, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = node;
  };
  const pop = (): HeapNode | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    const n = heap.length;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && less(heap[child + 1]!, heap[child]!)) child++;
      if (!less(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  };
  const next = delays(workload);
  let left = events;
  let stopped = false;
  const tick = (): void => {
    if (--left <= 0) {
      stopped = true;
      return;
    }
    push(now + next(), tick);
  };
  for (let i = 0; i < live; i++) push(i % 1000, tick);
  const t0 = process.hrtime.bigint();
  while (!stopped) {
    const node = pop();
    if (node === undefined) break;
    now = node.time;
    node.callback();
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { eventsPerSec: events / seconds, endTime: now };
}

/**
 * The limit the engine is held against: a bare binary min-heap of times in a
 * Float64Array (no callbacks, no cancellable handles, no tie order), pop and
 * push back with the workload's delays, push+pop pairs per second.
 */
export function typedArrayHeapPushPopPerSec(pairs = 2_000_000, live = 10_000, workload: TimerWorkload = 'clustered'): number {
  const times = new Float64Array(live + 1);
  let size = 0;
  const push = (t: number): void => {
    let i = size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent]! <= t) break;
      times[i] = times[parent]!;
      i = parent;
    }
    times[i] = t;
  };
  const pop = (): number => {
    const top = times[0]!;
    const last = times[--size]!;
    let i = 0;
    const half = size >> 1;
    while (i < half) {
      let child = 2 * i + 1;
      if (child + 1 < size && times[child + 1]! < times[child]!) child++;
      if (last <= times[child]!) break;
      times[i] = times[child]!;
      i = child;
    }
    times[i] = last;
    return top;
  };
  for (let i = 0; i < live; i++) push(i % 1000);
  const next = delays(workload);
  const t0 = process.hrtime.bigint();
  for (let n = 0; n < pairs; n++) push(pop() + next());
  return pairs / (Number(process.hrtime.bigint() - t0) / 1e9);
}

export interface CascadeTiming {
  pairMs: number[];
  bestPairMs: number;
  medianPairMs: number;
}

export async function cascadeWallMs(repeats = 7): Promise<CascadeTiming> {
  const variants = nestedAgentCascade.variants.filter((v) => v.name === 'baseline' || v.name === 'fixed');
  // Warm-up: JIT and module loading are not the simulator.
  for (const variant of variants) await runSimulation({ scenario: nestedAgentCascade, variant, engine: 'fake-timers', hashTrace: false });
  const pairMs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    for (const variant of variants) await runSimulation({ scenario: nestedAgentCascade, variant, engine: 'fake-timers', hashTrace: false });
    pairMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const sorted = [...pairMs].sort((a, b) => a - b);
  return { pairMs, bestPairMs: sorted[0]!, medianPairMs: sorted[Math.floor(sorted.length / 2)]! };
}

export async function largeHourWall(): Promise<{ wallMs: number; engineEvents: number; timersJoined: number; timersScheduled: number; traceEvents: number; messages: number; violations: number }> {
  const result = await runSimulation({ scenario: largeHour, variant: largeHour.variants[0]!, engine: 'discrete-event' });
  return {
    wallMs: result.wallMs,
    engineEvents: result.engineEvents,
    timersScheduled: result.engineQueue?.pushes ?? 0,
    timersJoined: result.engineQueue?.joined ?? 0,
    traceEvents: result.traceEvents,
    messages: result.metrics.messages,
    violations: result.violations.length,
  };
}
