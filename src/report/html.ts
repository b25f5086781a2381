/**
 * The HTML report `lanesim simulate <scenario> --html out.html` writes: one
 * self-contained page (inline CSS, inline SVG drawn here, no scripts, no
 * external resources) with, per variant, a lane timeline (who held a slot,
 * who waited), each waiting client's silences against the heartbeat bound,
 * and the first invariant violations.
 *
 * Deterministic: the same results give the same bytes (no dates, no
 * randomness, no locale-dependent formatting or sorting).
 */
import type { Violation } from '../model/invariants/types.ts';
import type { LaneSample } from '../sim/metrics.ts';
import type { Scenario } from '../sim/scenario.ts';
import type { SimulationResult } from '../sim/simulation.ts';
import { comparisonRows, violationSummary } from './comparison.ts';
import { seconds } from './format.ts';

/** Lanes drawn without dropping any; above this, the global lanes plus the busiest others. */
const MAX_LANES = 24;
const BUSIEST_OTHER_LANES = 20;
const MAX_CLIENTS = 12;
const MAX_VIOLATIONS = 20;
/** Pixel buckets per lane series; each keeps at most 4 samples (first, min, max, last). */
const LANE_BUCKETS = 500;

/** Global lanes, drawn first and in this order (others that are not session lanes follow, by name). */
const GLOBAL_LANE_ORDER = ['main', 'subagent', 'nested', 'cron'];

// Chart geometry (SVG user units; the SVGs scale to the page width).
const WIDTH = 1000;
const PLOT_LEFT = 210;
const PLOT_RIGHT = 880;
const PLOT_W = PLOT_RIGHT - PLOT_LEFT;
const LANE_H = 34;
const LANE_PAD = 5;
const GROUP_H = 18;
const AXIS_H = 34;
const TOP_PAD = 8;
const VIOLATION_ROW_H = 22;
const SILENCE_ROW_H = 64;
const SILENCE_PAD = 8;

const COLORS = {
  active: '#3b73b9',
  queued: '#e8830c',
  gap: '#8da0b8',
  over: '#d62728',
  bound: '#4a4a4a',
  grid: '#e3e6ea',
  text: '#2b2f36',
  muted: '#6b7280',
};

// ---------------------------------------------------------------- helpers

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

/** A coordinate rounded to 0.1 (short and deterministic). */
function n1(value: number): string {
  const r = Math.round(value * 10) / 10;
  return String(Object.is(r, -0) ? 0 : r);
}

/** Code-unit order: the same everywhere, unlike localeCompare. */
function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Seconds with as few decimals as make sense: `15 s`, `2.5 s`, `0.25 s`. */
function secondsLabel(ms: number): string {
  const s = ms / 1000;
  const text = Number.isInteger(s) ? String(s) : Math.abs(s) >= 10 ? s.toFixed(1) : String(Math.round(s * 1000) / 1000);
  return `${text} s`;
}

/** Shortens a long name in the middle, keeping its start (kind) and end (id). */
function shorten(name: string, max: number): string {
  if (name.length <= max) return name;
  const head = Math.ceil((max - 1) * 0.6);
  const tail = max - 1 - head;
  return `${name.slice(0, head)}\u2026${name.slice(name.length - tail)}`;
}

function svgText(x: number, y: number, text: string, attrs = ''): string {
  return `<text x="${n1(x)}" y="${n1(y)}"${attrs === '' ? '' : ` ${attrs}`}>${escapeHtml(text)}</text>`;
}

interface Tick {
  t: number;
  label: string;
}

const TICK_STEPS_MS = [
  100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000,
  21_600_000, 43_200_000, 86_400_000,
];

/** About 6-12 round ticks from 0 to `spanMs`; minutes once the run is longer than 10 minutes. */
export function timeTicks(spanMs: number): Tick[] {
  const span = Math.max(spanMs, 1);
  let step = TICK_STEPS_MS[TICK_STEPS_MS.length - 1]!;
  for (const s of TICK_STEPS_MS) {
    if (span / s <= 12) {
      step = s;
      break;
    }
  }
  while (span / step > 12) step *= 2;
  const minutes = span > 600_000 && step >= 60_000;
  const ticks: Tick[] = [];
  for (let t = 0; t <= span + 1e-9; t += step) {
    ticks.push({ t, label: minutes ? `${t / 60_000} min` : secondsLabel(t) });
  }
  return ticks;
}

