/**
 * Generates docs/PEERS.md from the JSON reports of the peer runs kept in
 * docs/peers/*.json: nothing in it is typed by hand that a run produces.
 *
 *   npm run peers:doc                      regenerate docs/PEERS.md from docs/peers/*.json
 *   npm run peers:doc -- --check           exit 1 when docs/PEERS.md differs from what the reports give
 *   npm run peers:doc -- --run NAME|all    first (re)run the named runs of PEER_RUNS (real gateway: minutes each)
 *   npm run peers:doc -- --list            the runs and their commands
 *   npm run peers:doc -- --reports DIR --out FILE   other reports / output (trying a run out)
 *
 * Each report is a suite report (src/conformance/runner.ts) with a `peer`
 * block (scripts/openclaw-peer.ts `PeerRunInfo`: gateway, versions, command,
 * commit, catalogue fingerprint, queue settings asked and run, what OpenClaw
 * did not take in its words, the supports declaration). Every failed check is
 * classified by FAILURE_CLASSES (src/peers/classification.ts, reviewed with the spec's §9 DEP): a gap
 * the seed names, a departure lanesim's spec chose (its DEP id), wording only,
 * or a limit of the harness. A failure no class covers is shown as
 * **unclassified** and makes the script exit 1, so it gets reviewed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { FAILURE_CLASSES, classify, type FailureClass } from '../src/peers/classification.ts';
import { curveRows, type LoadCurve } from '../bench/load/curve.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPORTS = join(ROOT, 'docs', 'peers');
const OUT = join(ROOT, 'docs', 'PEERS.md');

// ------------------------------------------------------------------ the runs

/** A run whose report docs/PEERS.md is made from. `args` go to `npm run peer:openclaw -- run` (or the command given). */
export interface PeerRun {
  name: string;
  what: string;
  command: string[];
}

const PEER = ['npm', 'run', '--silent', 'peer:openclaw', '--', 'run'];
/** The channels the queue cases use, sent as OpenClaw's per-message queueMode. */
const CHANNEL_MODES = ['--channel-mode', 'urgent=interrupt', '--channel-mode', 'burst=collect', '--channel-mode', 'c=collect'];
const QUEUE_CASES = ['--only', 'queue.', '--only', 'status.'];

export const PEER_RUNS: readonly PeerRun[] = [
  { name: 'openclaw-lanes', what: "OpenClaw's command queue in process (lane cases)", command: ['npx', 'tsx', 'scripts/peer-lane-table.ts', '--suite', 'lanes', '--json', 'docs/peers/openclaw-lanes.json'] },
  { name: 'openclaw-tools', what: "OpenClaw's validateToolCall in process (tool.validate cases)", command: ['npx', 'tsx', 'scripts/peer-lane-table.ts', '--suite', 'tools', '--json', 'docs/peers/openclaw-tools.json'] },
  { name: 'openclaw-default', what: 'the real gateway, default configuration (followup, cap 20, summarize, debounce 500), every case', command: [...PEER, ...CHANNEL_MODES, '--json', 'docs/peers/openclaw-default.json'] },
  { name: 'openclaw-cascade', what: 'the real gateway, default configuration, the cascade alone (its measures are the table\'s)', command: [...PEER, '--only', 'cascade', '--json', 'docs/peers/openclaw-cascade.json'] },
  { name: 'lanesim-serve-cascade', what: "lanesim's reference (`lanesim serve --model-url`) on the same harness, model and cascade script", command: [...PEER, '--gateway', 'lanesim', '--only', 'cascade', '--json', 'docs/peers/lanesim-serve-cascade.json'] },
  { name: 'openclaw-collect', what: 'queue mode collect', command: [...PEER, '--queue-mode', 'collect', ...CHANNEL_MODES, ...QUEUE_CASES, '--json', 'docs/peers/openclaw-collect.json'] },
  { name: 'openclaw-steer', what: 'queue mode steer', command: [...PEER, '--queue-mode', 'steer', ...CHANNEL_MODES, ...QUEUE_CASES, '--json', 'docs/peers/openclaw-steer.json'] },
  { name: 'openclaw-interrupt', what: 'queue mode interrupt', command: [...PEER, '--queue-mode', 'interrupt', ...QUEUE_CASES, '--json', 'docs/peers/openclaw-interrupt.json'] },
  { name: 'openclaw-steer-backlog', what: 'queue mode steer-backlog asked (OpenClaw migrates it)', command: [...PEER, '--queue-mode', 'steer-backlog', '--only', 'queue.steer-backlog', '--json', 'docs/peers/openclaw-steer-backlog.json'] },
  { name: 'openclaw-cap1-summarize', what: 'cap 1, drop summarize', command: [...PEER, '--cap', '1', '--drop', 'summarize', '--only', 'queue.cap', '--json', 'docs/peers/openclaw-cap1-summarize.json'] },
  { name: 'openclaw-cap2-new', what: 'cap 2, drop new', command: [...PEER, '--cap', '2', '--drop', 'new', '--only', 'queue.cap', '--json', 'docs/peers/openclaw-cap2-new.json'] },
  { name: 'openclaw-cap2-old', what: 'cap 2, drop old', command: [...PEER, '--cap', '2', '--drop', 'old', '--only', 'queue.cap', '--json', 'docs/peers/openclaw-cap2-old.json'] },
  { name: 'openclaw-collect-cap2-new', what: 'queue mode collect, cap 2, drop new', command: [...PEER, '--queue-mode', 'collect', '--cap', '2', '--drop', 'new', '--only', 'queue.collect.drop-new', '--json', 'docs/peers/openclaw-collect-cap2-new.json'] },
  { name: 'openclaw-collect-cap2-old', what: 'queue mode collect, cap 2, drop old', command: [...PEER, '--queue-mode', 'collect', '--cap', '2', '--drop', 'old', '--only', 'queue.collect.drop-old', '--json', 'docs/peers/openclaw-collect-cap2-old.json'] },
];

