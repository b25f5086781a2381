/** The whole catalogue, in the order `lanesim conform --list` prints it. */
import type { ConformanceCase } from '../types.ts';
import { ACCESS_CASES } from './access.ts';
import { AGENT_EVENT_CASES } from './agent-events.ts';
import { CASCADE_CASES } from './cascade.ts';
import { DIAGNOSTICS_CASES } from './diagnostics.ts';
import { HB_CASES } from './heartbeat.ts';
import { LANE_CASES } from './lane.ts';
import { LIFECYCLE_CASES } from './lifecycle.ts';
import { MODEL_FAULT_CASES } from './model-faults.ts';
import { NESTED_CASES } from './nested.ts';
import { PROTOCOL_CASES } from './protocol.ts';
import { QUEUE_CASES } from './queue.ts';
import { SESSION_CASES } from './session.ts';
import { STATUS_CASES } from './status.ts';
import { TOOL_CASES } from './tools.ts';

export const ALL_CASES: readonly ConformanceCase[] = [
  ...LANE_CASES,
  ...SESSION_CASES,
  ...QUEUE_CASES,
  ...MODEL_FAULT_CASES,
  ...NESTED_CASES,
  ...STATUS_CASES,
  ...HB_CASES,
  ...TOOL_CASES,
  ...PROTOCOL_CASES,
  ...CASCADE_CASES,
  ...ACCESS_CASES,
  ...AGENT_EVENT_CASES,
  ...DIAGNOSTICS_CASES,
  ...LIFECYCLE_CASES,
];

const seen = new Set<string>();
for (const c of ALL_CASES) {
  if (seen.has(c.id)) throw new Error(`conformance catalogue: duplicate case id ${c.id}`);
  seen.add(c.id);
}
