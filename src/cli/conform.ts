/**
 * `lanesim conform`: the conformance suite gateway authors run in CI.
 * `lanesim conform --help` lists every flag (src/cli/help.ts).
 *
 *   lanesim conform                        the reference gateway, in process (the embedded default)
 *   lanesim conform --adapter ./a.ts       your gateway through the in-process adapter (src/conformance/adapter.ts)
 *   lanesim conform --url ws://127.0.0.1:P --token T [--model-control URL] [--time-scale X] [--config FILE]
 *                                          any gateway, black box over WebSocket (a preflight
 *                                          connects, authenticates and reaches the model first);
 *                                          --url A,B,C --model-control MA,MB,MC: gateways alike, each
 *                                          with its own fake model, so cases using runs go side by side
 *   lanesim conform --openclaw-queue [DIR] OpenClaw's own command queue, in process (lane cases)
 *   lanesim conform --openclaw-tools [DIR] OpenClaw's own validateToolCall, in process (tool.validate cases)
 *   lanesim conform --list | --coverage | --plan
 *
 * Exit code 1 when a MUST case fails, 2 on bad input or a failed preflight.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ALL_CASES } from '../conformance/cases/index.ts';
import type { GatewayAdapter } from '../conformance/adapter.ts';
import { targetFromAdapter } from '../conformance/in-process.ts';
import { loadCoverage, coverageText } from '../conformance/coverage.ts';
import { gatewayPlan, planText } from '../conformance/plan.ts';
import { PreflightError, preflight } from '../conformance/preflight.ts';
import { jsonReport, junitReport, terminalReport } from '../conformance/report.ts';
import { runSuite, selectCases, type SuiteReport } from '../conformance/runner.ts';
import { laneTarget, openClawLaneQueue, openClawQueueDir, openClawToolTarget } from '../conformance/targets/lane-adapters.ts';
import { transcriptFileName } from '../conformance/transcript.ts';
import { conformanceHtml } from '../report/conformance-html.ts';
import { referenceTarget } from '../conformance/targets/reference.ts';
import { blackBoxConfig, websocketTarget } from '../conformance/targets/websocket.ts';
import type { ConformanceTarget } from '../conformance/types.ts';
import { ConfigError, readConfigFile } from '../model/config.ts';
import { parseSeed } from '../model/prng.ts';
import { table } from '../report/format.ts';
import { UsageError } from './errors.ts';
import { exploreCommand } from './conform-explore.ts';

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
    // TypeScript adapters only: tsx's loader is registered for them, and only then (a .js/.mjs adapter never loads tsx).
    if (/\.(ts|mts|cts|tsx)$/i.test(file)) {
      const { register } = (await import('tsx/esm/api')) as { register: () => unknown };
      register();
    }
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

/** `--openclaw-queue` may come without its folder (the README's form): it then takes the peer install's. */
function optionalDirFlags(argv: readonly string[]): string[] {
  return argv.map((arg, i) => ((arg === '--openclaw-queue' || arg === '--openclaw-tools') && (i + 1 >= argv.length || argv[i + 1]!.startsWith('-')) ? `${arg}=` : arg));
}

