/**
 * The load bench's report: one column per target side by side (with ratios
 * to the reference gateway), a markdown version for docs/PERFORMANCE.md, and
 * the release gate: the run's ratios against a committed baseline.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { table } from '../../src/report/format.ts';
import type { LoadReport, TargetResult } from './run.ts';

function n(v: number, digits = 0): string {
  return Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-';
}

function s3(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) ? '-' : `${(ms / 1000).toFixed(3)} s`;
}

function ms(v: number | undefined, digits = 1): string {
  return v === undefined || !Number.isFinite(v) ? '-' : `${v.toFixed(digits)} ms`;
}

function mib(bytes: number | null): string {
  return bytes === null ? '-' : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function kib(bytes: number | null): string {
  return bytes === null ? '-' : `${(bytes / 1024).toFixed(1)} KiB`;
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '-';
  return `${(a / b).toFixed(2)}x`;
}

/** The primary target: the reference gateway, else the first one. */
export function primary(report: LoadReport): TargetResult | undefined {
  return report.targets.find((t) => t.target === 'reference') ?? report.targets.find((t) => t.target === 'url') ?? report.targets[0];
}

interface Row {
  label: string;
  cell: (t: TargetResult) => string;
  /** A number to put the reference in ratio with (same direction). */
  value?: (t: TargetResult) => number | null | undefined;
}

