/**
 * Coverage you can see (src/conformance/coverage.ts): every MUST rule of
 * docs/SPEC.md has a case in the catalogue, or a reviewed entry saying why
 * no case can observe it from outside (or, for CFG, that the config parser
 * tests check it). Fails when a MUST rule has neither, when a case names a
 * rule SPEC does not define, and when the "not observable" table names a rule
 * that has a case after all.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_CASES } from '../../src/conformance/cases/index.ts';
import { NOT_OBSERVABLE, coverage, coverageText, loadCoverage, parseSpecRules, specPath, venueOf } from '../../src/conformance/coverage.ts';
import type { ConformanceCase } from '../../src/conformance/types.ts';

describe('SPEC rules', () => {
  it('reads each definition (a line starting **ID** (LEVEL)), not the mentions of a rule in prose', () => {
    const rules = parseSpecRules([
      'Rules are named like **LANE-4** (MUST). Nothing defined here.',
      '**LANE-4** (MUST) FIFO. A lane grants slots in order.',
      '**WS-7** (SHOULD) Errors. Something.',
      '**DEP-2** Keepalive. *OpenClaw:* ...',
      '**LANE-4** (MUST) repeated later: ignored',
    ].join('\n'));
    expect(rules).toEqual([
      { id: 'LANE-4', level: 'MUST', title: 'FIFO.' },
      { id: 'WS-7', level: 'SHOULD', title: 'Errors.' },
      { id: 'DEP-2', level: 'DEP', title: 'Keepalive.' },
    ]);
  });

  it('docs/SPEC.md defines over a hundred rules, most of them MUST', () => {
    const rules = parseSpecRules(readFileSync(specPath(), 'utf8'));
    expect(rules.length).toBeGreaterThan(100);
    expect(rules.filter((r) => r.level === 'MUST').length).toBeGreaterThan(90);
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
  });
});

describe('where a case runs', () => {
  it('lanes, tools, virtual-time: in process; raw-socket: over the wire; gateway and model-script: both', () => {
    expect(venueOf(['lanes'])).toBe('in process');
    expect(venueOf(['tools'])).toBe('in process');
    expect(venueOf(['gateway', 'virtual-time'])).toBe('in process');
    expect(venueOf(['raw-socket'])).toBe('over the wire');
    expect(venueOf(['raw-socket', 'gateway'])).toBe('over the wire');
    expect(venueOf(['gateway', 'model-script'])).toBe('both');
    expect(venueOf(['gateway'])).toBe('both');
  });
});

describe('coverage of the catalogue', () => {
  const report = loadCoverage(ALL_CASES);

  it('every MUST rule has a case, or a reviewed reason why no case can observe it (CFG: the config parser tests)', () => {
    expect(report.uncoveredMust, coverageText(report).split('\n').slice(-3).join('\n')).toEqual([]);
  });

  it('every rule a case names is defined in SPEC', () => {
    expect(report.unknownRules).toEqual([]);
  });

  it('the "not observable" table is not stale: each entry is a SPEC rule with no case', () => {
    expect(report.staleEntries).toEqual([]);
    for (const [id, why] of Object.entries(NOT_OBSERVABLE)) expect(why.length, id).toBeGreaterThan(40);
  });

  it('the totals add up and the text says them', () => {
    const t = report.totals;
    expect(t.cases).toBe(ALL_CASES.length);
    expect(t.mustWithCase + t.mustNotObservable + t.mustElsewhere + report.uncoveredMust.length).toBe(t.must);
    const text = coverageText(report);
    expect(text).toContain(`${t.rulesWithCase} of ${t.rules} SPEC rules have a case`);
    expect(text).toContain(`catalogue: ${ALL_CASES.length} cases`);
  });

  it('a MUST rule with no case and no reason is reported (the check can fail)', () => {
    const lane4 = ALL_CASES.filter((c) => !c.rules.includes('LANE-4'));
    const fake: ConformanceCase = { id: 'x.case', title: 'x', rules: ['NOPE-1'], level: 'MUST', requires: ['lanes'], procedure: '', run: async () => {} };
    const r = coverage([{ id: 'LANE-4', level: 'MUST', title: 'FIFO.' }, { id: 'LANE-15', level: 'MUST', title: 'Forgetting.' }, { id: 'CFG-1', level: 'MUST', title: 'Shape.' }], [...lane4, fake]);
    expect(r.uncoveredMust).toEqual(['LANE-4']);
    expect(r.unknownRules).toContainEqual({ caseId: 'x.case', rule: 'NOPE-1' });
    expect(coverageText(r)).toContain('NONE (uncovered MUST rule)');
  });
});
