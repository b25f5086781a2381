/**
 * A RunIO that forwards to another, except for the members `override`
 * replaces: how the gateway's runtime wrappers (the spawn tool) change one
 * capability of a run and leave the rest to the gateway.
 */
import type { RunIO } from './gateway.ts';

export function forwardIO(io: RunIO, override: Partial<Omit<RunIO, 'run'>>): RunIO {
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
