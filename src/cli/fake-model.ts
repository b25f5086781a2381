/**
 * `lanesim fake-model [--port N] [--script cascade|default|file.json5] [--seed N] [--time-scale X]
 *   [--log-max-entries N] [--log-max-bytes N]`
 *
 * Runs the fake OpenAI-compatible model server on 127.0.0.1 until SIGINT or
 * SIGTERM, then closes it cleanly (in-flight streams ended) and returns 0.
 */
import { parseArgs } from 'node:util';
import { parseSeed } from '../model/prng.ts';
import { DEFAULT_LOG_MAX_BYTES, DEFAULT_LOG_MAX_ENTRIES, DEFAULT_PAGE_MAX_BYTES, startFakeModel } from '../fake-model/server.ts';
import { SCRIPT_NAMES, ScriptError, loadScriptFile, type FakeModelScript, type ScriptName } from '../fake-model/script.ts';
import { UsageError } from './errors.ts';

export const FAKE_MODEL_USAGE = `usage: lanesim fake-model [--port N] [--script ${SCRIPT_NAMES.join('|')}|file.json5] [--seed N] [--time-scale X] [--log-max-entries N] [--log-max-bytes N]
  --port N              TCP port on 127.0.0.1 (default 0: a free one; the URL is printed)
  --script S            built-in script (cascade: seed 004's nested-agent cascade; default: short replies) or a JSON5 file
  --seed N              seed of every duration and filler text (default 1)
  --time-scale X        real-time factor: scripted durations are divided by X (default 1)
  --log-max-entries N   request log entries kept, oldest dropped first (default ${DEFAULT_LOG_MAX_ENTRIES})
  --log-max-bytes N     request log bytes kept, oldest dropped first (default ${DEFAULT_LOG_MAX_BYTES}, at least 4096);
                        GET /control/requests?after=<index>&limit=<n> pages it, ${DEFAULT_PAGE_MAX_BYTES} bytes per reply at most`;

export interface FakeModelCommandOptions {
  /** Stops the server when it resolves (tests); default: the first SIGINT or SIGTERM. */
  stop?: Promise<unknown>;
}

export async function fakeModelCommand(argv: string[], out: (line: string) => void, options: FakeModelCommandOptions = {}): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        script: { type: 'string' },
        seed: { type: 'string' },
        'time-scale': { type: 'string' },
        'log-max-entries': { type: 'string' },
        'log-max-bytes': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(`fake-model: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}`);
  }
  if (values.help) {
    out(FAKE_MODEL_USAGE);
    return 0;
  }
  let port = 0;
  if (values.port !== undefined) {
    port = /^\d+$/.test(values.port.trim()) ? Number(values.port.trim()) : Number.NaN;
    if (!Number.isInteger(port) || port > 65_535) throw new UsageError(`fake-model: --port must be an integer from 0 to 65535, got ${JSON.stringify(values.port)}`);
  }
  let seed = 1;
  if (values.seed !== undefined) {
    try {
      seed = parseSeed(values.seed);
    } catch (error) {
      throw new UsageError(`fake-model: --seed: ${(error as Error).message}`);
    }
  }
  let timeScale = 1;
  const rawScale = values['time-scale'];
  if (rawScale !== undefined) {
    timeScale = rawScale.trim() === '' ? Number.NaN : Number(rawScale);
    if (!Number.isFinite(timeScale) || timeScale <= 0) throw new UsageError(`fake-model: --time-scale must be a number > 0, got ${JSON.stringify(rawScale)}`);
  }
  const count = (flag: string, raw: string | undefined, min: number): number | undefined => {
    if (raw === undefined) return undefined;
    const n = /^\d{1,15}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`fake-model: --${flag} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const logMaxEntries = count('log-max-entries', values['log-max-entries'], 1);
  const logMaxBytes = count('log-max-bytes', values['log-max-bytes'], 4096);
  const scriptArg = values.script ?? 'default';
  let script: FakeModelScript | ScriptName;
  if ((SCRIPT_NAMES as readonly string[]).includes(scriptArg)) script = scriptArg as ScriptName;
  else {
    try {
      script = await loadScriptFile(scriptArg);
    } catch (error) {
      if (error instanceof ScriptError) throw new UsageError(`fake-model: --script ${scriptArg}: ${error.message}`);
      throw error;
    }
  }
  let server;
  try {
    server = await startFakeModel({ port, script, seed, timeScale, logMaxEntries, logMaxBytes });
  } catch (error) {
    throw new UsageError(`fake-model: cannot listen on 127.0.0.1:${port}: ${(error as Error).message}`);
  }
  out(`fake-model listening on ${server.url} (OpenAI base URL ${server.baseUrl}; script ${typeof script === 'string' ? script : scriptArg}, seed ${seed}, time scale ${timeScale})`);
  let stopped: string;
  if (options.stop !== undefined) {
    await options.stop;
    stopped = 'stop requested';
  } else {
    stopped = await new Promise<string>((resolve) => {
      const onSignal = (signal: NodeJS.Signals): void => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve(signal);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
  }
  await server.close();
  const log = server.logStats();
  out(`fake-model closed (${stopped}; ${log.total} requests served${log.dropped > 0 ? `, ${log.dropped} dropped from the request log` : ''})`);
  return 0;
}
