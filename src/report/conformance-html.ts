/**
 * The HTML conformance report (`lanesim conform --html out.html`), in the
 * spirit of Autobahn|Testsuite's reports: a summary, counts per family of
 * cases, one row per case (id,
 * level, verdict, time, reason) linking to the case's section, and per case
 * every failed check (rule, expected, observed), its replay command with the
 * seed, its notes and its transcript (frames in both directions, the
 * requests the model got, with times) in a <details> element.
 *
 * One self-contained page in the style of src/report/html.ts: inline CSS, no
 * scripts, no external resources. With `transcriptDir` each case also links
 * to its JSON transcript file (`--transcript DIR`).
 */
import type { SuiteReport } from '../conformance/runner.ts';
import { transcriptFileName, type TranscriptEntry } from '../conformance/transcript.ts';
import type { CaseResult } from '../conformance/types.ts';
import { notApplicableSummary } from '../conformance/report.ts';
import { escapeHtml } from './html.ts';

export interface ConformanceHtmlOptions {
  /** Where the --transcript files are, relative to the HTML file. */
  transcriptDir?: string;
  /** Transcript entries shown per case (the rest are counted; the JSON file has them). Default 3000. */
  maxEntries?: number;
}

const STATUS_LABEL: Record<CaseResult['status'], string> = { pass: 'pass', fail: 'FAIL', 'n/a': 'n/a', error: 'ERROR' };
const DIR_LABEL: Record<TranscriptEntry['dir'], string> = { send: '→', recv: '←', conn: '•', model: 'model', note: 'note' };

function anchor(id: string): string {
  return `case-${id.replace(/[^A-Za-z0-9_-]+/g, '-')}`;
}

