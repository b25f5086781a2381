/**
 * Suite reports: a terminal table, JSON, and JUnit XML for CI (the HTML
 * report is src/report/conformance-html.ts). Every failed check of a case is
 * reported (CaseResult.checks): the terminal shows the first and a count, or
 * each one with --verbose; JSON keeps them all, with the transcript of every
 * failed case; JUnit puts them all in the case's one <failure>. Every failure
 * carries its replay command with the seed. The n/a cases end with every
 * setting that would enable them, at once.
 */
import { table } from '../report/format.ts';
import { missingSettings } from './plan.ts';
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
    const checks = r.checks ?? [];
    const shown = options.verbose ? checks : checks.slice(0, 1);
    shown.forEach((k, i) => {
      if (checks.length > 1) lines.push(`  check ${i + 1} of ${checks.length}:`);
      lines.push(`  rule:     ${k.rule}`, `  expected: ${oneLine(k.expected, 400)}`, `  observed: ${oneLine(k.observed, 400)}`);
    });
    if (!options.verbose && checks.length > 1) {
      lines.push(`  … and ${checks.length - 1} more failed check(s) (${[...new Set(checks.slice(1).map((k) => k.rule))].join(', ')}): --verbose lists each`);
    }
    if (checks.length === 0) lines.push(`  reason:   ${oneLine(r.reason, 400)}`);
    lines.push(`  replay:   ${r.replay}`);
    if (options.verbose) for (const note of r.notes) lines.push(`  note:     ${oneLine(note, 400)}`);
  }
  const na = notApplicableSummary(report);
  if (na !== null) lines.push('', na);
  return lines.join('\n');
}

/** "to run the N n/a cases: <every missing setting> ..." (null when nothing was n/a). */
export function notApplicableSummary(report: SuiteReport): string | null {
  const m = missingSettings(report.results);
  if (m.total === 0) return null;
  const lines = [`to run the ${m.total} n/a case(s):`];
  for (const s of m.settings) lines.push(`  set ${s.setting} (${s.cases} case${s.cases === 1 ? '' : 's'})`);
  if (m.other > 0) lines.push(`  ${m.other} case(s) n/a for what the gateway did or declares (see their reasons above; no setting changes that)`);
  return lines.join('\n');
}

/** The whole report (every failed check, the transcript of every failed case) and the settings the n/a cases miss. */
export function jsonReport(report: SuiteReport): string {
  const m = missingSettings(report.results);
  return `${JSON.stringify({ ...report, notApplicable: { settings: m.settings, otherCases: m.other } }, null, 2)}\n`;
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
    const checks = r.checks ?? [];
    if (r.status === 'fail') {
      // One <failure> per case holding every failed check (JUnit allows one), each with its rule.
      const body = checks.length === 0 ? `rule: ${r.rule ?? '-'}\nexpected: ${r.expected ?? '-'}\nobserved: ${r.observed ?? '-'}`
        : checks.map((k, i) => `check ${i + 1} of ${checks.length}\nrule: ${k.rule}\nexpected: ${k.expected}\nobserved: ${k.observed}`).join('\n\n');
      out.push(`      <failure message="${xml(oneLine(r.reason, 500))}" type="${xml(r.rule ?? 'rule')}">${xml(`${body}\n\nreplay: ${r.replay}`)}</failure>`);
    } else if (r.status === 'error') {
      out.push(`      <error message="${xml(oneLine(r.reason, 500))}">${xml(`${r.reason}\nreplay: ${r.replay}`)}</error>`);
    } else if (r.status === 'n/a') {
      out.push(`      <skipped message="${xml(oneLine(r.reason, 500))}"/>`);
    }
    const failed = checks.map((k, i) => `<property name="failed-check.${i + 1}" value="${xml(`${k.rule}: expected ${k.expected}; observed ${k.observed}`)}"/>`).join('');
    out.push(`      <properties><property name="rules" value="${xml(r.rules.join(','))}"/><property name="level" value="${r.level}"/><property name="seed" value="${r.seed}"/><property name="replay" value="${xml(r.replay)}"/>${failed}</properties>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>');
  return `${out.join('\n')}\n`;
}
