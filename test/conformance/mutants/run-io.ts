/** Runtime wrappers for the agent-runtime mutants: `forwardIO` (src/reference-impl/run-io.ts) changes one member of a run's RunIO. */
import type { AgentRuntime, RunIO } from '../../../src/reference-impl/gateway.ts';

export { forwardIO } from '../../../src/reference-impl/run-io.ts';

/** A runtime whose runs see `wrap(io)` instead of the gateway's RunIO. */
export function wrapRuns(runtime: AgentRuntime, wrap: (io: RunIO) => RunIO): AgentRuntime {
  return { start: (io) => runtime.start(wrap(io)) };
}
