/**
 * The real OpenClaw lane queue (openclaw@2026.9.6, dist/command-queue-*.mjs)
 * loaded as a peer under Node 20 and @sinonjs/fake-timers.
 *
 * Needs the peer installed outside the repo:
 *   npx tsx scripts/openclaw-peer.ts install
 * (or LANESIM_OPENCLAW_DIR pointing at an installed `openclaw` package).
 * Without it the whole file is skipped.
 */
import FakeTimers from '@sinonjs/fake-timers';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  REQUIRED_OPENCLAW_EXPORTS,
  isOpenClawPeerInstalled,
  loadOpenClawCommandQueue,
  parseExportMap,
  parseLaneWaitLine,
  type OpenClawCommandQueue,
} from '../../src/peers/openclaw/command-queue.ts';
import { openclawPeerPaths } from '../../src/peers/openclaw/paths.ts';

type InstalledClock = ReturnType<typeof FakeTimers.install>;

const installed = isOpenClawPeerInstalled();
if (!installed) {
  console.warn(
    `[lanesim] OpenClaw peer not installed at ${openclawPeerPaths().openclawDir}: skipping its tests. ` +
      'Install with `npx tsx scripts/openclaw-peer.ts install` or set LANESIM_OPENCLAW_DIR.',
  );
}

describe('parsers (no peer needed)', () => {
  it('maps real names to minified aliases from the last export statement', () => {
    const map = parseExportMap('export { x as y };\nfunction f() {}\nexport { enqueueCommandInLane as r, clearCommandLane as n, plain };\n');
    expect(map).toEqual({ enqueueCommandInLane: 'r', clearCommandLane: 'n', plain: 'plain' });
  });

  it('parses lane wait lines, with or without console prefix and colours', () => {
    expect(
      parseLaneWaitLine(
        '\u001b[31m[diagnostic]\u001b[39m \u001b[33mlane wait exceeded: lane=main waitedMs=6676 queueAhead=0 activeAhead=1 activeNow=0 queueBehind=0\u001b[39m',
      ),
    ).toEqual({
      lane: 'main',
      waitedMs: 6676,
      queueAhead: 0,
      activeAhead: 1,
      activeNow: 0,
      queueBehind: 0,
      line: 'lane wait exceeded: lane=main waitedMs=6676 queueAhead=0 activeAhead=1 activeNow=0 queueBehind=0',
    });
    // Older builds: no active/behind fields.
    expect(parseLaneWaitLine('lane wait exceeded: lane=session:x waitedMs=248826 queueAhead=1')).toMatchObject({
      lane: 'session:x',
      waitedMs: 248826,
      queueAhead: 1,
    });
    expect(parseLaneWaitLine('lane task done: lane=main durationMs=3')).toBeUndefined();
  });
});

