/**
 * Every failed check is reported (src/conformance/report.ts): the terminal
 * shows the first and a count (each one with --verbose), JUnit puts all of a
 * case's checks in its one <failure>, JSON keeps them and the failed case's
 * transcript, every failure carries its replay command with the seed, and the
 * n/a cases end with every setting that would enable them, at once.
 */
import { describe, expect, it } from 'vitest';
import { explainNotApplicable, missingCapabilityReason, missingSettings, settingsOf } from '../../src/conformance/plan.ts';
import { jsonReport, junitReport, terminalReport } from '../../src/conformance/report.ts';
import { runSuite, verdict, type SuiteReport } from '../../src/conformance/runner.ts';
import { referenceTarget } from '../../src/conformance/targets/reference.ts';
import { frameText, MAX_FRAME_CHARS, TranscriptRecorder } from '../../src/conformance/transcript.ts';
import { CaseFailure, checkRule, type CaseResult, type ConformanceCase } from '../../src/conformance/types.ts';
import { ALL_CASES } from '../../src/conformance/cases/index.ts';

const CHECKS = [
  { rule: 'STATUS-2', expected: 'lane.status has waiting (array)', observed: 'waiting missing' },
  { rule: 'HB-1', expected: 'a frame at least every 15000 ms', observed: 'silent for 31000 ms after 1200' },
  { rule: 'QUEUE-20', expected: 'every accepted message settles once', observed: 'run r-7 never settled' },
];

function result(over: Partial<CaseResult>): CaseResult {
  return {
    id: 'x.case', title: 'A case', level: 'MUST', rules: ['STATUS-2'], status: 'pass', reason: 'ok', durationMs: 12,
    seed: 77, replay: 'npx lanesim conform --url ws://127.0.0.1:1 --only x.case --seed 5', notes: [], checks: [], ...over,
  };
}

function suite(results: CaseResult[]): SuiteReport {
  const summary = { pass: 0, fail: 0, 'n/a': 0, error: 0, mustFailed: 0 };
  for (const r of results) {
    summary[r.status]++;
    if (r.level === 'MUST' && (r.status === 'fail' || r.status === 'error')) summary.mustFailed++;
  }
  return { target: 'test target', targetKind: 'websocket', seed: 5, startedAt: '2026-01-01T00:00:00.000Z', durationMs: 1000, concurrency: 4, results, summary };
}

const failed = verdict(
  { id: 'status.many', title: 'Three rules broken', level: 'MUST', rules: ['STATUS-2', 'HB-1', 'QUEUE-20'], seed: 9, notes: ['a note'], replay: 'npx lanesim conform --only status.many --seed 5' },
  CHECKS.slice(0, 2), new CaseFailure(CHECKS[2]!.rule, CHECKS[2]!.expected, CHECKS[2]!.observed), 40,
);
failed.transcript = { entries: [{ t: 1.5, at: 37.5, dir: 'send', conn: 'alice', text: '{"type":"req","id":"alice-1","method":"chat.send"}' }], dropped: 0 };
const na1 = result({ id: 'queue.needs-followup', status: 'n/a', reason: explainNotApplicable('needs messages.queue.mode followup; the gateway runs collect', { kind: 'websocket' }) });
const na2 = result({ id: 'queue.needs-model', status: 'n/a', reason: missingCapabilityReason(['model-script'], { kind: 'websocket' }) });
const na3 = result({ id: 'queue.needs-model-2', status: 'n/a', reason: explainNotApplicable('the target cannot script its model', { kind: 'websocket' }) });
const na4 = result({ id: 'ws.no-ticks', status: 'n/a', reason: 'hello-ok.policy has no tickIntervalMs' });
const report = suite([result({}), failed, na1, na2, na3, na4]);

