/**
 * INV-TOOL-RETURNED (TOOL-1): every malformed tool call gets an error
 * tool_result for its call id, returned to the agent (not only logged).
 */
import type { ToolCallEvent, TraceEvent, TraceEventType } from '../events.ts';
import { CheckerBase, type Violation } from './types.ts';

export class ToolResultChecker extends CheckerBase {
  readonly invariant = 'INV-TOOL-RETURNED';
  readonly eventTypes: readonly TraceEventType[] = ['tool_call', 'tool_result'];
  private readonly invalid = new Map<string, ToolCallEvent>();
  returned = 0;
  swallowed = 0;

  observe(e: TraceEvent): void {
    if (e.type === 'tool_call') {
      if (!e.valid) this.invalid.set(`${e.runId}|${e.callId}`, e);
      return;
    }
    if (e.type !== 'tool_result') return;
    const key = `${e.runId}|${e.callId}`;
    const call = this.invalid.get(key);
    if (call === undefined) return;
    this.invalid.delete(key);
    if (e.isError && e.delivery === 'returned') {
      this.returned++;
      return;
    }
    this.swallowed++;
    this.violations.add({
      invariant: this.invariant, rule: 'TOOL-1', t: e.t,
      message: `malformed ${e.tool} call ${e.callId} in run ${e.runId}: error ${e.delivery === 'logged' ? 'only logged' : 'not flagged as an error'}, the agent never saw it`,
      events: [call, e],
    });
  }

  override finish(t: number): Violation[] {
    for (const call of this.invalid.values()) {
      this.swallowed++;
      this.violations.add({
        invariant: this.invariant, rule: 'TOOL-1', t,
        message: `malformed ${call.tool} call ${call.callId} in run ${call.runId} never got a tool_result`,
        events: [call],
      });
    }
    return this.violations.items;
  }
}
