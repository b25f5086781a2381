/** The JSON form of a simulation result (`--json`): everything but the trace. */
import type { SimulationResult } from '../sim/simulation.ts';
import { lostMessages } from './comparison.ts';
import { percentile } from '../sim/metrics.ts';

export function resultToJson(r: SimulationResult): Record<string, unknown> {
  const feedback = r.silence.firstFeedbackMs;
  const waits = r.metrics.sessionWaitsMs;
  return {
    scenario: r.scenario,
    variant: r.variant,
    baseline: r.baseline,
    profile: r.profile,
    seed: r.seed,
    engine: r.engine,
    endMs: r.endMs,
    stopReason: r.stopReason,
    wallMs: r.wallMs,
    engineEvents: r.engineEvents,
    engineQueue: r.engineQueue,
    traceEvents: r.traceEvents,
    traceHash: r.traceHash,
    summary: {
      longestLaneWaitMs: r.metrics.maxSessionWaitMs,
      laneWaitP50Ms: percentile(waits, 50),
      laneWaitP99Ms: percentile(waits, 99),
      longestClientSilenceMs: r.silence.worstGapMs,
      worstClient: r.silence.worstConnId,
      firstFeedbackWorstMs: feedback.length === 0 ? null : Math.max(...feedback),
      firstFeedbackP50Ms: percentile(feedback, 50),
      laneStatusFrames: r.metrics.framesByEvent['lane.status'] ?? 0,
      heartbeatFrames: r.metrics.framesByEvent['heartbeat'] ?? 0,
      toolErrorsReturned: r.tools.returned,
      toolErrorsSwallowed: r.tools.swallowed,
      messages: r.metrics.messages,
      messagesLost: lostMessages(r),
      violations: r.violations.length,
    },
    outcomes: r.metrics.outcomes,
    metrics: { ...r.metrics, sessionWaitsMs: undefined },
    agents: r.agents,
    violations: r.violations.slice(0, 100),
    config: r.config,
  };
}
