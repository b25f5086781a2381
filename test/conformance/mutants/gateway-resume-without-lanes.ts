/**
 * A parked parent resumes the moment its nested run settles, without taking
 * its lanes back: it runs beside the session's newer run and over main's cap:
 * LANE-21 / LANE-23.
 */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

interface SchedulerInternals {
  resumeTask(task: unknown, continuation: () => void): void;
}

export const resumeWithoutLanes: GatewayMutant = {
  name: 'gateway-resume-without-lanes',
  breaks: 'a resuming parked task runs without its lanes',
  adapter: createReferenceAdapter({
    name: 'mutant: resumes skip the lanes',
    wrapGateway: (inner, gateway) => {
      const scheduler = gateway.router.scheduler as unknown as SchedulerInternals;
      scheduler.resumeTask = (_task, continuation) => continuation();
      return inner;
    },
  }),
  caughtBy: { id: 'nested.parallel.session-exclusive', rules: ['LANE-23'] },
  alsoFails: ['nested.parallel.parks'],
};