// ------------------------------------------------------------------ reports

interface FailedCheck { rule: string; expected: string; observed: string }
interface CaseResult {
  id: string; title: string; level: string; status: 'pass' | 'fail' | 'n/a' | 'error'; reason: string;
  rule?: string; expected?: string; observed?: string; notes: string[]; checks?: FailedCheck[]; durationMs: number;
}
interface PeerInfo {
  gateway: string; version: string; serverVersion: string | null; node: string; command: string; commit: string; catalogue: string; cases: number; endedAt: string;
  queue?: { requested: { mode: string; cap: number; drop: string; debounceMs: number | null; channelModes: Record<string, string> }; effective: string };
  peerConfig?: string | null;
  refusals?: { setting: string; words: string; becomes?: string }[];
  supports?: Record<string, unknown> | null;
  readyMs?: number; warmupMs?: number | null;
  load?: { cores: number; atStart: number[]; atEnd: number[] };
  module?: string;
}
export interface Report {
  target: string; seed: number; startedAt: string; durationMs: number; results: CaseResult[];
  summary: { pass: number; fail: number; 'n/a': number; error: number; mustFailed: number };
  peer: PeerInfo;
}

function readReports(dir: string): Map<string, Report> {
  const out = new Map<string, Report>();
  if (!existsSync(dir)) return out;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const report = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Report;
    if (report.peer === undefined || !Array.isArray(report.results)) throw new Error(`${file}: not a peer report (no peer block): write it with the commands of PEER_RUNS`);
    out.set(basename(file, '.json'), report);
  }
  return out;
}

const cell = (text: string): string => text.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
const cut = (text: string, max = 220): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const code = (text: string): string => `\`${text.replace(/`/g, "'")}\``;
const RESULT: Record<CaseResult['status'], string> = { pass: 'pass', fail: '**FAIL**', 'n/a': 'n/a', error: '**ERROR**' };

function checksOf(r: CaseResult): FailedCheck[] {
  if (r.checks !== undefined && r.checks.length > 0) return r.checks;
  return r.rule === undefined ? [] : [{ rule: r.rule, expected: r.expected ?? '', observed: r.observed ?? '' }];
}

interface Classified { check: FailedCheck; cls: FailureClass | null }
function classifyCase(r: CaseResult): Classified[] {
  return checksOf(r).map((check) => ({ check, cls: classify(r.id, check.rule, check.observed) }));
}

