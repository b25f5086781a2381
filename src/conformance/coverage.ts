/**
 * Coverage you can see (`lanesim conform --coverage`): every rule of
 * docs/SPEC.md with the cases that check it, and where each case runs: in
 * process (an adapter's lane queue, tool validator or fake clock), over the
 * wire (a real WebSocket), or both (a gateway whose model the harness
 * scripts: in process through an adapter, over the wire with --url and
 * --model-control).
 *
 * Every MUST rule has a case, or an entry in NOT_OBSERVABLE saying why no
 * case can see it from outside and where it is checked instead. The table is
 * reviewed like code: test/conformance/coverage.test.ts fails when a MUST rule
 * has neither (and when the table names a rule that has a case, or that SPEC
 * does not define).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { table } from '../report/format.ts';
import type { Capability, ConformanceCase } from './types.ts';

export type RuleLevel = 'MUST' | 'SHOULD' | 'MAY' | 'DEP';

export interface SpecRule {
  id: string;
  /** MUST / SHOULD / MAY as SPEC marks it; DEP for the departures from OpenClaw (§ DEP, no level). */
  level: RuleLevel;
  /** SPEC's first words after the id (its title). */
  title: string;
}

/** Where a case can run. */
export type CaseVenue = 'in process' | 'over the wire' | 'both';

/**
 * From a case's `requires`: lanes, tools and virtual-time exist only in
 * process; raw-socket only over a real WebSocket; gateway and model-script
 * both ways (an adapter's gateway in process, --url with --model-control).
 */
export function venueOf(requires: readonly Capability[]): CaseVenue {
  const inProcessOnly = requires.some((cap) => cap === 'lanes' || cap === 'tools' || cap === 'virtual-time');
  const wireOnly = requires.includes('raw-socket');
  if (inProcessOnly && !wireOnly) return 'in process';
  if (wireOnly && !inProcessOnly) return 'over the wire';
  // Neither (gateway, model-script) or both kinds of needs: gateway-level, both paths.
  return 'both';
}

/**
 * MUST rules no case can observe from outside, each with why and where it is
 * checked instead. Reviewed: add a rule here only with a reason a gateway
 * author would accept.
 */
export const NOT_OBSERVABLE: Readonly<Record<string, string>> = Object.freeze({
  'LANE-15': 'forgetting idle lanes is about the gateway\'s memory: neither the lane-queue adapter interface nor the protocol shows which lanes exist; exercised on the reference scheduler by test/unit/lane-scheduler.test.ts (an idle nested lane forgotten and created afresh)',
  'AUTH-1': 'the HTTP endpoints that act are each gateway\'s own (the reference: POST /hooks/message); the protocol names none, so a case cannot know where to knock (the WebSocket half, the token on connect, is WS-6\'s case); checked on the reference by test/ws/hostile.test.ts',
  'BOUND-7': 'the caps are the gateway\'s stated numbers (20000 connections, 1024 handshakes in the reference): reaching them takes thousands of sockets; checked with small caps by test/ws/hostile.test.ts',
  'BOUND-9': 'how many bytes a never-reading client makes the gateway hold is inside the gateway; what a client sees (skips, the 1008 close) is WS-10\'s case; checked by test/ws/liveness.test.ts, test/ws/hostile.test.ts and the soak bench (bench/soak.bench.ts)',
  'LANE-16': 'refusals at the door are defined on the scheduler\'s submit() with task ids and trace records (LANE_INVALID, LANE_DUPLICATE_TASK), which the lane-queue adapter interface (enqueue of a function) does not carry; checked by test/unit/lane-scheduler.test.ts (the drain refusal, LANE-13, has a case)',
});

/** Rule families checked by other tests than conformance cases. */
export const CHECKED_ELSEWHERE: Readonly<Record<string, string>> = Object.freeze({
  CFG: 'configuration rules are checked by the config parser tests (test/config.test.ts): a gateway\'s configuration is not observable over the wire; --config describes it to the suite',
});

export interface RuleCoverage {
  rule: SpecRule;
  cases: Array<{ id: string; venue: CaseVenue }>;
  /** Why no case (NOT_OBSERVABLE or CHECKED_ELSEWHERE), when there is none. */
  instead: string | null;
}

export interface CoverageReport {
  rules: RuleCoverage[];
  /** MUST rules with neither a case nor an entry saying why. */
  uncoveredMust: string[];
  /** Case rule ids SPEC does not define. */
  unknownRules: Array<{ caseId: string; rule: string }>;
  /** NOT_OBSERVABLE entries for rules that do have a case, or that SPEC does not define (the table is stale). */
  staleEntries: string[];
  totals: { rules: number; rulesWithCase: number; must: number; mustWithCase: number; mustNotObservable: number; mustElsewhere: number; cases: number };
}

const RULE_RE = /^\*\*([A-Z]+-\d+)\*\*(?:\s+\((MUST|SHOULD|MAY)\b[^)]*\))?\s*([^\n]*)/gm;

