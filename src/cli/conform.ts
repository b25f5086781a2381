/**
 * `lanesim conform`: the conformance suite gateway authors run in CI.
 *
 *   lanesim conform                        the reference gateway, in process (the embedded default)
 *   lanesim conform --adapter ./a.ts       your gateway through the in-process adapter (src/conformance/adapter.ts)
 *   lanesim conform --url ws://127.0.0.1:P --token T [--model-control URL] [--time-scale X] [--config FILE]
 *                                          any gateway, black box over WebSocket; --config (JSON5,
 *                                          lanesim's config shape, docs/SPEC.md CFG-1) tells the suite
 *                                          how that gateway is configured (queue mode, cap, drop,
 *                                          warnThresholdMs, heartbeat...), so cases needing a given
 *                                          configuration run instead of being n/a
 *   lanesim conform --openclaw-queue [DIR] OpenClaw's own command queue, in process (lane cases)
 *   lanesim conform --list [--verbose]     the catalogue
 *
 * Common: --only ID[,ID] --skip ID[,ID] (ids or prefixes), --seed N, --json FILE,
 * --junit FILE, --verbose, --case-timeout MS (wall-clock limit per case:
 * default 120000 for --url, 60000 in process). Exit code 1 when a MUST case
 * fails, 2 on bad input.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ALL_CASES } from '../conformance/cases/index.ts';
import type { GatewayAdapter } from '../conformance/adapter.ts';
import { targetFromAdapter } from '../conformance/in-process.ts';
import { jsonReport, junitReport, terminalReport } from '../conformance/report.ts';
import { runSuite, selectCases } from '../conformance/runner.ts';
import { laneTarget, openClawLaneQueue } from '../conformance/targets/lane-adapters.ts';
import { referenceTarget } from '../conformance/targets/reference.ts';
import { blackBoxConfig, websocketTarget } from '../conformance/targets/websocket.ts';
import type { ConformanceTarget } from '../conformance/types.ts';
import { ConfigError, readConfigFile } from '../model/config.ts';
import { parseSeed } from '../model/prng.ts';
import { table } from '../report/format.ts';
import { UsageError } from './errors.ts';

function list(values: string | undefined): string[] | undefined {
  return values === undefined ? undefined : values.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export function catalogue(verbose: boolean): string {
  const rows = [['id', 'level', 'rules', 'needs', 'title']];
  for (const c of ALL_CASES) rows.push([c.id, c.level, c.rules.join(' '), c.requires.join('+'), c.title]);
  const lines = [table(rows), '', `${ALL_CASES.length} cases: ${ALL_CASES.filter((c) => c.level === 'MUST').length} MUST, ${ALL_CASES.filter((c) => c.level === 'SHOULD').length} SHOULD, ${ALL_CASES.filter((c) => c.level === 'INFORMATIONAL').length} INFORMATIONAL`];
  if (verbose) {
    for (const c of ALL_CASES) lines.push('', `${c.id} [${c.level}] ${c.title}`, `  rules: ${c.rules.join(', ')}`, `  ${c.procedure.replace(/\n/g, '\n  ')}`);
  }
  return lines.join('\n');
}

async function loadAdapter(file: string): Promise<GatewayAdapter> {
  const url = pathToFileURL(path.resolve(file)).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`conform: --adapter ${file}: cannot load: ${(error as Error).message.split('\n')[0]}`);
  }
  const adapter = (mod.default ?? mod.adapter) as GatewayAdapter | undefined;
  if (adapter === undefined || typeof adapter !== 'object' || typeof adapter.name !== 'string') {
    throw new UsageError(`conform: --adapter ${file}: the module must export (default) a GatewayAdapter object with a name`);
  }
  if (adapter.createLaneQueue === undefined && adapter.createGateway === undefined && adapter.validateToolCall === undefined) {
    throw new UsageError(`conform: --adapter ${file}: the adapter implements none of createLaneQueue, createGateway, validateToolCall`);
  }
  return adapter;
}

export async function conformCommand(argv: string[], out: (line: string) => void, err: (line: string) => void = (l) => void process.stderr.write(`${l}\n`)): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        list: { type: 'boolean' },
        verbose: { type: 'boolean' },
        adapter: { type: 'string' },
        url: { type: 'string' },
        token: { type: 'string' },
        'model-control': { type: 'string' },
        'time-scale': { type: 'string' },
        'openclaw-queue': { type: 'string' },
        only: { type: 'string' },
        skip: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'string' },
        junit: { type: 'string' },
        'case-timeout': { type: 'string' },
        config: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError(`conform: ${(error as Error).message}`);
  }
  if (values.list) {
    out(catalogue(values.verbose ?? false));
    return 0;
  }
  const chosen = [values.adapter, values.url, values['openclaw-queue']].filter((v) => v !== undefined).length;
  if (chosen > 1) throw new UsageError('conform: choose one of --adapter, --url, --openclaw-queue');
  let seed = 1;
  if (values.seed !== undefined) {
    try {
      seed = parseSeed(values.seed);
    } catch (error) {
      throw new UsageError(`conform: --seed: ${(error as Error).message}`);
    }
  }
  let caseTimeoutMs: number | null = null;
  if (values['case-timeout'] !== undefined) {
    const raw = values['case-timeout'];
    caseTimeoutMs = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(caseTimeoutMs) || caseTimeoutMs < 1 || caseTimeoutMs > 2_147_483_647) {
      throw new UsageError(`conform: --case-timeout must be a whole number of milliseconds from 1 to 2147483647, got ${JSON.stringify(raw)}`);
    }
  }
  if (values.config !== undefined && values.url === undefined) {
    throw new UsageError('conform: --config describes a gateway reached with --url (in-process targets take their configuration from the case)');
  }
  let target: ConformanceTarget;
  let replayPrefix = 'npx lanesim conform';
  if (values.adapter !== undefined) {
    target = targetFromAdapter(await loadAdapter(values.adapter));
    replayPrefix += ` --adapter ${values.adapter}`;
  } else if (values.url !== undefined) {
    if (!/^wss?:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(values.url)) throw new UsageError(`conform: --url must be a ws:// URL on 127.0.0.1 (loopback only), got ${JSON.stringify(values.url)}`);
    const timeScale = values['time-scale'] === undefined ? 1 : Number(values['time-scale']);
    if (!Number.isFinite(timeScale) || timeScale <= 0) throw new UsageError(`conform: --time-scale must be a number > 0, got ${JSON.stringify(values['time-scale'])}`);
    const modelControl = values['model-control'];
    if (modelControl !== undefined && !/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(modelControl)) {
      throw new UsageError(`conform: --model-control must be an http:// URL on 127.0.0.1, got ${JSON.stringify(modelControl)}`);
    }
    let described: ReturnType<typeof blackBoxConfig> | null = null;
    if (values.config !== undefined) {
      try {
        described = blackBoxConfig(await readConfigFile(values.config), values.config);
      } catch (error) {
        if (error instanceof ConfigError) throw new UsageError(`conform: --config: ${error.message}`);
        throw error;
      }
    }
    target = websocketTarget({
      url: values.url,
      timeScale,
      ...(values.token !== undefined ? { token: values.token } : {}),
      ...(modelControl !== undefined ? { modelControlUrl: modelControl } : {}),
      ...(described !== null ? { config: described.config, liveness: described.liveness, facts: described.facts, supports: described.supports } : {}),
    });
    replayPrefix += ` --url ${values.url}${values.token !== undefined ? ' --token <token>' : ''}${modelControl !== undefined ? ` --model-control ${modelControl}` : ''}${timeScale !== 1 ? ` --time-scale ${timeScale}` : ''}${values.config !== undefined ? ` --config ${values.config}` : ''}`;
  } else if (values['openclaw-queue'] !== undefined) {
    const dir = values['openclaw-queue'] === '' ? undefined : values['openclaw-queue'];
    target = laneTarget('openclaw command-queue', () => openClawLaneQueue(dir === undefined ? {} : { packageDir: dir }));
    replayPrefix += ` --openclaw-queue ${values['openclaw-queue']}`;
  } else {
    target = referenceTarget();
  }
  if (caseTimeoutMs !== null) replayPrefix += ` --case-timeout ${caseTimeoutMs}`;
  const only = list(values.only);
  const skip = list(values.skip);
  const selected = selectCases(ALL_CASES, only, skip);
  if (selected.length === 0) throw new UsageError(`conform: --only/--skip select no case (try --list)`);
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  let lastLine = started;
  const report = await runSuite({
    target,
    cases: ALL_CASES,
    only,
    skip,
    seed,
    replayPrefix,
    caseTimeoutMs: caseTimeoutMs ?? (target.kind === 'websocket' ? 120_000 : 60_000),
    onProgress: (done, total, result) => {
      const now = Date.now();
      const line = `[${done}/${total}] ${result.id} ${result.status} (${((now - started) / 1000).toFixed(1)} s)`;
      if (tty) process.stderr.write(`\r\x1b[K${line}${done === total ? '\n' : ''}`);
      else if (now - lastLine > 2_000 || done === total) {
        err(line);
        lastLine = now;
      }
    },
  });
  await target.dispose?.();
  out(terminalReport(report, { verbose: values.verbose ?? false }));
  if (values.json !== undefined) {
    await writeFile(values.json, jsonReport(report));
    out(`json: ${values.json}`);
  }
  if (values.junit !== undefined) {
    await writeFile(values.junit, junitReport(report));
    out(`junit: ${values.junit}`);
  }
  return report.summary.mustFailed > 0 ? 1 : 0;
}