interface XScale {
  spanMs: number;
  x(t: number): number;
  ticks: Tick[];
}

function xScale(spanMs: number): XScale {
  const span = Math.max(spanMs, 1);
  return { spanMs: span, x: (t) => PLOT_LEFT + (Math.min(Math.max(t, 0), span) / span) * PLOT_W, ticks: timeTicks(span) };
}

/** The time span a variant's charts share: the run, and anything recorded after its nominal end. */
function spanOf(r: SimulationResult): number {
  let span = r.endMs;
  if (r.timeline !== null) for (const samples of r.timeline.values()) span = Math.max(span, samples[samples.length - 1]?.t ?? 0);
  if (r.gaps !== null) for (const gaps of r.gaps.values()) span = Math.max(span, gaps[gaps.length - 1]?.t ?? 0);
  return Math.max(span, 1);
}

// ---------------------------------------------------------------- step series

export interface StepPoint {
  t: number;
  v: number;
}

/** Drops samples that do not change the value (a step holds until the next sample). */
function dedupeSteps(points: readonly StepPoint[]): StepPoint[] {
  const out: StepPoint[] = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (last !== undefined && last.v === p.v) continue;
    if (last !== undefined && last.t === p.t) {
      out[out.length - 1] = p;
      continue;
    }
    out.push(p);
  }
  return out;
}

/**
 * At most `4 * buckets` points: in each time bucket (about a pixel) it keeps
 * the first, lowest, highest and last sample, so no peak and no level the
 * series settles on disappears.
 */
export function downsampleSteps(points: readonly StepPoint[], spanMs: number, buckets: number = LANE_BUCKETS): StepPoint[] {
  if (points.length <= buckets * 4) return [...points];
  const span = Math.max(spanMs, 1);
  const out: StepPoint[] = [];
  let i = 0;
  while (i < points.length) {
    const bucket = Math.min(buckets - 1, Math.floor((Math.max(points[i]!.t, 0) / span) * buckets));
    let j = i;
    let lo = i;
    let hi = i;
    while (j < points.length && Math.min(buckets - 1, Math.floor((Math.max(points[j]!.t, 0) / span) * buckets)) === bucket) {
      if (points[j]!.v < points[lo]!.v) lo = j;
      if (points[j]!.v > points[hi]!.v) hi = j;
      j++;
    }
    const keep = [...new Set([i, lo, hi, j - 1])].sort((a, b) => a - b);
    for (const k of keep) out.push(points[k]!);
    i = j;
  }
  return out;
}

/** A filled step area from the baseline, holding the last value until `endT`. */
function stepAreaPath(points: readonly StepPoint[], sx: XScale, y: (v: number) => string, endT: number): string {
  const first = points[0];
  if (first === undefined) return '';
  const base = y(0);
  let d = `M${n1(sx.x(first.t))},${base}V${y(first.v)}`;
  for (let i = 1; i < points.length; i++) d += `H${n1(sx.x(points[i]!.t))}V${y(points[i]!.v)}`;
  return `${d}H${n1(sx.x(endT))}V${base}Z`;
}

/** The outline of the same step function (no baseline segments). */
function stepLinePath(points: readonly StepPoint[], sx: XScale, y: (v: number) => string, endT: number): string {
  const first = points[0];
  if (first === undefined) return '';
  let d = `M${n1(sx.x(first.t))},${y(0)}V${y(first.v)}`;
  for (let i = 1; i < points.length; i++) d += `H${n1(sx.x(points[i]!.t))}V${y(points[i]!.v)}`;
  return `${d}H${n1(sx.x(endT))}`;
}

// ---------------------------------------------------------------- lanes

export interface LaneInfo {
  name: string;
  global: boolean;
  samples: readonly LaneSample[];
  maxActive: number;
  maxQueued: number;
  /** Integral of active + queued over time (slot-ms): how busy the lane was. */
  busy: number;
}

function isGlobalLane(name: string): boolean {
  return !name.startsWith('session:') && !name.startsWith('nested:');
}

