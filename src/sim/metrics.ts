/**
 * Figures for reports, read from the trace as it streams by (like the
 * checkers, it never needs the whole trace in memory).
 */
import type { MessageOutcome, TraceEvent, TraceEventType } from '../model/events.ts';

export interface LaneSample {
  t: number;
  queued: number;
  active: number;
}

export interface Metrics {
  messages: number;
  outcomes: Record<MessageOutcome, number>;
  runsStarted: number;
  /** Longest wait of a message run from joining its session lane to starting. */
  maxSessionWaitMs: number;
  sessionWaitsMs: number[];
  /** `lane wait exceeded` diagnostics (DIAG-1) and the longest one per lane. */
  laneWaitDiagnostics: number;
  maxLaneWaitByLane: Record<string, number>;
  frames: number;
  framesByEvent: Record<string, number>;
  laneStatusEvents: number;
  maxGlobalActive: Record<string, number>;
}

export class MetricsObserver {
  readonly metrics: Metrics = {
    messages: 0,
    outcomes: { ran: 0, merged: 0, steered: 0, summarized: 0, rejected: 0, aborted: 0 },
    runsStarted: 0,
    maxSessionWaitMs: 0,
    sessionWaitsMs: [],
    laneWaitDiagnostics: 0,
    maxLaneWaitByLane: {},
    frames: 0,
    framesByEvent: {},
    laneStatusEvents: 0,
    maxGlobalActive: {},
  };
  /** Lane occupancy over time (only when `timeline` is on: small runs, for the HTML page). */
  readonly timeline = new Map<string, LaneSample[]>();
  private readonly lanes = new Map<string, { queued: number; active: number }>();
  private readonly taskLanes = new Map<string, string[]>();
  private readonly waitingIn = new Map<string, string>();

  readonly eventTypes: readonly TraceEventType[] = [
    'message', 'settle', 'enqueue', 'grant', 'start', 'park', 'end', 'error', 'abort', 'clear', 'lane.wait', 'lane.status', 'frame',
  ];

  constructor(private readonly keepTimeline: boolean) {}

  observe(e: TraceEvent): void {
    const m = this.metrics;
    switch (e.type) {
      case 'message':
        m.messages++;
        return;
      case 'settle':
        m.outcomes[e.outcome]++;
        return;
      case 'enqueue':
        this.waitingIn.set(e.taskId, e.lane);
        this.bump(e.lane, e.t, 1, 0);
        return;
      case 'grant': {
        this.waitingIn.delete(e.taskId);
        let held = this.taskLanes.get(e.taskId);
        if (held === undefined) this.taskLanes.set(e.taskId, (held = []));
        held.push(e.lane);
        this.bump(e.lane, e.t, -1, 1);
        if (!e.lane.startsWith('session:') && !e.lane.startsWith('nested:')) {
          const active = this.lanes.get(e.lane)!.active;
          if (active > (m.maxGlobalActive[e.lane] ?? 0)) m.maxGlobalActive[e.lane] = active;
        }
        return;
      }
      case 'start':
        m.runsStarted++;
        if (e.lanes[0]?.startsWith('session:') && e.lanes.length > 1) {
          m.sessionWaitsMs.push(e.waitedMs);
          if (e.waitedMs > m.maxSessionWaitMs) m.maxSessionWaitMs = e.waitedMs;
        }
        return;
      case 'end':
      case 'error':
      case 'park':
        this.releaseAll(e.taskId, e.t);
        return;
      case 'abort':
        if (e.phase === 'queued') {
          const lane = this.waitingIn.get(e.taskId);
          if (lane !== undefined) {
            this.waitingIn.delete(e.taskId);
            this.bump(lane, e.t, -1, 0);
          }
          this.releaseAll(e.taskId, e.t);
        }
        return;
      case 'clear':
        for (const id of e.taskIds) {
          const lane = this.waitingIn.get(id);
          if (lane !== undefined) {
            this.waitingIn.delete(id);
            this.bump(lane, e.t, -1, 0);
          }
          this.releaseAll(id, e.t);
        }
        return;
      case 'lane.wait':
        m.laneWaitDiagnostics++;
        if (e.waitedMs > (m.maxLaneWaitByLane[e.lane] ?? 0)) m.maxLaneWaitByLane[e.lane] = e.waitedMs;
        return;
      case 'lane.status':
        m.laneStatusEvents++;
        return;
      case 'frame':
        m.frames++;
        m.framesByEvent[e.event] = (m.framesByEvent[e.event] ?? 0) + 1;
        return;
      default:
        return;
    }
  }

  private releaseAll(taskId: string, t: number): void {
    const held = this.taskLanes.get(taskId);
    if (held === undefined) return;
    this.taskLanes.delete(taskId);
    for (const lane of held) this.bump(lane, t, 0, -1);
  }

  private bump(lane: string, t: number, queued: number, active: number): void {
    let state = this.lanes.get(lane);
    if (state === undefined) this.lanes.set(lane, (state = { queued: 0, active: 0 }));
    state.queued += queued;
    state.active += active;
    if (this.keepTimeline) {
      let samples = this.timeline.get(lane);
      if (samples === undefined) this.timeline.set(lane, (samples = []));
      const last = samples[samples.length - 1];
      if (last !== undefined && last.t === t) {
        last.queued = state.queued;
        last.active = state.active;
      } else samples.push({ t, queued: state.queued, active: state.active });
    }
  }
}

/** p-th percentile (0..100) of `values` (nearest rank); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
