/**
 * INV-HEARTBEAT-WAIT (HB-3, HB-4): heartbeats are about waits. A `heartbeat`
 * goes only to a connection that waits on a message it sent (HB-3: when it
 * waits on nothing, its heartbeats stop), and names a run it waits on: the
 * message's own run, or, once a `status` frame named `carriedBy`, the
 * carrying run (HB-4), with `elapsedMs >= 0`.
 *
 * A wait lasts from the message's acceptance until its sender gets the
 * terminal frame of the run that answers it, or it settles rejected or
 * aborted (as INV-SILENCE counts it). Reads `message`, `settle`, `frame`
 * and `heartbeat` events; a heartbeat at the very instant a wait ended is not
 * held against the gateway (the two are one instant apart only in order).
 *
 * Opt-in (checkerSuite `heartbeatWaits: true`): simulation reports stay as
 * they were.
 */
import type { HeartbeatEvent, TraceEvent, TraceEventType } from '../events.ts';
import { isTerminalChatState } from '../protocol.ts';
import { CheckerBase } from './types.ts';

interface Wait {
  readonly msgId: string;
  readonly connId: string;
  readonly runId: string;
  answer: string | null;
}

export class HeartbeatWaitChecker extends CheckerBase {
  readonly invariant = 'INV-HEARTBEAT-WAIT';
  readonly eventTypes: readonly TraceEventType[] = ['message', 'settle', 'frame', 'heartbeat'];
  private readonly byMsg = new Map<string, Wait>();
  /** connId -> its open waits */
  private readonly byConn = new Map<string, Set<Wait>>();
  /** connId -> when its last wait ended */
  private readonly endedAt = new Map<string, number>();

  observe(e: TraceEvent): void {
    switch (e.type) {
      case 'message': {
        if (e.connId === null) return;
        const wait: Wait = { msgId: e.msgId, connId: e.connId, runId: e.runId, answer: null };
        this.byMsg.set(e.msgId, wait);
        let set = this.byConn.get(e.connId);
        if (set === undefined) this.byConn.set(e.connId, (set = new Set()));
        set.add(wait);
        return;
      }
      case 'settle': {
        const wait = this.byMsg.get(e.msgId);
        if (wait === undefined) return;
        if (e.outcome === 'rejected' || e.outcome === 'aborted' || e.runId === null) this.end(wait, e.t);
        else wait.answer = e.runId;
        return;
      }
      case 'frame': {
        if (e.runId === null || !isTerminalChatState(e.state)) return;
        const set = this.byConn.get(e.connId);
        if (set === undefined) return;
        for (const wait of [...set]) if ((wait.answer ?? wait.runId) === e.runId) this.end(wait, e.t);
        return;
      }
      case 'heartbeat':
        this.onHeartbeat(e);
        return;
      default:
        return;
    }
  }

  private end(wait: Wait, t: number): void {
    this.byMsg.delete(wait.msgId);
    const set = this.byConn.get(wait.connId);
    set?.delete(wait);
    this.endedAt.set(wait.connId, t);
  }

  private onHeartbeat(e: HeartbeatEvent): void {
    const waits = this.byConn.get(e.connId);
    const bad = (rule: string, message: string): void => {
      this.violations.add({ invariant: this.invariant, rule, t: e.t, message: `heartbeat to ${e.connId}: ${message}`, events: [e] });
    };
    if (e.elapsedMs < 0) bad('HB-4', `elapsedMs ${e.elapsedMs} < 0`);
    if (waits === undefined || waits.size === 0) {
      if (this.endedAt.get(e.connId) !== e.t) bad('HB-3', 'the connection waits on no message (its heartbeats must have stopped)');
      return;
    }
    const runs = new Set<string>();
    for (const w of waits) {
      runs.add(w.runId);
      if (w.answer !== null) runs.add(w.answer);
    }
    if (e.runId === null || !runs.has(e.runId)) bad('HB-4', `names ${e.runId ?? 'no run'}, not a run it waits on (${[...runs].slice(0, 4).join(', ')})`);
  }
}
