/** The wait warning is not pushed at the crossing; it shows only with the next change (the dequeue): STATUS-4. */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import { isRecord, type GatewayMutant } from './gateway-mutant.ts';

export const lateWarning: GatewayMutant = {
  name: 'gateway-late-warning',
  breaks: 'lane.status warning sent only at dequeue',
  adapter: createReferenceAdapter({
    name: 'mutant: late warning',
    dropEvents: () => (event, payload) => event === 'lane.status' && isRecord(payload) && payload['reason'] === 'warn',
  }),
  caughtBy: { id: 'status.warn.at-crossing', rules: ['STATUS-4'] },
  // Its dropped frames leave gaps in the connection's seq (WS-9/WS-22), which hb.payload.fields sees.
  alsoFails: ['cascade.seed-004.end-to-end', 'hb.payload.fields'],
};
