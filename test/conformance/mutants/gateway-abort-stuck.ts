/** An aborted run does not stop (its agent never hears the abort): it holds its lanes to the end: LANE-12 / QUEUE-18. */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { AgentRuntime, RunIO } from '../../../src/reference-impl/gateway.ts';
import type { GatewayMutant } from './gateway-mutant.ts';
import { forwardIO } from './run-io.ts';

function deaf(runtime: AgentRuntime): AgentRuntime {
  const never = new AbortController().signal;
  return {
    start(io: RunIO) {
      // It never hears the abort: no signal, never aborted, no abort callback.
      runtime.start(forwardIO(io, { signal: never, aborted: false, onAbort: () => {} }));
    },
  };
}

export const abortStuck: GatewayMutant = {
  name: 'gateway-abort-stuck',
  breaks: 'abort that leaves the lane stuck',
  adapter: createReferenceAdapter({ name: 'mutant: aborted runs go on', wrapRuntime: deaf }),
  caughtBy: { id: 'queue.abort.running', rules: ['LANE-12', 'QUEUE-18'] },
  alsoFails: ['queue.interrupt.aborts-and-clears'],
};
