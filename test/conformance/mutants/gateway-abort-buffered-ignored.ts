/** chat.abort of a buffered (collect) message aborts nothing: {aborted: []}, and the message is merged later anyway: QUEUE-18. */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

export const abortBufferedIgnored: GatewayMutant = {
  name: 'gateway-abort-buffered-ignored',
  breaks: 'an abort of a buffered message is ignored',
  adapter: createReferenceAdapter({
    name: 'mutant: chat.abort of a buffered message ignored',
    wrapGateway: (inner, gateway) => ({
      ...inner,
      request(connId, method, params) {
        const p = (params ?? {}) as { runId?: unknown };
        // A runId that names no run is a buffered message (or unknown): the bug answers "nothing aborted".
        if (method === 'chat.abort' && typeof p.runId === 'string' && gateway.router.getRun(p.runId) === undefined && gateway.router.runForMessage(p.runId) === undefined) {
          return { aborted: [] };
        }
        return inner.request(connId, method, params);
      },
    }),
  }),
  caughtBy: { id: 'queue.collect.abort-buffered', rules: ['QUEUE-18'] },
  alsoFails: ['queue.nothing-lost.burst'],
};