function laneInfo(name: string, samples: readonly LaneSample[], spanMs: number): LaneInfo {
  let maxActive = 0;
  let maxQueued = 0;
  let busy = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    if (s.active > maxActive) maxActive = s.active;
    if (s.queued > maxQueued) maxQueued = s.queued;
    const next = i + 1 < samples.length ? samples[i + 1]!.t : spanMs;
    busy += (s.active + s.queued) * Math.max(0, next - s.t);
  }
  return { name, global: isGlobalLane(name), samples, maxActive, maxQueued, busy };
}

function globalRank(name: string): number {
  const i = GLOBAL_LANE_ORDER.indexOf(name);
  return i < 0 ? GLOBAL_LANE_ORDER.length : i;
}

/** The lanes to draw (global first, then the others in order of first activity) and how many were left out. */
export function selectLanes(
  timeline: ReadonlyMap<string, readonly LaneSample[]>,
  spanMs: number,
): { lanes: LaneInfo[]; omitted: number; longestQueue: { lane: string; queued: number } | null } {
  const all = [...timeline].map(([name, samples]) => laneInfo(name, samples, spanMs));
  let longestQueue: { lane: string; queued: number } | null = null;
  for (const l of all) if (l.maxQueued > (longestQueue?.queued ?? 0)) longestQueue = { lane: l.name, queued: l.maxQueued };
  const globals = all.filter((l) => l.global).sort((a, b) => globalRank(a.name) - globalRank(b.name) || byString(a.name, b.name));
  let others = all.filter((l) => !l.global);
  let omitted = 0;
  if (all.length > MAX_LANES && others.length > BUSIEST_OTHER_LANES) {
    const keep = new Set(
      [...others]
        .sort((a, b) => b.busy - a.busy || byString(a.name, b.name))
        .slice(0, BUSIEST_OTHER_LANES)
        .map((l) => l.name),
    );
    omitted = others.length - keep.size;
    others = others.filter((l) => keep.has(l.name));
  }
  return { lanes: [...globals, ...others], omitted, longestQueue };
}

function axis(sx: XScale, top: number, bottom: number): string {
  let grid = '';
  let labels = '';
  for (const tick of sx.ticks) {
    const x = n1(sx.x(tick.t));
    grid += `M${x},${n1(top)}V${n1(bottom)}`;
    labels += svgText(sx.x(tick.t), bottom + 15, tick.label, 'class="tick" text-anchor="middle"');
  }
  return (
    `<path class="grid" d="${grid}"/>` +
    `<path class="axis" d="M${PLOT_LEFT},${n1(bottom)}H${PLOT_RIGHT}"/>` +
    labels +
    svgText(PLOT_RIGHT, bottom + 29, 'virtual time', 'class="axis-title" text-anchor="end"')
  );
}

/** Shades the part of the shared time axis after this variant's run had ended. */
function afterEnd(endMs: number, sx: XScale, top: number, bottom: number): string {
  const x = sx.x(endMs);
  if (PLOT_RIGHT - x < 1) return '';
  return (
    `<g class="after-end"><title>${escapeHtml(`the run ended at ${seconds(endMs)}`)}</title>` +
    `<rect x="${n1(x)}" y="${n1(top)}" width="${n1(PLOT_RIGHT - x)}" height="${n1(bottom - top)}"/>` +
    (PLOT_RIGHT - x >= 56 ? svgText(x + 4, top + 11, 'run ended', 'class="after-end-label"') : '') +
    '</g>'
  );
}

function laneTimelineSvg(
  r: SimulationResult,
  sx: XScale,
  lanes: readonly LaneInfo[],
  omitted: number,
  longestQueue: { lane: string; queued: number } | null,
): string {
  const globals = lanes.filter((l) => l.global);
  const others = lanes.filter((l) => !l.global);
  const groups: { title: string; lanes: LaneInfo[] }[] = [];
  if (globals.length > 0) groups.push({ title: 'global lanes', lanes: globals });
  if (others.length > 0) {
    groups.push({ title: omitted > 0 ? `session and nested lanes (the ${others.length} busiest; ${omitted} more not shown)` : 'session and nested lanes', lanes: others });
  }
  const violations = r.violations;
  let y = TOP_PAD;
  let body = '';
  for (const group of groups) {
    body += svgText(8, y + 13, group.title, 'class="group"');
    y += GROUP_H;
    for (const lane of group.lanes) {
      body += laneBand(lane, sx, y, r.endMs);
      y += LANE_H;
    }
  }
  if (violations.length > 0) {
    y += 4;
    body += violationStrip(violations, sx, y);
    y += VIOLATION_ROW_H;
  }
  const plotTop = TOP_PAD + GROUP_H;
  const height = y + AXIS_H;
  const label =
    `Lane timeline of variant ${r.variant}: ${lanes.length} lanes over ${seconds(sx.spanMs)} of virtual time` +
    (omitted > 0 ? ` (${omitted} lanes not shown)` : '') +
    (longestQueue !== null ? `; longest queue ${longestQueue.queued} waiting in ${longestQueue.lane}` : '; nothing ever waited in a lane') +
    (violations.length > 0 ? `; ${violations.length} invariant violations marked` : '');
  return (
    `<svg class="chart lane-timeline" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${WIDTH} ${n1(height)}">` +
    axis(sx, plotTop, y) +
    body +
    afterEnd(r.endMs, sx, plotTop, y) +
    `</svg>`
  );
}

