/**
 * The soak in short (bench/soak.bench.ts is the long one): rounds of the same
 * traffic over real sockets, each followed by the gateway's clock passing
 * the eviction horizon (BOUND-1, BOUND-3). What the gateway remembers is
 * asserted in counts and bytes, never in times or RSS: every round peaks at
 * the same counts and bytes, and after each horizon only the last probe's
 * key and session are left, so nothing grows with the number of rounds.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { skewedClock } from '../support/skewed-clock.ts';
import { gatewayPerTest } from '../support/gateway-fixture.ts';
import { isChat, waitUntil, type TestClient } from '../support/ws-test-client.ts';

const { pool, start } = gatewayPerTest();

afterEach(() => {
  expect(Object.keys(Object.prototype)).toEqual([]);
});

const ROUNDS = 4;
const CLIENTS = 6;
const MESSAGES_PER_CLIENT = 5;
const SESSIONS_PER_ROUND = 10;
const HORIZON_MS = 600_000;
const EVICTED_REMEMBERED = 25;
const HISTORY_MAX_BYTES = 2_048;


async function sendAndWait(c: TestClient, sessionKey: string, message: string, idempotencyKey: string): Promise<void> {
  const res = await c.request('chat.send', { sessionKey, message, idempotencyKey });
  expect(res.ok).toBe(true);
  await c.waitFor((r) => isChat(r, (res.payload as { runId: string }).runId, 'final'), 10_000);
}

describe('soak, short: memory stops growing after the eviction horizon (BOUND-1, BOUND-2, BOUND-3)', () => {
  test(`${ROUNDS} rounds of ${CLIENTS * MESSAGES_PER_CLIENT} messages into ${SESSIONS_PER_ROUND} fresh sessions: the same peak every round, nothing left after each horizon`, async () => {
    const clock = skewedClock();
    const fixture = await start({
      clock,
      // Dead-peer detection runs on the gateway's clock: the skips must not look like silence.
      config: { gateway: { heartbeat: { intervalMs: 300, pingIntervalMs: 200, deadAfterMs: 2_000_000_000 } } },
      limits: { sessionIdleMs: HORIZON_MS, evictedKeysRemembered: EVICTED_REMEMBERED, historyMaxBytes: HISTORY_MAX_BYTES },
    });
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => pool.connect(fixture.url)));
    const probe = await pool.connect(fixture.url);
    const peaks: ReturnType<typeof fixture.server.gateway.memoryCounts>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(clients.map(async (c, ci) => {
        for (let m = 0; m < MESSAGES_PER_CLIENT; m++) {
          const session = `r${round}-s${(ci * MESSAGES_PER_CLIENT + m) % SESSIONS_PER_ROUND}`;
          // Same length every round: the bytes remembered are comparable round to round.
          await sendAndWait(c, session, `c${ci} m${m} ${'t'.repeat(300)} [think=1 stream=1]`, `r${round}-c${ci}-m${m}`);
        }
      }));
      peaks.push(fixture.server.gateway.memoryCounts());
      clock.skip(HORIZON_MS + 1);
      // Any chat.send sweeps; the probe's own key and session are then all that is left.
      await sendAndWait(probe, 'probe', 'probe [think=1 stream=1]', `probe-${round}`);
      const after = fixture.server.gateway.memoryCounts();
      expect(after.idempotencyKeys).toBe(1);
      expect(after.sessions).toBe(1);
      expect(after.liveMessages).toBe(0);
      // Every round's sessions were evicted, and from the second round the probe's too (then revived by the
      // probe's message, which drops its record); the record is capped at evictedKeysRemembered.
      const recorded = round === 0 ? SESSIONS_PER_ROUND : Math.min(EVICTED_REMEMBERED, SESSIONS_PER_ROUND * (round + 1) + 1) - 1;
      expect(after.evictedKeys).toBe(recorded);
      expect([10, 20, 24, 24][round]).toBe(recorded);
    }
    for (const peak of peaks) {
      // This round's keys and sessions, plus the previous probe's (none before the first round).
      expect(peak.idempotencyKeys - (peak === peaks[0] ? 0 : 1)).toBe(CLIENTS * MESSAGES_PER_CLIENT);
      expect(peak.sessions - (peak === peaks[0] ? 0 : 1)).toBe(SESSIONS_PER_ROUND);
      expect(peak.historyBytes).toBeLessThanOrEqual(peak.sessions * HISTORY_MAX_BYTES);
    }
    // Rounds after the first are alike to the byte, but for the record of evicted keys (capped, checked above).
    // Subscriptions that came with a chat.send went with their evicted session (BOUND-5): they do not pile up.
    const sameEveryRound = peaks.slice(1).map(({ evictedKeys: _e, ...rest }) => JSON.stringify(rest));
    expect(new Set(sameEveryRound).size, JSON.stringify(peaks)).toBe(1);
    expect(peaks.map((p) => p.subscribedSessions)).toEqual(peaks.map((_, r) => SESSIONS_PER_ROUND + (r === 0 ? 0 : 1)));
    await Promise.all(clients.map((c) => c.close()));
    await probe.close();
    await waitUntil(() => fixture.server.gateway.memoryCounts().subscribedSessions === 0, 3_000, 'the subscriptions to go with their connections');
  });
});
