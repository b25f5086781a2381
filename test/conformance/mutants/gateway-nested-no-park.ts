/** nestedAgentParallel is accepted but ignored: a parent keeps its slots while its nested run works (LANE-20's behaviour): LANE-21. */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

export const nestedNoPark: GatewayMutant = {
  name: 'gateway-nested-no-park',
  breaks: 'nestedAgentParallel: true is ignored (the parent never parks)',
  adapter: createReferenceAdapter({
    name: 'mutant: nestedAgentParallel ignored',
    mapConfig: (config) => ({ ...config, agents: { ...config.agents, defaults: { ...config.agents.defaults, lane: { ...config.agents.defaults.lane, nestedAgentParallel: false } } } }),
  }),
  caughtBy: { id: 'nested.parallel.parks', rules: ['LANE-21'] },
  alsoFails: [],
};
