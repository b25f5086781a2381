/**
 * Smoke test of the real-WebSocket load bench (bench/load/), through the same
 * code as `npm run bench -- load`: the reference gateway in its own process,
 * 500 real `ws` clients in a worker process (10 % streaming, the rest with a
 * silent active run and a message queued behind it), autocannon on the HTTP
 * side, and the heartbeat bound scaled down to 1 s (the gateway's ping, tick
 * and lane warnings scale with it: the tick comes every 2 s, so a gateway
 * without heartbeats would fail the 1.5 s limit below).
 *
 * The tolerance (0.5 s on a 1 s bound) leaves room for a loaded 2-core
 * machine; the full-size figures are the bench's job, not this test's.
 */
import { describe, expect, it } from 'vitest';
import { liveChildren, runLoad } from '../../bench/load/run.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('load bench (smoke)', () => {
  it('500 clients, 1 s bound: every waiting client hears a frame in time, no errors, no unexpected closes', async () => {
    const report = await runLoad({
      clients: 500,
      streamingShare: 0.1,
      durationMs: 15_000,
      heartbeatMs: 1_000,
      toleranceMs: 500,
      httpRate: 50,
      progress: 'none',
    });
    const t = report.targets[0]!;
    const detail = JSON.stringify({ failures: t.failures, worst: t.worst, errors: t.errors, closes: t.unexpectedCloses, notes: t.notes });
    expect(t.target).toBe('reference');
    expect(t.connected, detail).toBe(500);
    expect(t.measured, detail).toBe(500);
    expect(t.streaming).toBe(50);
    expect(t.errorCount, detail).toBe(0);
    expect(t.closeCount, detail).toBe(0);
    expect(t.settledEarly, detail).toBe(0);
    // HB-1: the silence bound, for every client (worst = the longest gap of any client).
    expect(t.worst, detail).not.toBeNull();
    expect(t.worst!.maxGapMs, detail).toBeLessThanOrEqual(t.boundMs + t.toleranceMs);
    expect(t.overBound, detail).toBe(0);
    expect(t.pass, detail).toBe(true);
    // The waiting clients were kept alive by heartbeats (not only by ticks), the streaming ones by deltas.
    expect(t.frameKinds['heartbeat'] ?? 0).toBeGreaterThan(450 * 5);
    expect(t.gapsStreaming.count).toBeGreaterThan(0);
    // The HTTP side was driven at the same time, without errors.
    expect(t.http).not.toBeNull();
    expect(t.http!.requests).toBeGreaterThan(0);
    expect(t.http!.errors + t.http!.timeouts).toBe(0);
    // In-process figures came back from the gateway child.
    expect(t.server.lagRun).not.toBeNull();
    expect(t.server.memoryPerConnection).not.toBeNull();
    // Nothing left running.
    expect(liveChildren()).toEqual([]);
    expect(t.server.pid === null ? false : alive(t.server.pid)).toBe(false);
  }, 50_000);
});
