/**
 * Starts the reference gateway (GatewayServer) on 127.0.0.1, port 0, for
 * integration tests over real sockets, assembled as `lanesim serve` does
 * (src/cli/serve.ts): config from parseConfig, agents played by
 * SimulatedAgents on a scaled clock. The gateway itself runs on the wall
 * clock, so heartbeat intervals and warn thresholds are real milliseconds.
 *
 * Agent turns are chosen from the message text: a message containing
 * `[think=80 stream=400 chunk=20 tokens=3 stall=500]` (every key optional,
 * real ms) thinks 80 ms, then streams for 400 ms, a chunk of 3 tokens every
 * 20 ms, then produces nothing for 500 ms before it ends. No jitter.
 */
import { afterEach } from 'vitest';
import { ClientPool } from './ws-test-client.ts';
import { globalClock } from '../../src/model/clock.ts';
import type { ConfigInput, LanesimConfig } from '../../src/model/config-types.ts';
import { mergeConfig, parseConfig } from '../../src/model/config.ts';
import { Prng } from '../../src/model/prng.ts';
import type { AgentRuntime } from '../../src/reference-impl/gateway.ts';
import { REFERENCE_PROFILE, type GatewayProfile } from '../../src/reference-impl/profile.ts';
import type { Run } from '../../src/reference-impl/run.ts';
import { ToolRegistry } from '../../src/reference-impl/tool-validator.ts';
import { GatewayServer, type GatewayServerOptions } from '../../src/reference-impl/ws-server.ts';
import { SimulatedAgents, type AgentScript, type ScriptChooser, type Step } from '../../src/sim/agent-model.ts';
import { scaledClock } from '../../src/sim/scaled-clock.ts';

/** Short intervals so liveness and warnings happen within a test (real ms). */
export const TEST_CONFIG: ConfigInput = {
  messages: { queue: { mode: 'followup' } },
  agents: { defaults: { lane: { warnThresholdMs: 400 } } },
  gateway: { heartbeat: { intervalMs: 300, pingIntervalMs: 200, deadAfterMs: 600 } },
};

export const DEFAULT_SCALE = 100;

export interface TurnSpec {
  /** Real ms before the first token. */
  thinkMs: number;
  /** Real ms of streaming. */
  streamMs: number;
  /** Real ms between chunks. */
  chunkMs: number;
  tokensPerChunk: number;
  /** Real ms of silence after streaming, before the run ends. */
  stallMs: number;
}

export const DEFAULT_TURN: TurnSpec = { thinkMs: 20, streamMs: 200, chunkMs: 20, tokensPerChunk: 3, stallMs: 0 };

/** The directive of a message text, over DEFAULT_TURN. */
export function turnOf(text: string, base: TurnSpec = DEFAULT_TURN): TurnSpec {
  const match = /\[([^\]]*)\]/.exec(text);
  const spec = { ...base };
  if (match === null) return spec;
  for (const part of (match[1] ?? '').split(/\s+/)) {
    const [key, value] = part.split('=');
    const n = Number(value);
    if (!Number.isFinite(n)) continue;
    if (key === 'think') spec.thinkMs = n;
    else if (key === 'stream') spec.streamMs = n;
    else if (key === 'chunk') spec.chunkMs = n;
    else if (key === 'tokens') spec.tokensPerChunk = n;
    else if (key === 'stall') spec.stallMs = n;
  }
  return spec;
}

/** An AgentScript that takes `spec`'s real times on a clock scaled by `scale`. */
export function turnScript(spec: TurnSpec, scale: number, extra: Step[] = []): AgentScript {
  const chunkModelMs = Math.max(1, spec.chunkMs * scale);
  const chunks = Math.max(1, Math.round(spec.streamMs / Math.max(1, spec.chunkMs)));
  return {
    agentId: 'main',
    model: {
      ttftBaseMs: spec.thinkMs * scale,
      prefillTokensPerSec: 1_000_000,
      tokensPerSec: (spec.tokensPerChunk * 1000) / chunkModelMs,
      jitter: 0,
      chunkMs: chunkModelMs,
    },
    steps: [
      { kind: 'think', inputTokens: 0 },
      { kind: 'stream', tokens: chunks * spec.tokensPerChunk },
      ...(spec.stallMs > 0 ? [{ kind: 'stall', ms: spec.stallMs * scale } as const] : []),
      ...extra,
    ],
  };
}

/** Chooses each run's script from the directive in its prompt. */
export function directiveChooser(scale: number, base: TurnSpec = DEFAULT_TURN): ScriptChooser {
  return (run: Run) => turnScript(turnOf(run.prompt, base), scale);
}

export interface FixtureOptions extends Partial<Omit<GatewayServerOptions, 'config' | 'runtime' | 'profile'>> {
  /** Merged over TEST_CONFIG. */
  config?: ConfigInput;
  /** Replaces TEST_CONFIG entirely (still merged over the defaults by parseConfig). */
  rawConfig?: ConfigInput;
  profile?: GatewayProfile;
  /** A ready runtime, or how to build SimulatedAgents (scale, seed, chooser taking the agents' PRNG). */
  runtime?: AgentRuntime | { scale?: number; seed?: number; chooser?: (run: Run, prng: Prng) => AgentScript };
}

export interface GatewayFixture {
  server: GatewayServer;
  url: string;
  config: LanesimConfig;
  /** The SimulatedAgents, when the fixture built them. */
  agents: SimulatedAgents | null;
  scale: number;
  /** Lines the server logged. */
  logs: string[];
  stop(options?: { abortRunning?: boolean; drainTimeoutMs?: number }): Promise<void>;
}

export async function startGateway(options: FixtureOptions = {}): Promise<GatewayFixture> {
  const { config: override, rawConfig, profile, runtime: runtimeOption, ...serverOptions } = options;
  const config = parseConfig(rawConfig ?? mergeConfig(TEST_CONFIG, override ?? {}));
  let agents: SimulatedAgents | null = null;
  let scale = DEFAULT_SCALE;
  let runtime: AgentRuntime;
  if (runtimeOption !== undefined && 'start' in runtimeOption) {
    runtime = runtimeOption;
  } else {
    scale = runtimeOption?.scale ?? DEFAULT_SCALE;
    const prng = new Prng(runtimeOption?.seed ?? 1);
    const chooser = runtimeOption?.chooser;
    const choose: ScriptChooser = chooser !== undefined ? (run) => chooser(run, prng) : directiveChooser(scale);
    agents = new SimulatedAgents(scaledClock(globalClock, scale), prng, choose);
    runtime = agents;
  }
  const logs: string[] = [];
  const server = await GatewayServer.start({
    config,
    runtime,
    profile: profile ?? REFERENCE_PROFILE,
    tools: new ToolRegistry(),
    handshakeTimeoutMs: 5_000,
    log: (line) => logs.push(line),
    ...serverOptions,
  });
  let stopped: Promise<void> | null = null;
  return {
    server,
    url: server.url,
    config,
    agents,
    scale,
    logs,
    stop: (stopOptions) => (stopped ??= server.stop(stopOptions)),
  };
}

/**
 * One gateway per test and a pool of clients, both closed after each test.
 * Call at the top level of a test file: `const { pool, start } = gatewayPerTest();`.
 */
export function gatewayPerTest(): { pool: ClientPool; start(options?: FixtureOptions): Promise<GatewayFixture> } {
  const pool = new ClientPool();
  let gw: GatewayFixture | null = null;
  afterEach(async () => {
    await pool.closeAll();
    await gw?.stop();
    gw = null;
  });
  return {
    pool,
    start: async (options = {}) => (gw = await startGateway(options)),
  };
}
