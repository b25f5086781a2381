/**
 * The lane rules as a black box sees them, through the scripted model's
 * request log: every message names its session with a marker, so each model
 * request can be attributed to one session. Two requests of one session
 * never overlap in time (the session lock, LANE-2); never more requests in
 * flight than the main cap (LANE-3); runs reach the model in the order their
 * messages were accepted (FIFO, LANE-4). These hold for any queue mode, so
 * they run on WebSocket targets too. Overlaps are judged on the log's own
 * clock (`t`, `durationMs`), whatever its units.
 */
import type { RequestLogEntry } from '../../fake-model/server.ts';
import { checkRule, expectRule, NotApplicable, precondition, type CaseContext, type ConformanceCase, type GatewaySession, type TestClient } from '../types.ts';
import {
  GATEWAY, QUICK, REAL_NOISE_MS,
  describeRequests, firstRequestAt, isVirtual, marker, modelLog, on, openGateway, requestsWith, script, send, terminals, turn, userTexts, waitAllEnded, waitRequests, waitRequestsDone,
  type Sent,
} from './gateway-support.ts';

const SESSION_TAG = /\[sess:([a-z0-9-]+)\]/g;

/** The session markers a request's user turn carries (the log's full user messages, not an excerpt). */
function sessionsOf(entry: RequestLogEntry): string[] {
  return [...new Set(userTexts(entry).flatMap((t) => [...t.matchAll(SESSION_TAG)].map((m) => m[1]!)))];
}

/**
 * Real ms between sends for a gateway that takes visibly long to bring a run
 * to the model: OpenClaw 2026.9.6 spends 0.1-2 s preparing each run (its
 * prompt, tools, session files) on this 2-core machine, so two messages sent
 * 50 ms apart can reach the model in either order although its lanes are FIFO.
 */
export const PREP_SPACING_FLOOR_REAL_MS = 4_000;

/**
 * How far apart (session units) session.fifo sends the messages whose order it
 * judges, so that a gateway's run preparation cannot swap them: 100 on a fake
 * clock (exact); on a real clock, three probe messages to idle sessions measure
 * the preparation time P (acceptance to model request); a gateway under the
 * noise allowance (REAL_NOISE_MS) gets 4 x REAL_NOISE_MS, a slower one
 * max(2 x P, PREP_SPACING_FLOOR_REAL_MS).
 */
async function fifoSpacing(ctx: CaseContext, session: GatewaySession, clients: readonly TestClient[]): Promise<{ spacing: number; prep: number | null }> {
  if (isVirtual(ctx)) return { spacing: 100, prep: null };
  await script(session, [on('fifo-probe', QUICK)]);
  const probes: Sent[] = [];
  for (let i = 0; i < 3; i++) probes.push(await send(session, clients[i % clients.length]!, session.sessionKey(`fifo-probe${i}`), `[sess:fifo-probe${i}] probe ${marker('fifo-probe')} ${marker(`fifo-p${i}`)}`));
  const log = await waitRequests(session, probes.map((_, i) => `fifo-p${i}`), 60_000);
  await waitAllEnded(session, probes, 60_000, 'QUEUE-20');
  precondition(log !== null, 'the probe messages (to measure the gateway\'s run preparation time) never reached the model within 60000');
  const prep = Math.max(0, ...probes.map((p, i) => firstRequestAt(log, `fifo-p${i}`)! - p.at));
  const noise = REAL_NOISE_MS * session.timeScale;
  return { spacing: prep <= noise ? 4 * noise : Math.max(2 * prep, PREP_SPACING_FLOOR_REAL_MS * session.timeScale), prep };
}

interface Span {
  session: string;
  start: number;
  end: number;
  entry: RequestLogEntry;
}

function spans(log: readonly RequestLogEntry[]): Span[] {
  const out: Span[] = [];
  for (const entry of log) {
    const names = sessionsOf(entry);
    if (names.length !== 1) continue;
    out.push({ session: names[0]!, start: entry.t, end: entry.t + (entry.durationMs ?? Infinity), entry });
  }
  return out;
}

