/**
 * The in-process adapter: the small interface a gateway author implements
 * around their own code so the whole catalogue runs in seconds under
 * @sinonjs/fake-timers. Implement any of the three parts; cases that need a
 * part you left out are reported as not applicable.
 *
 *   // my-adapter.ts  (npx lanesim conform --adapter ./my-adapter.ts)
 *   import type { GatewayAdapter } from 'lanesim/conformance';
 *   const adapter: GatewayAdapter = {
 *     name: 'my-gateway',
 *     createLaneQueue: () => wrapMyCommandQueue(),           // lane.* cases
 *     createGateway: ({ config, runtime }) => wrapMyGateway(config, runtime), // queue/status/hb/tool/cascade cases
 *     validateToolCall: (call) => myValidator(call),         // tool.* cases
 *   };
 *   export default adapter;
 *
 * Everything runs under fake timers the harness installs: your code must use
 * the global setTimeout/Date.now (not performance.now or a private clock).
 */
import type { LanesimConfig } from '../model/config-types.ts';
import type { AgentRuntime } from '../reference-impl/gateway.ts';
import type { GatewaySupport } from './support.ts';
import type { LaneQueueUnderTest, ToolValidatorUnderTest } from './types.ts';

/**
 * A gateway without its transport: the harness plays the WebSocket. After a
 * client's handshake the harness calls `open`; each request frame becomes a
 * `request` call; events go back through `send`.
 */
export interface InProcessGateway {
  open(connId: string, send: (event: string, payload: unknown, seq: number) => void): void;
  /** The response payload, or throw `{ code, message }` (WS-7 error codes) for an error response. */
  request(connId: string, method: string, params: unknown): unknown;
  close(connId: string): void;
  /** Graceful stop (WS-23), if supported. */
  stop?(options: { abortRunning: boolean }): Promise<void> | void;
  /** The operator action of QUEUE-11 (clear a session's queue), if supported: how many waiting messages it removed. */
  clearQueue?(sessionKey: string): number | Promise<number>;
  /** What hello-ok would say (WS-5): heartbeat and tick intervals. */
  readonly policy?: { heartbeatIntervalMs?: number; tickIntervalMs?: number };
}

export interface GatewayAdapter {
  readonly name: string;
  /** A fresh lane queue per case; fake timers are installed when this is called. */
  createLaneQueue?(): LaneQueueUnderTest | Promise<LaneQueueUnderTest>;
  /**
   * A fresh gateway per case, configured by `config`, whose agent runs are
   * played by `runtime` (lanesim's scripted model: call `runtime.start(io)` for
   * each run with the RunIO of src/reference-impl/gateway.ts).
   */
  createGateway?(options: { config: LanesimConfig; runtime: AgentRuntime }): InProcessGateway | Promise<InProcessGateway>;
  validateToolCall?: ToolValidatorUnderTest['validate'];
  /**
   * What the gateway supports (src/conformance/support.ts), every key
   * optional; undeclared features count as supported. Cases needing a feature
   * declared unsupported are n/a, as they are over WebSocket with the same
   * declaration in the --config file's `supports` key.
   */
  readonly supports?: Partial<GatewaySupport>;
}
