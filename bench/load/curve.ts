/**
 * `npm run bench -- load-curve [options]`: the load bench at several sizes,
 * several repetitions each, the reference and a peer in the same run (same
 * machine, same minute), so a single lucky or unlucky run cannot stand for
 * a gateway.
 *
 *   --sizes 25,100,300      client counts (default 25,100,300)
 *   --reps N                repetitions per size (default 3)
 *   --peer openclaw|bare-ws the peer measured next to the reference in each run (default openclaw)
 *   --streaming-share X     share of clients with a streaming run (default 0.1)
 *   --duration 60s          run phase of each run
 *   --json FILE             the curve (every run's figures, PASS/FAIL and why)
 *
 * Each run is one `npm run bench -- load` child (bench/load/cli.ts), so one
 * run's sockets and processes are gone before the next starts. Per size the
 * report gives the median and the spread (min..max) of worst silence, memory
 * per connection and the 1/s `GET /health` probe, and every run's verdict:
 * a failing run is shown failing, never averaged away.
 *
 * Exit code: 0 when every run finished (whatever its verdicts: the curve is
 * a measurement, the release gate is `load --baseline`), 1 when a run could
 * not run, 2 on bad arguments.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { table } from '../../src/report/format.ts';
import type { LoadReport, TargetResult } from './run.ts';
import { parseDuration } from './shared.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One target's figures in one run: what the curve keeps of a load report. */
export interface CurvePoint {
  target: string;
  label: string;
  pass: boolean;
  failures: string[];
  clients: number;
  connected: number;
  streaming: number;
  /** Longest gap of any client (ms), every frame counted: the bench's verdict. */
  worstSilenceMs: number | null;
  /** The same counting only frames about the client's own session or server-wide ones (what a one-session chat page hears). */
  ownSilenceMs: number | null;
  overBound: number;
  boundMs: number;
  /** RSS delta over the connections, bytes. */
  memoryPerConnection: number | null;
  rssPeak: number | null;
  health: { p50: number; p99: number; max: number; errors: number };
  errors: number;
  unexpectedCloses: number;
}

export interface CurveRun {
  size: number;
  rep: number;
  startedAt: string;
  /** Load average (1 min) when the run started: the machine is shared. */
  loadAverage: number;
  exitCode: number | null;
  /** The run's whole load report (bench/load/run.ts), null when it did not run: the points are read from it. */
  report: LoadReport | null;
  /**
   * Only in a curve written before whole reports were kept (2026-12-05, one run): the points as recorded then, without
   * `ownSilenceMs` (shown as not recorded).
   */
  points?: (Omit<CurvePoint, 'ownSilenceMs'> & { ownSilenceMs?: number | null })[];
}

/** The points of a run: one per target. */
export function pointsOf(run: CurveRun): CurvePoint[] {
  if (run.report !== null && run.report !== undefined) return run.report.targets.map(pointOf);
  return (run.points ?? []).map((p) => ({ ...p, ownSilenceMs: p.ownSilenceMs ?? null }));
}

export interface LoadCurve {
  command: string;
  startedAt: string;
  endedAt: string;
  node: string;
  machine: string;
  sizes: number[];
  reps: number;
  peer: string;
  streamingShare: number;
  durationMs: number;
  runs: CurveRun[];
}

export function pointOf(t: TargetResult): CurvePoint {
  return {
    target: t.target,
    label: t.label,
    pass: t.pass,
    failures: t.failures,
    clients: t.clients,
    connected: t.connected,
    streaming: t.streaming,
    worstSilenceMs: t.worst?.maxGapMs ?? null,
    ownSilenceMs: Number.isFinite(t.clientMaxOwnGap.max) ? t.clientMaxOwnGap.max : null,
    overBound: t.overBound,
    boundMs: t.boundMs + t.toleranceMs,
    memoryPerConnection: t.server.memoryPerConnection,
    rssPeak: t.server.rssPeak,
    health: { p50: t.health.p50, p99: t.health.p99, max: t.health.max, errors: t.health.errors },
    errors: t.errorCount,
    unexpectedCloses: t.closeCount,
  };
}

