/**
 * INV-SILENCE (HB-1): while a client waits on a message it sent, consecutive
 * frames to that client are at most `boundMs` apart. A wait lasts from the
 * message's acceptance until its sender gets the terminal chat frame (final,
 * error, aborted) of the run that answers it (the run its settle names; its
 * own runId when it ran alone), or until it settles rejected or aborted.
 * Closed connections stop the clock.
 *
 * The answer run matters: today's OpenClaw answers a queued message at once
 * with an empty `final` for the runId it told the sender and runs it later
 * under another runId, so "the sender got a final" is not "the sender was
 * answered" (DEP-3).
 *
 * Also measured, for reports: each message's time to first feedback, the
 * first frame its sender got after sending it that says anything about it
 * (lane.status, heartbeat, or a chat/agent event of its own or its answer
 * run; not ticks, not an empty final under another runId).
 */
import { BROADCAST_CONN, type FrameEvent, type TraceEvent, type TraceEventType } from '../events.ts';
import { isTerminalChatState } from '../protocol.ts';
import { CheckerBase, type Violation } from './types.ts';

export interface SilenceOptions {
  boundMs: number;
  /** Allowed lateness over the bound (0 on a fake clock). */
  toleranceMs?: number;
  /** Keep every gap a waiting client had (for charts). */
  recordGaps?: boolean;
}

/** One silence a waiting client lived through: it ended at `t` and lasted `gapMs`. */
export interface SilenceGap {
  t: number;
  gapMs: number;
}

interface Wait {
  readonly msgId: string;
  readonly connId: string;
  readonly runId: string;
  readonly sentAt: number;
  answer: string | null;
  feedbackAt: number;
}

interface ConnState {
  readonly waits: Map<string, Wait>;
  /** Waits whose first feedback is still to come (frames skip the search when 0). */
  unheard: number;
  lastHeard: number;
  open: boolean;
  worstGapMs: number;
}

export interface SilenceStats {
  /** Longest silence any waiting client had. */
  worstGapMs: number;
  worstConnId: string | null;
  /** Per message with a connection: ms from sending to the first feedback (see above). */
  firstFeedbackMs: number[];
  /** Messages whose sender never heard anything about them before the wait ended. */
  noFeedback: number;
}

export class SilenceChecker extends CheckerBase {
  readonly invariant = 'INV-SILENCE';
  readonly eventTypes: readonly TraceEventType[] = ['conn', 'message', 'settle', 'frame'];
  private readonly bound: number;
  private readonly tolerance: number;
  private readonly conns = new Map<string, ConnState>();
  private readonly waitsByMsg = new Map<string, Wait>();
  /** answer runId -> waits answered by it */
  private readonly byAnswer = new Map<string, Set<Wait>>();
  /** Connections with at least one wait (a broadcast only has to visit these). */
  private readonly waitingConns = new Map<string, ConnState>();
  readonly stats: SilenceStats = { worstGapMs: 0, worstConnId: null, firstFeedbackMs: [], noFeedback: 0 };
  /** Per connection, every gap while waiting (when recordGaps is on). */
  readonly gaps: Map<string, SilenceGap[]> | null;

  constructor(options: SilenceOptions) {
    super();
    this.bound = options.boundMs;
    this.tolerance = options.toleranceMs ?? 0;
    this.gaps = options.recordGaps ? new Map() : null;
  }

  observe(e: TraceEvent): void {
    switch (e.type) {
      case 'conn': {
        const conn = this.conn(e.connId, e.t);
        if (e.state === 'closed') {
          conn.open = false;
          for (const wait of [...conn.waits.values()]) this.endWait(wait, false);
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
        if (conn.waits.size === 0) {
          conn.lastHeard = e.t;
          this.waitingConns.set(e.connId, conn);
        }
        const wait: Wait = { msgId: e.msgId, connId: e.connId, runId: e.runId, sentAt: e.t, answer: null, feedbackAt: -1 };
        conn.waits.set(e.msgId, wait);
        conn.unheard++;
        this.waitsByMsg.set(e.msgId, wait);
        return;
      }
      case 'settle': {
        const wait = this.waitsByMsg.get(e.msgId);
        if (wait === undefined) return;
        if (e.outcome === 'rejected' || e.outcome === 'aborted' || e.runId === null) {
          // Its error frame follows; QUEUE-21 (INV-NOTHING-LOST) checks that the sender hears it.
          this.endWait(wait, false);
          return;
        }
        wait.answer = e.runId;
        let set = this.byAnswer.get(e.runId);
        if (set === undefined) this.byAnswer.set(e.runId, (set = new Set()));
        set.add(wait);
        return;
      }
      case 'frame':
        this.onFrame(e);
        return;
      default:
        return;
    }
  }

  override finish(t: number): Violation[] {
    for (const [connId, conn] of this.conns) {
      if (conn.open && conn.waits.size > 0) this.gap(connId, conn, t, null);
    }
    return this.violations.items;
  }

  /** Longest silence per connection while it waited. */
  worstGaps(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [connId, conn] of this.conns) out.set(connId, conn.worstGapMs);
    return out;
  }

