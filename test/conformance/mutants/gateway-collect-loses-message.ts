/** A collect merge silently loses its last message (never in the prompt, its sender never told): QUEUE-9 / QUEUE-20. */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import { collectPrompt } from '../../../src/reference-impl/queue-texts.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

interface PendingLike { msg: { text: string } }
type QueueRun = (session: unknown, kind: string, items: PendingLike[], prompt: string, runId: string) => unknown;

export const collectLosesMessage: GatewayMutant = {
  name: 'gateway-collect-loses-message',
  breaks: 'collect loses a message',
  adapter: createReferenceAdapter({
    name: 'mutant: collect loses the last message',
    wrapGateway: (inner, gateway) => {
      const router = gateway.router as unknown as { queueRun: QueueRun };
      const original = router.queueRun.bind(router);
      router.queueRun = (session, kind, items, prompt, runId) => {
        if (kind === 'collect' && items.length >= 2) {
          const kept = items.slice(0, -1);
          return original(session, kind, kept, collectPrompt(kept.map((p) => p.msg.text)), runId);
        }
        return original(session, kind, items, prompt, runId);
      };
      return inner;
    },
  }),
  caughtBy: { id: 'queue.collect.merge', rules: ['QUEUE-9', 'QUEUE-20', 'WS-17'] },
  alsoFails: ['queue.mode.by-channel', 'queue.collect.debounce', 'queue.collect.routes', 'queue.collect.drop-new', 'queue.collect.drop-old', 'queue.nothing-lost.burst', 'cascade.seed-004.end-to-end', 'status.changes.only-then', 'hb.payload.fields'],
};