/** Median and spread of the finite values. */
export function spread(values: readonly (number | null)[]): { median: number; min: number; max: number; n: number } | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const kib = (b: number): string => `${(b / 1024).toFixed(0)} KiB`;
const msf = (v: number): string => `${v.toFixed(1)} ms`;

function spreadText(s: ReturnType<typeof spread>, f: (v: number) => string): string {
  if (s === null) return '-';
  return s.n === 1 ? f(s.median) : `${f(s.median)} (${f(s.min)} .. ${f(s.max)})`;
}

/** The curve as rows: one per size and target (medians with min..max), then one per run. */
export function curveRows(curve: LoadCurve): { summary: string[][]; runs: string[][] } {
  const labels = [...new Set(curve.runs.flatMap((r) => pointsOf(r).map((p) => p.label)))];
  const summary: string[][] = [['clients', 'gateway', 'runs PASS / FAIL', 'worst silence, median (min .. max)', 'own-session silence', 'memory per connection', 'GET /health p50', 'GET /health p99', 'errors + unexpected closes']];
  for (const size of curve.sizes) {
    for (const label of labels) {
      const pts = curve.runs.filter((r) => r.size === size).flatMap((r) => pointsOf(r).filter((p) => p.label === label));
      if (pts.length === 0) continue;
      const pass = pts.filter((p) => p.pass).length;
      summary.push([
        String(size), label, `${pass} / ${pts.length - pass}`,
        spreadText(spread(pts.map((p) => p.worstSilenceMs)), sec),
        spreadText(spread(pts.map((p) => p.ownSilenceMs)), sec),
        spreadText(spread(pts.map((p) => p.memoryPerConnection)), kib),
        spreadText(spread(pts.map((p) => p.health.p50)), msf),
        spreadText(spread(pts.map((p) => p.health.p99)), msf),
        String(pts.reduce((a, p) => a + p.errors + p.unexpectedCloses, 0)),
      ]);
    }
  }
  const runs: string[][] = [['clients', 'rep', 'gateway', 'verdict', 'worst silence', 'clients over the bound', 'own-session silence', 'memory per connection', 'GET /health p50 / p99 / max', 'load average at start']];
  for (const r of curve.runs) {
    const points = pointsOf(r);
    if (points.length === 0) runs.push([String(r.size), String(r.rep), '-', `did not run (exit ${r.exitCode})`, '-', '-', '-', '-', '-', r.loadAverage.toFixed(2)]);
    for (const p of points) {
      runs.push([
        String(r.size), String(r.rep), p.label,
        p.pass ? 'PASS' : `FAIL: ${p.failures.join('; ')}`,
        p.worstSilenceMs === null ? '-' : sec(p.worstSilenceMs),
        `${p.overBound} of ${p.connected}`,
        p.ownSilenceMs === null ? 'not recorded' : `${sec(p.ownSilenceMs)}${p.ownSilenceMs > p.boundMs ? ' (over)' : ''}`,
        p.memoryPerConnection === null ? '-' : kib(p.memoryPerConnection),
        `${msf(p.health.p50)} / ${msf(p.health.p99)} / ${msf(p.health.max)}${p.health.errors > 0 ? ` (${p.health.errors} errors)` : ''}`,
        r.loadAverage.toFixed(2),
      ]);
    }
  }
  return { summary, runs };
}

class UsageError extends Error {}