const ROWS: Row[] = [
  { label: 'verdict', cell: (t) => (t.pass ? 'PASS' : `FAIL: ${t.failures.join('; ')}`) },
  { label: 'clients connected / requested', cell: (t) => `${n(t.connected)} / ${n(t.clients)} (${n(t.streaming)} streaming, ${t.workers} workers)` },
  { label: 'worst silence (longest gap of any client)', cell: (t) => `${s3(t.worst?.maxGapMs)} (bound ${s3(t.boundMs + t.toleranceMs)})`, value: (t) => t.worst?.maxGapMs },
  { label: 'worst client', cell: (t) => (t.worst === null ? '-' : `#${t.worst.index} ${t.worst.streaming ? 'streaming' : 'waiting'}${t.worst.open ? ', silence still open at the end' : ''}, gap ended ${t.worst.secondsIntoRun.toFixed(1)} s into the run`) },
  { label: 'clients over the bound', cell: (t) => n(t.overBound) },
  {
    label: 'worst silence, own-session + server-wide frames only (p99 / max)',
    cell: (t) => `${s3(t.clientMaxOwnGap.p99)} / ${s3(t.clientMaxOwnGap.max)}`,
    value: (t) => t.clientMaxOwnGap.max,
  },
  { label: 'longest gap per client p50 / p99 / max', cell: (t) => `${s3(t.clientMaxGap.p50)} / ${s3(t.clientMaxGap.p99)} / ${s3(t.clientMaxGap.max)}` },
  { label: 'gaps, waiting clients p50 / p99 / max', cell: (t) => `${s3(t.gapsWaiting.p50)} / ${s3(t.gapsWaiting.p99)} / ${s3(t.gapsWaiting.max)} (${n(t.gapsWaiting.count)})` },
  { label: 'gaps, streaming clients p50 / p99 / max', cell: (t) => `${s3(t.gapsStreaming.p50)} / ${s3(t.gapsStreaming.p99)} / ${s3(t.gapsStreaming.max)} (${n(t.gapsStreaming.count)})` },
  { label: 'frames/s, MB/s to clients (run phase)', cell: (t) => `${n(t.framesPerSec)} /s, ${(t.bytesPerSec / 1e6).toFixed(2)} MB/s`, value: (t) => t.framesPerSec },
  { label: 'heartbeat / tick frames', cell: (t) => `${n(t.frameKinds['heartbeat'] ?? 0)} / ${n(t.frameKinds['tick'] ?? 0)}` },
  { label: 'server RSS start / end / peak', cell: (t) => `${mib(t.server.rssStart)} / ${mib(t.server.rssEnd)} / ${mib(t.server.rssPeak)}` },
  { label: 'server memory per connection (RSS delta / connections)', cell: (t) => kib(t.server.memoryPerConnection), value: (t) => t.server.memoryPerConnection },
  {
    label: 'server JS heap per connection (after forced GCs; at the end)',
    cell: (t) => (t.server.heapPerConnection === null ? 'n/a' : `${kib(t.server.heapPerConnection)} (${mib(t.server.heapUsedAfterGc)})`),
    value: (t) => t.server.heapPerConnection,
  },
  {
    label: 'server event-loop delay, run p50 / p99 / max',
    cell: (t) => (t.server.lagRun === null ? 'n/a (not instrumentable: see /health RTT)' : `${ms(t.server.lagRun.p50)} / ${ms(t.server.lagRun.p99)} / ${ms(t.server.lagRun.max)}`),
    value: (t) => t.server.lagRun?.p99,
  },
  { label: 'server event-loop delay, connect phase max', cell: (t) => (t.server.lagConnect === null ? 'n/a' : ms(t.server.lagConnect.max)) },
  { label: 'server CPU during the run (cores)', cell: (t) => (t.server.cpuCoresRun === null ? '-' : t.server.cpuCoresRun.toFixed(2)), value: (t) => t.server.cpuCoresRun },
  { label: 'GET /health RTT, 1/s probe, p50 / p99 / max', cell: (t) => `${ms(t.health.p50)} / ${ms(t.health.p99)} / ${ms(t.health.max)}${t.health.errors > 0 ? ` (${t.health.errors} errors)` : ''}`, value: (t) => t.health.p99 },
  { label: 'connect time (to hello-ok) p50 / p99 / max', cell: (t) => `${ms(t.connect.p50)} / ${ms(t.connect.p99)} / ${ms(t.connect.max)}`, value: (t) => t.connect.p99 },
  { label: 'chat.send accept RTT p50 / p99', cell: (t) => `${ms(t.accept.p50)} / ${ms(t.accept.p99)}` },
  { label: 'connect phase', cell: (t) => `${(t.timings.connectMs / 1000).toFixed(1)} s` },
  { label: 'handshakes retried (503/429/UNAVAILABLE)', cell: (t) => { const r = Object.values(t.retries).reduce((a, b) => a + b, 0); return r === 0 ? '0' : `${n(r)} ${JSON.stringify(t.retries)}`; } },
  { label: 'HTTP load (autocannon) paths', cell: (t) => (t.http === null ? '-' : t.http.paths.join(' + ')) },
  { label: 'HTTP load req/s achieved / asked', cell: (t) => (t.http === null ? '-' : `${n(t.http.perSec)} / ${t.http.rate}`) },
  { label: 'HTTP latency p50 / p99 / max', cell: (t) => (t.http === null ? '-' : `${ms(t.http.latency.p50, 0)} / ${ms(t.http.latency.p99, 0)} / ${ms(t.http.latency.max, 0)}`), value: (t) => t.http?.latency.p99 },
  { label: 'HTTP errors / timeouts / non-2xx', cell: (t) => (t.http === null ? '-' : `${t.http.errors} / ${t.http.timeouts} / ${t.http.non2xx}`) },
  { label: 'errors / unexpected closes', cell: (t) => `${n(t.errorCount)} / ${n(t.closeCount)}${t.errorCount + t.closeCount > 0 ? ` ${JSON.stringify({ ...t.errors, ...t.unexpectedCloses })}` : ''}` },
  { label: 'clients settled early (stopped waiting)', cell: (t) => n(t.settledEarly) },
  { label: 'client worker event-loop delay max', cell: (t) => ms(t.workerLagMax, 0) },
];

export function formatReport(report: LoadReport): string {
  const ref = primary(report);
  const others = report.targets.filter((t) => t !== ref);
  const header = ['', ...report.targets.map((t) => t.label)];
  if (ref !== undefined) for (const o of others) header.push(`${o.label} / ${ref.label}`);
  const rows: string[][] = [header];
  for (const row of ROWS) {
    const line = [row.label, ...report.targets.map((t) => row.cell(t))];
    if (ref !== undefined) for (const o of others) line.push(row.value === undefined ? '' : ratio(row.value(o), row.value(ref)));
    rows.push(line);
  }
  const o = report.options;
  const lines = [
    `load bench: ${n(o.clients)} clients (${(o.streamingShare * 100).toFixed(0)}% streaming), run ${(o.durationMs / 1000).toFixed(0)} s after all connected, bound ${o.heartbeatMs} ms + ${o.toleranceMs} ms tolerance, HTTP ${o.httpRate} req/s`,
    `machine: ${report.machine}; node ${report.node}`,
    '',
    table(rows),
  ];
  for (const t of report.targets) for (const note of t.notes) lines.push(`note (${t.label}): ${note}`);
  return lines.join('\n');
}

