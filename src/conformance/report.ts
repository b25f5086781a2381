/** Suite reports: a terminal table, JSON, and JUnit XML for CI. */
import { table } from '../report/format.ts';
import type { SuiteReport } from './runner.ts';
import type { CaseResult } from './types.ts';

const MARK: Record<CaseResult['status'], string> = { pass: 'pass', fail: 'FAIL', 'n/a': 'n/a', error: 'ERROR' };

function oneLine(text: string, max = 110): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

export function terminalReport(report: SuiteReport, options: { verbose?: boolean } = {}): string {
  const rows = [['id', 'level', 'result', 'time', 'reason']];
  for (const r of report.results) {
    rows.push([r.id, r.level, MARK[r.status], `${r.durationMs < 10 ? r.durationMs.toFixed(1) : r.durationMs.toFixed(0)} ms`, r.status === 'pass' ? '' : oneLine(r.reason)]);
  }
  const s = report.summary;
  const lines = [
    `lanesim conform: ${report.target} (${report.targetKind}), seed ${report.seed}`,
    '',
    table(rows),
    '',
    `${s.pass} passed, ${s.fail} failed, ${s.error} errors, ${s['n/a']} not applicable; ${s.mustFailed} MUST case(s) failed; ${(report.durationMs / 1000).toFixed(2)} s`,
  ];
  const failures = report.results.filter((r) => r.status === 'fail' || r.status === 'error');
  for (const r of failures) {
    lines.push('', `${MARK[r.status]} ${r.id} [${r.level}] ${r.title}`);
    if (r.rule !== undefined) lines.push(`  rule:     ${r.rule}`);
    if (r.expected !== undefined) lines.push(`  expected: ${oneLine(r.expected, 400)}`);
    if (r.observed !== undefined) lines.push(`  observed: ${oneLine(r.observed, 400)}`);
    if (r.rule === undefined) lines.push(`  reason:   ${oneLine(r.reason, 400)}`);
    lines.push(`  replay:   ${r.replay}`);
    if (options.verbose) for (const note of r.notes) lines.push(`  note:     ${oneLine(note, 400)}`);
  }
  return lines.join('\n');
}

export function jsonReport(report: SuiteReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // XML 1.0 forbids most control characters even escaped.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

/** JUnit XML: one testsuite, one testcase per case; n/a as skipped; MUST/SHOULD in the name. */
export function junitReport(report: SuiteReport): string {
  const s = report.summary;
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites name="lanesim conform" tests="${report.results.length}" failures="${s.fail}" errors="${s.error}" skipped="${s['n/a']}" time="${(report.durationMs / 1000).toFixed(3)}">`);
  out.push(`  <testsuite name="${xml(report.target)}" tests="${report.results.length}" failures="${s.fail}" errors="${s.error}" skipped="${s['n/a']}" time="${(report.durationMs / 1000).toFixed(3)}">`);
  for (const r of report.results) {
    const family = r.id.split('.')[0] ?? r.id;
    out.push(`    <testcase classname="lanesim.${xml(family)}" name="${xml(`${r.id} [${r.level}] ${r.title}`)}" time="${(r.durationMs / 1000).toFixed(3)}">`);
    if (r.status === 'fail') {
      out.push(`      <failure message="${xml(oneLine(r.reason, 500))}" type="${xml(r.rule ?? 'rule')}">${xml(`rule: ${r.rule ?? '-'}\nexpected: ${r.expected ?? '-'}\nobserved: ${r.observed ?? '-'}\nreplay: ${r.replay}`)}</failure>`);
    } else if (r.status === 'error') {
      out.push(`      <error message="${xml(oneLine(r.reason, 500))}">${xml(`${r.reason}\nreplay: ${r.replay}`)}</error>`);
    } else if (r.status === 'n/a') {
      out.push(`      <skipped message="${xml(oneLine(r.reason, 500))}"/>`);
    }
    out.push(`      <properties><property name="rules" value="${xml(r.rules.join(','))}"/><property name="level" value="${r.level}"/><property name="seed" value="${r.seed}"/></properties>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>');
  return `${out.join('\n')}\n`;
}
