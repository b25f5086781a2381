/**
 * The worked example of docs/ADAPTER.md (examples/gateway/) kept honest: its
 * core runs the conformance cases it claims both in process (through its
 * adapter, under the harness's fake clock) and over the wire (its own
 * WebSocket server around the same core, lanesim's fake model as its model,
 * its gateway.json5 as the `--config` description), and passes every one.
 * The example leaves out lane.status, heartbeats, ticks and the other queue
 * modes on purpose, so the cases for those are not claimed (and would fail).
 * What it declares unsupported (supports.mjs, gateway.json5's `supports`)
 * makes the cases needing it n/a with the declaration named, on both paths.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runConformance } from '../../src/conformance/api.ts';
import type { GatewayAdapter } from '../../src/conformance/adapter.ts';
import type { SuiteReport } from '../../src/conformance/runner.ts';
import { startFakeModel, type FakeModelServer } from '../../src/fake-model/server.ts';
// @ts-expect-error plain ESM without type declarations (the example imports nothing from lanesim).
import exampleAdapter from '../../examples/gateway/lanesim-adapter.mjs';
// @ts-expect-error plain ESM without type declarations.
import { startServer } from '../../examples/gateway/server.mjs';

const EXAMPLE = path.resolve(import.meta.dirname, '../../examples/gateway');
const SEED = 1;
/** The fake model plays its script 5x faster and the suite scales its waits alike (the example has no timers of its own in these cases). */
const TIME_SCALE = 5;

/** Cases the example claims on both paths. */
const GATEWAY_CASES = [
  'session.serial.one-at-a-time',
  'session.cap.global-main',
  'session.fifo.arrival-order',
  'queue.idle.starts',
  'queue.followup.own-run',
  'queue.abort.queued',
  'queue.abort.running',
  'queue.idempotency.repeat',
  'queue.chat-events.stream',
  'ws.request.unknown-method',
  'ws.request.bad-params',
  'ws.events.seq',
  'ws.chat.idempotency',
  'ws.chat.idempotency-across-sessions',
  'ws.chat.missing-idempotency-key',
  'ws.chat.followup-own-runid',
];
/** Cases for what supports.mjs / gateway.json5 declare unsupported: n/a on both paths, naming the declaration. */
const DECLARED_NA = ['queue.steer.injects', 'queue.collect.merge', 'queue.history.partial', 'cascade.seed-004.end-to-end'];
/** Lane-queue cases: in process only (a lane queue has no wire). */
const LANE_PREFIX = 'lane';
/** Handshake and bad-input cases: over the wire only (in process the harness plays the socket). */
const WIRE_CASES = [
  'ws.handshake.challenge',
  'ws.hello.shape',
  'ws.handshake.bad-params',
  'ws.handshake.protocol-mismatch',
  'ws.handshake.wrong-token',
  'ws.handshake.not-connect-first',
  'ws.handshake.second-connect',
  'ws.request.invalid-frame',
  'ws.input.invalid-json',
  'ws.input.binary',
];

/** Every result that is not as claimed: a pass, or for DECLARED_NA an n/a naming the declaration. */
function failures(report: SuiteReport): string[] {
  const asClaimed = (r: SuiteReport['results'][number]): boolean =>
    DECLARED_NA.includes(r.id) ? r.status === 'n/a' && r.reason.startsWith('declared unsupported: supports.') : r.status === 'pass';
  return report.results.filter((r) => !asClaimed(r)).map((r) => `${r.id}: ${r.status}: ${r.reason} (replay: ${r.replay}, seed ${r.seed})`);
}

describe('examples/gateway', () => {
  test('in process through its adapter: every lane case and every claimed gateway case passes; what it declares unsupported is n/a', async () => {
    const report = await runConformance({ adapter: exampleAdapter as GatewayAdapter, only: [LANE_PREFIX, ...GATEWAY_CASES, ...DECLARED_NA], seed: SEED });
    expect(failures(report)).toEqual([]);
    const ids = report.results.map((r) => r.id);
    expect(ids.filter((id) => id.startsWith('lane.')).length).toBeGreaterThanOrEqual(20);
    expect(ids.filter((id) => !id.startsWith('lane.')).sort()).toEqual([...GATEWAY_CASES, ...DECLARED_NA].sort());
    expect(report.target).toBe('example-gateway');
  });

  describe('over the wire: server.mjs + the fake model + gateway.json5', () => {
    let model: FakeModelServer | null = null;
    let gateway: { url: string; close(): Promise<void> } | null = null;
    const token = 'example-token';

    beforeAll(async () => {
      model = await startFakeModel({ seed: SEED, timeScale: TIME_SCALE });
      gateway = (await startServer({ port: 0, modelUrl: model.url, token, maxConcurrent: 2 })) as { url: string; close(): Promise<void> };
    });
    afterAll(async () => {
      await gateway?.close();
      await model?.close();
    });

    test('every claimed gateway case and handshake case passes; what it declares unsupported is n/a, as in process', async () => {
      const report = await runConformance({
        url: { url: gateway!.url, token, modelControl: model!.url, timeScale: TIME_SCALE, config: path.join(EXAMPLE, 'gateway.json5') },
        only: [...GATEWAY_CASES, ...WIRE_CASES, ...DECLARED_NA],
        seed: SEED,
      });
      expect(failures(report)).toEqual([]);
      expect(report.results.map((r) => r.id).sort()).toEqual([...GATEWAY_CASES, ...WIRE_CASES, ...DECLARED_NA].sort());
      expect(report.targetKind).toBe('websocket');
    }, 120_000);
  });
});