function parseCurveArgs(argv: string[]): { sizes: number[]; reps: number; peer: string; streamingShare: number; duration: string; durationMs: number; json: string | null } {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { sizes: { type: 'string' }, reps: { type: 'string' }, peer: { type: 'string' }, 'streaming-share': { type: 'string' }, duration: { type: 'string' }, json: { type: 'string' } } }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const sizes = (values.sizes ?? '25,100,300').split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const n = /^\d+$/.test(s) ? Number(s) : NaN;
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--sizes takes whole numbers >= 1, got ${JSON.stringify(s)}`);
    return n;
  });
  if (sizes.length === 0) throw new UsageError('--sizes is empty');
  const reps = values.reps === undefined ? 3 : Number(values.reps);
  if (!Number.isSafeInteger(reps) || reps < 1 || reps > 20) throw new UsageError(`--reps must be 1..20, got ${JSON.stringify(values.reps)}`);
  const peer = values.peer ?? 'openclaw';
  if (peer !== 'openclaw' && peer !== 'bare-ws') throw new UsageError(`--peer must be openclaw or bare-ws, got ${JSON.stringify(peer)}`);
  const streamingShare = values['streaming-share'] === undefined ? 0.1 : Number(values['streaming-share']);
  if (!(streamingShare >= 0 && streamingShare <= 1)) throw new UsageError(`--streaming-share must be 0..1, got ${JSON.stringify(values['streaming-share'])}`);
  const duration = values.duration ?? '60s';
  let durationMs: number;
  try {
    durationMs = parseDuration(duration);
  } catch (error) {
    throw new UsageError(`--duration: ${(error as Error).message}`);
  }
  return { sizes, reps, peer, streamingShare, duration, durationMs, json: values.json ?? null };
}

export async function curveMain(argv: string[]): Promise<number> {
  let o;
  try {
    o = parseCurveArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`bench load-curve: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const curve: LoadCurve = {
    command: `npm run bench -- load-curve ${argv.join(' ')}`.trim(),
    startedAt: new Date().toISOString(),
    endedAt: '',
    node: process.version,
    machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    sizes: o.sizes,
    reps: o.reps,
    peer: o.peer,
    streamingShare: o.streamingShare,
    durationMs: o.durationMs,
    runs: [],
  };
  const tmp = mkdtempSync(join(os.tmpdir(), 'lanesim-curve-'));
  let ok = true;
  try {
    // Sizes interleaved with repetitions (25, 100, 300, 25, ...): a slow hour of the shared machine spreads over every size.
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const size of o.sizes) {
        const out = join(tmp, `run-${size}-${rep}.json`);
        const args = ['tsx', 'bench/main.ts', 'load', '--clients', String(size), '--peer', o.peer, '--streaming-share', String(o.streamingShare), '--duration', o.duration, '--progress', 'none', '--json', out];
        const loadAverage = os.loadavg()[0]!;
        process.stderr.write(`load-curve: ${size} clients, repetition ${rep} of ${o.reps} (load average ${loadAverage.toFixed(2)}) ...\n`);
        const startedAt = new Date().toISOString();
        // Bounded: a run is its connect phase, the run phase and the peer's start; 15 minutes is far past any of them.
        const child = spawnSync('npx', args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 15 * 60_000, killSignal: 'SIGTERM' });
        let report: LoadReport | null = null;
        try {
          report = JSON.parse(readFileSync(out, 'utf8')) as LoadReport;
        } catch {
          ok = false;
          process.stderr.write(`load-curve: ${size} clients, repetition ${rep}: no report (exit ${child.status ?? child.signal})\n`);
        }
        const run: CurveRun = { size, rep, startedAt, loadAverage, exitCode: child.status, report };
        curve.runs.push(run);
        for (const p of pointsOf(run)) process.stderr.write(`  ${p.label}: ${p.pass ? 'PASS' : 'FAIL'}, worst silence ${p.worstSilenceMs === null ? '-' : sec(p.worstSilenceMs)}\n`);
        // Written after every run, so an interrupted curve keeps what it measured.
        curve.endedAt = new Date().toISOString();
        if (o.json !== null) writeFileSync(o.json, `${JSON.stringify(curve, null, 2)}\n`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const rows = curveRows(curve);
  console.log(`\nload curve: ${o.sizes.join(', ')} clients (${(o.streamingShare * 100).toFixed(0)}% streaming), ${o.reps} repetitions, run phase ${o.duration}; reference and ${o.peer} in each run\n`);
  console.log(table(rows.summary));
  console.log('');
  console.log(table(rows.runs));
  if (o.json !== null) console.log(`\ncurve written to ${o.json}`);
  return ok ? 0 : 1;
}
