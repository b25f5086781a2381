/** Every gateway mutant (see gateway-mutant.ts). */
import { abortStuck } from './gateway-abort-stuck.ts';
import { collectAnswersStarted } from './gateway-collect-answers-started.ts';
import { collectLosesMessage } from './gateway-collect-loses-message.ts';
import { heartbeat30s } from './gateway-heartbeat-30s.ts';
import { heartbeatNotInLane } from './gateway-heartbeat-not-in-lane.ts';
import { lateWarning } from './gateway-late-warning.ts';
import type { GatewayMutant } from './gateway-mutant.ts';
import { noLaneStatus } from './gateway-no-lane-status.ts';
import { silentFollowups } from './gateway-silent-followups.ts';
import { summarizeUnaccounted } from './gateway-summarize-unaccounted.ts';
import { toolErrorsLogged } from './gateway-tool-errors-logged.ts';
import { toolWrongText } from './gateway-tool-wrong-text.ts';

export const GATEWAY_MUTANTS: readonly GatewayMutant[] = [
  noLaneStatus, lateWarning, heartbeat30s, heartbeatNotInLane, toolErrorsLogged, toolWrongText,
  collectLosesMessage, summarizeUnaccounted, abortStuck, silentFollowups, collectAnswersStarted,
];