/** Every rule SPEC defines, in SPEC order (a definition starts a line: `**ID** (LEVEL) Title...`; mentions elsewhere are not definitions). */
export function parseSpecRules(specText: string): SpecRule[] {
  const out: SpecRule[] = [];
  const seen = new Set<string>();
  for (const m of specText.matchAll(RULE_RE)) {
    const id = m[1]!;
    if (seen.has(id)) continue;
    seen.add(id);
    const level: RuleLevel = (m[2] as RuleLevel | undefined) ?? (id.startsWith('DEP-') ? 'DEP' : 'MAY');
    const title = (m[3] ?? '').replace(/\*/g, '').split(/(?<=\.)\s/)[0]!.slice(0, 80);
    out.push({ id, level, title });
  }
  return out;
}

/**
 * docs/SPEC.md of this package: searched upward from this module, which runs
 * from src/conformance/ (tsx, tests) or from a bundle in dist/.
 */
export function specPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'docs', 'SPEC.md');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`docs/SPEC.md not found above ${path.dirname(fileURLToPath(import.meta.url))}`);
}

export function coverage(rules: readonly SpecRule[], cases: readonly ConformanceCase[]): CoverageReport {
  const byRule = new Map<string, Array<{ id: string; venue: CaseVenue }>>();
  const defined = new Set(rules.map((r) => r.id));
  const unknownRules: Array<{ caseId: string; rule: string }> = [];
  for (const c of cases) {
    for (const rule of c.rules) {
      if (!defined.has(rule)) unknownRules.push({ caseId: c.id, rule });
      const list = byRule.get(rule) ?? [];
      if (!list.some((x) => x.id === c.id)) list.push({ id: c.id, venue: venueOf(c.requires) });
      byRule.set(rule, list);
    }
  }
  const out: RuleCoverage[] = rules.map((rule) => {
    const list = byRule.get(rule.id) ?? [];
    const family = rule.id.split('-')[0]!;
    const instead = list.length > 0 ? null : NOT_OBSERVABLE[rule.id] ?? CHECKED_ELSEWHERE[family] ?? null;
    return { rule, cases: list, instead };
  });
  const must = out.filter((r) => r.rule.level === 'MUST');
  const staleEntries = Object.keys(NOT_OBSERVABLE).filter((id) => !defined.has(id) || (byRule.get(id)?.length ?? 0) > 0);
  return {
    rules: out,
    uncoveredMust: must.filter((r) => r.cases.length === 0 && r.instead === null).map((r) => r.rule.id),
    unknownRules,
    staleEntries,
    totals: {
      rules: out.length,
      rulesWithCase: out.filter((r) => r.cases.length > 0).length,
      must: must.length,
      mustWithCase: must.filter((r) => r.cases.length > 0).length,
      mustNotObservable: must.filter((r) => r.cases.length === 0 && NOT_OBSERVABLE[r.rule.id] !== undefined).length,
      mustElsewhere: must.filter((r) => r.cases.length === 0 && NOT_OBSERVABLE[r.rule.id] === undefined && r.instead !== null).length,
      cases: cases.length,
    },
  };
}

export function loadCoverage(cases: readonly ConformanceCase[], specText: string = readFileSync(specPath(), 'utf8')): CoverageReport {
  return coverage(parseSpecRules(specText), cases);
}

const VENUE_MARK: Record<CaseVenue, string> = { 'in process': 'in-process', 'over the wire': 'wire', both: 'both' };

/** `lanesim conform --coverage`. */
export function coverageText(report: CoverageReport): string {
  const rows = [['rule', 'level', 'runs', 'title', 'cases (in-process / wire / both)']];
  for (const r of report.rules) {
    const cases = r.cases.length > 0 ? r.cases.map((c) => `${c.id} (${VENUE_MARK[c.venue]})`).join(', ')
      : r.instead !== null ? `none: ${r.instead.split(':')[0]}` : r.rule.level === 'MUST' ? 'NONE (uncovered MUST rule)' : 'none';
    const venues = new Set(r.cases.map((c) => c.venue));
    const runs = venues.size === 0 ? '-' : venues.has('both') || (venues.has('in process') && venues.has('over the wire')) ? 'both' : venues.has('in process') ? 'in-process' : 'wire';
    rows.push([r.rule.id, r.rule.level, runs, r.rule.title.length > 48 ? `${r.rule.title.slice(0, 47)}…` : r.rule.title, cases]);
  }
  const t = report.totals;
  const lines = [
    table(rows),
    '',
    `${t.rulesWithCase} of ${t.rules} SPEC rules have a case; MUST rules: ${t.mustWithCase} of ${t.must} with a case, ${t.mustNotObservable} not observable from outside, ${t.mustElsewhere} checked by other tests (CFG), ${report.uncoveredMust.length} uncovered; catalogue: ${t.cases} cases.`,
  ];
  const notes = report.rules.filter((r) => r.cases.length === 0 && r.instead !== null && NOT_OBSERVABLE[r.rule.id] !== undefined);
  if (notes.length > 0) {
    lines.push('', 'Not observable from outside:');
    for (const r of notes) lines.push(`  ${r.rule.id}: ${r.instead}`);
  }
  lines.push('', `CFG-*: ${CHECKED_ELSEWHERE.CFG}.`);
  if (report.uncoveredMust.length > 0) lines.push('', `MUST rules with no case and no reason: ${report.uncoveredMust.join(', ')}`);
  if (report.unknownRules.length > 0) lines.push('', `Case rules SPEC does not define: ${report.unknownRules.map((u) => `${u.caseId}: ${u.rule}`).join(', ')}`);
  return lines.join('\n');
}
