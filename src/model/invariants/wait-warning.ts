/**
 * INV-WAIT-WARNING (STATUS-3, STATUS-4): a message that waits (accepted, not
 * yet run) is listed in a lane.status for its session when it starts
 * waiting, and when its wait crosses warnThresholdMs a lane.status marks it
 * with `warning: true`, within `toleranceMs` of the crossing.
 */
import type { LaneStatusEvent, MessageEvent, TraceEvent, TraceEventType } from '../events.ts';
import { CheckerBase, type Violation } from './types.ts';

export interface WaitWarningOptions {
  warnThresholdMs: number;
  /** Allowed lateness (0 on a fake clock; real sockets need some). */
  toleranceMs?: number;
}

interface Waiter {
  message: MessageEvent;
  listed: boolean;
  warned: boolean;
  settled: boolean;
}

export class WaitWarningChecker extends CheckerBase {
  readonly invariant = 'INV-WAIT-WARNING';
  readonly eventTypes: readonly TraceEventType[] = ['message', 'lane.status', 'drop', 'settle'];
  private readonly threshold: number;
  private readonly tolerance: number;
  /** runId -> waiter, for messages not yet settled */
  private readonly waiting = new Map<string, Waiter>();
  private readonly byMsg = new Map<string, string>();
  private now = 0;
  /** Waiters in arrival order = in order of their warning deadline. */
  private dueQueue: Waiter[] = [];
  private dueHead = 0;

  constructor(options: WaitWarningOptions) {
    super();
    this.threshold = options.warnThresholdMs;
    this.tolerance = options.toleranceMs ?? 0;
  }

  observe(e: TraceEvent): void {
    if (e.t > this.now) this.advance(e.t);
    switch (e.type) {
      case 'message':
        {
          const waiter: Waiter = { message: e, listed: false, warned: false, settled: false };
          this.waiting.set(e.runId, waiter);
          this.dueQueue.push(waiter);
        }
        this.byMsg.set(e.msgId, e.runId);
        return;
      case 'lane.status':
        this.onStatus(e);
        return;
      // A message dropped under cap left the queue (QUEUE-12..15): its wait ends there, even when
      // (summarize) it settles only later, with the run that carries its summary.
      case 'drop':
      case 'settle': {
        const runId = this.byMsg.get(e.msgId);
        if (runId === undefined) return;
        this.byMsg.delete(e.msgId);
        const waiter = this.waiting.get(runId);
        this.waiting.delete(runId);
        if (waiter !== undefined) waiter.settled = true;
        // Settled at once (ran without waiting, steered, refused): no status owed.
        if (waiter !== undefined && !waiter.listed && e.t > waiter.message.t && e.t - waiter.message.t > this.tolerance) {
          this.violations.add({
            invariant: 'INV-WAIT-STATUS', rule: 'STATUS-3', t: e.t,
            message: `message ${waiter.message.msgId} (run ${runId}) waited ${e.t - waiter.message.t} ms and no lane.status ever listed it`,
            events: [waiter.message, e],
          });
        }
        return;
      }
      default:
        return;
    }
  }

  override finish(t: number): Violation[] {
    this.advance(t + this.tolerance + 1);
    return this.violations.items;
  }

  private onStatus(e: LaneStatusEvent): void {
    for (const w of e.status.waiting) {
      const waiter = this.waiting.get(w.runId);
      if (waiter === undefined) continue;
      waiter.listed = true;
      if (w.warning) waiter.warned = true;
    }
  }

  /** Any waiter whose crossing plus tolerance has passed without a warning is a violation. */
  private advance(t: number): void {
    this.now = t;
    while (this.dueHead < this.dueQueue.length) {
      const waiter = this.dueQueue[this.dueHead]!;
      const due = waiter.message.t + this.threshold + this.tolerance;
      if (due >= t) break;
      this.dueHead++;
      if (!waiter.settled && !waiter.warned) {
        this.violations.add({
          invariant: this.invariant, rule: 'STATUS-4', t: due,
          message: `message ${waiter.message.msgId} (run ${waiter.message.runId}) waited past warnThresholdMs ${this.threshold} ms with no lane.status warning by t=${due}`,
          events: [waiter.message],
        });
      }
    }
    if (this.dueHead > 4096 && this.dueHead * 2 > this.dueQueue.length) {
      this.dueQueue = this.dueQueue.slice(this.dueHead);
      this.dueHead = 0;
    }
  }
}