describe('a case with several failed checks', () => {
  it('fails with every check, the hard one that stopped it last', () => {
    expect(failed.status).toBe('fail');
    expect(failed.checks).toEqual(CHECKS);
    expect(failed.rule).toBe('STATUS-2');
    expect(failed.reason).toMatch(/^3 failed checks \(STATUS-2, HB-1, QUEUE-20\)/);
  });

  it('terminal: the first check and a count by default; each check with rule, expected, observed with --verbose; the replay in both', () => {
    const plain = terminalReport(report);
    expect(plain).toContain('rule:     STATUS-2');
    expect(plain).not.toContain('silent for 31000 ms');
    expect(plain).toContain('… and 2 more failed check(s) (HB-1, QUEUE-20): --verbose lists each');
    expect(plain).toContain('replay:   npx lanesim conform --only status.many --seed 5');
    const verbose = terminalReport(report, { verbose: true });
    for (const [i, k] of CHECKS.entries()) {
      expect(verbose).toContain(`check ${i + 1} of 3:`);
      expect(verbose).toContain(`rule:     ${k.rule}`);
      expect(verbose).toContain(`expected: ${k.expected}`);
      expect(verbose).toContain(`observed: ${k.observed}`);
    }
    expect(verbose).toContain('note:     a note');
    expect(verbose).toContain('replay:   npx lanesim conform --only status.many --seed 5');
  });

  it('JUnit: one <failure> for the case holding all its checks, one property per check, the replay', () => {
    const xml = junitReport(report);
    const testcase = /<testcase[^>]*name="status\.many[^"]*"[^>]*>([\s\S]*?)<\/testcase>/.exec(xml)?.[1] ?? '';
    expect(testcase.match(/<failure /g)).toHaveLength(1);
    for (const k of CHECKS) {
      expect(testcase).toContain(`rule: ${k.rule}`);
      expect(testcase).toContain(`observed: ${k.observed}`);
    }
    expect(testcase).toContain('failed-check.3');
    expect(testcase).toContain('replay: npx lanesim conform --only status.many --seed 5');
    expect(xml.match(/<failure /g)).toHaveLength(1);
    expect(xml.match(/<skipped /g)).toHaveLength(4);
  });

  it('JSON: every check and the failed case\'s transcript; the settings the n/a cases miss', () => {
    const json = JSON.parse(jsonReport(report)) as { results: CaseResult[]; notApplicable: { settings: Array<{ setting: string; cases: number }>; otherCases: number } };
    const many = json.results.find((r) => r.id === 'status.many')!;
    expect(many.checks).toEqual(CHECKS);
    expect(many.transcript?.entries[0]).toMatchObject({ dir: 'send', conn: 'alice' });
    expect(json.notApplicable.settings).toContainEqual({ setting: '--model-control URL', cases: 2 });
    expect(json.notApplicable.otherCases).toBe(1);
  });
});

describe('n/a reasons name the flag or config key, and the report lists them all at once', () => {
  it('harness words become settings', () => {
    expect(na1.reason).toBe('needs messages.queue.mode followup in the --config file (and the gateway run with it); it runs collect');
    expect(settingsOf(na1.reason)).toEqual(['messages.queue.mode followup in --config']);
    expect(na2.reason).toMatch(/^needs --model-control URL \(/);
    expect(na3.reason).toBe(na2.reason);
    expect(explainNotApplicable('the target does not tell its gateway configuration (session.config), and this case needs a specific one', { kind: 'websocket' })).toMatch(/^needs --config FILE/);
    expect(explainNotApplicable('the target does not tell its gateway configuration (session.config), and this case needs a specific one', { kind: 'websocket' })).not.toContain('session.config');
    expect(missingCapabilityReason(['lanes', 'virtual-time'], { kind: 'websocket' })).toMatch(/^needs an in-process target with a lane queue .*; needs an in-process target \(--adapter FILE\)/);
    // A reason about what the gateway did stays as it is.
    expect(explainNotApplicable('precondition not met: the coding agent never ran', { kind: 'websocket' })).toBe('precondition not met: the coding agent never ran');
  });

  it('the terminal ends with every missing setting and how many cases each would enable', () => {
    const text = terminalReport(report);
    expect(text).toContain('to run the 4 n/a case(s):');
    expect(text).toContain('  set --model-control URL (2 cases)');
    expect(text).toContain('  set messages.queue.mode followup in --config (1 case)');
    expect(text).toContain('1 case(s) n/a for what the gateway did or declares');
    expect(missingSettings([]).total).toBe(0);
    expect(terminalReport(suite([result({})]))).not.toContain('to run the');
  });
});

describe('transcripts', () => {
  it('cut long frames and count what they drop', () => {
    expect(frameText('x'.repeat(MAX_FRAME_CHARS + 10))).toMatch(/…\[cut 10 chars\]$/);
    expect(frameText(Buffer.alloc(3))).toBe('<binary 3 bytes>');
    const t = new TranscriptRecorder();
    t.record('send', 'a', { type: 'req' }, 12.34);
    expect(t.snapshot().entries[0]).toMatchObject({ dir: 'send', conn: 'a', text: '{"type":"req"}', at: 12.3 });
  });

  it('in process: a failing case keeps what it sent and received and the requests the model got', async () => {
    const base = ALL_CASES.find((c) => c.id === 'queue.idle.starts')!;
    // The reference passes; a copy with one more check that cannot hold fails, with its transcript.
    const failing: ConformanceCase = { ...base, id: 'queue.idle.starts.plus-one', run: async (ctx) => { await base.run(ctx); checkRule(false, 'QUEUE-2', 'a check that cannot hold', 'as intended'); } };
    const r = await runSuite({ target: referenceTarget(), cases: [base, failing] });
    const [pass, fail] = r.results;
    expect(pass!.status).toBe('pass');
    expect(pass!.transcript).toBeUndefined();
    expect(fail!.status).toBe('fail');
    const entries = fail!.transcript!.entries;
    expect(entries.some((e) => e.dir === 'send' && e.text.includes('"method":"chat.send"'))).toBe(true);
    expect(entries.some((e) => e.dir === 'recv' && e.text.includes('"event":"chat"'))).toBe(true);
    expect(entries.some((e) => e.dir === 'model')).toBe(true);
    expect(entries.every((e, i) => i === 0 || e.t >= entries[i - 1]!.t)).toBe(true);
    const all = await runSuite({ target: referenceTarget(), cases: [base], transcripts: 'all' });
    expect(all.results[0]!.transcript!.entries.length).toBeGreaterThan(0);
  });
});
