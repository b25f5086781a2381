/**
 * `lanesim serve [--port N] [--token T] [--config file.json5] [--model-url URL]
 *   [--time-scale X] [--profile reference|openclaw-today] [--seed N]`
 *
 * Runs the reference gateway on ws://127.0.0.1:<port>. Agent runs are played
 * by the in-process modelled agents (scaled by --time-scale), or by a real
 * OpenAI-compatible endpoint (--model-url, e.g. `lanesim fake-model`).
 * Stops gracefully on SIGINT/SIGTERM (WS-23).
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
    return new HttpModelRuntime({ baseUrl: options.modelUrl, tools });
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
  const server = await startServer({ port, token: values.token ?? null, config, profile, modelUrl, timeScale, seed }, { log: (line) => process.stderr.write(`${line}\n`), http: webchatHttpHandler() });
  out(`lanesim gateway (${profile.name}) listening on ${server.url}${values.token ? ' (token required)' : ''}`);
  out(`webchat: ${webchatUrl(server.port, values.token ?? null)}`);
  out(`agents: ${modelUrl ?? `in-process model, time scale ${timeScale}`}; stop with Ctrl-C`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      out('stopping: refusing new work, settling queued messages, aborting runs ...');
      void server.stop({ abortRunning: true }).then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  out('stopped');
  return 0;
}