function laneBand(lane: LaneInfo, sx: XScale, top: number, endMs: number): string {
  const bandTop = top + LANE_PAD;
  const bandBottom = top + LANE_H - LANE_PAD;
  const scaleMax = Math.max(1, lane.maxActive, lane.maxQueued);
  const y = (v: number): string => n1(bandBottom - (v / scaleMax) * (bandBottom - bandTop));
  const endT = Math.max(endMs, lane.samples[lane.samples.length - 1]?.t ?? 0);
  const active = downsampleSteps(dedupeSteps(lane.samples.map((s) => ({ t: s.t, v: s.active }))), sx.spanMs);
  const queued = downsampleSteps(dedupeSteps(lane.samples.map((s) => ({ t: s.t, v: s.queued }))), sx.spanMs);
  let out = `<g class="lane"><title>${escapeHtml(`${lane.name}: at most ${lane.maxActive} active, ${lane.maxQueued} queued`)}</title>`;
  out += `<rect class="band" x="${PLOT_LEFT}" y="${n1(top + 1)}" width="${PLOT_W}" height="${LANE_H - 2}"/>`;
  out += svgText(PLOT_LEFT - 8, top + LANE_H / 2 + 4, shorten(lane.name, 30), 'class="lane-name" text-anchor="end"');
  if (lane.maxActive > 0) out += `<path class="active" d="${stepAreaPath(active, sx, y, endT)}"/>`;
  if (lane.maxQueued > 0) {
    out += `<path class="queued-area" d="${stepAreaPath(queued, sx, y, endT)}"/>`;
    out += `<path class="queued" d="${stepLinePath(queued, sx, y, endT)}"/>`;
  }
  out += svgText(PLOT_RIGHT + 8, top + LANE_H / 2 - 2, `max ${lane.maxActive} active`, 'class="max max-active"');
  out += svgText(PLOT_RIGHT + 8, top + LANE_H / 2 + 10, `max ${lane.maxQueued} queued`, `class="max max-queued${lane.maxQueued > 0 ? '' : ' zero'}"`);
  return `${out}</g>`;
}

function violationStrip(violations: readonly Violation[], sx: XScale, top: number): string {
  const seen = new Set<string>();
  let d = '';
  for (const v of violations) {
    const x = n1(sx.x(v.t));
    if (seen.has(x)) continue;
    seen.add(x);
    d += `M${x},${n1(top + 4)}V${n1(top + VIOLATION_ROW_H - 4)}`;
  }
  return (
    `<g class="violation-strip"><title>${escapeHtml(`${violations.length} invariant violations: ${[...new Set(violations.map((v) => v.invariant))].join(', ')}`)}</title>` +
    `<rect class="band" x="${PLOT_LEFT}" y="${n1(top + 1)}" width="${PLOT_W}" height="${VIOLATION_ROW_H - 2}"/>` +
    svgText(PLOT_LEFT - 8, top + VIOLATION_ROW_H / 2 + 4, `violations (${violations.length})`, 'class="lane-name violations-label" text-anchor="end"') +
    `<path class="violation-mark" d="${d}"/></g>`
  );
}

// ---------------------------------------------------------------- silence

export interface ClientGaps {
  connId: string;
  gaps: readonly { t: number; gapMs: number }[];
  worst: number;
  worstT: number;
  over: number;
}

