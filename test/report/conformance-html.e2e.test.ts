/**
 * The HTML conformance report (src/report/conformance-html.ts) renders in
 * real headless Chromium: a row per case linking to its section, a failed
 * case opened with every failed check and its transcript, a passing case's
 * transcript one click away, the n/a settings listed, no script needed.
 *
 * The report comes from a real run: the reference gateway in process on a
 * few cases, plus a copy of one case with a check that cannot hold (so a
 * failure with a transcript is on the page).
 *
 * The browser: test/support/chromium.ts (Debian's `chromium` on PATH, else
 * the one inside @sparticuz/chromium), as for the webchat test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/chromium.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CASES } from '../../src/conformance/cases/index.ts';
import { runSuite, type SuiteReport } from '../../src/conformance/runner.ts';
import { referenceTarget } from '../../src/conformance/targets/reference.ts';
import { checkRule, type ConformanceCase } from '../../src/conformance/types.ts';
import { conformanceHtml } from '../../src/report/conformance-html.ts';

let browser: Browser;
let home: string;
let report: SuiteReport;
let file: string;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'lanesim-conform-html-'));
  const base = ALL_CASES.find((c) => c.id === 'queue.idle.starts')!;
  const failing: ConformanceCase = {
    ...base,
    id: 'queue.idle.starts.broken-copy',
    title: 'A copy of queue.idle.starts with two checks that cannot hold',
    async run(ctx) {
      await base.run(ctx);
      checkRule(false, 'QUEUE-2', 'a first check that cannot hold', 'observed <one> & "two"');
      checkRule(false, 'WS-17', 'a second check that cannot hold', 'observed three');
    },
  };
  const cases = [base, failing, ...ALL_CASES.filter((c) => c.id === 'lane.fifo.single-lane' || c.id === 'ws.handshake.challenge')];
  report = await runSuite({ target: referenceTarget(), cases, transcripts: 'all' });
  file = join(home, 'report.html');
  writeFileSync(file, conformanceHtml(report));
  browser = await launchChromium(home);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  rmSync(home, { recursive: true, force: true });
});

describe('the HTML conformance report in Chromium', () => {
  it('the run behind it has a pass, a failure with two checks, and an n/a', () => {
    expect(report.results.map((r) => r.status)).toEqual(['pass', 'fail', 'pass', 'n/a']);
    expect(report.results[1]!.checks).toHaveLength(2);
  });

  it('a row per case linking to its section; the failed case open with its checks and transcript', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => void errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(pathToFileURL(file).href);
    expect(await page.title()).toBe(`lanesim conform: ${report.target}`);
    const rows = page.locator('table.summary tbody tr');
    expect(await rows.count()).toBe(report.results.length);
    expect(await rows.nth(1).locator('td.verdict').textContent()).toBe('FAIL');
    expect(await rows.nth(3).locator('td.verdict').textContent()).toBe('n/a');
    // The link lands on the case's section.
    await rows.nth(1).locator('a').click();
    expect(page.url()).toMatch(/#case-queue-idle-starts-broken-copy$/);
    const failed = page.locator('#case-queue-idle-starts-broken-copy');
    expect(await failed.locator('table.checks tbody tr').count()).toBe(2);
    expect(await failed.locator('table.checks').textContent()).toContain('observed <one> & "two"');
    expect(await failed.locator('.replay').textContent()).toContain('--only queue.idle.starts.broken-copy --seed 1');
    // Open by default: its transcript rows are visible, frames both ways and the model's requests.
    const transcript = failed.locator('details table.transcript');
    expect(await transcript.isVisible()).toBe(true);
    expect(await transcript.locator('tr.dir-send').count()).toBeGreaterThan(0);
    expect(await transcript.locator('tr.dir-recv').count()).toBeGreaterThan(0);
    expect(await transcript.locator('tr.dir-model').count()).toBeGreaterThan(0);
    // A passing case's transcript is closed, and one click opens it.
    const passed = page.locator('#case-queue-idle-starts');
    expect(await passed.locator('details table.transcript').isVisible()).toBe(false);
    await passed.locator('details summary').click();
    expect(await passed.locator('details table.transcript').isVisible()).toBe(true);
    expect(await page.locator('pre.na').textContent()).toContain('set --url ws://127.0.0.1:PORT (1 case)');
    // Per family: queue has one pass and one failure.
    const queueRow = page.locator('table.families tbody tr', { hasText: 'queue' });
    expect(await queueRow.locator('td').allTextContents()).toEqual(['queue', '1', '1', '0', '0']);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
