/**
 * INV-STATUS-VALUES (STATUS-2, STATUS-5..STATUS-8): the values of every
 * `lane.status`, not only its shape. Each payload must agree with itself:
 * positions count 1, 2, 3...; `state` follows `active` and `waiting`; the
 * payload's `warning` is any entry's, and an entry's is `waitedMs >=
 * warnThresholdMs`; `queued` is the waiting count, one per waiting entry;
 * `processing.total` is `index` plus the waiting entries; the actions name
 * the active run; an idle status is empty.
 *
 * Only what one payload shows is judged: a checker fed the statuses some
 * clients heard (the conformance explorer) may miss statuses sent while no
 * one listened, so "sent only on a change" (STATUS-5) and "index never goes
 * back" (STATUS-6) across statuses are left to the explorer's comparison
 * with the reference.
 *
 * Opt-in (checkerSuite `statusValues: true`): the simulator's traces and
 * reports are unchanged by it.
 */
import type { LaneStatusPayload, TraceEvent, TraceEventType } from '../events.ts';
import { CheckerBase } from './types.ts';

export class StatusValuesChecker extends CheckerBase {
  readonly invariant = 'INV-STATUS-VALUES';
  readonly eventTypes: readonly TraceEventType[] = ['lane.status'];

  observe(e: TraceEvent): void {
    if (e.type !== 'lane.status') return;
    const s = e.status;
    const bad = (rule: string, message: string): void => {
      this.violations.add({ invariant: this.invariant, rule, t: e.t, message: `lane.status of ${e.sessionKey} (${s.reason}): ${message}`, events: [e] });
    };
    this.checkPayload(s, bad);
  }

  private checkPayload(s: LaneStatusPayload, bad: (rule: string, message: string) => void): void {
    s.waiting.forEach((w, i) => {
      if (w.position !== i + 1) bad('STATUS-2', `waiting[${i}] (${w.runId}) has position ${w.position}, expected ${i + 1}`);
      if (w.waitedMs < 0) bad('STATUS-2', `waiting[${i}] (${w.runId}) has waitedMs ${w.waitedMs} < 0`);
      if (w.warning !== w.waitedMs >= s.warnThresholdMs) {
        bad('STATUS-4', `waiting[${i}] (${w.runId}) has warning ${w.warning} with waitedMs ${w.waitedMs} and warnThresholdMs ${s.warnThresholdMs}`);
      }
    });
    const state = s.active !== null ? 'active' : s.waiting.length > 0 ? 'waiting' : 'idle';
    if (s.state !== state) bad('STATUS-2', `state ${s.state} with active ${s.active === null ? 'null' : s.active.runId} and ${s.waiting.length} waiting: expected ${state}`);
    const anyWarning = s.waiting.some((w) => w.warning);
    if (s.warning !== anyWarning) bad('STATUS-2', `warning ${s.warning} but ${anyWarning ? 'an entry warns' : 'no entry warns'}`);
    if (s.queued !== s.waiting.length) bad('STATUS-2', `queued ${s.queued} but ${s.waiting.length} waiting entries (one per waiting message)`);
    if (s.processing.total !== s.processing.index + s.waiting.length) {
      bad('STATUS-6', `processing ${s.processing.index} of ${s.processing.total} with ${s.waiting.length} waiting: total must be index + waiting`);
    }
    if (s.active !== null && s.active.elapsedMs < 0) bad('STATUS-2', `active.elapsedMs ${s.active.elapsedMs} < 0`);
    const runId = s.active?.runId ?? null;
    const cancel = s.actions.cancel;
    const view = s.actions.viewPartial;
    if (runId === null) {
      if (cancel !== null || view !== null) bad('STATUS-7', 'actions are not null although active is null');
    } else {
      if (cancel === null || cancel.method !== 'chat.abort' || cancel.params.runId !== runId || cancel.params.sessionKey !== s.sessionKey) {
        bad('STATUS-7', `actions.cancel ${JSON.stringify(cancel)} does not abort the active run ${runId}`);
      }
      if (view === null || view.method !== 'chat.history' || view.params.runId !== runId || view.params.sessionKey !== s.sessionKey) {
        bad('STATUS-7', `actions.viewPartial ${JSON.stringify(view)} does not show the active run ${runId}`);
      }
    }
    if (s.state === 'idle' && s.processing.index !== s.processing.total) {
      bad('STATUS-8', `idle with processing ${s.processing.index} of ${s.processing.total} (index must equal total)`);
    }
  }
}
