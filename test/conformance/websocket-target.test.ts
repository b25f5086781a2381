/**
 * The WebSocket target against the reference gateway over real sockets
 * (startReferenceOverWebSocket: every gateway duration divided by SCALE):
 * every protocol case passes, and every gateway-level case that exists in
 * src/conformance/cases runs unchanged and passes (or is n/a for a
 * capability the target lacks).
 *
 * Wall time: the protocol cases and two halves of the gateway-level cases
 * run at once, each against its own reference gateway (a shared one would
 * let one case's runs hold another's global lane slots), then the protocol
 * cases that push tens of megabytes through the event loop run alone, so
 * they cannot delay another case's heartbeats.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_CASES } from '../../src/conformance/cases/protocol.ts';
import { runSuite, type SuiteReport } from '../../src/conformance/runner.ts';
import { startReferenceOverWebSocket, type ReferenceOverWebSocket } from '../../src/conformance/targets/websocket.ts';
import type { ConformanceCase } from '../../src/conformance/types.ts';

/** Gateway ms per real ms: 15 s heartbeats are 600 ms here; loose enough for a busy 2-core machine. */
const SCALE = 25;
const CASE_TIMEOUT_MS = 25_000;
/** Protocol cases that move 26-100 MB through this process's event loop. */
const HEAVY = new Set(['ws.backpressure.slow-consumer', 'ws.input.oversize', 'ws.isolation.bad-input']);
const CASES_DIR = join(import.meta.dirname, '..', '..', 'src', 'conformance', 'cases');
/** Not gateway-level case files: lane cases, helpers, the protocol cases (run on their own), the index. */
const NOT_GATEWAY = new Set(['lane.ts', 'gateway-support.ts', 'protocol.ts', 'index.ts']);

function isCase(value: unknown): value is ConformanceCase {
  return typeof value === 'object' && value !== null && typeof (value as ConformanceCase).id === 'string' && typeof (value as ConformanceCase).run === 'function';
}

/** Every case exported (in arrays) by the gateway-level case files that exist now. */
async function gatewayLevelCases(): Promise<ConformanceCase[]> {
  const out: ConformanceCase[] = [];
  const seen = new Set<string>();
  for (const file of readdirSync(CASES_DIR).filter((f) => f.endsWith('.ts') && !NOT_GATEWAY.has(f)).sort()) {
    const mod = (await import(join(CASES_DIR, file))) as Record<string, unknown>;
    for (const value of Object.values(mod)) {
      if (!Array.isArray(value)) continue;
      for (const c of value) {
        if (isCase(c) && !seen.has(c.id)) {
          seen.add(c.id);
          out.push(c);
        }
      }
    }
  }
  return out;
}

function problems(...reports: SuiteReport[]): string[] {
  return reports.flatMap((report) => report.results
    .filter((r) => r.status === 'fail' || r.status === 'error')
    .map((r) => `${r.id} ${r.status}: ${r.reason}`));
}

describe('websocket target over the reference gateway', () => {
  const refs: ReferenceOverWebSocket[] = [];
  let protocol: SuiteReport;
  let gateway: SuiteReport[] = [];
  let gatewayCases: ConformanceCase[] = [];
  let applicable: ConformanceCase[] = [];

  beforeAll(async () => {
    refs.push(...(await Promise.all([0, 1, 2].map(() => startReferenceOverWebSocket({ scale: SCALE })))));
    gatewayCases = await gatewayLevelCases();
    const target = refs[0]!.target;
    applicable = gatewayCases.filter((c) => c.requires.every((cap) => target.capabilities.has(cap)));
    const halves = [applicable.filter((_, i) => i % 2 === 0), applicable.filter((_, i) => i % 2 === 1)];
    const light = PROTOCOL_CASES.filter((c) => !HEAVY.has(c.id));
    const [p, a, b] = await Promise.all([
      runSuite({ target: refs[0]!.target, cases: light, caseTimeoutMs: CASE_TIMEOUT_MS }),
      runSuite({ target: refs[1]!.target, cases: halves[0]!, caseTimeoutMs: CASE_TIMEOUT_MS }),
      runSuite({ target: refs[2]!.target, cases: halves[1]!, caseTimeoutMs: CASE_TIMEOUT_MS }),
    ]);
    // The cases that push tens of megabytes through this process run alone, not beside timing checks.
    const heavy = await runSuite({ target: refs[0]!.target, cases: PROTOCOL_CASES.filter((c) => HEAVY.has(c.id)), caseTimeoutMs: CASE_TIMEOUT_MS });
    protocol = { ...p, results: [...p.results, ...heavy.results] };
    gateway = [a, b];
  }, 90_000);

  afterAll(async () => {
    await Promise.all(refs.map((r) => r.stop()));
  });

  it('passes every protocol case', () => {
    expect(protocol.results).toHaveLength(PROTOCOL_CASES.length);
    expect(problems(protocol)).toEqual([]);
    // Every protocol case applies to the reference (a slow consumer it could not provoke would be n/a).
    const na = protocol.results.filter((r) => r.status === 'n/a').map((r) => `${r.id}: ${r.reason}`);
    expect(na.filter((line) => !line.startsWith('ws.backpressure.slow-consumer'))).toEqual([]);
  });

  it('runs every gateway-level case unchanged, and they pass', () => {
    expect(gateway.flatMap((r) => r.results)).toHaveLength(applicable.length);
    expect(problems(...gateway)).toEqual([]);
    // Only cases needing what a WebSocket target cannot give (lanes, tools, virtual time) were left out.
    const left = gatewayCases.filter((c) => !applicable.includes(c)).flatMap((c) => c.requires.filter((cap) => !refs[0]!.target.capabilities.has(cap)));
    expect(new Set(left).size === 0 || [...new Set(left)].every((cap) => ['lanes', 'tools', 'virtual-time'].includes(cap))).toBe(true);
  });

  it('leaves no connection open after the cases', async () => {
    for (const ref of refs) expect(ref.server.connections).toBe(0);
    const session = await refs[0]!.target.openGateway!({});
    const a = await session.connect('a');
    const raw = await session.raw!();
    await session.close();
    expect(a.closed).toBe(true);
    expect(await raw.waitClose(1_000 * SCALE)).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(refs[0]!.server.connections).toBe(0);
    expect(refs[0]!.model.stats().inFlight).toBe(0);
  });
});
