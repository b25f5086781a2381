/**
 * A SessionRouter on a fake clock with a ScriptedExecutor, recording the
 * trace, settles, receipts and lane.status payloads, for unit tests.
 */
import { parseConfig } from '../../src/model/config.ts';
import type { ConfigInput } from '../../src/model/config-types.ts';
import type { LaneStatusPayload, MessageOutcome } from '../../src/model/events.ts';
import type { InboundMessage } from '../../src/reference-impl/run.ts';
import { SessionRouter, type Receipt } from '../../src/reference-impl/session-router.ts';
import { ScriptedExecutor, plainScript, type ScriptSource } from './scripted-executor.ts';
import { fakeClock, recorder } from './trace-recorder.ts';

export interface SettleRecord { t: number; msgId: string; outcome: MessageOutcome; runId: string | null; code: string | null; detail: string | null }
export interface StatusRecord { t: number; sessionKey: string; status: LaneStatusPayload }

export interface SendOptions {
  session?: string;
  channel?: string | null;
  route?: string | null;
  connId?: string | null;
}

export function routerHarness(configInput: ConfigInput = {}, scripts: ScriptSource = () => plainScript(1000)) {
  const { fake, clock } = fakeClock();
  const { trace, sink } = recorder();
  const config = parseConfig(configInput);
  const executor = new ScriptedExecutor(clock, scripts);
  const settles: SettleRecord[] = [];
  const statuses: StatusRecord[] = [];
  const router = new SessionRouter({
    config,
    executor,
    clock,
    trace: sink,
    events: {
      settle: (msg, outcome, runId, code, detail) => settles.push({ t: clock.now(), msgId: msg.msgId, outcome, runId, code, detail }),
      status: (sessionKey, status) => statuses.push({ t: clock.now(), sessionKey, status }),
    },
  });
  executor.router = router;
  let next = 0;
  const send = (text: string, options: SendOptions = {}): Receipt & { msgId: string } => {
    const i = ++next;
    const msg: InboundMessage = {
      msgId: `m${i}`, runId: `r${i}`, sessionKey: options.session ?? 'a', text,
      connId: options.connId === undefined ? 'c1' : options.connId, channel: options.channel ?? null,
      route: options.route ?? null, agentId: null,
    };
    return { ...router.accept(msg), msgId: msg.msgId };
  };
  /** The one settle of a message (throws if it settled 0 or 2+ times). */
  const settleOf = (msgId: string): SettleRecord => {
    const found = settles.filter((s) => s.msgId === msgId);
    if (found.length !== 1) throw new Error(`${msgId} settled ${found.length} times`);
    return found[0]!;
  };
  const lastStatus = (sessionKey = 'a'): LaneStatusPayload | undefined =>
    statuses.filter((s) => s.sessionKey === sessionKey).at(-1)?.status;
  const prompts = (): string[] => executor.started.map((r) => r.prompt);
  return { fake, clock, trace, config, executor, router, settles, statuses, send, settleOf, lastStatus, prompts };
}
