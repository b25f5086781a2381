/**
 * `npm run bench -- load [options]`: the real-WebSocket load bench.
 *
 *   --clients N             concurrent clients (default 1000)
 *   --streaming-share X     share of clients with a streaming run (default 0.1)
 *   --duration 60s          run phase after every client is connected and waiting
 *   --heartbeat-ms MS       the silence bound (HB-1), 15000 by default; the
 *                           gateway's ping/tick/lane warnings scale with it
 *   --tolerance-ms MS       pass if every client's longest gap <= bound + this (250)
 *   --url ws://... --token T  target another gateway instead of the reference
 *   --peer openclaw|bare-ws run the same workload against a peer too (repeatable
 *                           or comma-separated); columns side by side with ratios
 *   --only a,b              run just these targets (reference, bare-ws, openclaw, url), e.g. to size a peer
 *   --http-rate R           autocannon requests/s on GET /health + POST /hooks/message (200; 0: none)
 *   --workers N             client worker processes (default: one per 7,000 clients)
 *   --json out.json         the full report
 *   --markdown              also print the side-by-side table as markdown
 *   --baseline FILE         release gate: compare ratios with FILE (adds the bare-ws peer)
 *   --write-baseline FILE   write this run's ratios as a baseline (needs bare-ws)
 *   --cpu-prof DIR          V8 CPU profile of the reference gateway child into DIR
 *   --server-node-args=...  extra node flags for the server child (e.g. --server-node-args=--trace-gc)
 *   --server-log FILE       append the server child's output to FILE
 *   --profile openclaw-today  the reference gateway without heartbeats (the bench must fail it)
 *   --progress auto|bar|lines|none
 *
 * Exit code: 0 when the primary target (the reference, or --url) passes and
 * the gate (if any) passes; 1 otherwise; 2 on bad arguments. Peers that miss
 * the bound (OpenClaw does, by design of its 30 s tick) do not fail the run.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_OPTIONS, killAllChildren, runLoad, type LoadOptions, type TargetKind } from './run.ts';
import { baselineFrom, compareBaseline, formatReport, markdownTable, primary, readBaseline, writeBaseline } from './report.ts';
import { parseDuration } from './shared.ts';

class UsageError extends Error {}

function num(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isFinite(v)) throw new UsageError(`--${name} must be a number, got ${JSON.stringify(text)}`);
  return v;
}

export function parseLoadArgs(argv: string[]): { options: LoadOptions; json: string | null; baseline: string | null; writeBaselineTo: string | null; markdown: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        clients: { type: 'string' },
        'streaming-share': { type: 'string' },
        duration: { type: 'string' },
        'heartbeat-ms': { type: 'string' },
        'tolerance-ms': { type: 'string' },
        url: { type: 'string' },
        token: { type: 'string' },
        peer: { type: 'string', multiple: true },
        only: { type: 'string' },
        'http-rate': { type: 'string' },
        workers: { type: 'string' },
        'connect-concurrency': { type: 'string' },
        json: { type: 'string' },
        markdown: { type: 'boolean' },
        baseline: { type: 'string' },
        'write-baseline': { type: 'string' },
        'cpu-prof': { type: 'string' },
        'server-node-args': { type: 'string' },
        'server-log': { type: 'string' },
        profile: { type: 'string' },
        progress: { type: 'string' },
        seed: { type: 'string' },
        'no-queue-second': { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const peers = (values.peer ?? []).flatMap((p) => p.split(',')).map((p) => p.trim()).filter((p) => p !== '');
  for (const p of peers) if (p !== 'openclaw' && p !== 'bare-ws') throw new UsageError(`--peer must be openclaw or bare-ws, got ${JSON.stringify(p)}`);
  const targets: TargetKind[] = [values.url === undefined ? 'reference' : 'url'];
  if (values.baseline !== undefined || values['write-baseline'] !== undefined) if (!peers.includes('bare-ws')) peers.unshift('bare-ws');
  for (const p of peers) if (!targets.includes(p as TargetKind)) targets.push(p as TargetKind);
  if (values.only !== undefined) {
    // Just these targets (e.g. sizing a peer on its own): reference, bare-ws, openclaw, url.
    targets.length = 0;
    for (const t of values.only.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
      if (!['reference', 'bare-ws', 'openclaw', 'url'].includes(t)) throw new UsageError(`--only takes reference, bare-ws, openclaw or url, got ${JSON.stringify(t)}`);
      targets.push(t as TargetKind);
    }
  }
  let durationMs = DEFAULT_OPTIONS.durationMs;
  try {
    if (values.duration !== undefined) durationMs = parseDuration(values.duration);
  } catch (error) {
    throw new UsageError(`--duration: ${(error as Error).message}`);
  }
  const profile = values.profile ?? 'reference';
  if (profile !== 'reference' && profile !== 'openclaw-today') throw new UsageError(`--profile must be reference or openclaw-today, got ${JSON.stringify(profile)}`);
  const progress = values.progress ?? 'auto';
  if (!['auto', 'bar', 'lines', 'none'].includes(progress)) throw new UsageError(`--progress must be auto, bar, lines or none, got ${JSON.stringify(progress)}`);
  const options: LoadOptions = {
    ...DEFAULT_OPTIONS,
    clients: num('clients', values.clients, DEFAULT_OPTIONS.clients),
    streamingShare: num('streaming-share', values['streaming-share'], DEFAULT_OPTIONS.streamingShare),
    durationMs,
    heartbeatMs: num('heartbeat-ms', values['heartbeat-ms'], DEFAULT_OPTIONS.heartbeatMs),
    toleranceMs: num('tolerance-ms', values['tolerance-ms'], DEFAULT_OPTIONS.toleranceMs),
    targets,
    url: values.url ?? null,
    token: values.token ?? null,
    httpRate: num('http-rate', values['http-rate'], DEFAULT_OPTIONS.httpRate),
    workers: values.workers === undefined ? null : num('workers', values.workers, 1),
    connectConcurrency: num('connect-concurrency', values['connect-concurrency'], DEFAULT_OPTIONS.connectConcurrency),
    queueSecond: values['no-queue-second'] !== true,
    seed: num('seed', values.seed, DEFAULT_OPTIONS.seed),
    cpuProfDir: values['cpu-prof'] ?? null,
    serverNodeArgs: (values['server-node-args'] ?? '').split(' ').filter((a) => a !== ''),
    serverLog: values['server-log'] ?? null,
    profile,
    progress: progress as LoadOptions['progress'],
  };
  return { options, json: values.json ?? null, baseline: values.baseline ?? null, writeBaselineTo: values['write-baseline'] ?? null, markdown: values.markdown === true };
}

export async function loadMain(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseLoadArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`bench load: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\nbench load: ${signal}: stopping every child\n`);
    killAllChildren();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const command = `npm run bench -- load ${argv.join(' ')}`.trim();
  let report;
  try {
    report = await runLoad(parsed.options);
  } catch (error) {
    if (error instanceof RangeError) {
      process.stderr.write(`bench load: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  console.log(`\n${formatReport(report)}`);
  if (parsed.markdown) console.log(`\n${markdownTable(report)}`);
  let ok = primary(report)?.pass ?? false;
  if (parsed.baseline !== null) {
    const gate = compareBaseline(report, await readBaseline(parsed.baseline));
    console.log(`\n${gate.text}`);
    if (!gate.ok) ok = false;
  }
  if (parsed.writeBaselineTo !== null) {
    await writeBaseline(parsed.writeBaselineTo, baselineFrom(report, command));
    console.log(`baseline written to ${parsed.writeBaselineTo}`);
  }
  if (parsed.json !== null) {
    await writeFile(parsed.json, `${JSON.stringify({ command, ...report }, null, 2)}\n`);
    console.log(`report written to ${parsed.json}`);
  }
  return ok ? 0 : 1;
}
