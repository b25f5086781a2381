/** A run whose model stream was cut ends `final` with the partial answer instead of `error`: WS-15. */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { GatewayMutant } from './gateway-mutant.ts';
import { forwardIO, wrapRuns } from './run-io.ts';

export const cutAsFinal: GatewayMutant = {
  name: 'gateway-cut-as-final',
  breaks: 'a cut model stream is reported as a final answer',
  adapter: createReferenceAdapter({
    name: 'mutant: model failures end final',
    wrapRuntime: (runtime) => wrapRuns(runtime, (io) => forwardIO(io, { fail: () => io.finish() })),
  }),
  caughtBy: { id: 'model.stream.cut', rules: ['WS-15'] },
  alsoFails: ['tool.*', 'cascade.*'],
};
