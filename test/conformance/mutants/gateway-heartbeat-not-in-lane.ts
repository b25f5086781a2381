/** Heartbeats stop while the message waits in a lane (only started runs get them): HB-1. */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import { isRecord, type GatewayMutant } from './gateway-mutant.ts';

export const heartbeatNotInLane: GatewayMutant = {
  name: 'gateway-heartbeat-not-in-lane',
  breaks: 'heartbeat stops during lane waits',
  adapter: createReferenceAdapter({
    name: 'mutant: no heartbeat while queued',
    dropEvents: () => (event, payload) => event === 'heartbeat' && isRecord(payload) && payload['queued'] === true,
  }),
  caughtBy: { id: 'hb.waiting.silence-bound', rules: ['HB-1'] },
  alsoFails: ['hb.payload.fields', 'hb.timing.silence-driven', 'hb.waiting.start-stop', 'cascade.seed-004.end-to-end'],
};
