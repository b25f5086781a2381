/** Every scenario lanesim ships, by name. */
import type { Scenario } from '../sim/scenario.ts';
import { abortAndClear } from './abort-and-clear.ts';
import { disconnectReconnect } from './disconnect-reconnect.ts';
import { globalCapFairness } from './global-cap-fairness.ts';
import { largeHour } from './large-hour.ts';
import { messageBurst } from './message-burst.ts';
import { nestedAgentCascade } from './nested-agent-cascade.ts';
import { stalledStream } from './stalled-stream.ts';
import { subagentFanout } from './subagent-fanout.ts';

export const SCENARIOS: readonly Scenario[] = [
  nestedAgentCascade,
  messageBurst,
  globalCapFairness,
  subagentFanout,
  stalledStream,
  disconnectReconnect,
  abortAndClear,
  largeHour,
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