export function selectClients(gaps: ReadonlyMap<string, readonly { t: number; gapMs: number }[]>, boundMs: number): { clients: ClientGaps[]; omitted: number } {
  const all: ClientGaps[] = [];
  for (const [connId, list] of gaps) {
    let worst = 0;
    let worstT = 0;
    let over = 0;
    for (const g of list) {
      if (g.gapMs > worst) {
        worst = g.gapMs;
        worstT = g.t;
      }
      if (g.gapMs > boundMs) over++;
    }
    all.push({ connId, gaps: list, worst, worstT, over });
  }
  all.sort((a, b) => b.worst - a.worst || byString(a.connId, b.connId));
  return { clients: all.slice(0, MAX_CLIENTS), omitted: Math.max(0, all.length - MAX_CLIENTS) };
}

function silenceSvg(r: SimulationResult, sx: XScale, clients: readonly ClientGaps[], omitted: number, boundMs: number): string {
  const worst = Math.max(boundMs, ...clients.map((c) => c.worst));
  const yMax = worst * 1.12;
  const plotH = SILENCE_ROW_H - SILENCE_PAD * 2;
  let y = TOP_PAD;
  let body = '';
  for (const client of clients) {
    body += silenceRow(client, sx, y, plotH, yMax, boundMs);
    y += SILENCE_ROW_H;
  }
  const height = y + AXIS_H;
  const overTotal = clients.reduce((a, c) => a + c.over, 0);
  const label =
    `Client silence of variant ${r.variant}: ${clients.length} waiting clients` +
    (omitted > 0 ? ` (${omitted} more not shown)` : '') +
    `; longest silence ${seconds(Math.max(0, ...clients.map((c) => c.worst)))}; ${overTotal} silences longer than the ${secondsLabel(boundMs)} bound`;
  return (
    `<svg class="chart silence-chart" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${WIDTH} ${n1(height)}">` +
    axis(sx, TOP_PAD, y) +
    body +
    afterEnd(r.endMs, sx, TOP_PAD, y) +
    `</svg>`
  );
}

function silenceRow(client: ClientGaps, sx: XScale, top: number, plotH: number, yMax: number, boundMs: number): string {
  const bottom = top + SILENCE_PAD + plotH;
  const y = (ms: number): string => n1(bottom - (ms / yMax) * plotH);
  // One bar per pixel column: the longest gap that ended there.
  const columns = new Map<number, number>();
  for (const g of client.gaps) {
    const col = Math.round(sx.x(g.t) * 2) / 2;
    if (g.gapMs > (columns.get(col) ?? 0)) columns.set(col, g.gapMs);
  }
  let under = '';
  let over = '';
  const base = n1(bottom);
  for (const [col, gap] of columns) {
    const seg = `M${n1(col)},${base}V${y(gap)}`;
    if (gap > boundMs) over += seg;
    else under += seg;
  }
  const barWidth = n1(Math.min(3, Math.max(1.2, PLOT_W / Math.max(1, columns.size) / 2.5)));
  const boundY = y(boundMs);
  let out = `<g class="client"><title>${escapeHtml(`${client.connId}: ${client.gaps.length} silences while waiting, longest ${seconds(client.worst)} ending at t=${seconds(client.worstT)}, ${client.over} over the ${secondsLabel(boundMs)} bound`)}</title>`;
  out += `<rect class="band" x="${PLOT_LEFT}" y="${n1(top + 2)}" width="${PLOT_W}" height="${SILENCE_ROW_H - 4}"/>`;
  out += svgText(PLOT_LEFT - 8, top + SILENCE_ROW_H / 2 - 3, shorten(client.connId, 30), 'class="lane-name" text-anchor="end"');
  out += svgText(PLOT_LEFT - 8, top + SILENCE_ROW_H / 2 + 11, `worst ${seconds(client.worst)}${client.over > 0 ? ` \u00b7 ${client.over} over` : ''}`, `class="worst${client.over > 0 ? ' bad' : ''}" text-anchor="end"`);
  if (under !== '') out += `<path class="gap" stroke-width="${barWidth}" d="${under}"/>`;
  if (over !== '') out += `<path class="over-bound" stroke-width="${barWidth}" d="${over}"/>`;
  out += `<path class="bound" d="M${PLOT_LEFT},${boundY}H${PLOT_RIGHT}"/>`;
  out += svgText(PLOT_RIGHT + 6, Number(boundY) + 4, secondsLabel(boundMs), 'class="bound-label"');
  out += svgText(PLOT_LEFT - 3, bottom + 3, '0', 'class="tick" text-anchor="end"');
  return `${out}</g>`;
}

