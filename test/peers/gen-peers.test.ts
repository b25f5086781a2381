/**
 * docs/PEERS.md generation (scripts/gen-peers.ts) and the failure classes
 * (src/peers/classification.ts), from synthetic reports: no peer needed.
 */
import { describe, expect, it } from 'vitest';
import { generate, type Report } from '../../scripts/gen-peers.ts';
import { FAILURE_CLASSES, classify } from '../../src/peers/classification.ts';
import { spread, type CurveRun, type LoadCurve } from '../../bench/load/curve.ts';
import type { LoadReport, TargetResult } from '../../bench/load/run.ts';

describe('failure classes (reviewed table)', () => {
  it('classifies the failures the issue names', () => {
    expect(classify('hb.waiting.silence-bound', 'HB-1', 'silent for 24072 ms')).toMatchObject({ kind: 'gap', dep: 'DEP-2' });
    expect(classify('status.warn.at-crossing', 'STATUS-4', 'never warned')).toMatchObject({ kind: 'gap', dep: 'DEP-4' });
    expect(classify('status.payload.shape', 'STATUS-3', 'no lane.status event at all (DEP-8)')).toMatchObject({ kind: 'gap', dep: 'DEP-8' });
    expect(classify('queue.followup.own-run', 'QUEUE-4', 'answered started')).toMatchObject({ kind: 'departure', dep: 'DEP-3' });
    expect(classify('queue.idle.starts', 'QUEUE-2', 'answered started, yet it waited')).toMatchObject({ kind: 'departure', dep: 'DEP-8' });
    expect(classify('ws.chat.followup-own-runid', 'DEP-3', 'an empty final for B')).toMatchObject({ kind: 'departure', dep: 'DEP-3' });
    expect(classify('tool.gateway.error-returned', 'TOOL-2', '"Validation failed for tool \\"read\\""')).toMatchObject({ kind: 'wording', dep: 'DEP-6' });
    // Reviewed against the 2026-12-05 runs: OpenClaw's own behaviour, each with its source.
    expect(classify('queue.abort.running', 'QUEUE-18', '["k-bob-2","k-bob-3"]')).toMatchObject({ kind: 'departure', dep: 'DEP-11' });
    expect(classify('queue.abort.holding-session', 'QUEUE-18', '#0 hold: "[Sat] hold 0 [hold]"; #4 default: "[Queued user message from a previous"')).toMatchObject({ kind: 'departure', dep: 'DEP-11' });
    expect(classify('queue.abort.queued', 'QUEUE-18', '467.876:final#1; bob heard [...]')).toMatchObject({ kind: 'departure', dep: 'DEP-3' });
    expect(classify('model.stream.cut', 'WS-15', 'still waiting: k-alice-2 ("write it [cut-close]", answered started)')).toMatchObject({ kind: 'defect' });
    expect(classify('model.stream.cut', 'WS-15', '2: [87292.245:error#90 "x", 87318.169:error#1 "y"]')).toMatchObject({ kind: 'defect' });
    expect(classify('agent.lifecycle.end-and-abort', 'WS-20', '[1:lifecycle/start#3, 2:lifecycle/model#5, 3:lifecycle/end#7, 4:lifecycle/model#8, 5:lifecycle/error#10]')).toMatchObject({ kind: 'defect' });
    expect(classify('agent.lifecycle.end-and-abort', 'WS-20', '[1:run_status/preparing_workspace#1, 2:lifecycle/start#3]')).toBeNull();
    expect(classify('queue.cap.summarize', 'QUEUE-15', 'its user turn is ["[Queue overflow] Dropped 2 messages due to cap.\\nSummary:\\n- ddd…"]')).toMatchObject({ kind: 'departure', dep: 'DEP-12' });
    expect(classify('queue.cap.summarize', 'QUEUE-16', 'ran (final) via k-bob-2 at 799.095')).toMatchObject({ kind: 'departure', dep: 'DEP-3' });
    // A cut-chunk run still waiting is not the cut-close defect: it stays for review.
    expect(classify('model.stream.cut', 'WS-15', 'still waiting: k-alice-1 ("write it [cut-chunk]", answered started)')).toBeNull();
  });

  it('leaves a failure no class covers unclassified', () => {
    expect(classify('queue.nothing-lost.burst', 'QUEUE-20', 'lost 3')).toBeNull();
    expect(classify('queue.steer.injects', 'QUEUE-3', 'the steer never reached the model')).toBeNull();
    for (const c of FAILURE_CLASSES) expect(c.why.length, c.rule.source).toBeGreaterThan(20);
  });
});