/** Most spans open at once (an end and a start at the same instant do not overlap). */
function maxOverlap(list: readonly Span[]): { count: number; at: number } {
  const points: { t: number; d: number }[] = [];
  for (const s of list) points.push({ t: s.start, d: 1 }, { t: s.end, d: -1 });
  points.sort((x, y) => x.t - y.t || x.d - y.d);
  let open = 0;
  let best = { count: 0, at: 0 };
  for (const p of points) {
    open += p.d;
    if (open > best.count) best = { count: open, at: p.t };
  }
  return best;
}

export const SESSION_CASES: readonly ConformanceCase[] = [
  {
    id: 'session.serial.one-at-a-time',
    title: 'Two model requests of one session never overlap in time',
    rules: ['LANE-2', 'LANE-5', 'QUEUE-20'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'Three clients send three messages each to three sessions, interleaved (each text carries [sess:<name>] and a marker of its own; the first of each thinks 10 s, the others stream). ' +
      'Precondition: some session\'s second message was accepted while its first was still running (else the gateway was never tempted to overlap them). ' +
      'Every message is answered and reaches the model (the case waits for the model\'s requests, not only for the senders\' terminal frames); no model request carries two sessions\' markers; ' +
      'per session, each request starts after the previous one ended.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'followup' } } });
      // The first message of each session thinks long enough that the later ones arrive while it runs,
      // however slowly a loaded machine gets the sends across: only the session lock keeps them apart.
      await script(session, [on('slow', turn({ ttftMs: 10_000, streamMs: 300, tokens: 4 })), on('fast', turn({ ttftMs: 200, streamMs: 600, tokens: 10 }))]);
      const names = ['s1', 's2', 's3'];
      const clients = [await session.connect('alice'), await session.connect('bob'), await session.connect('carol')];
      const sent: Sent[] = [];
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < names.length; i++) {
          const name = names[i]!;
          sent.push(await send(session, clients[(i + round) % clients.length]!, session.sessionKey(name), `[sess:${name}] message ${round} ${marker(round === 0 ? 'slow' : 'fast')} ${marker(`ser-${name}-${round}`)}`));
          await session.sleep(100);
        }
      }
      await waitAllEnded(session, sent, 120_000, 'QUEUE-20');
      const overlapping = names.filter((_, i) => {
        const first = sent[i]!;
        const second = sent[names.length + i]!;
        return !terminals(first.client, first.runId).some((e) => e.at <= second.at);
      });
      precondition(overlapping.length > 0, () => `no session's second message was accepted before its first run ended (sends too slow for the 10 s first turn): nothing tempted the gateway to overlap runs`);
      const tags = names.flatMap((name) => [0, 1, 2].map((round) => `ser-${name}-${round}`));
      const done = await waitRequestsDone(session, tags, 120_000);
      const log = done ?? (await modelLog(session));
      const missing = tags.filter((tag) => requestsWith(log, tag).length === 0);
      checkRule(missing.length === 0, 'QUEUE-20', 'every message reaches the model', () => `no model request for ${missing.join(', ')} within 120000`);
      const mixed = log.find((e) => sessionsOf(e).length > 1);
      checkRule(mixed === undefined, 'LANE-2', 'a model request carries the messages of one session only', () => describeRequests([mixed!], 1, 160));
      const eps = isVirtual(ctx) ? 0 : 1;
      const all = spans(log);
      for (const name of names) {
        const mine = all.filter((s) => s.session === name).sort((x, y) => x.start - y.start);
        checkRule(mine.length >= 1, 'LANE-5', `session ${name}'s messages reach the model`, `${mine.length} requests`);
        for (let i = 1; i < mine.length; i++) {
          const prev = mine[i - 1]!;
          const cur = mine[i]!;
          checkRule(cur.start >= prev.end - eps, 'LANE-2', `session ${name}: a request starts only after the previous one of the session ended (one run at a time)`,
            `request #${cur.entry.index} at ${cur.start} overlaps #${prev.entry.index} (${prev.start}..${prev.end})`);
        }
      }
      ctx.note(`${all.filter((x) => names.includes(x.session)).length} model requests for ${sent.length} messages`);
    },
  },
  {
    id: 'session.cap.global-main',
    title: 'Never more model requests in flight than the main cap',
    rules: ['LANE-3', 'LANE-5'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'Config main cap 2 (or the gateway\'s cap c). c + 3 sessions each send one message that thinks 2 s, all at once. At no instant are more than c of their requests in flight; all are answered.',
    async run(ctx) {
      const { session, config } = await openGateway(ctx, { agents: { defaults: { maxConcurrent: 2 } } });
      if (config === null) throw new NotApplicable('the target does not tell its main cap (session.config: agents.defaults.maxConcurrent)');
      const cap = config.agents.defaults.maxConcurrent;
      if (cap > 16) throw new NotApplicable(`main cap ${cap} is too large to fill here`);
      await script(session, [on('slow', turn({ ttftMs: 2_000, streamMs: 200, tokens: 3 }))]);
      const alice = await session.connect('alice');
      const sent: Sent[] = [];
      for (let i = 0; i < cap + 3; i++) sent.push(await send(session, alice, session.sessionKey(`cap${i}`), `[sess:cap${i}] hold the lane ${marker('slow')}`));
      await waitAllEnded(session, sent, 120_000, 'QUEUE-20');
      await session.sleep(100);
      const all = spans(await modelLog(session)).filter((s) => s.session.startsWith('cap'));
      checkRule(all.length === cap + 3, 'LANE-5', `all ${cap + 3} messages reach the model`, `${all.length}`);
      const peak = maxOverlap(all);
      checkRule(peak.count <= cap, 'LANE-3', `at most ${cap} requests (main runs) in flight at once`, `${peak.count} at ${peak.at}`);
      ctx.note(`peak ${peak.count} of cap ${cap}`);
    },
  },
  {
    id: 'session.fifo.arrival-order',
    title: 'Runs reach the model in the order their messages were accepted',
    rules: ['LANE-4'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'Across sessions (the main cap c must be known; config asks c = 1): c holders fill main, holder k thinking (N + k) x S, where S is the spacing; then N = 3 messages to three more sessions ' +
      'are sent S apart and wait for main, each thinking (N - 0.5) x S once it runs, so main frees one slot per S for them: the model must get them in the order sent. ' +
      'S is 100 ms on a fake clock, where the order must be exact; on a real clock S exceeds the gateway\'s run preparation time as measured by three probes (4 x 150 ms real for a gateway under the noise allowance, ' +
      `else 2 x the worst probe, at least ${PREP_SPACING_FLOOR_REAL_MS} ms real), and a later message may reach the model at most S / 2 before an earlier one (preparation jitter; a LIFO lane swaps them by about 2 S). ` +
      'Within one session (followup mode): three messages sent at once reach the model in their order; the case waits for their model requests (by marker), not for their senders\' terminal frames.',
    async run(ctx) {
      const { session, config } = await openGateway(ctx, { agents: { defaults: { maxConcurrent: 1 } }, messages: { queue: { mode: 'followup' } } });
      const clients = [await session.connect('alice'), await session.connect('bob')];
      let checked = 0;
      const cap = config?.agents.defaults.maxConcurrent ?? null;
      if (cap === null || cap > 8) {
        ctx.note(cap === null ? 'the main cap is unknown (no session.config): the cross-session part is skipped' : `main cap ${cap} is too large to fill here: the cross-session part is skipped`);
      } else {
        const { spacing: s, prep } = await fifoSpacing(ctx, session, clients);
        const n = 3;
        const rules = [
          ...Array.from({ length: cap }, (_, k) => on(`fifo-hold${k}`, turn({ ttftMs: (n + k) * s, streamMs: 100, tokens: 2 }))),
          on('fifo-test', turn({ ttftMs: (n - 0.5) * s, streamMs: 100, tokens: 2 })),
        ];
        await script(session, rules);
        const holders: Sent[] = [];
        for (let k = 0; k < cap; k++) holders.push(await send(session, clients[k % 2]!, session.sessionKey(`fifo-h${k}`), `[sess:fifo-h${k}] hold main ${marker(`fifo-hold${k}`)}`));
        const held = await waitRequests(session, holders.map((_, k) => `fifo-hold${k}`), 60_000);
        precondition(held !== null, 'the runs holding main never reached the model within 60000');
        const tests: Sent[] = [];
        for (let i = 0; i < n; i++) {
          if (i > 0) await session.sleep(s);
          tests.push(await send(session, clients[i % 2]!, session.sessionKey(`fifo${i}`), `[sess:fifo${i}] in order ${marker('fifo-test')} ${marker(`fifo-t${i}`)}`));
        }
        const bound = 60_000 + (2 * n + cap + 2) * s;
        const log = await waitRequests(session, tests.map((_, i) => `fifo-t${i}`), bound);
        expectRule(log !== null, 'LANE-4', 'every message reaches the model', () => `not all within ${bound}`);
        // In send order: when each reached the model. Exact on a fake clock; on a real one a later message may come
        // at most tol = S / 2 before an earlier one (run preparation jitter; a LIFO lane swaps them by about 2 S).
        const reached = tests.map((_, i) => ({ name: `fifo${i}`, t: requestsWith(log, `fifo-t${i}`)[0]!.t, index: requestsWith(log, `fifo-t${i}`)[0]!.index }));
        const tol = isVirtual(ctx) ? 0 : s / 2;
        const early = reached.findIndex((r, i) => i > 0 && (tol === 0 ? r.index < reached[i - 1]!.index : r.t < reached[i - 1]!.t - tol));
        checkRule(early < 0, 'LANE-4',
          `the waiting runs reach the model in the order sent (${reached.map((r) => r.name).join(', ')}, sent ${s} apart, main freeing a slot every ${s}${tol > 0 ? `; a later one may come at most ${tol} before an earlier one` : ''})`,
          () => reached.map((r) => `${r.name} at ${r.t}`).join(', '));
        await waitAllEnded(session, [...holders, ...tests], bound, 'QUEUE-20');
        const swapped = reached.some((r, i) => i > 0 && r.index < reached[i - 1]!.index);
        ctx.note(`across sessions: main cap ${cap}, sends ${s} apart${prep === null ? '' : ` (probes reached the model ${Math.round(prep)} after acceptance)`}: ` +
          `${reached.map((r) => `${r.name}@${r.t}`).join(', ')}${swapped ? ' (swapped within the tolerance)' : ''}`);
        checked++;
      }
      if (config?.messages.queue.mode !== 'followup') {
        ctx.note('the within-session part needs messages.queue.mode followup: skipped');
      } else {
        await script(session, [on('fifo-slow', turn({ ttftMs: 1_000, streamMs: 200, tokens: 3 }))]);
        const key = session.sessionKey('fifo-one');
        const mine: Sent[] = [];
        for (let i = 0; i < 3; i++) mine.push(await send(session, clients[0]!, key, `[sess:fifo-one] m${i} ${marker('fifo-slow')} ${marker(`fifo-m${i}`)}`));
        const log = await waitRequests(session, mine.map((_, i) => `fifo-m${i}`), 120_000);
        expectRule(log !== null, 'LANE-4', 'the three messages of one session reach the model', 'not all within 120000');
        const order = mine.map((_, i) => ({ i, request: requestsWith(log, `fifo-m${i}`)[0]! })).sort((x, y) => x.request.index - y.request.index).map((x) => `m${x.i}`);
        checkRule(order.join(',') === 'm0,m1,m2', 'LANE-4', 'one session\'s followups reach the model in the order sent (m0, m1, m2)', order.join(','));
        await waitAllEnded(session, mine, 120_000, 'QUEUE-20');
        checked++;
      }
      if (checked === 0) throw new NotApplicable('neither part applies: the main cap and the queue mode are unknown (no session.config)');
    },
  },
];
