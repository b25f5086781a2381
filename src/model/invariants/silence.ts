/**
 * INV-SILENCE (HB-1): while a client waits on a message it sent (from the
 * message's acceptance until a chat frame with state final, error or aborted
 * for that message's runId), consecutive frames to that client are at most
 * `boundMs` apart. Closed connections stop the clock.
 *
 * Also measures, for the report: each connection's longest silence while
 * waiting, and each message's time to first feedback (the first frame its
 * sender got after sending it).
 */
import type { TraceEvent } from '../events.ts';
import { ViolationList, type TraceChecker, type Violation } from './types.ts';

export interface SilenceOptions {
  boundMs: number;
  /** Allowed lateness over the bound (0 on a fake clock). */
  toleranceMs?: number;
}

interface ConnWait {
  /** runIds this connection waits on */
  outstanding: Set<string>;
  /** last time it heard anything, or when its current wait began */
  lastHeard: number;
  waitingSince: number;
  open: boolean;
  worstGapMs: number;
  worstGapAt: number;
}

export interface SilenceStats {
  /** Longest silence any waiting client had. */
  worstGapMs: number;
  worstConnId: string | null;
  /** Per message: ms from sending to the first frame back. */
  firstFeedbackMs: number[];
}

export class SilenceChecker implements TraceChecker {
  readonly invariant = 'INV-SILENCE';
  private readonly bound: number;
  private readonly tolerance: number;
  private readonly conns = new Map<string, ConnWait>();
  /** connId -> sent-at times of messages awaiting their first feedback frame */
  private readonly awaitingFeedback = new Map<string, number[]>();
  private readonly violations = new ViolationList();
  readonly stats: SilenceStats = { worstGapMs: 0, worstConnId: null, firstFeedbackMs: [] };

  constructor(options: SilenceOptions) {
    this.bound = options.boundMs;
    this.tolerance = options.toleranceMs ?? 0;
  }

  observe(e: TraceEvent): void {
    switch (e.type) {
      case 'conn': {
        const conn = this.conn(e.connId, e.t);
        if (e.state === 'closed') {
          conn.open = false;
          conn.outstanding.clear();
          this.awaitingFeedback.delete(e.connId);
        } else {
          conn.open = true;
          conn.lastHeard = e.t;
        }
        return;
      }
      case 'message': {
        if (e.connId === null) return;
        const conn = this.conn(e.connId, e.t);
        if (!conn.open) return;
        if (conn.outstanding.size === 0) {
          conn.waitingSince = e.t;
          conn.lastHeard = e.t;
        }
        conn.outstanding.add(e.runId);
        let awaiting = this.awaitingFeedback.get(e.connId);
        if (awaiting === undefined) this.awaitingFeedback.set(e.connId, (awaiting = []));
        awaiting.push(e.t);
        return;
      }
      case 'frame': {
        const conn = this.conns.get(e.connId);
        if (conn === undefined) return;
        if (conn.outstanding.size > 0) this.gap(e.connId, conn, e.t, e);
        conn.lastHeard = e.t;
        const awaiting = this.awaitingFeedback.get(e.connId);
        if (awaiting !== undefined && awaiting.length > 0) {
          for (const sentAt of awaiting) this.stats.firstFeedbackMs.push(e.t - sentAt);
          awaiting.length = 0;
        }
        if (e.runId !== null && (e.state === 'final' || e.state === 'error' || e.state === 'aborted')) {
          conn.outstanding.delete(e.runId);
        }
        return;
      }
      default:
        return;
    }
  }

  finish(t: number): Violation[] {
    for (const [connId, conn] of this.conns) {
      if (conn.open && conn.outstanding.size > 0) this.gap(connId, conn, t, null);
    }
    return this.violations.items;
  }

  private gap(connId: string, conn: ConnWait, t: number, e: TraceEvent | null): void {
    const gap = t - conn.lastHeard;
    if (gap > conn.worstGapMs) {
      conn.worstGapMs = gap;
      conn.worstGapAt = t;
    }
    if (gap > this.stats.worstGapMs) {
      this.stats.worstGapMs = gap;
      this.stats.worstConnId = connId;
    }
    if (gap > this.bound + this.tolerance) {
      this.violations.add({
        invariant: this.invariant, rule: 'HB-1', t,
        message: `client ${connId} heard nothing for ${gap} ms (bound ${this.bound} ms) while waiting on ${[...conn.outstanding].slice(0, 3).join(', ')}, from t=${conn.lastHeard} to t=${t}`,
        events: e === null ? [] : [e],
      });
    }
  }

  private conn(connId: string, t: number): ConnWait {
    let conn = this.conns.get(connId);
    if (conn === undefined) {
      conn = { outstanding: new Set(), lastHeard: t, waitingSince: t, open: true, worstGapMs: 0, worstGapAt: t };
      this.conns.set(connId, conn);
    }
    return conn;
  }

  /** Longest silence per connection while it waited. */
  worstGaps(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [connId, conn] of this.conns) out.set(connId, conn.worstGapMs);
    return out;
  }
}
