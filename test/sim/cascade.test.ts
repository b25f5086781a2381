/**
 * The nested-agent cascade (seed 004) on virtual time: the baseline must
 * reproduce the incident's figures, the fix must hold every invariant.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/model/events.ts';
import { nestedAgentCascade } from '../../src/scenarios/nested-agent-cascade.ts';
import { runSimulation, type SimulationResult } from '../../src/sim/simulation.ts';

const variant = (name: string) => nestedAgentCascade.variants.find((v) => v.name === name)!;
const results: Record<string, SimulationResult> = {};

beforeAll(async () => {
  for (const v of nestedAgentCascade.variants) {
    results[v.name] = await runSimulation({ scenario: nestedAgentCascade, variant: v, keepTrace: true });
  }
});

function frames(r: SimulationResult): Extract<TraceEvent, { type: 'frame' }>[] {
  return r.trace!.filter((e): e is Extract<TraceEvent, { type: 'frame' }> => e.type === 'frame');
}

describe('nested-agent-cascade, baseline (today\'s OpenClaw)', () => {
  it('reproduces the seed\'s lane waits (of the order of 123-248 s) and silence far beyond 15 s', () => {
    const r = results.baseline!;
    const waits = r.metrics.sessionWaitsMs.filter((w) => w > 0);
    expect(waits.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...waits)).toBeGreaterThanOrEqual(123_000);
    expect(Math.max(...waits)).toBeLessThanOrEqual(260_000);
    expect(r.silence.worstGapMs).toBeGreaterThanOrEqual(25_000);
    // No lane.status, no heartbeat: the only feedback a waiting user gets is its own run starting.
    expect(r.metrics.framesByEvent['lane.status'] ?? 0).toBe(0);
    expect(r.metrics.framesByEvent['heartbeat'] ?? 0).toBe(0);
    expect(Math.max(...r.silence.firstFeedbackMs)).toBeGreaterThanOrEqual(123_000);
  });

  it('logs the malformed read calls instead of returning them, and the checkers say so', () => {
    const r = results.baseline!;
    expect(r.tools).toEqual({ returned: 0, swallowed: 4 });
    const kinds = new Set(r.violations.map((v) => v.invariant));
    expect(kinds).toEqual(new Set(['INV-TOOL-RETURNED', 'INV-SILENCE', 'INV-WAIT-WARNING', 'INV-WAIT-STATUS']));
  });

  it('answers queued messages with an empty final under the runId it told the sender (DEP-3)', () => {
    const r = results.baseline!;
    const toldQueued = r.clients.flatMap((c) => c.results.filter((x) => x.status === 'queued').map((x) => x.runId));
    expect(toldQueued.length).toBeGreaterThan(0);
    for (const runId of toldQueued) {
      const finals = frames(r).filter((f) => f.runId === runId && f.state === 'final');
      expect(finals.length).toBeGreaterThan(0);
      // ...and that runId never streams anything: the real answer comes under another one.
      expect(frames(r).some((f) => f.runId === runId && f.state === 'delta')).toBe(false);
    }
  });
});

describe('nested-agent-cascade, with lanesim\'s fix', () => {
  for (const name of ['fixed', 'fixed-parallel']) {
    it(`${name}: no invariant violation, nothing lost`, () => {
      const r = results[name]!;
      expect(r.violations).toEqual([]);
      expect(r.metrics.messages).toBe(4);
      const o = r.metrics.outcomes;
      expect(o.ran + o.merged + o.steered + o.summarized + o.rejected + o.aborted).toBe(4);
    });

    it(`${name}: every waiting client hears a lane.status listing its message within warnThresholdMs, and nobody is silent over 15 s`, () => {
      const r = results[name]!;
      const threshold = r.config.agents.defaults.lane.warnThresholdMs;
      const messages = r.trace!.filter((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message');
      const starts = new Map<string, number>();
      for (const e of r.trace!) if (e.type === 'settle' && e.runId !== null && !starts.has(e.msgId)) starts.set(e.msgId, e.t);
      for (const m of messages) {
        const waited = (starts.get(m.msgId) ?? Infinity) - m.t;
        if (waited === 0) continue;
        const status = r.trace!.find((e) => e.type === 'lane.status' && e.t >= m.t && e.status.waiting.some((w) => w.runId === m.runId));
        expect(status, `lane.status for ${m.runId}`).toBeDefined();
        expect(status!.t - m.t).toBeLessThanOrEqual(threshold);
      }
      expect(r.silence.worstGapMs).toBeLessThanOrEqual(r.config.gateway.heartbeat.intervalMs);
    });

    it(`${name}: every malformed tool call returns an error the agent retries`, () => {
      const r = results[name]!;
      expect(r.tools).toEqual({ returned: 4, swallowed: 0 });
      expect(r.agents.toolRetries).toBe(4);
      const results_ = r.trace!.filter((e) => e.type === 'tool_result');
      expect(results_.map((e) => (e as Extract<TraceEvent, { type: 'tool_result' }>).text)).toContain("Error: read tool requires 'path' parameter. Received: {}");
    });
  }

  it('nestedAgentParallel answers the user during the nested exchange (no session wait at all)', () => {
    expect(results['fixed-parallel']!.metrics.maxSessionWaitMs).toBe(0);
    expect(results.fixed!.metrics.maxSessionWaitMs).toBeGreaterThan(100_000);
  });

  it('the warning comes exactly at the crossing of warnThresholdMs (fake clock)', () => {
    const r = results.fixed!;
    const threshold = r.config.agents.defaults.lane.warnThresholdMs;
    const messages = r.trace!.filter((e): e is Extract<TraceEvent, { type: 'message' }> => e.type === 'message');
    const waiting = messages.filter((m) => r.trace!.some((e) => e.type === 'lane.status' && e.status.waiting.some((w) => w.runId === m.runId)));
    expect(waiting.length).toBeGreaterThanOrEqual(3);
    for (const m of waiting) {
      const warn = r.trace!.find((e) => e.type === 'lane.status' && e.status.waiting.some((w) => w.runId === m.runId && w.warning));
      expect(warn?.t).toBe(m.t + threshold);
    }
  });
});
