/** A sub-agent spawn runs as a nested run (no session lane of its target): LANE-24. */
import { createReferenceAdapter } from '../../../src/conformance/targets/reference.ts';
import type { GatewayMutant } from './gateway-mutant.ts';
import { forwardIO, wrapRuns } from './run-io.ts';

export const spawnAsNested: GatewayMutant = {
  name: 'gateway-spawn-as-nested',
  breaks: "a spawn skips its target's session lane",
  adapter: createReferenceAdapter({
    name: 'mutant: spawns run as nested runs',
    wrapRuntime: (runtime) => wrapRuns(runtime, (io) => forwardIO(io, {
      toolCall: (call) => {
        if (call.name !== 'sessions_spawn' || typeof call.arguments !== 'string') return io.toolCall(call);
        const args = JSON.parse(call.arguments) as { targetSessionKey: string; message: string };
        io.callNested({ targetSessionKey: args.targetSessionKey, agentId: null, prompt: args.message }, () => {});
        return { delivered: true, ok: true, args };
      },
    })),
  }),
  caughtBy: { id: 'nested.spawn.session-lane', rules: ['LANE-24'] },
  alsoFails: [],
};
