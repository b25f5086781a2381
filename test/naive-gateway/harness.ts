/**
 * Runs the naive gateway (naive-gateway.ts) as a black box: lanesim's fake
 * model on loopback for its agents, and lanesim's WebSocket conformance
 * target pointed at it, told its configuration and what it supports exactly
 * as a gateway author would in a `--config` file.
 */
import { startFakeModel, type FakeModelServer } from '../../src/fake-model/server.ts';
import type { ConfigInput } from '../../src/model/config-types.ts';
import { mergeConfig, parseConfig } from '../../src/model/config.ts';
import type { LanesimConfig } from '../../src/model/config-types.ts';
import { parseSupport } from '../../src/conformance/support.ts';
import { websocketTarget } from '../../src/conformance/targets/websocket.ts';
import type { ConformanceTarget } from '../../src/conformance/types.ts';
import { NaiveGateway, type NaiveFault } from './naive-gateway.ts';

/** The naive gateway's configuration, in session units (what its --config file would say). */
export const NAIVE_CONFIG: ConfigInput = {
  agents: { defaults: { maxConcurrent: 4, lane: { warnThresholdMs: 4_000 } } },
  messages: { queue: { mode: 'followup', cap: 20, drop: 'new' } },
  gateway: { heartbeat: { intervalMs: 15_000, pingIntervalMs: 15_000, deadAfterMs: 45_000 }, tickIntervalMs: 30_000 },
};

/** What it supports (the --config file's `supports` key). */
export const NAIVE_SUPPORTS = {
  queueModes: ['followup'],
  dropPolicies: ['new'],
  channels: false,
  routes: false,
  nestedAgents: false,
  nestedAgentParallel: false,
  subagents: false,
  diagnostics: false,
  queueClear: false,
  shutdown: false,
};

const HANDSHAKE_TIMEOUT_MS = 15_000;
const DELTA_PACING_MS = 150;
export const NAIVE_TOKEN = 'naive-token';

export interface NaiveUnderTest {
  target: ConformanceTarget;
  gateway: NaiveGateway;
  model: FakeModelServer;
  stop(): Promise<void>;
}

/** The naive gateway with `fault` (null: the corrected one), living every duration divided by `scale`. */
export async function startNaive(fault: NaiveFault | null, scale: number): Promise<NaiveUnderTest> {
  const config = parseConfig(NAIVE_CONFIG);
  const model = await startFakeModel({ script: 'default', seed: 1, timeScale: scale });
  const launch = (c: LanesimConfig): Promise<NaiveGateway> => {
    const hb = c.gateway.heartbeat;
    return NaiveGateway.start({
      modelUrl: model.url,
      token: NAIVE_TOKEN,
      fault,
      mainCap: c.agents.defaults.maxConcurrent,
      queueCap: c.messages.queue.cap,
      heartbeatMs: hb.intervalMs / scale,
      pingMs: hb.pingIntervalMs / scale,
      deadAfterMs: hb.deadAfterMs / scale,
      warnThresholdMs: c.agents.defaults.lane.warnThresholdMs / scale,
      tickMs: c.gateway.tickIntervalMs / scale,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS / scale,
      // WS-16 bounds frames on the wire: pacing is real time, never scaled.
      deltaPacingMs: DELTA_PACING_MS,
    });
  };
  const liveness = (c: LanesimConfig) => ({ pingIntervalMs: c.gateway.heartbeat.pingIntervalMs, deadAfterMs: c.gateway.heartbeat.deadAfterMs, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS });
  const gateway = await launch(config);
  const extra = new Set<NaiveGateway>();
  const baseJson = JSON.stringify(config);
  const target = websocketTarget({
    url: gateway.url,
    token: NAIVE_TOKEN,
    modelControlUrl: model.url,
    timeScale: scale,
    name: `naive gateway${fault === null ? '' : ` (${fault})`} x${scale}`,
    config,
    liveness: liveness(config),
    supports: parseSupport(NAIVE_SUPPORTS),
    requestTimeoutMs: 15_000,
    connectTimeoutMs: 15_000,
    // A case asking for another configuration the naive gateway can run (followup, drop new) gets its own instance.
    provision: async (requested) => {
      if (requested === undefined) return null;
      const wanted = parseConfig(mergeConfig(NAIVE_CONFIG, requested as ConfigInput));
      const q = wanted.messages.queue;
      if (JSON.stringify(wanted) === baseJson || q.mode !== 'followup' || q.drop !== 'new' || Object.keys(q.byChannel).length > 0) return null;
      const own = await launch(wanted);
      extra.add(own);
      return { url: own.url, config: wanted, liveness: liveness(wanted), release: async () => { extra.delete(own); await own.stop(); } };
    },
  });
  return {
    target, gateway, model,
    stop: async () => {
      await target.dispose?.();
      await Promise.all([...extra].map((g) => g.stop()));
      await gateway.stop();
      await model.close();
    },
  };
}