// ---------------------------------------------------------------- page

function violationTable(violations: readonly Violation[]): string {
  if (violations.length === 0) return '<p class="ok">no invariant violations</p>';
  const shown = violations.slice(0, MAX_VIOLATIONS);
  const rows = shown
    .map(
      (v) =>
        `<tr><td class="inv">${escapeHtml(v.invariant)}</td><td>${escapeHtml(v.rule)}</td><td class="num">${escapeHtml(`${(v.t / 1000).toFixed(3)} s`)}</td><td class="msg">${escapeHtml(v.message)}</td></tr>`,
    )
    .join('\n');
  const more = violations.length > shown.length ? `<p class="note">the first ${shown.length} (by time) of the ${violations.length} violations recorded</p>` : '';
  return `<table class="violations"><thead><tr><th>invariant</th><th>rule</th><th>t</th><th>message</th></tr></thead><tbody>\n${rows}\n</tbody></table>${more}`;
}

function legendLanes(): string {
  return (
    '<p class="legend"><span class="sw sw-active"></span>active: runs holding a slot of the lane ' +
    '<span class="sw sw-queued"></span>queued: runs waiting for a slot ' +
    '<span class="sw sw-violation"></span>invariant violation. ' +
    'Each band is scaled to its own maximum (labelled on the right); a value holds until the next change.</p>'
  );
}

function legendSilence(boundMs: number): string {
  return (
    `<p class="legend"><span class="sw sw-gap"></span>a silence a waiting client lived through, drawn at the time it ended, as tall as it lasted ` +
    `<span class="sw sw-over"></span>longer than the bound ` +
    `<span class="sw sw-bound"></span>the bound: gateway.heartbeat.intervalMs = ${escapeHtml(secondsLabel(boundMs))}. ` +
    'All clients share one vertical scale; time is on the same scale as the lane timeline above (and as every other variant).</p>'
  );
}

function variantSection(scenario: Scenario, r: SimulationResult, index: number, spanMs: number): string {
  const variant = scenario.variants.find((v) => v.name === r.variant);
  const title = variant?.title ?? r.variant;
  const sx = xScale(spanMs);
  const boundMs = r.config.gateway.heartbeat.intervalMs;
  const parts: string[] = [];
  parts.push(
    `<section class="variant" id="variant-${index}">` +
      `<h2>${escapeHtml(r.variant)} <span class="subtitle">${escapeHtml(title)}</span>${r.baseline ? ' <span class="badge">baseline: a model of today\u2019s gateway</span>' : ''}</h2>` +
      `<p class="facts">profile ${escapeHtml(r.profile)} \u00b7 ${escapeHtml(seconds(r.endMs))} of virtual time (stopped: ${escapeHtml(r.stopReason)}) \u00b7 ${r.metrics.messages} messages, ${r.metrics.runsStarted} runs \u00b7 violations: ${escapeHtml(violationSummary(r))}</p>`,
  );

  parts.push('<h3>Lane timeline</h3>');
  if (r.timeline === null) parts.push('<p class="note">no lane timeline recorded (run the simulation with <code>timeline: true</code>)</p>');
  else if (r.timeline.size === 0) parts.push('<p class="note">no lane was ever used</p>');
  else {
    const { lanes, omitted, longestQueue } = selectLanes(r.timeline, sx.spanMs);
    parts.push(legendLanes());
    if (omitted > 0) parts.push(`<p class="note">${r.timeline.size} lanes: showing the global lanes and the ${BUSIEST_OTHER_LANES} busiest others; ${omitted} lanes omitted.</p>`);
    parts.push(`<figure>${laneTimelineSvg(r, sx, lanes, omitted, longestQueue)}</figure>`);
  }

  parts.push('<h3>Client silence</h3>');
  if (r.gaps === null) parts.push('<p class="note">no silences recorded (run the simulation with <code>timeline: true</code>)</p>');
  else if (r.gaps.size === 0) parts.push('<p class="note">no client ever waited on a reply</p>');
  else {
    const { clients, omitted } = selectClients(r.gaps, boundMs);
    parts.push(legendSilence(boundMs));
    if (omitted > 0) parts.push(`<p class="note">${r.gaps.size} waiting clients: showing the ${clients.length} with the longest silence; ${omitted} omitted.</p>`);
    parts.push(`<figure>${silenceSvg(r, sx, clients, omitted, boundMs)}</figure>`);
  }

  parts.push('<h3>Invariant violations</h3>');
  parts.push(violationTable(r.violations));
  parts.push('</section>');
  return parts.join('\n');
}

