/**
 * Gateway mutants for the queue splits, QUEUE-11, the model-fault cases, the
 * nested-agent cases (LANE-21..24) and the tool-argument case: each breaks one
 * rule, and test/conformance/gateway-cases.test.ts shows the case naming it
 * catching it.
 */
import { abortBufferedIgnored } from './gateway-abort-buffered-ignored.ts';
import { abortKeepsSessionSlot } from './gateway-abort-keeps-session-slot.ts';
import { abortQueuedIgnored } from './gateway-abort-queued-ignored.ts';
import { capPlusOne } from './gateway-cap-plus-one.ts';
import { clearKillsRunning } from './gateway-clear-kills-running.ts';
import { cutAsFinal } from './gateway-cut-as-final.ts';
import type { GatewayMutant } from './gateway-mutant.ts';
import { nestedNoPark } from './gateway-nested-no-park.ts';
import { resumeAtTail } from './gateway-resume-at-tail.ts';
import { resumeWithoutLanes } from './gateway-resume-without-lanes.ts';
import { spawnAsNested } from './gateway-spawn-as-nested.ts';
import { stallForgetsRun } from './gateway-stall-forgets-run.ts';
import { toolArgsRaw } from './gateway-tool-args-raw.ts';

export const CASES_B_MUTANTS: readonly GatewayMutant[] = [
  abortQueuedIgnored, abortBufferedIgnored, abortKeepsSessionSlot, capPlusOne, clearKillsRunning, cutAsFinal, stallForgetsRun,
  nestedNoPark, resumeAtTail, resumeWithoutLanes, spawnAsNested, toolArgsRaw,
];
