/**
 * A failing workload as a reader wants it: the configuration, then a
 * timeline (who sent what when; what the target answered and how each
 * message ended, beside what the reference did), the first divergence and
 * every invariant violation with the rule each breaks, and the command that
 * replays exactly this workload.
 */
import { FREEDOMS, outcomeOf } from './equivalence.ts';
import type { ExploreFailure, ExploreResult, Finding, Judgement } from './explore.ts';
import type { ExploreWorkload, SendStep } from './workload.ts';

function describeConfig(w: ExploreWorkload): string {
  const c = w.config;
  const by = Object.entries(c.byChannel).map(([k, v]) => `${k}: ${v}`).join(', ');
  return `${w.sessions} session(s), ${w.clients} client(s); main cap ${c.mainMaxConcurrent}, mode ${c.mode}${by !== '' ? ` (byChannel ${by})` : ''}, ` +
    `cap ${c.cap} drop ${c.drop}, debounce ${c.debounceMs} ms, warn ${c.warnThresholdMs} ms, nestedAgentParallel ${c.nestedAgentParallel}`;
}

function describeReply(s: SendStep): string {
  const r = s.reply;
  const parts = [`ttft ${r.ttftMs} ms, ${r.tokens} word(s) every ${r.wordMs} ms`];
  if (r.tool !== null) parts.push(`tool call ${r.tool.name} ${JSON.stringify(r.tool.args)}`);
  if (r.nested !== null) parts.push(`nested call into s${r.nested.session}`);
  if (r.stall !== null) parts.push(`stall ${r.stall.ms} ms after ${r.stall.afterTokens}`);
  if (r.fail !== null) parts.push(`model fails (${r.fail})`);
  return parts.join('; ');
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** The timeline of one judged workload. */
export function timeline(j: Judgement): string[] {
  const w = j.workload;
  const ot = outcomeOf(j.target);
  const or = outcomeOf(j.reference);
  const lines: string[] = [`  config: ${describeConfig(w)}`, `  ${pad('t (ms)', 8)} ${pad('who', 4)} step`];
  let t = 0;
  let k = 0;
  let a = 0;
  let c = 0;
  let r = 0;
  for (const step of w.steps) {
    t += step.gap;
    const at = pad(String(t), 8);
    switch (step.kind) {
      case 'send': {
        const mark = (x: string, y: string): string => (x === y ? x : `${x}   ≠ reference: ${y}`);
        lines.push(`  ${at} c${step.client}   send w${k} to s${step.session}${step.channel !== null ? ` on ${step.channel}` : ''}${step.route !== null ? ` route ${step.route}` : ''} ` +
          `(${j.target.sends[k]?.mode ?? '?'}) ${JSON.stringify(step.text)}; model: ${describeReply(step)}`);
        lines.push(`  ${pad('', 8)}        answered ${mark(ot.answers[k] ?? '?', or.answers[k] ?? '?')}`);
        lines.push(`  ${pad('', 8)}        ended    ${mark(ot.ends[k] ?? '?', or.ends[k] ?? '?')}`);
        k++;
        break;
      }
      case 'abort': {
        const target = step.message === null || k === 0 ? `everything running in s${step.session}` : `w${step.message % k}`;
        const mark = (ot.aborts[a] ?? '?') === (or.aborts[a] ?? '?') ? ot.aborts[a] : `${ot.aborts[a]}   ≠ reference: ${or.aborts[a]}`;
        lines.push(`  ${at} c${step.client}   chat.abort ${target}: aborted ${mark}`);
        a++;
        break;
      }
      case 'clear': {
        const e = ot.clears[c] ?? '?';
        const r = or.clears[c] ?? '?';
        lines.push(`  ${at} op   clears s${step.session}'s queue: removed ${e === r ? e : `${e}   ≠ reference: ${r}`}`);
        c++;
        break;
      }
      case 'resend': {
        const e = ot.resends[r] ?? '?';
        const ref = or.resends[r] ?? '?';
        const of = j.target.resends[r]?.of;
        lines.push(`  ${at} c${step.client}   sends ${of === null || of === undefined ? 'nothing (no message yet)' : `w${of}`} again with its idempotency key: ${e === ref ? e : `${e}   ≠ reference: ${ref}`}`);
        r++;
        break;
      }
      case 'join':
        lines.push(`  ${at} c${step.client}   connects (if it had left) and subscribes to s${step.session}`);
        break;
      case 'leave':
        lines.push(`  ${at} c${step.client}   leaves (closes its connection)`);
        break;
    }
  }
  const ending = w.ending ?? null;
  if (ending !== null) {
    t += ending.gap;
    const e = ot.shutdown ?? 'no stop';
    const r = or.shutdown ?? 'no stop';
    lines.push(`  ${pad(String(t), 8)} op   stops the gateway gracefully (abortRunning ${ending.abortRunning}): ${e === r ? e : `${e}   ≠ reference: ${r}`}`);
  }
  return lines;
}

function findingLine(f: Finding): string {
  const where = f.t !== null ? ` at t=${f.t}` : '';
  return f.kind === 'invariant'
    ? `${f.rule} (${f.what})${where}: ${f.observed}`
    : `${f.rule}: ${f.what}: the reference ${f.expected}; the target ${f.observed}`;
}

/** One failure, shrunk, with its replay command. */
export function formatFailure(f: ExploreFailure, replayPrefix: string, file: string | null): string {
  const s = f.shrunk;
  const steps = s.workload.steps.length;
  const lines = [
    `FAIL ${f.rule}: workload #${f.index + 1} (seed ${f.workloadSeed}) broke ${f.rule}; shrunk in ${f.shrinks} step(s) from ${f.original.workload.steps.length} to ${steps} step(s):`,
    ...timeline(s),
  ];
  const divergence = s.findings.find((x) => x.kind === 'divergence');
  if (divergence !== undefined) {
    lines.push('  first divergence from the reference:', `    ${divergence.rule}: ${divergence.what}`, `      reference: ${divergence.expected}`, `      target:    ${divergence.observed}`);
  }
  const violations = s.findings.filter((x) => x.kind === 'invariant');
  if (violations.length > 0) {
    lines.push(`  invariant violations in the target's trace (${violations.length}):`);
    for (const v of violations.slice(0, 8)) lines.push(`    ${findingLine(v)}`);
    if (violations.length > 8) lines.push(`    … ${violations.length - 8} more`);
  }
  if (s.findings.length === 0) lines.push(`  (the shrunk workload no longer fails on replay: the original did, with ${findingLine(f.original.findings[0]!)})`);
  lines.push(`  replay: ${replayPrefix} --replay ${file ?? f.replayToken}`);
  if (file !== null) lines.push(`     or: ${replayPrefix} --replay ${f.replayToken}`);
  return lines.join('\n');
}

export function formatResult(r: ExploreResult, replayPrefix: string, files: readonly (string | null)[] = []): string {
  const rate = r.durationMs > 0 ? (r.runs / (r.durationMs / 60_000)) : 0;
  const head = `explore: ${r.runs} workload(s) against ${r.target}, seed ${r.seed}, in ${(r.durationMs / 1000).toFixed(1)} s (${Math.round(rate)} workloads/min): ` +
    (r.failures.length === 0 ? 'no divergence from the reference, no invariant violated' : `${r.failures.length} failing workload(s)`);
  const out = [head];
  if (r.referenceProblems > 0) out.push(`explore: note: the reference itself broke an invariant on ${r.referenceProblems} workload(s) (a lanesim bug; those were not held against the target)`);
  r.failures.forEach((f, i) => out.push(formatFailure(f, replayPrefix, files[i] ?? null)));
  return out.join('\n');
}

/** The comparison's freedoms, for `--verbose` and the docs. */
export function describeFreedoms(): string {
  return FREEDOMS.map((f) => `  - ${f.what} (${f.rule})`).join('\n');
}
