/**
 * Cases side by side (runner.ts schedule / scheduleClass): at most N at
 * once, never two that use the gateway's runs (one fake-model script, the
 * gateway's global lanes), an exclusive case alone, everything serial in
 * process, results in catalogue order whatever order they finish in.
 * Driven with deferred promises: no timers, no sleeping.
 */
import { describe, expect, it } from 'vitest';
import { schedule, scheduleClass, type ScheduleClass } from '../../src/conformance/runner.ts';
import type { ConformanceCase, ConformanceTarget } from '../../src/conformance/types.ts';

interface Item {
  name: string;
  cls: ScheduleClass;
}

/** Runs `items` through schedule(); each run waits until the test releases it. */
function harness(items: Item[], limit: number, gateways = 1) {
  const running = new Set<string>();
  const log: string[][] = [];
  const release = new Map<string, () => void>();
  const finishedOrder: string[] = [];
  const onGateway = new Map<string, number>();
  const done = schedule(items, limit, (i) => i.cls, (i, gateway) => new Promise<string>((resolve) => {
    onGateway.set(i.name, gateway);
    running.add(i.name);
    log.push([...running].sort());
    release.set(i.name, () => {
      running.delete(i.name);
      finishedOrder.push(i.name);
      resolve(`result of ${i.name}`);
    });
  }), undefined, gateways);
  const settle = async (): Promise<void> => {
    for (let k = 0; k < 10; k++) await Promise.resolve();
  };
  return { running, log, release, done, settle, finishedOrder, onGateway };
}

describe('schedule', () => {
  it('runs connection cases up to the limit, gateway-runs cases one at a time, and keeps catalogue order', async () => {
    const items: Item[] = [
      { name: 'g1', cls: 'gateway-runs' }, { name: 'g2', cls: 'gateway-runs' },
      { name: 'c1', cls: 'connection' }, { name: 'c2', cls: 'connection' }, { name: 'c3', cls: 'connection' },
    ];
    const h = harness(items, 3);
    await h.settle();
    expect([...h.running].sort()).toEqual(['c1', 'c2', 'g1']);
    h.release.get('c2')!();
    await h.settle();
    // g2 still waits for g1; c3 takes the free slot.
    expect([...h.running].sort()).toEqual(['c1', 'c3', 'g1']);
    h.release.get('g1')!();
    await h.settle();
    expect([...h.running].sort()).toEqual(['c1', 'c3', 'g2']);
    for (const n of ['c3', 'g2', 'c1']) {
      h.release.get(n)!();
      await h.settle();
    }
    expect(await h.done).toEqual(items.map((i) => `result of ${i.name}`));
    expect(h.finishedOrder).toEqual(['c2', 'g1', 'c3', 'g2', 'c1']);
    for (const snapshot of h.log) {
      expect(snapshot.length).toBeLessThanOrEqual(3);
      expect(snapshot.filter((n) => n.startsWith('g')).length).toBeLessThanOrEqual(1);
    }
  });

  it('exclusive cases run last, each alone, once the others finished; results stay in catalogue order', async () => {
    const items: Item[] = [
      { name: 'c1', cls: 'connection' }, { name: 'x', cls: 'exclusive' }, { name: 'g1', cls: 'gateway-runs' }, { name: 'y', cls: 'exclusive' }, { name: 'c2', cls: 'connection' },
    ];
    const h = harness(items, 4);
    await h.settle();
    expect([...h.running].sort()).toEqual(['c1', 'c2', 'g1']);
    for (const n of ['c2', 'g1']) {
      h.release.get(n)!();
      await h.settle();
    }
    // x waits for c1, the last one running.
    expect([...h.running]).toEqual(['c1']);
    h.release.get('c1')!();
    await h.settle();
    expect([...h.running]).toEqual(['x']);
    h.release.get('x')!();
    await h.settle();
    expect([...h.running]).toEqual(['y']);
    h.release.get('y')!();
    expect(await h.done).toEqual(items.map((i) => `result of ${i.name}`));
    expect(h.finishedOrder).toEqual(['c2', 'g1', 'c1', 'x', 'y']);
    // Nothing ever ran beside an exclusive case.
    for (const snapshot of h.log) if (snapshot.includes('x') || snapshot.includes('y')) expect(snapshot).toHaveLength(1);
  });

  it('with several gateways alike, gateway-runs cases run side by side, each on a gateway of its own', async () => {
    const items: Item[] = [
      { name: 'g1', cls: 'gateway-runs' }, { name: 'g2', cls: 'gateway-runs' }, { name: 'g3', cls: 'gateway-runs' }, { name: 'c1', cls: 'connection' },
    ];
    const h = harness(items, 4, 2);
    await h.settle();
    expect([...h.running].sort()).toEqual(['c1', 'g1', 'g2']);
    expect([h.onGateway.get('g1'), h.onGateway.get('g2'), h.onGateway.get('c1')]).toEqual([0, 1, 0]);
    h.release.get('g2')!();
    await h.settle();
    // g3 takes the gateway g2 left, not g1's.
    expect(h.onGateway.get('g3')).toBe(1);
    for (const n of ['g1', 'g3', 'c1']) {
      h.release.get(n)!();
      await h.settle();
    }
    expect(await h.done).toEqual(items.map((i) => `result of ${i.name}`));
  });

  it('limit 1 is serial', async () => {
    const items: Item[] = [{ name: 'a', cls: 'connection' }, { name: 'b', cls: 'connection' }];
    const h = harness(items, 1);
    await h.settle();
    expect([...h.running]).toEqual(['a']);
    h.release.get('a')!();
    await h.settle();
    h.release.get('b')!();
    expect(await h.done).toHaveLength(2);
    expect(h.log.every((s) => s.length === 1)).toBe(true);
  });
});

describe('scheduleClass', () => {
  const ws = { name: 'ws', kind: 'websocket', capabilities: new Set() } as unknown as ConformanceTarget;
  const inProcess = { name: 'ip', kind: 'in-process', capabilities: new Set() } as unknown as ConformanceTarget;
  const make = (requires: ConformanceCase['requires'], exclusive?: true, connectionOnly?: true): ConformanceCase => ({
    id: 'x', title: 'x', rules: [], level: 'MUST', requires, procedure: '', run: async () => {}, ...(exclusive ? { exclusive } : {}), ...(connectionOnly ? { connectionOnly } : {}),
  });

  it('in process everything is exclusive (one global fake clock); over WebSocket by what the case uses', () => {
    expect(scheduleClass(make(['raw-socket']), inProcess)).toBe('exclusive');
    expect(scheduleClass(make(['raw-socket']), ws)).toBe('connection');
    expect(scheduleClass(make(['gateway', 'model-script']), ws)).toBe('gateway-runs');
    expect(scheduleClass(make(['gateway']), ws)).toBe('gateway-runs');
    expect(scheduleClass(make(['raw-socket', 'gateway']), ws)).toBe('gateway-runs');
    expect(scheduleClass(make(['raw-socket'], true), ws)).toBe('exclusive');
    // Marked connection-only: beside the others; a case that scripts the model never is.
    expect(scheduleClass(make(['gateway'], undefined, true), ws)).toBe('connection');
    expect(scheduleClass(make(['gateway', 'model-script'], undefined, true), ws)).toBe('gateway-runs');
    expect(scheduleClass(make(['gateway'], true, true), ws)).toBe('exclusive');
  });
});
