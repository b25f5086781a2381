/** Each scenario of the library does what its documentation says, and the fix breaks no invariant. */
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/model/events.ts';
import { findScenario, SCENARIOS } from '../../src/scenarios/index.ts';
import { runSimulation, type SimulationResult } from '../../src/sim/simulation.ts';

async function run(name: string, variantName: string): Promise<SimulationResult> {
  const scenario = findScenario(name)!;
  const variant = scenario.variants.find((v) => v.name === variantName)!;
  return runSimulation({ scenario, variant, keepTrace: true });
}

function settledAll(r: SimulationResult): boolean {
  const o = r.metrics.outcomes;
  return o.ran + o.merged + o.steered + o.summarized + o.rejected + o.aborted === r.metrics.messages;
}

describe('scenario library', () => {
  it('every scenario is named, documented, has a default seed and at least one variant', () => {
    expect(SCENARIOS.length).toBeGreaterThanOrEqual(7);
    const names = new Set<string>();
    for (const s of SCENARIOS) {
      expect(s.name).toMatch(/^[a-z0-9-]+$/);
      expect(names.has(s.name)).toBe(false);
      names.add(s.name);
      expect(s.description.length).toBeGreaterThan(20);
      expect(Number.isInteger(s.defaultSeed)).toBe(true);
      expect(s.variants.length).toBeGreaterThan(0);
    }
  });

  for (const scenario of SCENARIOS.filter((s) => !s.large)) {
    for (const variant of scenario.variants.filter((v) => !v.baseline)) {
      it(`${scenario.name}/${variant.name}: no invariant violation, every message settled`, async () => {
        const r = await run(scenario.name, variant.name);
        expect(r.violations).toEqual([]);
        expect(settledAll(r)).toBe(true);
        expect(r.stopReason).toBe('stopped');
      });
    }
  }
});

describe('message-burst: one variant per queue mode and drop policy', () => {
  const cases: [string, Partial<Record<string, number>>][] = [
    ['collect', { ran: 1, merged: 8 }],
    ['followup', { ran: 9 }],
    ['steer', { ran: 1, steered: 8 }],
    ['steer-backlog', { ran: 9 }],
    ['overflow-summarize', { ran: 4, summarized: 5 }],
    ['overflow-old', { ran: 4, rejected: 5 }],
    ['overflow-new', { ran: 4, rejected: 5 }],
  ];
  for (const [name, outcomes] of cases) {
    it(`${name}: outcomes ${JSON.stringify(outcomes)}`, async () => {
      const r = await run('message-burst', name);
      for (const [k, v] of Object.entries(outcomes)) expect(r.metrics.outcomes[k as keyof typeof r.metrics.outcomes]).toBe(v);
    });
  }

  it('collect: one merged run whose prompt starts with the collect header', async () => {
    const r = await run('message-burst', 'collect');
    const merges = r.trace!.filter((e) => e.type === 'merge') as Extract<TraceEvent, { type: 'merge' }>[];
    expect(merges).toHaveLength(1);
    expect(merges[0]!.msgIds).toHaveLength(8);
  });

  it('steer-backlog: every burst message is steered and still runs as its own turn', async () => {
    const r = await run('message-burst', 'steer-backlog');
    expect(r.trace!.filter((e) => e.type === 'steer').length).toBeGreaterThan(0);
  });

  it('overflow-old / overflow-new: each refused sender hears an error with its code', async () => {
    for (const [name, code] of [['overflow-old', 'QUEUE_DROPPED'], ['overflow-new', 'QUEUE_FULL']] as const) {
      const r = await run('message-burst', name);
      const rejected = r.trace!.filter((e) => e.type === 'settle' && e.outcome === 'rejected') as Extract<TraceEvent, { type: 'settle' }>[];
      expect(rejected.every((e) => e.code === code)).toBe(true);
      const errors = r.trace!.filter((e) => e.type === 'frame' && e.event === 'chat' && e.state === 'error');
      expect(errors.length).toBe(rejected.length);
    }
  });

  it('interrupt: each new message aborts the running one', async () => {
    const r = await run('message-burst', 'interrupt');
    expect(r.trace!.filter((e) => e.type === 'abort' && e.phase === 'running').length).toBe(8);
  });
});

describe('other scenarios', () => {
  it('subagent-fanout: never more than 8 sub-agents at once, and some waited', async () => {
    const r = await run('subagent-fanout', 'fixed');
    expect(r.metrics.maxGlobalActive.subagent).toBe(8);
    const waits = r.trace!.filter((e) => e.type === 'grant' && e.lane === 'subagent' && e.waitedMs > 0);
    expect(waits.length).toBe(4);
  });

  it('global-cap-fairness: main never exceeds 2; FIFO holds; the fix keeps every waiting client under 15 s of silence', async () => {
    const fixed = await run('global-cap-fairness', 'fixed');
    expect(fixed.metrics.maxGlobalActive.main).toBe(2);
    expect(fixed.silence.worstGapMs).toBeLessThanOrEqual(15_000);
    const baseline = await run('global-cap-fairness', 'baseline');
    expect(baseline.silence.worstGapMs).toBeGreaterThan(15_000);
  });

  it('stalled-stream: during a 45 s stall the fix sends heartbeats; the baseline leaves the client silent', async () => {
    const fixed = await run('stalled-stream', 'fixed');
    expect(fixed.metrics.framesByEvent.heartbeat ?? 0).toBeGreaterThanOrEqual(1);
    expect(fixed.silence.worstGapMs).toBeLessThanOrEqual(15_000);
    const baseline = await run('stalled-stream', 'baseline');
    expect(baseline.silence.worstGapMs).toBeGreaterThan(15_000);
  });

  it('disconnect-reconnect: the hung client is declared dead, the returning one hears lane.status on subscribe', async () => {
    const r = await run('disconnect-reconnect', 'fixed');
    expect(r.trace!.some((e) => e.type === 'peer.dead' && e.connId === 'tab-b')).toBe(true);
    const back = r.trace!.find((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame' && e.connId === 'tab-a#1');
    expect(back?.event).toBe('lane.status');
  });

  it('abort-and-clear: 3 messages aborted, each sender heard it, and the lane was not left stuck', async () => {
    const r = await run('abort-and-clear', 'fixed');
    expect(r.metrics.outcomes.aborted).toBe(3);
    const aborted = r.trace!.filter((e) => e.type === 'frame' && e.event === 'chat' && e.state === 'aborted');
    expect(aborted.length).toBeGreaterThanOrEqual(3);
    // The message sent after the clear still runs: the aborted run freed its lanes.
    const last = r.clients[0]!.results.at(-1)!;
    const message = r.trace!.find((e) => e.type === 'message' && e.runId === last.runId) as Extract<TraceEvent, { type: 'message' }>;
    const settle = r.trace!.find((e) => e.type === 'settle' && e.msgId === message.msgId) as Extract<TraceEvent, { type: 'settle' }>;
    expect(settle.outcome).toBe('ran');
    expect(r.trace!.some((e) => e.type === 'end' && e.taskId === last.runId)).toBe(true);
  });
});