function positiveInt(flag: string, raw: string, max: number): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new UsageError(`conform: ${flag} must be a whole number from 1 to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

export async function conformCommand(argv: string[], out: (line: string) => void, err: (line: string) => void = (l) => void process.stderr.write(`${l}\n`)): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: optionalDirFlags(argv),
      options: {
        list: { type: 'boolean' },
        coverage: { type: 'boolean' },
        plan: { type: 'boolean' },
        verbose: { type: 'boolean' },
        adapter: { type: 'string' },
        url: { type: 'string' },
        token: { type: 'string' },
        'model-control': { type: 'string' },
        'time-scale': { type: 'string' },
        'openclaw-queue': { type: 'string' },
        'openclaw-tools': { type: 'string' },
        only: { type: 'string' },
        skip: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'string' },
        junit: { type: 'string' },
        html: { type: 'string' },
        transcript: { type: 'string' },
        concurrency: { type: 'string' },
        'case-timeout': { type: 'string' },
        config: { type: 'string' },
        // The explorer (src/cli/conform-explore.ts).
        explore: { type: 'string' },
        'explore-only': { type: 'boolean' },
        replay: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError(`conform: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}`);
  }
  const chosenViews = [values.list, values.coverage, values.plan].filter((v) => v === true).length;
  if (chosenViews > 1) throw new UsageError('conform: choose one of --list, --coverage, --plan');
  if (values.list) {
    out(catalogue(values.verbose ?? false));
    return 0;
  }
  if (values.coverage) {
    out(coverageText(loadCoverage(ALL_CASES)));
    return 0;
  }
  if (values.plan) {
    out(planText(await gatewayPlan(ALL_CASES), ALL_CASES.length));
    return 0;
  }
  const chosen = [values.adapter, values.url, values['openclaw-queue'], values['openclaw-tools']].filter((v) => v !== undefined).length;
  if (chosen > 1) throw new UsageError('conform: choose one of --adapter, --url, --openclaw-queue, --openclaw-tools');
  let seed = 1;
  if (values.seed !== undefined) {
    try {
      seed = parseSeed(values.seed);
    } catch (error) {
      throw new UsageError(`conform: --seed: ${(error as Error).message}`);
    }
  }
  const caseTimeoutMs = values['case-timeout'] === undefined ? null : positiveInt('--case-timeout', values['case-timeout'], 2_147_483_647);
  const concurrencyFlag = values.concurrency === undefined ? null : positiveInt('--concurrency', values.concurrency, 64);
  if (values.config !== undefined && values.url === undefined) {
    throw new UsageError('conform: --config describes a gateway reached with --url (in-process targets take their configuration from the case)');
  }
  for (const flag of ['token', 'model-control', 'time-scale'] as const) {
    if (values[flag] !== undefined && values.url === undefined) throw new UsageError(`conform: --${flag} goes with --url (a gateway over WebSocket)`);
  }
  let target: ConformanceTarget;
  /** More gateways like `target` (--url A,B,...). */
  let pool: ConformanceTarget[] = [];
  let replayPrefix = 'npx lanesim conform';
  if (values.adapter !== undefined) {
    target = targetFromAdapter(await loadAdapter(values.adapter));
    replayPrefix += ` --adapter ${values.adapter}`;
  } else if (values.url !== undefined) {
    // --url A[,B...]: several gateways alike (same implementation and configuration, each with its own
    // fake model: --model-control MA[,MB...] in the same order) let the cases that use runs go side by side.
    const urls = values.url.split(',').map((u) => u.trim());
    for (const url of urls) {
      if (!/^wss?:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(url)) throw new UsageError(`conform: --url must be a ws:// URL on 127.0.0.1 (loopback only), got ${JSON.stringify(url)}`);
    }
    if (new Set(urls).size !== urls.length) throw new UsageError(`conform: --url names the same gateway twice: ${values.url}`);
    const timeScale = values['time-scale'] === undefined ? 1 : Number(values['time-scale']);
    if (!Number.isFinite(timeScale) || timeScale <= 0) throw new UsageError(`conform: --time-scale must be a number > 0, got ${JSON.stringify(values['time-scale'])}`);
    const controls = values['model-control']?.split(',').map((u) => u.trim());
    for (const control of controls ?? []) {
      if (!/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(control)) throw new UsageError(`conform: --model-control must be an http:// URL on 127.0.0.1, got ${JSON.stringify(control)}`);
    }
    if (controls !== undefined && controls.length !== urls.length) {
      throw new UsageError(`conform: ${urls.length} --url gateway(s) but ${controls.length} --model-control URL(s): each gateway needs its own fake model, in the same order`);
    }
    if (controls !== undefined && new Set(controls).size !== controls.length) throw new UsageError(`conform: --model-control names the same fake model twice (each gateway needs its own): ${values['model-control']}`);
    let described: ReturnType<typeof blackBoxConfig> | null = null;
    if (values.config !== undefined) {
      try {
        described = blackBoxConfig(await readConfigFile(values.config), values.config);
      } catch (error) {
        if (error instanceof ConfigError) throw new UsageError(`conform: --config: ${error.message}`);
        throw error;
      }
    }
    // One connection, authenticated, and the model's control URL, before any case: one clear line instead of a hundred errors.
    for (const [i, url] of urls.entries()) {
      try {
        await preflight({
          url,
          timeScale,
          ...(values.token !== undefined ? { token: values.token } : {}),
          ...(controls !== undefined ? { modelControlUrl: controls[i]! } : {}),
        });
      } catch (error) {
        if (error instanceof PreflightError) throw new UsageError(`conform: preflight: ${error.message}`);
        throw error;
      }
    }
    const targets = urls.map((url, i) => websocketTarget({
      url,
      timeScale,
      ...(values.token !== undefined ? { token: values.token } : {}),
      ...(controls !== undefined ? { modelControlUrl: controls[i]! } : {}),
      ...(described !== null ? { config: described.config, liveness: described.liveness, facts: described.facts, supports: described.supports } : {}),
    }));
    target = targets[0]!;
    pool = targets.slice(1);
    // A replay runs one case: the first gateway is enough.
    replayPrefix += ` --url ${urls[0]}${values.token !== undefined ? ' --token <token>' : ''}${controls !== undefined ? ` --model-control ${controls[0]}` : ''}${timeScale !== 1 ? ` --time-scale ${timeScale}` : ''}${values.config !== undefined ? ` --config ${values.config}` : ''}`;
  } else if (values['openclaw-queue'] !== undefined) {
    const given = values['openclaw-queue'] === '' ? undefined : values['openclaw-queue'];
    const dir = openClawQueueDir(given);
    if (!existsSync(path.join(dir, 'package.json'))) {
      throw new UsageError(`conform: --openclaw-queue: no OpenClaw package at ${dir} (install it with: npm run peer:openclaw -- install, or pass --openclaw-queue DIR)`);
    }
    target = laneTarget('openclaw command-queue', () => openClawLaneQueue({ packageDir: dir }));
    replayPrefix += ` --openclaw-queue${given !== undefined ? ` ${given}` : ''}`;
  } else if (values['openclaw-tools'] !== undefined) {
    const given = values['openclaw-tools'] === '' ? undefined : values['openclaw-tools'];
    try {
      target = await openClawToolTarget({ packageDir: openClawQueueDir(given) });
    } catch (error) {
      throw new UsageError(`conform: --openclaw-tools: ${(error as Error).message.split('\n')[0]}`);
    }
    replayPrefix += ` --openclaw-tools${given !== undefined ? ` ${given}` : ''}`;
  } else {
    target = referenceTarget();
  }
  if (concurrencyFlag !== null && concurrencyFlag > 1 && target.kind !== 'websocket') {
    throw new UsageError('conform: --concurrency above 1 needs --url: in-process cases share one fake clock and run one at a time');
  }
  // Over WebSocket: the connection-level cases beside one case using runs per gateway.
  const concurrency = concurrencyFlag ?? (target.kind === 'websocket' ? DEFAULT_WS_CONCURRENCY + pool.length : 1);
  if (caseTimeoutMs !== null) replayPrefix += ` --case-timeout ${caseTimeoutMs}`;
  if (values.replay !== undefined || values['explore-only'] === true) {
    return exploreCommand({ target, explore: values.explore, replay: values.replay, seed, replayPrefix, out, err });
  }
  const only = list(values.only);
  const skip = list(values.skip);
  const selected = selectCases(ALL_CASES, only, skip);
  if (selected.length === 0) throw new UsageError(`conform: --only/--skip select no case (try --list)`);
  if (values.transcript !== undefined) await mkdir(values.transcript, { recursive: true });
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
    concurrency,
    pool,
    transcripts: values.transcript !== undefined || values.html !== undefined ? 'all' : 'failed',
    // Over WebSocket a case may watch a real gateway for minutes (a 120 s model stall, a dead peer up to 2 x its timeout).
    caseTimeoutMs: caseTimeoutMs ?? (target.kind === 'websocket' ? 300_000 : 60_000),
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
  const exploreCode = values.explore !== undefined ? await exploreCommand({ target, explore: values.explore, replay: undefined, seed, replayPrefix, out, err }) : 0;
  await target.dispose?.();
  for (const extra of pool) await extra.dispose?.();
  out(terminalReport(report, { verbose: values.verbose ?? false }));
  if (values.transcript !== undefined) {
    for (const r of report.results) {
      await writeFile(path.join(values.transcript, transcriptFileName(r.id)), `${JSON.stringify({ id: r.id, title: r.title, level: r.level, rules: r.rules, status: r.status, reason: r.reason, checks: r.checks, replay: r.replay, seed: r.seed, transcript: r.transcript ?? null }, null, 2)}\n`);
    }
    out(`transcripts: ${values.transcript} (one JSON file per case)`);
  }
  if (values.json !== undefined) {
    await writeFile(values.json, jsonReport(values.transcript !== undefined || values.html !== undefined ? withFailedTranscriptsOnly(report) : report));
    out(`json: ${values.json}`);
  }
  if (values.junit !== undefined) {
    await writeFile(values.junit, junitReport(report));
    out(`junit: ${values.junit}`);
  }
  if (values.html !== undefined) {
    await writeFile(values.html, conformanceHtml(report, values.transcript !== undefined ? { transcriptDir: path.relative(path.dirname(path.resolve(values.html)), path.resolve(values.transcript)) } : {}));
    out(`html: ${values.html}`);
  }
  return report.summary.mustFailed > 0 || exploreCode !== 0 ? 1 : 0;
}

/** Cases run at once over WebSocket unless --concurrency says otherwise (plus one per extra --url gateway). */
export const DEFAULT_WS_CONCURRENCY = 4;

/** The JSON report keeps the transcript of every failed case (the others are in --transcript DIR / --html). */
function withFailedTranscriptsOnly(report: SuiteReport): SuiteReport {
  return { ...report, results: report.results.map((r) => (r.status === 'fail' || r.status === 'error' ? r : (({ transcript: _t, ...rest }) => rest)(r))) };
}
