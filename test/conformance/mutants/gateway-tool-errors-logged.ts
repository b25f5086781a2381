/** Tool-call errors are logged but not returned to the agent (today's OpenClaw in the incident): TOOL-1. */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import { REFERENCE_PROFILE } from '../../../src/reference-impl/profile.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

export const toolErrorsLogged: GatewayMutant = {
  name: 'gateway-tool-errors-logged',
  breaks: 'tool errors logged but not returned',
  adapter: createReferenceAdapter({
    name: 'mutant: tool errors only logged',
    profile: { ...REFERENCE_PROFILE, name: 'tool-errors-logged', toolFailFast: false },
  }),
  caughtBy: { id: 'tool.gateway.error-returned', rules: ['TOOL-1'] },
  alsoFails: ['tool.gateway.args-as-written', 'cascade.seed-004.end-to-end'],
};
