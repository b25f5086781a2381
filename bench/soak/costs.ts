/**
 * What one session, one remembered idempotency key and one connection cost
 * the reference gateway, in heap bytes after a forced GC (docs/PERFORMANCE.md,
 * *Memory bounds*). Sessions and keys are measured on the Gateway core with
 * no transport (the only difference a socket makes is per connection);
 * connections over real sockets, with the clients in a worker thread so
 * the main heap holds the server side only.
 */
import { parseConfig } from '../../src/model/config.ts';
import { globalClock } from '../../src/model/clock.ts';
import { Gateway, type AgentRuntime, type RunIO } from '../../src/reference-impl/gateway.ts';
import { forceGc } from '../support/memory.ts';

/** Runs that answer `text` on the next turn of the event loop. */
export function instantRuntime(text: string): AgentRuntime {
  return {
    start(io: RunIO): void {
      setImmediate(() => io.finish(text));
    },
  };
}

export function heapAndExternal(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

async function settle(gateway: Gateway): Promise<void> {
  for (let i = 0; i < 10_000 && (gateway.router.scheduler.liveTasks > 0 || gateway.router.activeSessions > 0); i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export interface ItemCosts {
  /** Heap bytes per idle session with one 100-character message and its 100-character answer remembered. */
  bytesPerSession: number;
  sessions: number;
  /** Heap bytes per remembered idempotency key (keepHistory off: the key alone). */
  bytesPerKey: number;
  keys: number;
}

/** Sessions: `sessions` sessions, one exchange each. Keys: `keys` messages in one session, transcripts off. */
export async function measureItemCosts(sessions = 20_000, keys = 100_000): Promise<ItemCosts> {
  const config = parseConfig({ messages: { queue: { mode: 'followup', cap: 1_000_000 } } });
  const text100 = 'a'.repeat(100);
  // Sessions.
  const g1 = new Gateway({ config, runtime: instantRuntime(text100), clock: globalClock, trace: null });
  g1.connect('c', { send: () => true, wantsPayload: false, listens: false, close: () => {} });
  await settle(g1);
  forceGc();
  const before1 = heapAndExternal();
  for (let i = 0; i < sessions; i++) {
    g1.chatSend('c', { sessionKey: `session-${String(i).padStart(8, '0')}`, message: `${String(i).padStart(8, '0')}${text100.slice(8)}`, idempotencyKey: `s${i}` });
    if (i % 1_000 === 999) await settle(g1);
  }
  await settle(g1);
  forceGc();
  const after1 = heapAndExternal();
  const counts1 = g1.memoryCounts();
  g1.stopTimers();
  // Keys: one session, no transcript; the session router forgets idle sessions itself.
  const g2 = new Gateway({ config, runtime: instantRuntime('ok'), clock: globalClock, trace: null, keepHistory: false });
  g2.connect('c', { send: () => true, wantsPayload: false, listens: false, close: () => {} });
  forceGc();
  const before2 = heapAndExternal();
  for (let i = 0; i < keys; i++) {
    g2.chatSend('c', { sessionKey: 'one', message: 'm', idempotencyKey: `key-${String(i).padStart(10, '0')}` });
    if (i % 1_000 === 999) await settle(g2);
  }
  await settle(g2);
  forceGc();
  const after2 = heapAndExternal();
  const counts2 = g2.memoryCounts();
  g2.stopTimers();
  if (counts1.sessions !== sessions) throw new Error(`costs: expected ${sessions} sessions remembered, got ${counts1.sessions}`);
  if (counts2.idempotencyKeys !== keys) throw new Error(`costs: expected ${keys} keys remembered, got ${counts2.idempotencyKeys}`);
  // The key cost inside a session's bytes is removed: a session's figure is what BOUND-3 frees.
  const bytesPerKey = (after2 - before2) / keys;
  return { bytesPerSession: (after1 - before1) / sessions - bytesPerKey, sessions, bytesPerKey, keys };
}
