/**
 * The gateway gives up on a model silent for 30 s but forgets the run: no
 * terminal frame ever, its session slot never freed: WS-15 / LANE-8.
 */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { RunIO } from '../../../src/reference-impl/gateway.ts';
import type { GatewayMutant } from './gateway-mutant.ts';
import { forwardIO, wrapRuns } from './run-io.ts';

const GIVE_UP_MS = 30_000;

function forgetful(io: RunIO): RunIO {
  let forgotten = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const arm = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => void (forgotten = true), GIVE_UP_MS);
  };
  const disarm = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  arm();
  return forwardIO(io, {
    delta: (text) => {
      if (forgotten) return;
      arm();
      io.delta(text);
    },
    finish: (text) => {
      disarm();
      if (!forgotten) io.finish(text);
    },
    fail: (message) => {
      disarm();
      if (!forgotten) io.fail(message);
    },
  });
}

export const stallForgetsRun: GatewayMutant = {
  name: 'gateway-stall-forgets-run',
  breaks: 'a run whose model went silent for 30 s is dropped without a terminal frame',
  adapter: createReferenceAdapter({ name: 'mutant: stalled runs forgotten', wrapRuntime: (runtime) => wrapRuns(runtime, forgetful) }),
  caughtBy: { id: 'model.stall.past-timeout', rules: ['WS-15', 'LANE-8'] },
  alsoFails: ['*'],
};
