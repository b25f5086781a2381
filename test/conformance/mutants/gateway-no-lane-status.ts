/** lane.status is never sent (the gateway computes it, the client never hears it): STATUS-3. */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

export const noLaneStatus: GatewayMutant = {
  name: 'gateway-no-lane-status',
  breaks: 'lane.status is never sent',
  adapter: createReferenceAdapter({
    name: 'mutant: no lane.status',
    dropEvents: () => (event) => event === 'lane.status',
  }),
  caughtBy: { id: 'status.enqueue.lists-waiting', rules: ['STATUS-3'] },
  // Its dropped frames leave gaps in the connection's seq (WS-9/WS-22), which hb.payload.fields sees.
  alsoFails: ['status.*', 'cascade.seed-004.end-to-end', 'hb.payload.fields'],
};