function label(cls: FailureClass | null): string {
  if (cls === null) return '**unclassified**';
  return `${cls.kind}${cls.dep === null ? '' : ` (${cls.dep})`}`;
}

function caseClass(r: CaseResult): string {
  const labels = [...new Set(classifyCase(r).map((c) => label(c.cls)))];
  return labels.join(', ');
}

function reasonOf(r: CaseResult): string {
  if (r.status === 'pass') return r.notes.find((n) => !n.startsWith('cascade-measures ')) ?? '';
  if (r.status === 'fail') {
    const checks = checksOf(r);
    const first = checks[0];
    const more = checks.length > 1 ? ` (+${checks.length - 1} more: ${[...new Set(checks.slice(1).map((c) => c.rule))].join(', ')})` : '';
    return first === undefined ? r.reason : `${first.rule}: expected ${first.expected}; observed ${first.observed}${more}`;
  }
  return r.reason;
}

function resultTable(report: Report, withClass: boolean): string[] {
  const lines = [withClass ? '| case | level | result | failure class | reason |' : '| case | level | result | reason |', withClass ? '|---|---|---|---|---|' : '|---|---|---|---|'];
  for (const r of report.results) {
    const cls = withClass ? ` ${r.status === 'fail' ? caseClass(r) : ''} |` : '';
    lines.push(`| ${code(r.id)} | ${r.level} | ${RESULT[r.status]} |${cls} ${cell(cut(reasonOf(r)))} |`);
  }
  return lines;
}

function summary(report: Report): string {
  const s = report.summary;
  return `${s.pass} pass, ${s.fail} fail, ${s.error} error, ${s['n/a']} n/a (${report.results.length} cases, ${(report.durationMs / 1000).toFixed(0)} s)`;
}

function runLine(name: string, report: Report): string {
  const p = report.peer;
  const q = p.queue;
  const config = q === undefined ? '—' : `${q.effective}${q.effective !== q.requested.mode ? ` (asked ${q.requested.mode})` : ''}, cap ${q.requested.cap}, drop ${q.requested.drop}, debounce ${q.requested.debounceMs ?? 'unset'}${Object.keys(q.requested.channelModes).length > 0 ? `, per-message ${Object.entries(q.requested.channelModes).map(([c, m]) => `${c}=${m}`).join(' ')}` : ''}${p.peerConfig ? `, --peer-config ${p.peerConfig}` : ''}`;
  return `| ${code(`${name}.json`)} | ${p.version}${p.serverVersion && !p.version.includes(p.serverVersion) ? ` (${p.serverVersion})` : ''}, Node ${p.node} | ${cell(config)} | ${p.endedAt.slice(0, 16).replace('T', ' ')}Z | ${p.commit} / ${p.catalogue} | ${summary(report)} | ${code(p.command)} |`;
}

// ------------------------------------------------------------------ the cascade table

interface Measures {
  handoff: string; laneWaitMs: Record<string, number | null>; longestLaneWaitMs: number | null; silenceMs: Record<string, number>; longestSilenceMs: number;
  firstFeedbackMs: Record<string, number | null>; toolErrors: { calls: number; returned: number; swallowed: number; text: string | null; retried: boolean };
  messagesLost: number; ends: Record<string, string>; coderRequests: number; modelRequests: number;
}

function measuresOf(report: Report | undefined): { result: CaseResult; m: Measures | null } | null {
  const result = report?.results.find((r) => r.id === 'cascade.seed-004.end-to-end');
  if (result === undefined) return null;
  const note = result.notes.find((n) => n.startsWith('cascade-measures '));
  return { result, m: note === undefined ? null : (JSON.parse(note.slice('cascade-measures '.length)) as Measures) };
}

const sec = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

