/**
 * chat.abort of a run that has not started is ignored and answered `{ok: true}`
 * (not `{aborted: [...]}`), as an independent gateway did: the waiting message
 * runs anyway and its sender never hears aborted: WS-18 / QUEUE-18 / QUEUE-21.
 */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

export const abortQueuedIgnored: GatewayMutant = {
  name: 'gateway-abort-queued-ignored',
  breaks: 'an abort of a queued run is ignored, answered with the wrong shape',
  adapter: createReferenceAdapter({
    name: 'mutant: chat.abort of a queued run ignored',
    wrapGateway: (inner, gateway) => ({
      ...inner,
      request(connId, method, params) {
        const p = (params ?? {}) as { runId?: unknown };
        if (method === 'chat.abort' && typeof p.runId === 'string') {
          const run = gateway.router.getRun(p.runId) ?? gateway.router.runForMessage(p.runId);
          if (run !== undefined && run.state === 'queued') return { ok: true };
        }
        return inner.request(connId, method, params);
      },
    }),
  }),
  caughtBy: { id: 'queue.abort.queued', rules: ['WS-18', 'QUEUE-18', 'QUEUE-21'] },
  alsoFails: ['queue.abort.holding-session', 'queue.cap.summarize', 'queue.nothing-lost.burst'],
};
