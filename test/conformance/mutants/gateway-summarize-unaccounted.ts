/**
 * drop: summarize drops the oldest without a gist and without a word to its
 * sender (a silent drop old): QUEUE-15 / QUEUE-16. Other refusals are told as usual.
 */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { LanesimConfig } from '../../../src/model/config-types.ts';
import { isRecord, type GatewayMutant } from './gateway-mutant.ts';

function silentDrop(config: LanesimConfig): LanesimConfig {
  const queue = config.messages.queue;
  return queue.drop !== 'summarize' ? config : { ...config, messages: { ...config.messages, queue: { ...queue, drop: 'old' } } };
}

export const summarizeUnaccounted: GatewayMutant = {
  name: 'gateway-summarize-unaccounted',
  breaks: 'summarize that drops without accounting',
  adapter: createReferenceAdapter({
    name: 'mutant: summarize drops silently',
    mapConfig: silentDrop,
    // Only where summarize was asked for: the dropped message's sender hears nothing.
    dropEvents: (config) => (config.messages.queue.drop !== 'summarize' ? null
      : (event, payload) => event === 'chat' && isRecord(payload) && payload['errorCode'] === 'QUEUE_DROPPED'),
  }),
  caughtBy: { id: 'queue.cap.summarize', rules: ['QUEUE-15', 'QUEUE-16'] },
  alsoFails: ['queue.nothing-lost.burst'],
};
