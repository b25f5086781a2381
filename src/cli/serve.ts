/**
 * `lanesim serve [--port N] [--token T] [--config file.json5] [--model-url URL]
 *   [--time-scale X] [--profile reference|openclaw-today] [--seed N]`
 *
 * Runs the reference gateway on ws://127.0.0.1:<port>. Agent runs are played
 * by the in-process modelled agents (scaled by --time-scale), or by a real
 * OpenAI-compatible endpoint (--model-url, e.g. `lanesim fake-model`).
 * Stops gracefully on SIGINT/SIGTERM (WS-23): the handler is installed
 * before the gateway starts (a signal at any moment after the listening line
 * stops it gracefully), and the process exits at most EXIT_GRACE_MS after the
 * stop finished, whatever still holds the event loop (a model client's
 * keep-alive socket, the webchat bundler).
 */
import { parseArgs } from 'node:util';
import { globalClock } from '../model/clock.ts';
import { ConfigError, loadConfigFile, parseConfig } from '../model/config.ts';
import type { LanesimConfig } from '../model/config-types.ts';
import { Prng, parseSeed } from '../model/prng.ts';
import type { AgentRuntime } from '../reference-impl/gateway.ts';
import { OPENCLAW_TODAY_PROFILE, REFERENCE_PROFILE, type GatewayProfile } from '../reference-impl/profile.ts';
import { ToolRegistry } from '../reference-impl/tool-validator.ts';
import { GatewayServer, type GatewayServerOptions } from '../reference-impl/ws-server.ts';
import { SimulatedAgents } from '../sim/agent-model.ts';
import { scaledClock } from '../sim/scaled-clock.ts';
import { quickTurn } from '../scenarios/scripts.ts';
import { webchatHttpHandler, webchatUrl } from '../webchat/server.ts';
import { UsageError } from './errors.ts';

/** After "stopped", the process exits within this even if a library still holds the event loop. */
export const EXIT_GRACE_MS = 500;

export interface ServeOptions {
  port: number;
  token: string | null;
  config: LanesimConfig;
  profile: GatewayProfile;
  modelUrl: string | null;
  timeScale: number;
  seed: number;
}

export async function buildRuntime(options: Pick<ServeOptions, 'modelUrl' | 'timeScale' | 'seed'>, tools: ToolRegistry): Promise<AgentRuntime> {
  if (options.modelUrl !== null) {
    const { HttpModelRuntime } = await import('../reference-impl/http-model-runtime.ts');
    const { withSpawnTool } = await import('../reference-impl/spawn-tool.ts');
    // The sub-agent spawn tool (LANE-24) next to the agent loop's own sessions_send.
    return withSpawnTool(new HttpModelRuntime({ baseUrl: options.modelUrl, tools }));
  }
  const prng = new Prng(options.seed);
  const clock = options.timeScale === 1 ? globalClock : scaledClock(globalClock, options.timeScale);
  return new SimulatedAgents(clock, prng, () => quickTurn(prng));
}

export async function startServer(options: ServeOptions, extra: Partial<GatewayServerOptions> = {}): Promise<GatewayServer> {
  const tools = new ToolRegistry();
  const runtime = await buildRuntime(options, tools);
  return GatewayServer.start({
    config: options.config,
    runtime,
    profile: options.profile,
    port: options.port,
    token: options.token,
    tools,
    ...extra,
  });
}

export async function serveCommand(argv: string[], out: (line: string) => void): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        token: { type: 'string' },
        config: { type: 'string' },
        'model-url': { type: 'string' },
        'time-scale': { type: 'string' },
        profile: { type: 'string' },
        seed: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError(`serve: ${(error as Error).message}`);
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`serve: --port must be an integer from 0 to 65535, got ${JSON.stringify(values.port)}`);
  const timeScale = values['time-scale'] === undefined ? 1 : Number(values['time-scale']);
  if (!Number.isFinite(timeScale) || timeScale <= 0) throw new UsageError(`serve: --time-scale must be a number > 0, got ${JSON.stringify(values['time-scale'])}`);
  const profileName = values.profile ?? 'reference';
  const profile = profileName === 'reference' ? REFERENCE_PROFILE : profileName === 'openclaw-today' ? OPENCLAW_TODAY_PROFILE : null;
  if (profile === null) throw new UsageError(`serve: --profile must be reference or openclaw-today, got ${JSON.stringify(profileName)}`);
  let seed = 1;
  try {
    if (values.seed !== undefined) seed = parseSeed(values.seed);
  } catch (error) {
    throw new UsageError(`serve: --seed: ${(error as Error).message}`);
  }
  let config: LanesimConfig;
  try {
    config = values.config === undefined ? parseConfig({}) : await loadConfigFile(values.config);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  const modelUrl = values['model-url'] ?? null;
  if (modelUrl !== null && !/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(modelUrl)) {
    throw new UsageError(`serve: --model-url must be an http:// URL on 127.0.0.1, got ${JSON.stringify(modelUrl)}`);
  }
  // The signal handler comes first: a SIGTERM while the server starts, or the instant after the
  // listening line, is a graceful stop, never Node's default (exit without stopping).
  let signalled: (() => void) | null = null;
  let signalledEarly = false;
  const onSignal = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (signalled === null) signalledEarly = true;
    else signalled();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let server: GatewayServer;
  try {
    server = await startServer(
      { port, token: values.token ?? null, config, profile, modelUrl, timeScale, seed },
      { log: (line) => process.stderr.write(`${line}\n`), http: webchatHttpHandler() },
    );
  } catch (error) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (error instanceof RangeError) throw new UsageError(`serve: ${error.message}`);
    throw error;
  }
  const stopped = new Promise<void>((resolve) => {
    signalled = (): void => {
      out('stopping: refusing new work, settling queued messages, aborting runs ...');
      void server.stop({ abortRunning: true }).then(resolve);
    };
  });
  out(`lanesim gateway (${profile.name}) listening on ${server.url}${values.token ? ' (token required)' : ''}`);
  out(`webchat: ${webchatUrl(server.port, values.token ?? null)}`);
  out(`agents: ${modelUrl ?? `in-process model, time scale ${timeScale}`}; stop with Ctrl-C`);
  if (signalledEarly) signalled!();
  await stopped;
  out('stopped');
  // Nothing of the gateway is left (its timers are cleared, WS-23); a library's idle keep-alive
  // socket or helper process may still be: the process ends within EXIT_GRACE_MS regardless.
  setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_GRACE_MS).unref();
  return 0;
}
