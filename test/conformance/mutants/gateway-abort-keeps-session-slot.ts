/**
 * Aborting a run that waits in a lane removes it and tells its sender, but
 * does not release the slots it already held (its session slot while it
 * waited for main): the session is stuck: LANE-12.
 */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

interface SchedulerInternals {
  abortInBatch(task: unknown, reason: string): boolean;
  releaseHeld(task: unknown, reason: string): void;
}

export const abortKeepsSessionSlot: GatewayMutant = {
  name: 'gateway-abort-keeps-session-slot',
  breaks: 'an aborted waiting run keeps the session slot it held',
  adapter: createReferenceAdapter({
    name: 'mutant: aborting a waiting run leaks its held slots',
    wrapGateway: (inner, gateway) => {
      const scheduler = gateway.router.scheduler as unknown as SchedulerInternals;
      const abortInBatch = scheduler.abortInBatch.bind(scheduler);
      const releaseHeld = scheduler.releaseHeld.bind(scheduler);
      let aborting = false;
      scheduler.abortInBatch = (task, reason) => {
        aborting = true;
        try {
          return abortInBatch(task, reason);
        } finally {
          aborting = false;
        }
      };
      // The bug: a waiting task removed by an abort releases nothing.
      scheduler.releaseHeld = (task, reason) => {
        if (aborting && reason === 'abort') return;
        releaseHeld(task, reason);
      };
      return inner;
    },
  }),
  caughtBy: { id: 'queue.abort.holding-session', rules: ['LANE-12'] },
  alsoFails: ['queue.abort.queued', 'queue.abort.running', 'queue.cap.summarize', 'queue.nothing-lost.burst', 'queue.interrupt.aborts-and-clears', 'status.*', 'hb.*', 'cascade.*', 'session.*', 'queue.collect.abort-buffered'],
};
