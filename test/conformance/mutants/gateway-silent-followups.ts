/** Today's OpenClaw followups: an empty final at once, the answer later under another runId: QUEUE-4 / WS-17 (DEP-3). */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import { REFERENCE_PROFILE } from '../../../src/reference-impl/profile.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

export const silentFollowups: GatewayMutant = {
  name: 'gateway-silent-followups',
  breaks: 'silent followups',
  adapter: createReferenceAdapter({
    name: 'mutant: silent followups',
    profile: { ...REFERENCE_PROFILE, name: 'silent-followups', silentFollowups: true },
  }),
  caughtBy: { id: 'queue.followup.own-run', rules: ['QUEUE-4', 'WS-17'] },
  alsoFails: ['*'],
};
