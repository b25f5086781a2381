/** Clearing a session's queue (the operator action) also aborts the running run: QUEUE-11. */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

export const clearKillsRunning: GatewayMutant = {
  name: 'gateway-clear-kills-running',
  breaks: "clearing a session's queue aborts its running run too",
  adapter: createReferenceAdapter({
    name: 'mutant: queue clear kills the running run',
    wrapGateway: (inner, gateway) => ({
      ...inner,
      clearQueue(sessionKey) {
        const cleared = gateway.router.clear(sessionKey);
        gateway.router.abort(sessionKey);
        return cleared;
      },
    }),
  }),
  caughtBy: { id: 'queue.clear.operator', rules: ['QUEUE-11'] },
  alsoFails: ['queue.collect.clear-operator'],
};
