// The example gateway, in process, for lanesim's conformance suite:
//   npx lanesim conform --adapter ./lanesim-adapter.mjs
// The adapter is glue only: a fresh lane queue and a fresh gateway core per case, built from the
// configuration the case asks for, with lanesim's scripted model as the agent runtime. It imports
// nothing from lanesim at run time (the JSDoc type is for editors). docs/ADAPTER.md explains
// every part.
import { createGatewayCore } from './gateway-core.mjs';
import { LaneQueue } from './lane-queue.mjs';
import { SUPPORTS } from './supports.mjs';

/** @type {import('lanesim/conformance').GatewayAdapter} */
const adapter = {
  name: 'example-gateway',
  supports: SUPPORTS,
  createLaneQueue: () => new LaneQueue(),
  createGateway: ({ config, runtime }) => createGatewayCore({ maxConcurrent: config.agents.defaults.maxConcurrent, runtime }),
};

export default adapter;
