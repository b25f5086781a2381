/** A parked parent resuming joins its lanes at the tail, behind tasks that joined while it was parked: LANE-22. */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

interface SchedulerInternals {
  joinQueue(task: { front?: boolean }, lane: unknown, front: boolean, now: number): void;
}

export const resumeAtTail: GatewayMutant = {
  name: 'gateway-resume-at-tail',
  breaks: 'a resuming parked task joins at the tail',
  adapter: createReferenceAdapter({
    name: 'mutant: resumes join at the tail',
    wrapGateway: (inner, gateway) => {
      const scheduler = gateway.router.scheduler as unknown as SchedulerInternals;
      const joinQueue = scheduler.joinQueue.bind(scheduler);
      scheduler.joinQueue = (task, lane, _front, now) => {
        task.front = false;
        joinQueue(task, lane, false, now);
      };
      return inner;
    },
  }),
  caughtBy: { id: 'nested.parallel.parks', rules: ['LANE-22'] },
  alsoFails: [],
};
