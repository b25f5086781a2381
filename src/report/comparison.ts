/**
 * The comparison table `npm start` prints: one column per variant of a
 * scenario, the figures that tell whether the webchat would freeze.
 */
import type { TraceEvent } from '../model/events.ts';
import type { SimulationResult } from '../sim/simulation.ts';
import { countBy, seconds, table } from './format.ts';

export interface ComparisonRow {
  label: string;
  values: string[];
}

export function lostMessages(result: SimulationResult): number {
  const o = result.metrics.outcomes;
  return result.metrics.messages - (o.ran + o.merged + o.steered + o.summarized + o.rejected + o.aborted);
}

export function comparisonRows(results: readonly SimulationResult[]): ComparisonRow[] {
  const row = (label: string, value: (r: SimulationResult) => string): ComparisonRow => ({ label, values: results.map(value) });
  return [
    row('longest lane wait', (r) => seconds(r.metrics.maxSessionWaitMs)),
    row('longest client silence', (r) => seconds(r.silence.worstGapMs)),
    row('time to first feedback (worst)', (r) => seconds(r.silence.firstFeedbackMs.length === 0 ? 0 : Math.max(...r.silence.firstFeedbackMs))),
    row('lane.status events', (r) => String(r.metrics.framesByEvent['lane.status'] ?? 0)),
    row('heartbeats', (r) => String(r.metrics.framesByEvent['heartbeat'] ?? 0)),
    row('tool errors returned / swallowed', (r) => `${r.tools.returned} / ${r.tools.swallowed}`),
    row('messages lost', (r) => String(lostMessages(r))),
    row('invariant violations', (r) => String(r.violationCount)),
  ];
}

export function comparisonTable(results: readonly SimulationResult[], titles: readonly string[]): string {
  const header = ['', ...results.map((r) => r.variant)];
  const sub = ['', ...titles];
  const rows = comparisonRows(results).map((r) => [r.label, ...r.values]);
  return table([header, sub, ...rows]);
}

/** One line per invariant with its count, e.g. `INV-SILENCE x4`. */
export function violationSummary(result: SimulationResult): string {
  if (result.violations.length === 0) return 'none';
  return [...countBy(result.violations, (v) => `${v.invariant} (${v.rule})`)].map(([k, n]) => `${k} x${n}`).join(', ');
}

export function describeEvent(event: TraceEvent): string {
  return JSON.stringify(event);
}