function ms(value: number): string {
  return value < 10 ? `${value.toFixed(1)} ms` : value < 10_000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(1)} s`;
}

function transcriptTable(r: CaseResult, max: number): string {
  const t = r.transcript;
  if (t === undefined) return '<p class="note">No transcript kept for this case (run with --html or --transcript to keep every case\'s).</p>';
  if (t.entries.length === 0) return '<p class="note">The case sent and received nothing (decided before connecting, or in-process lanes only).</p>';
  const rows = t.entries.slice(0, max).map((e) => `<tr class="dir-${e.dir}"><td class="num">${e.t.toFixed(1)}</td><td class="num">${e.at === undefined ? '' : e.at.toFixed(1)}</td><td class="dir">${escapeHtml(DIR_LABEL[e.dir])}</td><td class="conn">${escapeHtml(e.conn)}</td><td class="frame"><code>${escapeHtml(e.text)}</code></td></tr>`);
  const omitted = Math.max(0, t.entries.length - max) + t.dropped;
  return [
    '<table class="transcript"><thead><tr><th>real ms</th><th>session ms</th><th></th><th>connection</th><th>frame</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
    omitted > 0 ? `<p class="note">${omitted} more entr${omitted === 1 ? 'y' : 'ies'} not shown.</p>` : '',
  ].join('\n');
}

function caseSection(r: CaseResult, options: ConformanceHtmlOptions): string {
  const out: string[] = [];
  out.push(`<section class="case status-${r.status === 'n/a' ? 'na' : r.status}" id="${anchor(r.id)}">`);
  out.push(`<h3><span class="verdict">${STATUS_LABEL[r.status]}</span> <code>${escapeHtml(r.id)}</code> <span class="subtitle">[${r.level}] ${escapeHtml(r.title)}</span></h3>`);
  out.push(`<p class="facts">rules ${r.rules.map((x) => `<code>${escapeHtml(x)}</code>`).join(' ')} · ${ms(r.durationMs)} · seed ${r.seed}</p>`);
  if (r.status !== 'pass') out.push(`<p class="reason">${escapeHtml(r.reason)}</p>`);
  if (r.checks.length > 0) {
    out.push('<table class="checks"><thead><tr><th>#</th><th>rule</th><th>expected</th><th>observed</th></tr></thead><tbody>');
    r.checks.forEach((k, i) => out.push(`<tr><td class="num">${i + 1}</td><td class="rule"><code>${escapeHtml(k.rule)}</code></td><td>${escapeHtml(k.expected)}</td><td class="observed">${escapeHtml(k.observed)}</td></tr>`));
    out.push('</tbody></table>');
  }
  if (r.status === 'fail' || r.status === 'error') out.push(`<p class="replay">replay: <code>${escapeHtml(r.replay)}</code></p>`);
  for (const note of r.notes) out.push(`<p class="note">note: ${escapeHtml(note)}</p>`);
  const entries = r.transcript?.entries.length ?? 0;
  const file = options.transcriptDir === undefined ? '' : ` · <a href="${escapeHtml(`${options.transcriptDir.replace(/\/+$/, '')}/${transcriptFileName(r.id)}`)}">JSON</a>`;
  out.push(`<details${r.status === 'fail' || r.status === 'error' ? ' open' : ''}><summary>transcript (${entries} entr${entries === 1 ? 'y' : 'ies'})${file}</summary>`);
  out.push(transcriptTable(r, options.maxEntries ?? 3000));
  out.push('</details>', '</section>');
  return out.join('\n');
}

export function conformanceHtml(report: SuiteReport, options: ConformanceHtmlOptions = {}): string {
  const s = report.summary;
  const rows = report.results.map((r) => `<tr class="status-${r.status === 'n/a' ? 'na' : r.status}"><td><a href="#${anchor(r.id)}"><code>${escapeHtml(r.id)}</code></a></td><td>${r.level}</td><td class="verdict">${STATUS_LABEL[r.status]}</td><td class="num">${ms(r.durationMs)}</td><td>${r.checks.length > 0 ? r.checks.length : ''}</td><td class="reason">${r.status === 'pass' ? '' : escapeHtml(r.reason)}</td></tr>`);
  const na = notApplicableSummary(report);
  // Per family (the id's first part), as Autobahn groups its cases.
  const families = new Map<string, Record<CaseResult['status'], number>>();
  for (const r of report.results) {
    const family = r.id.split('.')[0] ?? r.id;
    const counts = families.get(family) ?? { pass: 0, fail: 0, error: 0, 'n/a': 0 };
    counts[r.status]++;
    families.set(family, counts);
  }
  const familyRows = [...families].map(([family, c]) => `<tr><td><code>${escapeHtml(family)}</code></td><td class="num">${c.pass}</td><td class="num${c.fail > 0 ? ' bad' : ''}">${c.fail}</td><td class="num${c.error > 0 ? ' bad' : ''}">${c.error}</td><td class="num">${c['n/a']}</td></tr>`);
  const out = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">',
    `<title>lanesim conform: ${escapeHtml(report.target)}</title>`,
    `<style>${CSS}</style></head><body><main>`,
    `<header><h1>lanesim conform: ${escapeHtml(report.target)}</h1>`,
    `<p class="meta"><b>${s.pass}</b> passed · <b>${s.fail}</b> failed · <b>${s.error}</b> errors · <b>${s['n/a']}</b> not applicable · <b>${s.mustFailed}</b> MUST case(s) failed · ${report.results.length} cases · ${report.targetKind} · seed ${report.seed} · concurrency ${report.concurrency} · ${(report.durationMs / 1000).toFixed(1)} s · started ${escapeHtml(report.startedAt)}</p></header>`,
    '<section class="card"><h2>By family</h2>',
    '<table class="families"><thead><tr><th>family</th><th>pass</th><th>fail</th><th>error</th><th>n/a</th></tr></thead><tbody>',
    ...familyRows,
    '</tbody></table></section>',
    '<section class="card"><h2>Cases</h2>',
    '<table class="summary"><thead><tr><th>case</th><th>level</th><th>result</th><th>time</th><th>failed checks</th><th>reason</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
    na === null ? '' : `<pre class="na">${escapeHtml(na)}</pre>`,
    '</section>',
    '<section class="card"><h2>Each case</h2>',
    ...report.results.map((r) => caseSection(r, options)),
    '</section>',
    '<footer>lanesim conformance report</footer>',
    '</main></body></html>',
  ];
  return `${out.filter((l) => l !== '').join('\n')}\n`;
}

const CSS = `
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:#1f2328;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px 20px 48px}
header h1{font-size:1.45rem;line-height:1.3;margin:0 0 .4rem}
.meta{color:#59636e;margin:0 0 1rem}
.meta b{color:#1f2328;font-weight:600}
section.card{background:#fff;border:1px solid #e1e4e8;border-radius:10px;padding:16px 20px;margin:18px 0;box-shadow:0 1px 2px rgba(0,0,0,.03)}
section.case{border-top:1px solid #eceef1;padding:10px 0}
h2{font-size:1.2rem;margin:0 0 .3rem}
h3{font-size:1rem;margin:.6rem 0 .3rem}
.subtitle{font-weight:400;color:#59636e}
.facts,.note{color:#59636e;font-size:.9rem;margin:.2rem 0}
.reason{margin:.2rem 0}
table{border-collapse:collapse;font-size:.9rem}
th,td{padding:5px 10px;border-bottom:1px solid #eceef1;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #d9dde2}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
td.bad{color:#b42318;font-weight:600}
table.summary{width:100%}
table.summary td.reason{word-break:break-word;color:#444}
table.checks{width:100%;margin:.3rem 0}
table.checks td.observed{color:#b42318}
table.transcript{width:100%;font-size:.8rem}
table.transcript td.frame{word-break:break-all}
table.transcript td.dir{white-space:nowrap;color:#59636e}
tr.dir-send td.frame code{color:#2357a5}
tr.dir-model td.frame code{color:#6f42c1}
tr.dir-conn td.frame code,tr.dir-note td.frame code{color:#59636e}
.verdict{font-weight:600}
.status-pass .verdict{color:#1e7b34}
.status-fail .verdict,.status-error .verdict{color:#b42318}
.status-na .verdict{color:#8a6d00}
pre.na{background:#fffbea;border:1px solid #f0e0a0;border-radius:6px;padding:8px 12px;white-space:pre-wrap;font-size:.85rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
a{color:#2357a5}
details summary{cursor:pointer;color:#2357a5;font-size:.9rem}
footer{color:#59636e;font-size:.8rem;text-align:center;margin-top:24px}
`;