function report(name: string, results: Report['results'], extra: Partial<Report['peer']> = {}): Report {
  const summary = { pass: 0, fail: 0, 'n/a': 0, error: 0, mustFailed: 0 };
  for (const r of results) summary[r.status]++;
  return {
    target: name, seed: 1, startedAt: '2026-12-05T09:00:00.000Z', durationMs: 1000, results, summary,
    peer: {
      gateway: 'openclaw', version: 'openclaw@2026.9.6', serverVersion: '2026.9.6', node: '24.21.0', command: `npm run peer:openclaw -- run --json docs/peers/${name}.json`,
      commit: 'abc123', catalogue: 'f00d', cases: results.length, endedAt: '2026-12-05T09:10:00.000Z',
      queue: { requested: { mode: 'steer-backlog', cap: 20, drop: 'summarize', debounceMs: 500, channelModes: {} }, effective: 'followup' },
      refusals: [{ setting: 'messages.queue.mode=steer-backlog', words: 'Moved deprecated messages.queue.mode "steer-backlog" → "followup"', becomes: 'followup' }],
      ...extra,
    },
  };
}

describe('docs/PEERS.md from reports', () => {
  const measures = (handoff: string, wait: number): string => `cascade-measures ${JSON.stringify({
    handoff, laneWaitMs: { alice: 0, bob: wait }, longestLaneWaitMs: wait, silenceMs: { alice: 30000, bob: 29000 }, longestSilenceMs: 30000,
    firstFeedbackMs: { alice: 12, bob: null }, toolErrors: { calls: 1, returned: 1, swallowed: 0, text: 'Validation failed for tool "read"', retried: true },
    messagesLost: 0, ends: { alice: 'ran after 60000 ms', bob: 'ran (empty-final, answered later) after 61000 ms' }, coderRequests: 3, modelRequests: 7,
  })}`;
  const base = { title: 't', level: 'MUST', durationMs: 1 } as const;
  const reports = new Map<string, Report>([
    ['openclaw-default', report('openclaw-default', [
      { ...base, id: 'cascade.seed-004.end-to-end', status: 'fail', reason: 'STATUS-9 …', notes: [measures('openclaw', 41000)],
        checks: [{ rule: 'HB-1', expected: 'a frame every 15000 ms', observed: 'silent for 30000 ms' }, { rule: 'STATUS-9', expected: 'coder shown', observed: 'no lane.status event at all (DEP-8)' }] },
      { ...base, id: 'queue.nothing-lost.burst', status: 'fail', reason: 'QUEUE-20', notes: [], checks: [{ rule: 'QUEUE-20', expected: 'none lost', observed: 'lost 3' }] },
      { ...base, id: 'queue.steer-backlog.both', status: 'n/a', reason: 'not supported by OpenClaw 2026.9.6: Moved deprecated …', notes: [] },
    ])],
    ['lanesim-serve-cascade', report('lanesim-serve-cascade', [
      { ...base, id: 'cascade.seed-004.end-to-end', status: 'pass', reason: 'ok', notes: [measures('openclaw', 65000)] },
    ], { gateway: 'lanesim', version: 'lanesim serve (reference)', queue: undefined, refusals: [] })],
  ]);

  it('shows each run, the refusals in their words, the cascade side by side and every failure classified', () => {
    const { text, unclassified } = generate(reports);
    expect(text).toContain('| `openclaw-default.json` | openclaw@2026.9.6, Node 24.21.0 | followup (asked steer-backlog), cap 20');
    expect(text).toContain('| `messages.queue.mode=steer-backlog` | `Moved deprecated messages.queue.mode "steer-backlog" → "followup"` |');
    expect(text).toContain('| longest lane wait (acceptance to its first model request) | 41.0 s (alice 0.0 s, bob 41.0 s) | 65.0 s (alice 0.0 s, bob 65.0 s) |');
    expect(text).toContain('| messages lost | 0 | 0 |');
    expect(text).toMatch(/\| `cascade\.seed-004\.end-to-end` \| MUST \| \*\*FAIL\*\* \| gap \(DEP-2\), gap \(DEP-8\) \|/);
    expect(unclassified).toEqual(['openclaw-default: queue.nothing-lost.burst QUEUE-20: lost 3']);
    expect(text).toContain('**Unclassified (to review):**');
    // Not every run of the plan is there: the document says which are missing.
    expect(text).toMatch(/Not run yet: .*`openclaw-collect`/);
  });

  it('is a function of the reports alone (same input, same text)', () => {
    expect(generate(reports).text).toBe(generate(reports).text);
  });

  it('shows the load curve with medians and spread per size, and a failing run as failing', () => {
    // The fields of a load report's target that the curve reads (bench/load/run.ts TargetResult).
    const target = (label: string, pass: boolean, worst: number, own: number, mem: number): TargetResult => ({
      target: label.startsWith('lanesim') ? 'reference' : 'openclaw', label, pass, failures: pass ? [] : ['3 clients silent over 15250 ms'],
      clients: 300, connected: 300, streaming: 30, worst: { maxGapMs: worst }, clientMaxOwnGap: { max: own }, overBound: pass ? 0 : 3, boundMs: 15000, toleranceMs: 250,
      server: { memoryPerConnection: mem, rssPeak: 1e8 }, health: { p50: 2, p99: 9, max: 12, errors: 0 }, errorCount: 0, closeCount: 0,
    }) as unknown as TargetResult;
    const curve: LoadCurve = {
      command: 'npm run bench -- load-curve --sizes 300 --reps 3', startedAt: '2026-12-05T10:00:00.000Z', endedAt: '2026-12-05T10:30:00.000Z',
      node: 'v20.20.2', machine: '2 x cpu, 24 GiB', sizes: [300], reps: 3, peer: 'openclaw', streamingShare: 0.1, durationMs: 60_000,
      runs: [1, 2, 3].map((rep) => ({
        size: 300, rep, startedAt: '2026-12-05T10:00:00.000Z', loadAverage: 1 + rep, exitCode: 1,
        report: { targets: [target('lanesim reference', true, 14_000 + rep, 14_000 + rep, 7000), target('OpenClaw 2026.9.6', rep !== 2, rep === 2 ? 17_900 : 14_830, 16_500, 2e6)] } as unknown as LoadReport,
      } as CurveRun)).concat([{ size: 300, rep: 4, startedAt: '2026-12-05T10:20:00.000Z', loadAverage: 9, exitCode: 2, report: null }]),
    };
    const { text } = generate(reports, curve);
    expect(text).toContain('## Load bench: lanesim reference and OpenClaw 2026.9.6, a curve');
    expect(text).toContain('| 300 | OpenClaw 2026.9.6 | 2 / 1 | 14.83 s (14.83 s .. 17.90 s) | 16.50 s (16.50 s .. 16.50 s) |');
    expect(text).toContain('| 300 | 2 | OpenClaw 2026.9.6 | **FAIL**: 3 clients silent over 15250 ms | 17.90 s | 3 of 300 | 16.50 s (over) |');
    // A run that did not run is listed as such, not dropped.
    expect(text).toContain('| 300 | 4 | - | did not run (exit 2) |');
    expect(text).toContain('| 300 | lanesim reference | 3 / 0 | 14.00 s (14.00 s .. 14.00 s) | 14.00 s (14.00 s .. 14.00 s) | 7 KiB (7 KiB .. 7 KiB) |');
    expect(spread([3, null, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(spread([4, 1])).toEqual({ median: 2.5, min: 1, max: 4, n: 2 });
    expect(spread([null])).toBeNull();
  });
});
