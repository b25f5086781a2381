/**
 * A collect gateway that answers every chat.send `started`, also for a
 * message it buffers while the session is busy (what OpenClaw 2026.9.6 does,
 * DEP-3): QUEUE-7. The collect cases must fail on it, naming QUEUE-7, not
 * report a setup error.
 */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import { isRecord, type GatewayMutant } from './gateway-mutant.ts';

export const collectAnswersStarted: GatewayMutant = {
  name: 'gateway-collect-answers-started',
  breaks: 'collect answers started for a buffered message',
  adapter: createReferenceAdapter({
    name: 'mutant: collect answers started',
    wrapGateway: (inner, gateway) => ({
      ...inner,
      request(connId, method, params) {
        const result = inner.request(connId, method, params);
        if (method === 'chat.send' && gateway.config.messages.queue.mode === 'collect' && isRecord(result) && result.status === 'queued') {
          return { ...result, status: 'started' };
        }
        return result;
      },
    }),
  }),
  caughtBy: { id: 'queue.collect.debounce', rules: ['QUEUE-7'] },
  // The two QUEUE-2 cases run on the default config, which is collect: their waiting message is answered started too.
  alsoFails: ['queue.collect.drop-new', 'queue.collect.drop-old', 'queue.collect.abort-buffered', 'queue.collect.clear-operator', 'queue.collect.merge', 'status.collect.quiet-window', 'queue.idle.starts', 'status.payload.shape'],
};
