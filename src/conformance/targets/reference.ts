/**
 * The embedded default target: lanesim's reference gateway as a
 * GatewayAdapter, run in-process by the harness (src/conformance/in-process.ts).
 *
 * - createGateway: the reference `Gateway` behind an InProcessGateway that
 *   maps request methods onto it as the WebSocket server does
 *   (src/reference-impl/ws-server.ts): unknown methods answer
 *   `UNKNOWN_METHOD`, bad params `INVALID_REQUEST` `invalid <method> params:
 *   <detail>` (WS-7, the same `checkParams`); WebSocket pings are answered at
 *   once (the in-memory socket is always alive, HB-6); stop is the graceful
 *   shutdown (WS-23).
 * - createLaneQueue: the reference lane scheduler behind the lane adapter
 *   (targets/lane-adapters.ts).
 * - validateToolCall: the reference validator (built-in tools).
 *
 * `createReferenceAdapter({ profile, wrapGateway, ... })` builds variants:
 * the conformance mutants are the reference with one switch turned off.
 */
import type { LanesimConfig } from '../../model/config-types.ts';
import { dispatchGatewayMethod } from '../../reference-impl/gateway-methods.ts';
import { ErrorCodes, Methods } from '../../model/protocol.ts';
import { Gateway, GatewayRequestError, type AgentRuntime, type GatewayOptions } from '../../reference-impl/gateway.ts';
import { withSpawnTool } from '../../reference-impl/spawn-tool.ts';
import { REFERENCE_PROFILE, type GatewayProfile } from '../../reference-impl/profile.ts';
import { ToolRegistry } from '../../reference-impl/tool-validator.ts';
import { KNOWN_METHODS, checkParams } from '../../reference-impl/ws-params.ts';
import type { GatewayAdapter, InProcessGateway } from '../adapter.ts';
import { targetFromAdapter } from '../in-process.ts';
import type { ConformanceTarget, ToolValidatorUnderTest } from '../types.ts';
import { referenceLaneQueue } from './lane-adapters.ts';

export interface ReferenceAdapterOptions {
  name?: string;
  profile?: GatewayProfile;
  /** Extra Gateway options (log sink, tool registry, ...). */
  gatewayOptions?: Partial<Omit<GatewayOptions, 'config' | 'runtime' | 'profile'>>;
  /** Tweak the config the case asked for before the gateway sees it (mutants). */
  mapConfig?: (config: LanesimConfig) => LanesimConfig;
  /** Wrap the agent runtime (mutants). */
  wrapRuntime?: (runtime: AgentRuntime) => AgentRuntime;
  /** Wrap the finished InProcessGateway (mutants). */
  wrapGateway?: (inner: InProcessGateway, gateway: Gateway) => InProcessGateway;
  /**
   * Frames the transport drops (mutants), chosen per gateway from the config the
   * case asked for: the gateway is told the frame was not sent, as a socket
   * dropping it would (so its heartbeat clock is not fooled).
   */
  dropEvents?: (config: LanesimConfig) => ((event: string, payload: unknown) => boolean) | null;
  /** Replace the tool validator (mutants); default: the reference one. */
  validateToolCall?: ToolValidatorUnderTest['validate'];
  /** false: no lane queue part. */
  lanes?: boolean;
}

/** The reference validator's answer in the harness's shape. */
export function referenceValidateToolCall(registry: ToolRegistry = new ToolRegistry()): ToolValidatorUnderTest['validate'] {
  return (call) => {
    const v = registry.validate(call);
    if (v.ok) return { ok: true };
    return { ok: false, content: v.result.content, toolUseId: v.result.tool_use_id, isError: v.result.is_error };
  };
}

/** The reference Gateway as an InProcessGateway (the harness plays the socket). */
export function inProcessReferenceGateway(gateway: Gateway, drop: ((event: string, payload: unknown) => boolean) | null = null): InProcessGateway {
  const config = gateway.config;
  return {
    policy: { heartbeatIntervalMs: config.gateway.heartbeat.intervalMs, tickIntervalMs: config.gateway.tickIntervalMs },
    open(connId, send) {
      gateway.connect(connId, {
        send: (event, payload, seq) => {
          if (drop !== null && drop(event, payload)) return false;
          send(event, payload, seq);
          return true;
        },
        close: () => gateway.disconnect(connId),
        // The in-memory socket answers every ping at once.
        ping: () => gateway.noteInbound(connId, true),
      });
    },
    request(connId, method, params) {
      gateway.noteInbound(connId);
      if (method === Methods.CONNECT) throw new GatewayRequestError(ErrorCodes.INVALID_REQUEST, 'already connected');
      if (!KNOWN_METHODS.includes(method)) throw new GatewayRequestError(ErrorCodes.UNKNOWN_METHOD, `unknown method: ${method.slice(0, 200)}`);
      const problem = checkParams(method, params);
      if (problem !== null) throw new GatewayRequestError(ErrorCodes.INVALID_REQUEST, `invalid ${method} params: ${problem}`);
      const p = (params ?? {}) as Record<string, unknown>;
      try {
        return dispatchGatewayMethod(gateway, connId, method, p);
      } catch (error) {
        if (error instanceof GatewayRequestError) throw error;
        throw new GatewayRequestError(ErrorCodes.INTERNAL, `internal error in ${method}`);
      }
    },
    close(connId) {
      gateway.disconnect(connId);
    },
    stop(options) {
      return gateway.shutdown(options);
    },
    clearQueue(sessionKey) {
      return gateway.router.clear(sessionKey);
    },
  };
}


/** The sub-agent spawn tool the harness's agent loop offers in process (LANE-24): OpenClaw's name. */
export { SPAWN_TOOL, withSpawnTool } from '../../reference-impl/spawn-tool.ts';

export function createReferenceAdapter(options: ReferenceAdapterOptions = {}): GatewayAdapter {
  const profile = options.profile ?? REFERENCE_PROFILE;
  return {
    name: options.name ?? 'lanesim-reference',
    ...(options.lanes === false ? {} : { createLaneQueue: () => referenceLaneQueue() }),
    createGateway: ({ config, runtime }) => {
      const gateway = new Gateway({
        ...options.gatewayOptions,
        config: options.mapConfig !== undefined ? options.mapConfig(config) : config,
        runtime: withSpawnTool(options.wrapRuntime !== undefined ? options.wrapRuntime(runtime) : runtime),
        profile,
      });
      const inner = inProcessReferenceGateway(gateway, options.dropEvents?.(config) ?? null);
      return options.wrapGateway !== undefined ? options.wrapGateway(inner, gateway) : inner;
    },
    validateToolCall: options.validateToolCall ?? referenceValidateToolCall(),
  };
}

export const referenceAdapter: GatewayAdapter = createReferenceAdapter();

/** The reference gateway, in-process: `lanesim conform` without --adapter or --url. */
export function referenceTarget(): ConformanceTarget {
  return targetFromAdapter(referenceAdapter);
}
