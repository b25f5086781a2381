/** Advertises (and is configured with) 15 s but heartbeats only every 30 s, like OpenClaw's tick: HB-1. */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { LanesimConfig } from '../../../src/model/config-types.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

function thirtySeconds(config: LanesimConfig): LanesimConfig {
  const hb = config.gateway.heartbeat;
  return { ...config, gateway: { ...config.gateway, heartbeat: { ...hb, intervalMs: 30_000, deadAfterMs: Math.max(hb.deadAfterMs, 45_000) } } };
}

export const heartbeat30s: GatewayMutant = {
  name: 'gateway-heartbeat-30s',
  breaks: 'heartbeat only every 30 s',
  adapter: createReferenceAdapter({
    name: 'mutant: heartbeat every 30 s',
    mapConfig: thirtySeconds,
    // It says nothing of its own policy: the harness takes the configured 15 s as the promise.
    wrapGateway: (inner) => ({ open: inner.open, request: inner.request, close: inner.close, ...(inner.stop !== undefined ? { stop: inner.stop } : {}) }),
  }),
  caughtBy: { id: 'hb.waiting.silence-bound', rules: ['HB-1'] },
  alsoFails: ['hb.timing.silence-driven', 'hb.payload.fields', 'cascade.seed-004.end-to-end'],
};
