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
import { expectRule, NotApplicable, type ConformanceCase } from '../types.ts';
import {
  GATEWAY,
  isVirtual, marker, modelLog, on, openGateway, script, send, turn, waitAllEnded,
  type Sent,
} from './gateway-support.ts';

const SESSION_TAG = /\[sess:([a-z0-9-]+)\]/g;

/** The session markers a request's last user message carries. */
function sessionsOf(entry: RequestLogEntry): string[] {
  return [...new Set([...entry.lastUserMessage.matchAll(SESSION_TAG)].map((m) => m[1]!))];
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
      'Three clients send three messages each to three sessions, interleaved (each text carries [sess:<name>]; the first of each thinks 1.5 s, the others stream). ' +
      'Every message is answered; no model request carries two sessions\' markers; per session, each request starts after the previous one ended.',
    async run(ctx) {
      const { session } = await openGateway(ctx, { messages: { queue: { mode: 'followup' } } });
      await script(session, [on('slow', turn({ ttftMs: 1_500, streamMs: 300, tokens: 4 })), on('fast', turn({ ttftMs: 200, streamMs: 600, tokens: 10 }))]);
      const names = ['s1', 's2', 's3'];
      const clients = [await session.connect('alice'), await session.connect('bob'), await session.connect('carol')];
      const sent: Sent[] = [];
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < names.length; i++) {
          const name = names[i]!;
          sent.push(await send(session, clients[(i + round) % clients.length]!, session.sessionKey(name), `[sess:${name}] message ${round} ${marker(round === 0 ? 'slow' : 'fast')}`));
          await session.sleep(100);
        }
      }
      await waitAllEnded(session, sent, 120_000, 'QUEUE-20');
      await session.sleep(100);
      const log = await modelLog(session);
      const mixed = log.find((e) => sessionsOf(e).length > 1);
      expectRule(mixed === undefined, 'LANE-2', 'a model request carries the messages of one session only', () => JSON.stringify(mixed!.lastUserMessage.slice(0, 160)));
      const eps = isVirtual(ctx) ? 0 : 1;
      const all = spans(log);
      for (const name of names) {
        const mine = all.filter((s) => s.session === name).sort((x, y) => x.start - y.start);
        expectRule(mine.length >= 1, 'LANE-5', `session ${name}'s messages reach the model`, `${mine.length} requests`);
        for (let i = 1; i < mine.length; i++) {
          const prev = mine[i - 1]!;
          const cur = mine[i]!;
          expectRule(cur.start >= prev.end - eps, 'LANE-2', `session ${name}: a request starts only after the previous one of the session ended (one run at a time)`,
            `request #${cur.entry.index} at ${cur.start} overlaps #${prev.entry.index} (${prev.start}..${prev.end})`);
        }
      }
      ctx.note(`${log.length} model requests for ${sent.length} messages`);
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
      expectRule(all.length === cap + 3, 'LANE-5', `all ${cap + 3} messages reach the model`, `${all.length}`);
      const peak = maxOverlap(all);
      expectRule(peak.count <= cap, 'LANE-3', `at most ${cap} requests (main runs) in flight at once`, `${peak.count} at ${peak.at}`);
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
      'Config main cap 1. Six sessions send one message each, 50 ms apart, each thinking 1 s: the model gets them in the order sent. ' +
      '(With followup mode) three messages to one session reach the model in their order too.',
    async run(ctx) {
      const { session, config } = await openGateway(ctx, { agents: { defaults: { maxConcurrent: 1 } }, messages: { queue: { mode: 'followup' } } });
      await script(session, [on('slow', turn({ ttftMs: 1_000, streamMs: 200, tokens: 3 }))]);
      const clients = [await session.connect('alice'), await session.connect('bob')];
      const sent: Sent[] = [];
      for (let i = 0; i < 6; i++) {
        sent.push(await send(session, clients[i % 2]!, session.sessionKey(`fifo${i}`), `[sess:fifo${i}] in order ${marker('slow')}`));
        await session.sleep(50);
      }
      await waitAllEnded(session, sent, 120_000, 'QUEUE-20');
      const order = (await modelLog(session)).map((e) => sessionsOf(e)[0]).filter((s): s is string => s !== undefined && s.startsWith('fifo'));
      const firsts = order.filter((s, i) => order.indexOf(s) === i);
      expectRule(firsts.join(',') === sent.map((_, i) => `fifo${i}`).join(','), 'LANE-4', `first requests in the order sent: ${sent.map((_, i) => `fifo${i}`).join(', ')}`, firsts.join(', '));
      if (config?.messages.queue.mode !== 'followup') {
        ctx.note('the within-session part needs messages.queue.mode followup: skipped');
        return;
      }
      const key = session.sessionKey('fifo-one');
      const mine: Sent[] = [];
      for (let i = 0; i < 3; i++) mine.push(await send(session, clients[0]!, key, `[sess:fifo-one] m${i} ${marker('slow')}`));
      await waitAllEnded(session, mine, 120_000, 'QUEUE-20');
      const inSession = (await modelLog(session)).filter((e) => sessionsOf(e)[0] === 'fifo-one').map((e) => /m(\d)/.exec(e.lastUserMessage)?.[1]);
      expectRule(inSession.join(',') === '0,1,2', 'LANE-4', 'one session\'s followups reach the model in the order sent (m0, m1, m2)', inSession.join(','));
    },
  },
];
