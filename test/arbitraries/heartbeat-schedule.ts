/**
 * Random schedules for the HeartbeatMonitor property (test/heartbeat.test.ts):
 * a config, which peers answer pings, and a list of commands as plain data,
 * replayed on a fake clock by the test. Connection and run indexes are small
 * so connections share runs and commands collide often.
 */
import fc from 'fast-check';
import type { HeartbeatConfig } from '../../src/model/config-types.ts';

export const SCHEDULE_CONNECTIONS = 4;
export const SCHEDULE_RUNS = 5;

export type HeartbeatCommand =
  /** watch(conn, run, { enqueuedAt: now - enqueuedAgoMs }) */
  | { kind: 'watch'; conn: number; run: number; enqueuedAgoMs: number }
  | { kind: 'unwatch'; conn: number; run: number }
  /** The run settled. */
  | { kind: 'unwatchRun'; run: number }
  /** runStarted(run, now) */
  | { kind: 'runStarted'; run: number }
  /** One frame went out to the connection (noteSent). */
  | { kind: 'send'; conn: number }
  /** Some inbound frame from the connection (noteInbound). */
  | { kind: 'inbound'; conn: number }
  | { kind: 'remove'; conn: number }
  /** addConnection again if it is gone (removed or dead). */
  | { kind: 'add'; conn: number }
  | { kind: 'advance'; ms: number }
  /** Deltas: a frame every everyMs, `frames` times, advancing the clock between them. */
  | { kind: 'stream'; conn: number; everyMs: number; frames: number };

export interface HeartbeatSchedule {
  config: HeartbeatConfig;
  /** responsive[i]: connection i answers every ping with a pong at once. */
  responsive: boolean[];
  commands: HeartbeatCommand[];
}

const conn = fc.integer({ min: 0, max: SCHEDULE_CONNECTIONS - 1 });
const run = fc.integer({ min: 0, max: SCHEDULE_RUNS - 1 });

export const heartbeatCommandArb: fc.Arbitrary<HeartbeatCommand> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('watch' as const), conn, run, enqueuedAgoMs: fc.integer({ min: 0, max: 2_000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('unwatch' as const), conn, run }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unwatchRun' as const), run }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('runStarted' as const), run }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('send' as const), conn }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('inbound' as const), conn }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), conn }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('add' as const), conn }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      // Small steps (land near deadlines) and long silences.
      ms: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 1_500 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('stream' as const),
      conn,
      everyMs: fc.integer({ min: 1, max: 200 }),
      frames: fc.integer({ min: 1, max: 40 }),
    }),
  },
);

export const heartbeatConfigArb: fc.Arbitrary<HeartbeatConfig> = fc
  .record({
    intervalMs: fc.integer({ min: 10, max: 400 }),
    pingIntervalMs: fc.integer({ min: 10, max: 400 }),
    deadExtraMs: fc.integer({ min: 1, max: 800 }),
  })
  .map(({ intervalMs, pingIntervalMs, deadExtraMs }) => ({
    intervalMs,
    pingIntervalMs,
    deadAfterMs: pingIntervalMs + deadExtraMs,
  }));

export const heartbeatScheduleArb: fc.Arbitrary<HeartbeatSchedule> = fc.record({
  config: heartbeatConfigArb,
  responsive: fc.array(fc.boolean(), { minLength: SCHEDULE_CONNECTIONS, maxLength: SCHEDULE_CONNECTIONS }),
  commands: fc.array(heartbeatCommandArb, { minLength: 1, maxLength: 80 }),
});
