/**
 * WS-21 / DIAG-3: `diagnostics.lanes {}` and `health {}`, read while the
 * gateway's main lane is full and a second session waits for it, then after
 * everything ended. Every answer passed its schema first (the DIAG-3 lane
 * entry, the WS-21 health answer): a malformed one fails the rule that
 * defines it, naming the field.
 */
import { checkRule, expectRule, precondition, type ConformanceCase } from '../types.ts';
import {
  GATEWAY, expectPayload, marker, on, openGateway, script, send, terminals, turn, waitAllEnded, waitRequests,
} from './gateway-support.ts';

interface LaneEntry { lane: string; queuedCount: number; activeCount: number; maxConcurrent: number; draining: boolean; blockedBy: string[] }

function show(lanes: readonly LaneEntry[]): string {
  return lanes.map((l) => `${l.lane}: ${l.activeCount}/${l.maxConcurrent} active, ${l.queuedCount} queued${l.draining ? ', draining' : ''}${l.blockedBy.length > 0 ? `, blockedBy ${l.blockedBy.join(',')}` : ''}`).join('; ');
}

export const DIAGNOSTICS_CASES: readonly ConformanceCase[] = [
  {
    id: 'diag.lanes.snapshot',
    title: 'diagnostics.lanes lists every lane with its queued and active counts, cap, drain flag and the holders blocking it',
    rules: ['WS-21', 'DIAG-3'],
    level: 'MUST',
    requires: GATEWAY,
    needs: [{ feature: 'diagnostics' }],
    procedure:
      'Config main cap 1 (asked). health {} answers {ok: true, ts}. Run A thinks 10 s in session S1 (preconditions: it reached the model, and had not ended when the snapshot was answered). diagnostics.lanes {} answers ' +
      '{lanes: [...]} (DIAG-3 entries, schema first): every entry\'s blockedBy lists the holders exactly when activeCount >= maxConcurrent and queuedCount > 0, else []; ' +
      'session:S1 is listed with activeCount 1. When the gateway is known to run main cap 1 (session.config, --config), a message to session S2 waits for main meanwhile: ' +
      'main has activeCount 1, queuedCount >= 1, maxConcurrent 1, draining false, blockedBy one holder; session:S1 is listed before session:S2 (creation order). ' +
      'After everything ended: main has activeCount 0, queuedCount 0, blockedBy [].',
    async run(ctx) {
      const { session, config } = await openGateway(ctx, { agents: { defaults: { maxConcurrent: 1 } } });
      // The main-full part needs main's cap to be 1 (asked; a gateway running its own configuration must say it runs that).
      const fillMain = config?.agents.defaults.maxConcurrent === 1;
      if (!fillMain) ctx.note(config === null ? 'main cap unknown (no --config): the main-full part is skipped' : `main cap ${config.agents.defaults.maxConcurrent}, not 1: the main-full part is skipped`);
      await script(session, [on('diag-hold', turn({ ttftMs: 10_000, streamMs: 300, tokens: 4 }))]);
      const alice = await session.connect('alice');
      const health = expectPayload<{ ok: true; ts: number }>('health', await alice.request('health', {}), 'health {}', 'WS-21');
      checkRule(Math.abs(health.ts - Date.now()) < 600_000, 'WS-21', 'health.ts is the gateway\'s time (ms since the epoch)', String(health.ts));
      const s1 = session.sessionKey('diag-s1');
      const s2 = session.sessionKey('diag-s2');
      const a = await send(session, alice, s1, `hold main ${marker('diag-hold')}`);
      precondition((await waitRequests(session, ['diag-hold'], 10_000)) !== null, `run ${a.runId} never reached the model: nothing holds a lane to observe`);
      const b = fillMain ? await send(session, alice, s2, 'wait for main') : null;
      const during = expectPayload<{ lanes: LaneEntry[] }>('diagnosticsLanes', await alice.request('diagnostics.lanes', {}), 'diagnostics.lanes {}', 'WS-21').lanes;
      // The snapshot must have been taken while A still ran (a loaded machine may have let it end first).
      precondition(terminals(alice, a.runId).length === 0, () => `run ${a.runId} had already ended when diagnostics.lanes answered: the snapshot shows nothing held`);
      // Every entry: blockedBy names the holders exactly when the lane is full and something waits.
      for (const l of during) {
        const full = l.activeCount >= l.maxConcurrent && l.queuedCount > 0;
        checkRule(full ? l.blockedBy.length > 0 && l.blockedBy.length === l.activeCount : l.blockedBy.length === 0, 'DIAG-3',
          `${l.lane}: blockedBy lists the holders' task ids when activeCount >= maxConcurrent and queuedCount > 0, else []`, () => show([l]));
      }
      const i1 = during.findIndex((l) => l.lane === `session:${s1}`);
      if (checkRule(i1 >= 0, 'DIAG-3', `session:${s1} is listed (A runs in it: every lane that exists now)`, () => show(during))) {
        checkRule(during[i1]!.activeCount === 1, 'DIAG-3', `session:${s1}: activeCount 1 (A holds it)`, () => show([during[i1]!]));
      }
      if (b !== null) {
        const main = during.find((l) => l.lane === 'main');
        expectRule(main !== undefined, 'DIAG-3', 'the lane main is listed (every lane that exists now)', () => show(during));
        checkRule(main.activeCount === 1 && main.maxConcurrent === 1, 'DIAG-3', 'main: activeCount 1 (A holds it), maxConcurrent 1', () => show([main]));
        checkRule(main.queuedCount >= 1, 'DIAG-3', `main: queuedCount >= 1 (${b.runId} waits for it)`, () => show([main]));
        checkRule(!main.draining, 'DIAG-3', 'main: draining false (nothing drains)', () => show([main]));
        if (main.blockedBy.length > 0 && !main.blockedBy.includes(a.runId)) ctx.note(`blockedBy names ${main.blockedBy.join(', ')}, not the run id ${a.runId} (a task id of the gateway's own)`);
        const i2 = during.findIndex((l) => l.lane === `session:${s2}`);
        if (i1 >= 0 && i2 >= 0) checkRule(i1 < i2, 'DIAG-3', 'lanes are listed in order of creation', () => `session:${s1} at ${i1}, session:${s2} at ${i2}`);
      }
      await waitAllEnded(session, b === null ? [a] : [a, b], 60_000, 'QUEUE-20');
      await session.sleep(200);
      const after = expectPayload<{ lanes: LaneEntry[] }>('diagnosticsLanes', await alice.request('diagnostics.lanes', {}), 'diagnostics.lanes {} (after)', 'WS-21').lanes;
      const mainAfter = after.find((l) => l.lane === 'main');
      if (mainAfter !== undefined) {
        checkRule(mainAfter.activeCount === 0 && mainAfter.queuedCount === 0 && mainAfter.blockedBy.length === 0, 'DIAG-3',
          'when everything ended, main has activeCount 0, queuedCount 0 and blockedBy []', () => show([mainAfter]));
      }
      ctx.note(`during: ${show(during)}`);
    },
  },
];