function comparisonSection(scenario: Scenario, results: readonly SimulationResult[]): string {
  const head = results
    .map((r, i) => {
      const title = scenario.variants.find((v) => v.name === r.variant)?.title ?? '';
      return `<th class="${r.baseline ? 'col-baseline' : ''}"><a href="#variant-${i}">${escapeHtml(r.variant)}</a><br><span class="subtitle">${escapeHtml(title)}</span></th>`;
    })
    .join('');
  const rows = comparisonRows(results).map((row) => {
    const flag = row.label === 'invariant violations' || row.label === 'messages lost';
    const cells = row.values
      .map((value, i) => {
        const bad = flag && value !== '0';
        const cls = [results[i]?.baseline ? 'col-baseline' : '', bad ? 'bad' : ''].filter((c) => c !== '').join(' ');
        return `<td class="num${cls === '' ? '' : ` ${cls}`}">${escapeHtml(value)}</td>`;
      })
      .join('');
    return `<tr><th scope="row">${escapeHtml(row.label)}</th>${cells}</tr>`;
  });
  const extra = `<tr><th scope="row">virtual time simulated</th>${results.map((r) => `<td class="num${r.baseline ? ' col-baseline' : ''}">${escapeHtml(seconds(r.endMs))}</td>`).join('')}</tr>`;
  return `<table class="comparison"><thead><tr><th></th>${head}</tr></thead><tbody>\n${rows.join('\n')}\n${extra}\n</tbody></table>`;
}

function distinct(values: readonly (string | number)[]): string {
  return [...new Set(values.map(String))].join(', ');
}

const CSS = `
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:${COLORS.text};font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px 20px 48px}
header h1{font-size:1.45rem;line-height:1.3;margin:0 0 .4rem}
.description{margin:.2rem 0 .8rem;max-width:75ch}
.meta{color:${COLORS.muted};margin:0 0 1rem}
.meta b{color:${COLORS.text};font-weight:600}
section.card,section.variant{background:#fff;border:1px solid #e1e4e8;border-radius:10px;padding:16px 20px;margin:18px 0;box-shadow:0 1px 2px rgba(0,0,0,.03)}
h2{font-size:1.2rem;margin:0 0 .3rem}
h3{font-size:1rem;margin:1.2rem 0 .3rem}
.subtitle{font-weight:400;color:${COLORS.muted}}
.badge{display:inline-block;font-size:.75rem;font-weight:500;background:#fdecea;color:#a61b1b;border-radius:999px;padding:1px 9px;vertical-align:middle}
.facts,.note{color:${COLORS.muted};font-size:.9rem;margin:.2rem 0}
.ok{color:#1e7b34;font-weight:500}
table{border-collapse:collapse;font-size:.9rem}
th,td{padding:5px 10px;border-bottom:1px solid #eceef1;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #d9dde2}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.comparison th[scope=row]{font-weight:500;color:#444}
.col-baseline{background:#fff8f6}
td.bad{color:#b42318;font-weight:600}
table.violations{width:100%}
table.violations td.inv{white-space:nowrap;font-weight:500}
table.violations td.msg{word-break:break-word}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
a{color:#2357a5}
nav{font-size:.9rem}
figure{margin:.3rem 0 0}
.legend{font-size:.85rem;color:#444;margin:.2rem 0 .3rem}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin:0 4px 0 10px}
.sw:first-child{margin-left:0}
.sw-active{background:${COLORS.active};opacity:.75}
.sw-queued{background:rgba(232,131,12,.25);border:2px solid ${COLORS.queued}}
.sw-violation{background:${COLORS.over};width:3px}
.sw-gap{background:${COLORS.gap};width:4px}
.sw-over{background:${COLORS.over};width:4px}
.sw-bound{width:16px;height:0;border-top:2px dashed ${COLORS.bound};border-radius:0;vertical-align:3px}
svg.chart{display:block;width:100%;height:auto;font-family:inherit}
svg .band{fill:#f7f8fa}
svg .grid{stroke:${COLORS.grid};stroke-width:1;fill:none}
svg .axis{stroke:#9aa3ad;stroke-width:1}
svg .tick{font-size:11px;fill:${COLORS.muted}}
svg .axis-title{font-size:11px;fill:${COLORS.muted};font-style:italic}
svg .group{font-size:11px;font-weight:600;fill:${COLORS.muted};text-transform:uppercase;letter-spacing:.04em}
svg .lane-name{font-size:12px;fill:${COLORS.text}}
svg .violations-label{fill:#b42318}
svg .max{font-size:10.5px}
svg .max-active{fill:${COLORS.active}}
svg .max-queued{fill:#b8650a}
svg .zero{fill:#a0a6ad}
svg .active{fill:${COLORS.active};fill-opacity:.7}
svg .queued-area{fill:${COLORS.queued};fill-opacity:.18}
svg .queued{fill:none;stroke:${COLORS.queued};stroke-width:1.6;stroke-linejoin:round}
svg .violation-mark{stroke:${COLORS.over};stroke-width:1.5}
svg .gap{stroke:${COLORS.gap};fill:none}
svg path.over-bound{stroke:${COLORS.over};fill:none}
svg .bound{stroke:${COLORS.bound};stroke-width:1.2;stroke-dasharray:5 4;fill:none}
svg .bound-label{font-size:11px;fill:${COLORS.bound};font-weight:600}
svg .after-end rect{fill:#eef0f3;fill-opacity:.75}
svg .after-end-label{font-size:10px;fill:#8a9099;font-style:italic}
svg .worst{font-size:11px;fill:${COLORS.muted}}
svg .worst.bad{fill:#b42318;font-weight:600}
footer{color:${COLORS.muted};font-size:.8rem;text-align:center;margin-top:24px}
`;