describe.skipIf(!installed)('OpenClaw command queue peer', () => {
  let q: OpenClawCommandQueue;
  let clock: InstalledClock | undefined;

  beforeAll(async () => {
    q = await loadOpenClawCommandQueue({ capture: true, fresh: true });
  });

  afterAll(() => {
    q?.resetState();
    q?.restoreLogging();
  });

  beforeEach(() => {
    clock = FakeTimers.install({
      now: 0,
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
    q.resetState();
    q.diagnostics?.clear();
  });

  afterEach(() => {
    clock?.uninstall();
    clock = undefined;
  });

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  it('loads under this Node with every required export mapped', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(20);
    for (const name of REQUIRED_OPENCLAW_EXPORTS) expect(q.exportMap[name]).toMatch(/^[\w$]+$/);
    expect(q.modulePath).toMatch(/dist[/\\]command-queue-[^/\\]+\.mjs$/);
    expect(typeof q.GatewayDrainingError).toBe('function');
    console.info(`[lanesim] openclaw ${q.version} queue module ${q.modulePath} on Node ${process.versions.node}`);
  });

  it('a 60 s run holds a second session on `main` (cap 1) for exactly 60,000 virtual ms', async () => {
    q.setCommandLaneConcurrency('main', 1);
    const marks: Record<string, number> = {};
    // The OpenClaw way: session lane first, then, inside that slot, the global lane.
    const run = (key: string, work: () => Promise<void>) =>
      q.enqueueCommandInLane(`session:${key}`, () => {
        marks[`${key}.session`] = Date.now();
        return q.enqueueCommandInLane('main', async () => {
          marks[`${key}.start`] = Date.now();
          await work();
          marks[`${key}.end`] = Date.now();
        });
      });

    const a = run('a', () => sleep(60_000));
    const b = run('b', async () => {});
    await clock!.tickAsync(0);
    expect(q.getCommandLaneSnapshot('main')).toMatchObject({ activeCount: 1, queuedCount: 1, maxConcurrent: 1, blockedBy: 'lane' });
    // b's session slot is held while it waits for `main`.
    expect(q.getCommandLaneSnapshot('session:b')).toMatchObject({ activeCount: 1, queuedCount: 0 });

    await clock!.tickAsync(60_000);
    await Promise.all([a, b]);

    expect(marks).toEqual({
      'a.session': 0,
      'a.start': 0,
      'a.end': 60_000,
      'b.session': 0,
      'b.start': 60_000,
      'b.end': 60_000,
    });
    expect(marks['b.start']! - marks['b.session']!).toBe(60_000);

    const waits = q.diagnostics!.laneWaits;
    expect(waits).toHaveLength(1);
    expect(waits[0]).toMatchObject({
      lane: 'main',
      waitedMs: 60_000,
      queueAhead: 0,
      activeAhead: 1,
      activeNow: 0,
      queueBehind: 0,
    });
    const record = q.diagnostics!.records.find((r) => r.message.startsWith('lane wait exceeded'));
    expect(record).toMatchObject({ level: 'warn', subsystem: 'diagnostic' });
    // Session lanes are retired once idle.
    expect(q.listCommandLaneTotals?.().map((t) => t.lane)).toEqual(['main']);
  });

  it('warns only at or above warnAfterMs, and calls onWait first', async () => {
    q.setCommandLaneConcurrency('main', 1);
    const waits: Array<[number, number]> = [];
    const first = q.enqueueCommandInLane('main', () => sleep(1_999));
    const early = q.enqueueCommandInLane('main', () => sleep(1), { onWait: (ms, ahead) => waits.push([ms, ahead]) });
    const late = q.enqueueCommandInLane('main', async () => {}, {
      warnAfterMs: 2_000,
      onWait: (ms, ahead) => waits.push([ms, ahead]),
    });
    await clock!.tickAsync(2_000);
    await Promise.all([first, early, late]);
    // `early` waited 1999 ms (< 2000): no warning. `late` waited 2000 ms with 1 queued ahead at enqueue.
    expect(waits).toEqual([[2_000, 1]]);
    expect(q.diagnostics!.laneWaits.map((w) => [w.waitedMs, w.queueAhead, w.activeAhead])).toEqual([[2_000, 1, 1]]);
  });

  it('is FIFO per lane; clearCommandLane rejects queued entries only', async () => {
    q.setCommandLaneConcurrency('main', 1);
    const order: string[] = [];
    const running = q.enqueueCommandInLane('main', async () => {
      await sleep(10);
      order.push('running');
    });
    const queued = [1, 2, 3].map((i) => q.enqueueCommandInLane('main', () => order.push(`q${i}`)).catch((e: unknown) => e));
    await clock!.tickAsync(1);
    expect(q.clearCommandLane('main')).toBe(3);
    const errors = (await Promise.all(queued)) as Error[];
    for (const err of errors) {
      expect(err).toBeInstanceOf(q.CommandLaneClearedError);
      expect(err.name).toBe('CommandLaneClearedError');
      expect(err.message).toBe('Command lane "main" cleared');
    }
    await clock!.tickAsync(10);
    await running;
    expect(order).toEqual(['running']);

    const fifo = ['a', 'b', 'c', 'd'].map((k) => q.enqueueCommandInLane('main', () => order.push(k)));
    await clock!.tickAsync(0);
    await Promise.all(fifo);
    expect(order).toEqual(['running', 'a', 'b', 'c', 'd']);
  });

  it('rejects enqueues while the gateway drains, until resetAllLanes', async () => {
    q.markGatewayDraining('test');
    const err = (await q.enqueueCommandInLane('main', () => 1).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(q.GatewayDrainingError!);
    expect(err.name).toBe('GatewayDrainingError');
    expect(err.message).toBe('Gateway is draining; new tasks are not accepted');
    q.resetAllLanes();
    await expect(q.enqueueCommandInLane('main', () => 'ok')).resolves.toBe('ok');
  });

  it('a fresh instance (?instance=N) loads under vitest but shares the global lane state', async () => {
    q.setCommandLaneConcurrency('shared', 3);
    const other = await loadOpenClawCommandQueue({ fresh: false });
    const fresh = await loadOpenClawCommandQueue({ fresh: true });
    expect(fresh.enqueueCommandInLane).not.toBe(q.enqueueCommandInLane);
    expect(fresh.CommandLaneClearedError).not.toBe(q.CommandLaneClearedError);
    // fresh: true reset the process-wide state, which every instance sees.
    expect(q.getCommandLaneSnapshot('shared').maxConcurrent).toBe(1);
    q.setCommandLaneConcurrency('shared', 2);
    expect(fresh.getCommandLaneSnapshot('shared').maxConcurrent).toBe(2);
    expect(other.getCommandLaneSnapshot('shared').maxConcurrent).toBe(2);
  });
});
