/** The whole catalogue, in the order `lanesim conform --list` prints it. */
import type { ConformanceCase } from '../types.ts';
import { CASCADE_CASES } from './cascade.ts';
import { HB_CASES } from './heartbeat.ts';
import { LANE_CASES } from './lane.ts';
import { PROTOCOL_CASES } from './protocol.ts';
import { QUEUE_CASES } from './queue.ts';
import { SESSION_CASES } from './session.ts';
import { STATUS_CASES } from './status.ts';
import { TOOL_CASES } from './tools.ts';

export const ALL_CASES: readonly ConformanceCase[] = [
  ...LANE_CASES,
  ...SESSION_CASES,
  ...QUEUE_CASES,
  ...STATUS_CASES,
  ...HB_CASES,
  ...TOOL_CASES,
  ...PROTOCOL_CASES,
  ...CASCADE_CASES,
];

const seen = new Set<string>();
for (const c of ALL_CASES) {
  if (seen.has(c.id)) throw new Error(`conformance catalogue: duplicate case id ${c.id}`);
  seen.add(c.id);
}
