/** A RunIO that forwards to `io` except for the members `override` replaces (mutants of the agent runtime). */
import type { AgentRuntime, RunIO } from '../../../src/reference-impl/gateway.ts';

export function forwardIO(io: RunIO, override: Partial<Omit<RunIO, 'run' | 'signal' | 'aborted'>>): RunIO {
  return {
    get run() {
      return io.run;
    },
    get signal() {
      return io.signal;
    },
    get aborted() {
      return io.aborted;
    },
    onAbort: (callback) => io.onAbort(callback),
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
    ...override,
  };
}

/** A runtime whose runs see `wrap(io)` instead of the gateway's RunIO. */
export function wrapRuns(runtime: AgentRuntime, wrap: (io: RunIO) => RunIO): AgentRuntime {
  return { start: (io) => runtime.start(wrap(io)) };
}