function cascadeTable(openclaw: Report | undefined, lanesim: Report | undefined, names: [string, string]): string[] {
  const a = measuresOf(openclaw);
  const b = measuresOf(lanesim);
  if (a === null && b === null) return ['No report holds the cascade case yet.'];
  const col = (x: ReturnType<typeof measuresOf>, f: (m: Measures) => string): string => (x === null ? 'not run' : x.m === null ? `n/a: ${cut(x.result.reason, 160)}` : f(x.m));
  const per = (rec: Record<string, number | null>): string => Object.entries(rec).map(([k, v]) => `${k} ${sec(v)}`).join(', ');
  const rows: [string, (m: Measures) => string][] = [
    ['result of the case', (m) => `${m.handoff} hand-off; ${m.coderRequests} coder requests of ${m.modelRequests}`],
    ['longest lane wait (acceptance to its first model request)', (m) => `${sec(m.longestLaneWaitMs)} (${per(m.laneWaitMs)})`],
    ['longest client silence (until the wait really ended)', (m) => `${sec(m.longestSilenceMs)} (${per(m.silenceMs)})`],
    ['time to first feedback (a frame naming its own run)', (m) => per(m.firstFeedbackMs)],
    ['tool errors returned / swallowed', (m) => `${m.toolErrors.returned} / ${m.toolErrors.swallowed} of ${m.toolErrors.calls} malformed read(s); retried: ${m.toolErrors.retried ? 'yes' : 'no'}${m.toolErrors.text === null ? '' : `; text ${code(cut(m.toolErrors.text.replace(/\n/g, ' '), 120))}`}`],
    ['messages lost', (m) => String(m.messagesLost)],
    ['how each wait ended', (m) => Object.entries(m.ends).map(([k, v]) => `${k}: ${v}`).join('; ')],
  ];
  const lines = [`| measure | ${names[0]} | ${names[1]} |`, '|---|---|---|'];
  lines.push(`| verdict | ${a === null ? 'not run' : `${RESULT[a.result.status]}${a.result.status === 'fail' ? ` (${caseClass(a.result)})` : ''}`} | ${b === null ? 'not run' : RESULT[b.result.status]} |`);
  for (const [what, f] of rows) lines.push(`| ${what} | ${cell(col(a, f))} | ${cell(col(b, f))} |`);
  const load = (r: Report | undefined): string => (r?.peer.load === undefined ? '—' : `${r.peer.load.atStart[0]} → ${r.peer.load.atEnd[0]} on ${r.peer.load.cores} cores (${r.peer.endedAt.slice(0, 16).replace('T', ' ')}Z)`);
  lines.push(`| machine load average during the run | ${load(openclaw)} | ${load(lanesim)} |`);
  return lines;
}

// ------------------------------------------------------------------ the document

/** The load curve (bench/load/curve.ts) as markdown: medians with their spread per size, then every run with its verdict. */
function curveSection(curve: LoadCurve): string[] {
  const md = (rows: string[][]): string[] => [
    `| ${rows[0]!.map(cell).join(' | ')} |`, `|${rows[0]!.map(() => '---').join('|')}|`,
    ...rows.slice(1).map((r) => `| ${r.map((c) => cell(c).replace(/^FAIL/, '**FAIL**')).join(' | ')} |`),
  ];
  const { summary, runs } = curveRows(curve);
  const loads = curve.runs.map((r) => r.loadAverage);
  return [
    '', `## Load bench: lanesim reference and ${curve.peer === 'openclaw' ? 'OpenClaw 2026.9.6' : curve.peer}, a curve`, '',
    `${code(curve.command)} (docs/peers/load/curve.json): ${curve.sizes.join(', ')} clients, ${(curve.streamingShare * 100).toFixed(0)}% of them with a`,
    `streaming run, each of the others holding a silent run and a second message queued behind it; ${curve.durationMs / 1000} s run phase after every client is connected;`,
    `${curve.reps} repetitions per size, sizes interleaved; the reference and the peer in the same run, one after the other.`,
    `The verdict is the bench's (HB-1 over every frame a client received): PASS when no client went silent longer than the bound`,
    '(15 s + 250 ms tolerance). OpenClaw sends every session\'s events to every operator connection, so a waiting client also hears',
    'other sessions\' deltas; "own-session silence" counts only frames about the client\'s own session or server-wide ones (what a',
    'one-session chat page shows), "(over)" marking it past the bound.',
    `Node ${curve.node}, ${curve.machine}, shared: load average ${Math.min(...loads).toFixed(2)} to ${Math.max(...loads).toFixed(2)} at the runs' starts;`,
    `${curve.startedAt.slice(0, 16).replace('T', ' ')}Z to ${curve.endedAt.slice(0, 16).replace('T', ' ')}Z.`,
    'Memory per connection is the server\'s RSS growth over the connections (for OpenClaw dominated by its first model runs);',
    '`GET /health` is a 1/s probe from outside during the run phase.', '',
    ...md(summary), '', 'Every run:', '', ...md(runs),
  ];
}

