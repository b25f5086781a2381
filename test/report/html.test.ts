import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { downsampleSteps, renderHtmlReport, selectLanes } from '../../src/report/html.ts';
import { nestedAgentCascade } from '../../src/scenarios/nested-agent-cascade.ts';
import type { LaneSample } from '../../src/sim/metrics.ts';
import { runSimulation, type SimulationResult } from '../../src/sim/simulation.ts';

const MALICIOUS = '<script>alert(1)</script>';

function variant(name: string) {
  const v = nestedAgentCascade.variants.find((x) => x.name === name);
  if (v === undefined) throw new Error(`no variant ${name}`);
  return v;
}

function run(name: string): Promise<SimulationResult> {
  return runSimulation({ scenario: nestedAgentCascade, variant: variant(name), timeline: true });
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** The HTML of one variant's section (`variant-<index>`). */
function section(html: string, index: number): string {
  const start = html.indexOf(`<section class="variant" id="variant-${index}">`);
  expect(start).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</section>', start));
}

describe('renderHtmlReport (nested-agent-cascade)', () => {
  let baseline: SimulationResult;
  let fixed: SimulationResult;
  let parallel: SimulationResult;
  let page: string;
  let dir: string | null = null;

  beforeAll(async () => {
    baseline = await run('baseline');
    fixed = await run('fixed');
    parallel = await run('fixed-parallel');
    page = renderHtmlReport(nestedAgentCascade, [baseline, fixed, parallel]);
  });

  afterEach(async () => {
    if (dir !== null) await rm(dir, { recursive: true, force: true });
    dir = null;
  });

  it('is a complete, self-contained HTML document', () => {
    expect(page.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(page.trimEnd().endsWith('</html>')).toBe(true);
    for (const tag of ['<head>', '</head>', '<body>', '</body>', '<meta charset="utf-8">', '<style>']) expect(page).toContain(tag);
    expect(page).toMatch(/<title>lanesim: nested-agent-cascade \(seed 4\)<\/title>/);
    expect(page).toContain(`<h1>${'Nested-agent cascade (seed 004)'}`);
    // Nothing to fetch, nothing to run.
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/https?:\/\//i);
    expect(page).not.toMatch(/<link|<img|<iframe|@import|url\(|\son[a-z]+=/i);
  });

  it('shows the comparison table with one column per variant', () => {
    const table = page.slice(page.indexOf('<table class="comparison">'), page.indexOf('</table>'));
    for (const label of ['longest lane wait', 'longest client silence', 'invariant violations']) expect(table).toContain(label);
    for (const name of ['baseline', 'fixed', 'fixed-parallel']) expect(table).toContain(`>${name}</a>`);
    expect(page).toContain('seed <b>4</b>');
    expect(page).toContain('engine <b>fake-timers</b>');
  });

  it('draws one lane timeline and one silence chart per variant, on the same time scale', () => {
    expect(count(page, '<svg class="chart lane-timeline" role="img" aria-label="')).toBe(3);
    expect(count(page, '<svg class="chart silence-chart" role="img" aria-label="')).toBe(3);
    for (let i = 0; i < 3; i++) {
      const s = section(page, i);
      expect(count(s, 'class="chart lane-timeline"')).toBe(1);
      expect(s).toContain('>session:agent:main:webchat</text>');
      expect(s).toContain('>main</text>');
      expect(s).toContain('class="active"');
      // The x of every time tick, in the lane timeline and in the silence chart.
      const tickXs = [...s.matchAll(/<path class="grid" d="([^"]*)"/g)].map((m) => [...m[1]!.matchAll(/M([\d.]+),/g)].map((x) => x[1]).join(' '));
      expect(tickXs).toHaveLength(2);
      expect(tickXs[0]).not.toBe('');
      expect(tickXs[0]).toBe(tickXs[1]);
    }
    // Followups wait behind the cascade in the serialized variants: a queued series with its max labelled.
    expect(section(page, 0)).toContain('class="queued"');
    expect(section(page, 0)).toContain('max 3 queued');
  });

  it('draws the silence bound and marks the gaps over it only where there are some', () => {
    expect(baseline.config.gateway.heartbeat.intervalMs).toBe(15_000);
    expect([...baseline.gaps!.values()].flat().some((g) => g.gapMs > 15_000)).toBe(true);
    expect([...fixed.gaps!.values()].flat().every((g) => g.gapMs <= 15_000)).toBe(true);

    const basePage = renderHtmlReport(nestedAgentCascade, [baseline]);
    const fixedPage = renderHtmlReport(nestedAgentCascade, [fixed]);
    for (const p of [basePage, fixedPage]) {
      expect(p).toContain('<path class="bound"');
      expect(p).toContain('class="bound-label">15 s</text>');
    }
    expect(basePage).toContain('class="over-bound"');
    expect(fixedPage).not.toContain('class="over-bound"');
    expect(section(page, 0)).toContain('class="over-bound"');
    expect(section(page, 1)).not.toContain('class="over-bound"');
  });

  it('lists the first violations, or says there are none', () => {
    const base = section(page, 0);
    expect(base).toContain('<table class="violations">');
    expect(count(base.slice(base.indexOf('<table class="violations">')), '<tr><td class="inv">')).toBe(Math.min(20, baseline.violations.length));
    expect(base).toContain('INV-SILENCE');
    expect(section(page, 1)).toContain('no invariant violations');
  });

  it('escapes whatever the data says', () => {
    const evil: SimulationResult = {
      ...baseline,
      variant: `v${MALICIOUS}`,
      violations: [{ invariant: `INV-${MALICIOUS}`, rule: MALICIOUS, t: 1_000, message: `lane ${MALICIOUS} & "quotes" 'too'`, events: [] }],
      timeline: new Map<string, LaneSample[]>([[`session:${MALICIOUS}`, [{ t: 0, queued: 1, active: 1 }, { t: 5_000, queued: 0, active: 0 }]]]),
      gaps: new Map([[`conn-${MALICIOUS}`, [{ t: 20_000, gapMs: 20_000 }]]]),
    };
    const html = renderHtmlReport({ ...nestedAgentCascade, title: MALICIOUS, description: MALICIOUS }, [evil]);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('lane &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; &#39;too&#39;');
    expect(html).toContain('class="over-bound"');
  });

  it('is deterministic: same input, same bytes; a re-run renders the same page', async () => {
    expect(renderHtmlReport(nestedAgentCascade, [baseline, fixed, parallel])).toBe(page);
    const again = await run('baseline');
    expect(renderHtmlReport(nestedAgentCascade, [again, fixed, parallel])).toBe(page);
  });

  it('stays small', async () => {
    dir = await mkdtemp(join(tmpdir(), 'lanesim-html-'));
    const file = join(dir, 'cascade.html');
    await writeFile(file, page);
    const { size } = await stat(file);
    expect(size).toBe(Buffer.byteLength(page));
    expect(size).toBeLessThan(1_000_000);
  });

  it('shows the global lanes and the 20 busiest others when there are many lanes', () => {
    const timeline = new Map<string, LaneSample[]>();
    timeline.set('main', [{ t: 0, queued: 0, active: 1 }, { t: 100_000, queued: 0, active: 0 }]);
    for (let i = 0; i < 30; i++) timeline.set(`session:s${i}`, [{ t: 0, queued: i, active: 1 }, { t: 1_000 * (i + 1), queued: 0, active: 0 }]);
    const { lanes, omitted } = selectLanes(timeline, 100_000);
    expect(omitted).toBe(10);
    expect(lanes.map((l) => l.name)).toEqual(['main', ...Array.from({ length: 20 }, (_, i) => `session:s${i + 10}`)]);
    const html = renderHtmlReport(nestedAgentCascade, [{ ...baseline, timeline }]);
    expect(html).toContain('10 lanes omitted');
  });
});

describe('downsampleSteps', () => {
  it('keeps at most ~2000 points and every extreme', () => {
    const points = Array.from({ length: 100_000 }, (_, i) => ({ t: i * 10, v: i % 7 }));
    points[54_321] = { t: 543_210, v: 99 };
    const out = downsampleSteps(points, 1_000_000);
    expect(out.length).toBeLessThanOrEqual(2_000);
    expect(out.some((p) => p.v === 99)).toBe(true);
    expect(out[0]).toEqual(points[0]);
    expect(out[out.length - 1]).toEqual(points[points.length - 1]);
    for (let i = 1; i < out.length; i++) expect(out[i]!.t).toBeGreaterThan(out[i - 1]!.t);
  });
});
