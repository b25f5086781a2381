/** The queue cap admits one message more than configured (a waiting count off by one): QUEUE-12 / QUEUE-13. */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

export const capPlusOne: GatewayMutant = {
  name: 'gateway-cap-plus-one',
  breaks: 'the queue cap admits one more waiting message',
  adapter: createReferenceAdapter({
    name: 'mutant: queue cap + 1',
    mapConfig: (config) => ({ ...config, messages: { ...config.messages, queue: { ...config.messages.queue, cap: config.messages.queue.cap + 1 } } }),
  }),
  caughtBy: { id: 'queue.cap.drop-new', rules: ['QUEUE-13', 'QUEUE-12'] },
  alsoFails: ['queue.collect.drop-new', 'queue.cap.drop-old', 'queue.collect.drop-old', 'queue.cap.summarize', 'queue.idempotency.rejected', 'queue.nothing-lost.burst', 'status.*', 'hb.*', 'cascade.*'],
};