/**
 * The page for `lanesim simulate <scenario> --html out.html`: the scenario's
 * title and description, the comparison table, and per variant its lane
 * timeline, its clients' silences and its first violations. The lane and
 * silence charts need results run with `timeline: true`.
 */
export function renderHtmlReport(scenario: Scenario, results: readonly SimulationResult[]): string {
  const seeds = distinct(results.map((r) => r.seed));
  const engines = distinct(results.map((r) => r.engine));
  const nav = results.map((r, i) => `<a href="#variant-${i}">${escapeHtml(r.variant)}</a>`).join(' \u00b7 ');
  const out: string[] = [];
  out.push('<!DOCTYPE html>');
  out.push('<html lang="en">');
  out.push('<head>');
  out.push('<meta charset="utf-8">');
  out.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  out.push(`<title>${escapeHtml(`lanesim: ${scenario.name}${seeds === '' ? '' : ` (seed ${seeds})`}`)}</title>`);
  out.push(`<style>${CSS}</style>`);
  out.push('</head>');
  out.push('<body>');
  out.push('<main>');
  out.push('<header>');
  out.push(`<h1>${escapeHtml(scenario.title)}</h1>`);
  out.push(`<p class="description">${escapeHtml(scenario.description)}</p>`);
  out.push(
    `<p class="meta">scenario <b>${escapeHtml(scenario.name)}</b> \u00b7 seed <b>${escapeHtml(seeds === '' ? '-' : seeds)}</b> \u00b7 engine <b>${escapeHtml(engines === '' ? '-' : engines)}</b> \u00b7 virtual time, deterministic</p>`,
  );
  out.push('</header>');
  if (results.length === 0) {
    out.push('<section class="card"><p class="note">no variants were run</p></section>');
  } else {
    out.push(`<section class="card"><h2>Comparison</h2>${comparisonSection(scenario, results)}<p class="note">variants: ${nav}</p></section>`);
    // One time scale for the whole page, so variants compare at a glance.
    const spanMs = Math.max(1, ...results.map(spanOf));
    results.forEach((r, i) => out.push(variantSection(scenario, r, i, spanMs)));
  }
  out.push('<footer>lanesim \u00b7 simulated; all times are virtual</footer>');
  out.push('</main>');
  out.push('</body>');
  out.push('</html>');
  return `${out.join('\n')}\n`;
}
