/**
 * INV-NOTHING-LOST (QUEUE-20): every accepted message settles exactly once:
 * ran, merged, steered, summarized (into a run that then started), rejected
 * or aborted (with a code). With `senderMustHear`, a rejected or aborted
 * message's sender must also get a frame saying so for its runId.
 */
import type { FrameEvent, MessageEvent, SettleEvent, TraceEvent, TraceEventType } from '../events.ts';
import { CheckerBase, type Violation } from './types.ts';

export interface NothingLostOptions {
  /** Require a chat frame with state error/aborted to the sender of a rejected/aborted message. */
  senderMustHear?: boolean;
}

export class NothingLostChecker extends CheckerBase {
  readonly invariant = 'INV-NOTHING-LOST';
  readonly eventTypes: readonly TraceEventType[] = ['message', 'start', 'settle', 'frame'];
  private readonly open = new Map<string, MessageEvent>();
  private readonly settled = new Map<string, SettleEvent>();
  private readonly started = new Set<string>();
  /** summarized settles waiting to see their carrying run start */
  private readonly summarizedInto: SettleEvent[] = [];
  /** sender notifications owed: connId|runId -> settle */
  private readonly owed = new Map<string, { message: MessageEvent; settle: SettleEvent }>();
  private readonly senderMustHear: boolean;

  constructor(options: NothingLostOptions = {}) {
    super();
    this.senderMustHear = options.senderMustHear ?? false;
  }

  observe(e: TraceEvent): void {
    switch (e.type) {
      case 'message':
        this.open.set(e.msgId, e);
        return;
      case 'start':
        this.started.add(e.taskId);
        return;
      case 'settle': {
        const message = this.open.get(e.msgId);
        if (message === undefined) {
          const first = this.settled.get(e.msgId);
          this.violations.add({
            invariant: this.invariant, rule: 'QUEUE-20', t: e.t,
            message: first !== undefined
              ? `message ${e.msgId} settled twice: ${first.outcome} then ${e.outcome}`
              : `message ${e.msgId} settled (${e.outcome}) but was never accepted`,
            events: first !== undefined ? [first, e] : [e],
          });
          return;
        }
        this.open.delete(e.msgId);
        this.settled.set(e.msgId, e);
        if ((e.outcome === 'rejected' || e.outcome === 'aborted') && e.code === null) {
          this.violations.add({
            invariant: this.invariant, rule: 'QUEUE-20', t: e.t,
            message: `message ${e.msgId} ${e.outcome} without an error code its sender can see`, events: [message, e],
          });
        }
        if (e.outcome === 'summarized') this.summarizedInto.push(e);
        if (this.senderMustHear && message.connId !== null && (e.outcome === 'rejected' || e.outcome === 'aborted')) {
          this.owed.set(`${message.connId}|${message.runId}`, { message, settle: e });
        }
        return;
      }
      case 'frame':
        if (this.owed.size > 0) this.heard(e);
        return;
      default:
        return;
    }
  }

  override finish(t: number): Violation[] {
    for (const message of this.open.values()) {
      this.violations.add({
        invariant: this.invariant, rule: 'QUEUE-20', t,
        message: `message ${message.msgId} (session ${message.sessionKey}, accepted t=${message.t}) never settled: lost`,
        events: [message],
      });
    }
    for (const s of this.summarizedInto) {
      if (s.runId === null || !this.started.has(s.runId)) {
        this.violations.add({
          invariant: this.invariant, rule: 'QUEUE-16', t: s.t,
          message: `message ${s.msgId} dropped into a summary carried by ${s.runId ?? 'no run'}, which never started`,
          events: [s],
        });
      }
    }
    for (const { message, settle } of this.owed.values()) {
      this.violations.add({
        invariant: this.invariant, rule: 'QUEUE-21', t: settle.t,
        message: `message ${message.msgId} was ${settle.outcome} (${settle.code ?? '-'}) but its sender ${message.connId} never heard (no chat error/aborted for ${message.runId})`,
        events: [message, settle],
      });
    }
    return this.violations.items;
  }

  private heard(e: FrameEvent): void {
    if (e.runId === null || (e.state !== 'error' && e.state !== 'aborted')) return;
    this.owed.delete(`${e.connId}|${e.runId}`);
  }
}
