/** An aborted run does not stop (its agent never hears the abort): it holds its lanes to the end: LANE-12 / QUEUE-18. */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { AgentRuntime, RunIO } from '../../../src/reference-impl/gateway.ts';
import type { GatewayMutant } from './gateway-mutant.ts';

function deaf(runtime: AgentRuntime): AgentRuntime {
  const never = new AbortController().signal;
  return {
    start(io: RunIO) {
      runtime.start({
        get run() {
          return io.run;
        },
        signal: never,
        aborted: false,
        onAbort: () => {},
        now: () => io.now(),
        delta: (text) => io.delta(text),
        setStreaming: (on) => io.setStreaming(on),
        takeSteers: () => io.takeSteers(),
        toolCall: (call) => io.toolCall(call),
        toolResult: (callId, name, ok) => io.toolResult(callId, name, ok),
        callNested: (request, done) => io.callNested(request, done),
        spawn: (request, done) => io.spawn(request, done),
        finish: (text) => io.finish(text),
        fail: (message) => io.fail(message),
      });
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