export function markdownTable(report: LoadReport): string {
  const ref = primary(report);
  const others = report.targets.filter((t) => t !== ref);
  const header = ['measure', ...report.targets.map((t) => t.label)];
  if (ref !== undefined) for (const o of others) header.push(`ratio ${o.label} / ${ref.label}`);
  const esc = (text: string): string => text.replace(/\|/g, '\\|');
  const out = [`| ${header.map(esc).join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const row of ROWS) {
    const line = [row.label, ...report.targets.map((t) => row.cell(t))];
    if (ref !== undefined) for (const o of others) line.push(row.value === undefined ? '' : ratio(row.value(o), row.value(ref)));
    out.push(`| ${line.map(esc).join(' | ')} |`);
  }
  return out.join('\n');
}

// ------------------------------------------------------------------ release gate

/** Ratios the gate compares: every one is "lower is better". */
export interface Ratios {
  /** Reference worst gap / bound. */
  worstGapOverBound?: number;
  /** Reference worst gap / bare-ws worst gap. */
  worstGapVsBareWs?: number;
  /** Reference memory per connection / bare-ws memory per connection (RSS delta / connections). */
  memoryPerConnVsBareWs?: number;
  /** The same with the live JS heap (after forced GCs): steadier than RSS, which holds garbage. */
  heapPerConnVsBareWs?: number;
  /** Reference connect p99 / bare-ws connect p99. */
  connectP99VsBareWs?: number;
  /** Reference event-loop delay p99 (run) / bound. */
  loopLagP99OverBound?: number;
}

/** Allowed relative increase over the baseline, per ratio (0.05 = 5 % worse is still fine). */
export const TOLERANCES: Required<Ratios> = {
  worstGapOverBound: 0.05,
  worstGapVsBareWs: 0.05,
  memoryPerConnVsBareWs: 0.5,
  heapPerConnVsBareWs: 0.3,
  connectP99VsBareWs: 1.0,
  loopLagP99OverBound: 1.0,
};

export interface Baseline {
  description: string;
  command: string;
  measuredAt: string;
  machine: string;
  workload: { clients: number; streamingShare: number; heartbeatMs: number; durationMs: number; httpRate: number };
  ratios: Ratios;
  tolerances: Required<Ratios>;
  /** The raw figures the ratios came from, for reading. */
  figures: Record<string, number | null>;
}

export function ratiosOf(report: LoadReport): { ratios: Ratios; figures: Record<string, number | null> } {
  const ref = primary(report);
  const bare = report.targets.find((t) => t.target === 'bare-ws');
  const ratios: Ratios = {};
  const figures: Record<string, number | null> = {};
  if (ref === undefined || ref.worst === null) return { ratios, figures };
  ratios.worstGapOverBound = ref.worst.maxGapMs / ref.boundMs;
  figures.referenceWorstGapMs = round(ref.worst.maxGapMs);
  figures.referenceMemoryPerConnection = round(ref.server.memoryPerConnection);
  figures.referenceConnectP99Ms = round(ref.connect.p99);
  figures.referenceLoopLagP99Ms = round(ref.server.lagRun?.p99 ?? null);
  if (ref.server.lagRun !== null) ratios.loopLagP99OverBound = ref.server.lagRun.p99 / ref.boundMs;
  if (bare !== undefined && bare.worst !== null) {
    figures.bareWorstGapMs = round(bare.worst.maxGapMs);
    figures.bareMemoryPerConnection = round(bare.server.memoryPerConnection);
    figures.bareConnectP99Ms = round(bare.connect.p99);
    ratios.worstGapVsBareWs = ref.worst.maxGapMs / bare.worst.maxGapMs;
    if (ref.server.memoryPerConnection !== null && bare.server.memoryPerConnection !== null && bare.server.memoryPerConnection > 0) {
      ratios.memoryPerConnVsBareWs = ref.server.memoryPerConnection / bare.server.memoryPerConnection;
    }
    if (ref.server.heapPerConnection !== null && bare.server.heapPerConnection !== null && bare.server.heapPerConnection > 0) {
      ratios.heapPerConnVsBareWs = ref.server.heapPerConnection / bare.server.heapPerConnection;
    }
    figures.referenceHeapPerConnection = round(ref.server.heapPerConnection);
    figures.bareHeapPerConnection = round(bare.server.heapPerConnection);
    if (bare.connect.p99 > 0) ratios.connectP99VsBareWs = ref.connect.p99 / bare.connect.p99;
  }
  for (const k of Object.keys(ratios) as (keyof Ratios)[]) ratios[k] = round(ratios[k] ?? Number.NaN, 4) ?? undefined;
  return { ratios, figures };
}

function round(v: number | null, digits = 1): number | null {
  if (v === null || !Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export function baselineFrom(report: LoadReport, command: string): Baseline {
  const { ratios, figures } = ratiosOf(report);
  const o = report.options;
  return {
    description: 'Release gate for `npm run bench -- load --baseline bench/baseline.json`: the run\'s ratios (lower is better) may exceed these by at most `tolerances` (relative). Ratios, not absolute times, so a slower machine does not fail the gate by itself.',
    command,
    measuredAt: report.startedAt,
    machine: `${report.machine}; node ${report.node}`,
    workload: { clients: o.clients, streamingShare: o.streamingShare, heartbeatMs: o.heartbeatMs, durationMs: o.durationMs, httpRate: o.httpRate },
    ratios,
    tolerances: TOLERANCES,
    figures,
  };
}

export async function writeBaseline(path: string, baseline: Baseline): Promise<void> {
  await writeFile(path, `${JSON.stringify(baseline, null, 2)}\n`);
}

export async function readBaseline(path: string): Promise<Baseline> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as Baseline;
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.ratios !== 'object') throw new Error(`${path}: not a load bench baseline (no "ratios")`);
  return parsed;
}

export function compareBaseline(report: LoadReport, baseline: Baseline): { ok: boolean; text: string } {
  const { ratios } = ratiosOf(report);
  const rows: string[][] = [['ratio (lower is better)', 'baseline', 'this run', 'limit', 'result']];
  let ok = true;
  const notes: string[] = [];
  for (const key of Object.keys(TOLERANCES) as (keyof Ratios)[]) {
    const base = baseline.ratios[key];
    const now = ratios[key];
    const tol = baseline.tolerances?.[key] ?? TOLERANCES[key];
    if (base === undefined || base === null) continue;
    if (now === undefined || now === null) {
      rows.push([key, base.toFixed(4), 'missing', '-', 'FAIL']);
      ok = false;
      continue;
    }
    const limit = base * (1 + tol);
    const pass = now <= limit;
    if (!pass) ok = false;
    rows.push([key, base.toFixed(4), now.toFixed(4), `${limit.toFixed(4)} (+${(tol * 100).toFixed(0)}%)`, pass ? 'PASS' : 'REGRESSION']);
  }
  const ref = primary(report);
  if (ref !== undefined && !ref.pass) {
    ok = false;
    notes.push(`the ${ref.label} run itself failed: ${ref.failures.join('; ')}`);
  }
  const w = baseline.workload;
  const o = report.options;
  if (w.clients !== o.clients || w.streamingShare !== o.streamingShare || w.heartbeatMs !== o.heartbeatMs) {
    notes.push(`warning: the baseline was measured with ${w.clients} clients, ${w.streamingShare} streaming, bound ${w.heartbeatMs} ms; this run used ${o.clients}, ${o.streamingShare}, ${o.heartbeatMs} ms: ratios depend on the workload`);
  }
  return { ok, text: [`release gate against ${baseline.measuredAt} (${baseline.command})`, table(rows), ...notes, ok ? 'gate: PASS' : 'gate: FAIL'].join('\n') };
}