  private onFrame(e: FrameEvent): void {
    if (e.connId === BROADCAST_CONN) {
      // Everyone heard it; only connections that are waiting have a gap to measure.
      for (const [connId, conn] of this.waitingConns) {
        this.gap(connId, conn, e.t, e);
        conn.lastHeard = e.t;
      }
      return;
    }
    const conn = this.conns.get(e.connId);
    if (conn === undefined) return;
    if (conn.waits.size > 0) {
      this.gap(e.connId, conn, e.t, e);
      if (conn.unheard > 0) {
        for (const wait of conn.waits.values()) {
          if (wait.feedbackAt < 0 && this.isFeedback(e, wait)) {
            wait.feedbackAt = e.t;
            conn.unheard--;
            this.stats.firstFeedbackMs.push(e.t - wait.sentAt);
          }
        }
      }
    }
    conn.lastHeard = e.t;
    if (e.runId !== null && isTerminalChatState(e.state)) {
      const answered = this.byAnswer.get(e.runId);
      if (answered !== undefined) {
        for (const wait of [...answered]) if (wait.connId === e.connId) this.endWait(wait, true);
      }
    }
  }

  private isFeedback(e: FrameEvent, wait: Wait): boolean {
    if (e.event === 'lane.status' || e.event === 'heartbeat') return true;
    if (e.event !== 'chat' && e.event !== 'agent') return false;
    if (wait.answer !== null && e.runId === wait.answer) return true;
    return e.runId === wait.runId && e.state !== 'final';
  }

  private endWait(wait: Wait, answered: boolean): void {
    const conn = this.conns.get(wait.connId);
    if (conn?.waits.delete(wait.msgId) === true && wait.feedbackAt < 0) conn.unheard--;
    if (conn !== undefined && conn.waits.size === 0) this.waitingConns.delete(wait.connId);
    this.waitsByMsg.delete(wait.msgId);
    if (wait.answer !== null) {
      const set = this.byAnswer.get(wait.answer);
      set?.delete(wait);
      if (set !== undefined && set.size === 0) this.byAnswer.delete(wait.answer);
    }
    if (answered && wait.feedbackAt < 0) this.stats.noFeedback++;
  }

  private gap(connId: string, conn: ConnState, t: number, e: TraceEvent | null): void {
    const gap = t - conn.lastHeard;
    if (this.gaps !== null && gap > 0) {
      let list = this.gaps.get(connId);
      if (list === undefined) this.gaps.set(connId, (list = []));
      list.push({ t, gapMs: gap });
    }
    if (gap > conn.worstGapMs) conn.worstGapMs = gap;
    if (gap > this.stats.worstGapMs) {
      this.stats.worstGapMs = gap;
      this.stats.worstConnId = connId;
    }
    if (gap > this.bound + this.tolerance) {
      const waiting = [...conn.waits.values()].slice(0, 3).map((w) => w.answer ?? w.runId);
      this.violations.add({
        invariant: this.invariant, rule: 'HB-1', t,
        message: `client ${connId} heard nothing for ${gap} ms (bound ${this.bound} ms) while waiting on ${waiting.join(', ')}, from t=${conn.lastHeard} to t=${t}`,
        events: e === null ? [] : [e],
      });
    }
  }

  private conn(connId: string, t: number): ConnState {
    let conn = this.conns.get(connId);
    if (conn === undefined) {
      conn = { waits: new Map(), unheard: 0, lastHeard: t, open: true, worstGapMs: 0 };
      this.conns.set(connId, conn);
    }
    return conn;
  }
}