export function generate(reports: Map<string, Report>, curve: LoadCurve | null = null): { text: string; unclassified: string[] } {
  const unclassified: string[] = [];
  const out: string[] = [
    '# Peers',
    '',
    '<!-- Generated by `npm run peers:doc` (scripts/gen-peers.ts) from docs/peers/*.json. Do not edit: rerun the runs and regenerate. -->',
    '',
    "Results of lanesim's conformance cases against real gateways, generated from the JSON reports of the runs",
    '(docs/peers/*.json). Each failed check is classified (src/peers/classification.ts `FAILURE_CLASSES`, reviewed against',
    "docs/SPEC.md §9): **gap** the seed names, **departure** lanesim's spec chose (its DEP id), **defect** (a rule OpenClaw's",
    "own protocol shares, broken), **wording** only, or a **harness** limit. How the peer is installed and run: docs/peers/openclaw.md.",
    '',
    '## The runs',
    '',
    '| report | gateway | configuration (run / asked) | ended | commit / catalogue | results | command |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const [name, report] of reports) out.push(runLine(name, report));
  const missing = PEER_RUNS.filter((r) => !reports.has(r.name));
  if (missing.length > 0) out.push('', `Not run yet: ${missing.map((r) => `${code(r.name)} (${r.what})`).join(', ')}.`);
  out.push('', 'The catalogue fingerprint hashes the case ids, levels, rules and procedures the run had; `+uncommitted` marks a run of a working tree with changes in src/ or scripts/.');

  const refusals = new Map<string, string>();
  for (const report of reports.values()) for (const r of report.peer.refusals ?? []) refusals.set(r.setting, r.words);
  if (refusals.size > 0) {
    out.push('', '## What OpenClaw did not take, in its words', '',
      'Read by the runner from the gateway\'s start-up log and from `chat.send`\'s answers to probes; cases needing these are n/a "not supported by OpenClaw …: <its words>", never run under another mode\'s name.', '',
      '| setting | OpenClaw said |', '|---|---|');
    for (const [setting, words] of refusals) out.push(`| ${code(setting)} | ${code(words)} |`);
  }

  const cascadeA = reports.get('openclaw-cascade') ?? reports.get('openclaw-default') ?? [...reports.entries()].find(([n, r]) => n.startsWith('openclaw') && measuresOf(r) !== null)?.[1];
  out.push('', "## The seed's cascade: OpenClaw and lanesim serve, same script", '',
    'The case `cascade.seed-004.end-to-end` on both gateways with the same fake model script (coordinator hands off with',
    '`sessions_send {sessionKey: "agent:coder:main", message, timeoutSeconds: 600}`; the coder reads ~18k tokens, calls',
    '`read {}`, retries after the error, streams ~6k tokens; bob and carol write to the coordinator\'s session 5 s and 12 s in).',
    'Measures from the case\'s `cascade-measures` note, in ms of the harness clock.', '',
    ...cascadeTable(cascadeA, reports.get('lanesim-serve-cascade'), ['OpenClaw 2026.9.6', 'lanesim serve (reference)']));

  for (const [name, report] of reports) {
    const p = report.peer;
    out.push('', `## ${name}: ${p.version}${report.peer.queue ? `, queue ${report.peer.queue.effective}` : ''}`, '', `${code(p.command)}: ${summary(report)}; ended ${p.endedAt}; commit ${p.commit}, catalogue ${p.catalogue}${p.readyMs !== undefined ? `; ready after ${sec(p.readyMs)}, warm-up run ${sec(p.warmupMs)}` : ''}${p.load !== undefined ? `; load average ${p.load.atStart[0]} at the start, ${p.load.atEnd[0]} at the end (${p.load.cores} cores, shared)` : ''}.`, '');
    out.push(...resultTable(report, true));
    for (const r of report.results.filter((x) => x.status === 'fail')) {
      for (const c of classifyCase(r)) if (c.cls === null) unclassified.push(`${name}: ${r.id} ${c.check.rule}: ${cut(c.check.observed, 160)}`);
    }
  }

  if (curve !== null) out.push(...curveSection(curve));

  // Every failure, by class.
  const byClass = new Map<string, Set<string>>();
  for (const [name, report] of reports) {
    for (const r of report.results.filter((x) => x.status === 'fail')) {
      for (const c of classifyCase(r)) {
        const key = c.cls === null ? 'unclassified' : `${c.cls.kind}${c.cls.dep === null ? '' : ` ${c.cls.dep}`}: ${c.cls.why}`;
        if (!byClass.has(key)) byClass.set(key, new Set());
        byClass.get(key)!.add(`${code(r.id)} (${c.check.rule}, ${name})`);
      }
    }
  }
  out.push('', '## Failures by class', '');
  if (byClass.size === 0) out.push('No failures.');
  for (const [key, cases] of [...byClass.entries()].sort()) out.push(`- **${key}** — ${[...cases].join(', ')}`);
  if (unclassified.length > 0) out.push('', '**Unclassified (to review):**', '', ...unclassified.map((u) => `- ${cell(u)}`));
  return { text: `${out.join('\n')}\n`, unclassified };
}

// ------------------------------------------------------------------ main

function main(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { check: { type: 'boolean' }, run: { type: 'string', multiple: true }, list: { type: 'boolean' }, reports: { type: 'string' }, out: { type: 'string' } } });
  const out = values.out ?? OUT;
  if (values.list) {
    for (const r of PEER_RUNS) process.stdout.write(`${r.name}: ${r.what}\n  ${r.command.join(' ')}\n`);
    return 0;
  }
  const runs = (values.run ?? []).flatMap((x) => x.split(','));
  for (const name of runs.includes('all') ? PEER_RUNS.map((r) => r.name) : runs) {
    const run = PEER_RUNS.find((r) => r.name === name);
    if (run === undefined) {
      process.stderr.write(`peers:doc: no run named ${JSON.stringify(name)} (--list shows them)\n`);
      return 2;
    }
    process.stderr.write(`peers:doc: running ${run.name}: ${run.command.join(' ')}\n`);
    const result = spawnSync(run.command[0]!, run.command.slice(1), { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    if (result.status !== 0 && result.status !== 1) {
      process.stderr.write(`peers:doc: ${run.name} could not run (exit ${result.status ?? result.signal})\n`);
      return 2;
    }
  }
  let reports: Map<string, Report>;
  try {
    reports = readReports(values.reports ?? REPORTS);
  } catch (error) {
    process.stderr.write(`peers:doc: ${(error as Error).message}\n`);
    return 2;
  }
  const curveFile = join(values.reports ?? REPORTS, 'load', 'curve.json');
  const curve = existsSync(curveFile) ? (JSON.parse(readFileSync(curveFile, 'utf8')) as LoadCurve) : null;
  const { text, unclassified } = generate(reports, curve);
  // Classes no failure of these reports falls in (a fixed harness limit, a gap closed): candidates to remove from the table.
  const used = new Set<FailureClass>();
  for (const report of reports.values()) for (const r of report.results.filter((x) => x.status === 'fail')) for (const c of classifyCase(r)) if (c.cls !== null) used.add(c.cls);
  const unused = FAILURE_CLASSES.filter((c) => !used.has(c));
  if (unused.length > 0) process.stderr.write(`peers:doc: ${unused.length} failure class(es) classify nothing in these reports: ${unused.map((c) => `${c.rule.source}${c.caseId ? ` ${c.caseId.source}` : ''}`).join('; ')}\n`);
  if (values.check) {
    const have = existsSync(out) ? readFileSync(out, 'utf8') : '';
    if (have !== text) {
      process.stderr.write('peers:doc: docs/PEERS.md differs from what docs/peers/*.json give: run npm run peers:doc\n');
      return 1;
    }
    return unclassified.length > 0 ? 1 : 0;
  }
  writeFileSync(out, text);
  process.stderr.write(`peers:doc: wrote ${out} from ${reports.size} report(s)${unclassified.length > 0 ? `; ${unclassified.length} unclassified failure(s) to review` : ''}\n`);
  return unclassified.length > 0 ? 1 : 0;
}

// Run only as a script (tests import generate()).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
