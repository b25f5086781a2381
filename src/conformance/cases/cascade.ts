/**
 * The seed-004 incident end to end, with the fake model's built-in `cascade`
 * script: a coordinator's run hands work to the coding agent
 * (sessions_send -> agent:coder:main), which reads ~18k tokens, makes the
 * malformed `read {}`, retries after the error and streams ~6k tokens; two
 * more users write to the coordinator's session meanwhile. Every message is
 * answered, no waiting client is silent longer than the heartbeat bound, the
 * waiting messages are listed and warned in time, the tool error reaches the
 * coder as its exact text, and the overlay names the coder while it works.
 */
import { CASCADE_MARKER, CASCADE_SCRIPT } from '../../fake-model/script.ts';
import { expectRule, type ConformanceCase } from '../types.ts';
import {
  DEFAULT_HEARTBEAT_MS, GATEWAY,
  heard, modelLog, openGateway, send, silences, slack, statuses, toolResultOf, waitAllEnded,
} from './gateway-support.ts';

const READ_EMPTY = "Error: read tool requires 'path' parameter. Received: {}";

export const CASCADE_CASES: readonly ConformanceCase[] = [
  {
    id: 'cascade.seed-004.end-to-end',
    title: 'The nested-agent cascade: every message answered, no waiting client silent too long, lane.status in time, the tool error returned',
    rules: ['QUEUE-20', 'HB-1', 'STATUS-3', 'STATUS-4', 'STATUS-9', 'TOOL-1', 'TOOL-2', 'LANE-20'],
    level: 'MUST',
    requires: GATEWAY,
    procedure:
      'Model script `cascade`. Alice sends the coordinator task; 5 s and 12 s later bob and carol write to the same session. Wait for every answer (up to 10 min). ' +
      'Each sender hears a frame at least every heartbeat interval until its wait ends; each waiting message is listed when it starts to wait and warned by acceptance + warnThresholdMs if it still waits then; ' +
      'a status names agent coder while it works; the coder\'s request after its malformed read carries exactly the TOOL-2 error, and its retry succeeds.',
    async run(ctx) {
      const { session } = await openGateway(ctx, {});
      if (session.setModel === undefined) throw new Error('no model script (capability check failed)');
      await session.setModel(CASCADE_SCRIPT);
      const interval = session.facts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS;
      const warn = session.facts.warnThresholdMs;
      const alice = await session.connect('alice');
      const bob = await session.connect('bob');
      const carol = await session.connect('carol');
      const key = session.sessionKey('coordinator');
      const a = await send(session, alice, key, `${CASCADE_MARKER} Refactor the config loader with CC and report back.`);
      await session.sleep(5_000);
      const b = await send(session, bob, key, 'Is the refactor done yet?');
      await session.sleep(7_000);
      const c = await send(session, carol, key, 'Also: please run the linter.');
      const ends = await waitAllEnded(session, [a, b, c], 600_000, 'QUEUE-20');
      const endA = ends.get(a)!;
      expectRule(endA.state === 'final' && endA.text !== '', 'QUEUE-20', "the coordinator's task ends with a final answer", `${endA.kind} ${endA.state}`);
      // HB-1 for every waiting sender.
      const tol = slack(ctx, session, interval);
      for (const s of [a, b, c]) {
        const end = ends.get(s)!;
        let worst = { gap: 0, after: s.at };
        for (const g of silences(s.client, s.at, end.at)) if (g.gap > worst.gap) worst = g;
        expectRule(worst.gap <= interval + tol, 'HB-1', `${s.client.name} (waiting ${end.at - s.at} ms) hears a frame at least every ${interval} ms`,
          () => `silent for ${worst.gap} ms after ${worst.after}; ${heard(s.client, worst.after - 1, 5)}`);
      }
      // STATUS-3 / STATUS-4 for the messages that waited.
      const wtol = slack(ctx, session, warn);
      for (const s of [b, c]) {
        if (s.status !== 'queued') continue;
        const end = ends.get(s)!;
        const list = statuses(s.client, key);
        const listed = list.find((e) => e.payload.waiting.some((w) => w.runId === s.runId));
        expectRule(listed !== undefined && listed.at <= s.at + slack(ctx, session, 500), 'STATUS-3', `${s.runId} is listed in a lane.status when it starts to wait (${s.at})`,
          () => (listed === undefined ? 'never listed' : `first listed at ${listed.at}`));
        const stillWaitingAt = s.at + warn;
        const startedAt = list.find((e) => e.at > s.at && !e.payload.waiting.some((w) => w.runId === s.runId))?.at ?? end.at;
        if (startedAt > stillWaitingAt + wtol) {
          const warned = list.find((e) => e.payload.waiting.some((w) => w.runId === s.runId && w.warning));
          expectRule(warned !== undefined && warned.at <= stillWaitingAt + wtol, 'STATUS-4',
            `${s.runId}, still waiting at ${stillWaitingAt} (acceptance + ${warn}), is warned by then`, () => (warned === undefined ? 'never warned' : `warned at ${warned.at}`));
        }
      }
      // STATUS-9: the overlay names the coder while it works.
      const coder = statuses(alice, key).find((e) => e.payload.active?.agentId === 'coder');
      expectRule(coder !== undefined, 'STATUS-9', "a lane.status shows active.agentId coder while the coding agent generates",
        () => (statuses(alice, key).length === 0 ? 'no lane.status event at all (DEP-8)'
          : `agentIds shown: ${[...new Set(statuses(alice, key).map((e) => String(e.payload.active?.agentId)))].join(', ')}`));
      // TOOL-1/TOOL-2 through the model's eyes.
      const log = await modelLog(session);
      const rules = log.map((r) => r.rule);
      const malformed = rules.indexOf('coder-malformed-read');
      expectRule(malformed >= 0, 'LANE-20', 'the coordinator handed the task to the coder (a coder request)', rules.join(', '));
      const next = log.slice(malformed + 1).find((r) => r.rule.startsWith('coder-'));
      const nextResult = next === undefined ? null : toolResultOf(next);
      expectRule(next !== undefined && nextResult !== null && nextResult !== '', 'TOOL-1', "the coder's next request carries the malformed call's error result",
        () => (next === undefined ? 'no further coder request' : `${next.rule}: ${next.lastRole} ${JSON.stringify(next.lastMessage.slice(0, 120))}`));
      expectRule(nextResult === READ_EMPTY, 'TOOL-2', `exactly ${JSON.stringify(READ_EMPTY)}`, JSON.stringify(nextResult));
      expectRule(rules.includes('coder-long-reply') && rules.includes('coordinator-summary'), 'TOOL-1', 'the retry succeeded and the work completed (coder reply, coordinator summary)', rules.join(', '));
      ctx.note(`cascade: ${log.length} model requests, alice waited ${endA.at - a.at} ms; bob ${ends.get(b)!.at - b.at} ms (${ends.get(b)!.kind}); carol ${ends.get(c)!.at - c.at} ms (${ends.get(c)!.kind})`);
    },
  },
];
