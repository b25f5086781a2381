/**
 * TraceFanout hands each event only to the checkers that list its type. The
 * risk is a checker that reads a type it forgot to list: it would silently
 * miss violations. So: on every small scenario's trace (baselines full of
 * violations included), the checkers fed through the fanout find exactly
 * what they find when every event goes to every checker.
 */
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/model/events.ts';
import { TraceFanout, checkerSuite, finishCheckers, type TraceChecker } from '../../src/model/invariants/index.ts';
import { SCENARIOS } from '../../src/scenarios/index.ts';
import { runSimulation } from '../../src/sim/simulation.ts';

function suite(): TraceChecker[] {
  return checkerSuite({ lanes: true, warnThresholdMs: 30_000, silenceBoundMs: 15_000, senderMustHear: true, tools: true, abortGraceMs: 1000 });
}

function everyEventToEveryChecker(trace: readonly TraceEvent[], end: number): string[] {
  const checkers = suite();
  for (const event of trace) for (const checker of checkers) checker.observe(event);
  return finishCheckers(checkers, end).map((v) => `${v.invariant} ${v.rule} ${v.t} ${v.message}`);
}

function throughFanout(trace: readonly TraceEvent[], end: number): string[] {
  const checkers = suite();
  const fanout = new TraceFanout(checkers);
  for (const event of trace) fanout.observe(event);
  return finishCheckers(checkers, end).map((v) => `${v.invariant} ${v.rule} ${v.t} ${v.message}`);
}

describe('TraceFanout', () => {
  it('delivers each type to the observers listing it, and every type to observers listing none', () => {
    const seen: string[] = [];
    const fanout = new TraceFanout([
      { eventTypes: ['frame'], observe: (e) => seen.push(`frames:${e.type}`) },
      { observe: (e) => seen.push(`all:${e.type}`) },
      { eventTypes: ['message', 'frame'], observe: (e) => seen.push(`both:${e.type}`) },
    ]);
    fanout.observe({ type: 'frame', t: 1, connId: 'c', event: 'tick', runId: null, state: null });
    fanout.observe({ type: 'conn', t: 2, connId: 'c', state: 'open' });
    expect(seen).toEqual(['frames:frame', 'all:frame', 'both:frame', 'all:conn']);
  });

  const small = SCENARIOS.filter((s) => !(s.large ?? false));
  for (const scenario of small) {
    it(`${scenario.name}: the checkers find the same through the fanout as from every event`, async () => {
      let compared = 0;
      for (const variant of scenario.variants) {
        const result = await runSimulation({ scenario, variant, keepTrace: true, hashTrace: false });
        const want = everyEventToEveryChecker(result.trace!, result.endMs);
        expect(throughFanout(result.trace!, result.endMs)).toEqual(want);
        compared += want.length;
      }
      // The baselines break invariants: the comparison covers violations, not only silence.
      if (scenario.variants.some((v) => v.baseline === true)) expect(compared).toBeGreaterThan(0);
    });
  }
});
