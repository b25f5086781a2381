/**
 * The cascade case with a configurable hand-off (src/conformance/cases/cascade.ts):
 * the script carries the gateway's own call, OpenClaw's error words trigger the
 * coder's retry, the seed's measures are noted, and a hand-off the gateway does
 * not carry out leaves the case n/a "precondition not met" (never a failure of
 * an unrelated rule). On the in-process reference: virtual time, no peer needed.
 */
import { describe, expect, it } from 'vitest';
import { LANESIM_HANDOFF, OPENCLAW_HANDOFF, cascadeCase, cascadeScript, type CascadeHandoff, type CascadeMeasures } from '../../src/conformance/cases/cascade.ts';
import { runSuite } from '../../src/conformance/runner.ts';
import { referenceTarget } from '../../src/conformance/targets/reference.ts';
import { CODER_SESSION_KEY } from '../../src/fake-model/script.ts';

function measures(notes: readonly string[]): CascadeMeasures {
  const note = notes.find((n) => n.startsWith('cascade-measures '));
  expect(note, notes.join('\n')).toBeDefined();
  return JSON.parse(note!.slice('cascade-measures '.length)) as CascadeMeasures;
}

describe('the cascade script', () => {
  it("carries the gateway's own hand-off call and retries on OpenClaw's error words", () => {
    const script = cascadeScript(OPENCLAW_HANDOFF);
    const handoff = script.rules.find((r) => r.name === 'coordinator-handoff')!;
    const call = handoff.respond.toolCalls![0]!;
    expect(call.name).toBe('sessions_send');
    expect(JSON.parse(call.arguments)).toMatchObject({ sessionKey: CODER_SESSION_KEY, timeoutSeconds: 600 });
    expect(JSON.parse(call.arguments)).not.toHaveProperty('targetSessionKey');
    const retry = script.rules.find((r) => r.name === 'coder-retry-read')!;
    const specs = Array.isArray(retry.match) ? retry.match : [retry.match];
    for (const spec of specs) expect(spec.toolResultContains).toContain('Validation failed for tool');
    expect(JSON.parse(cascadeScript(LANESIM_HANDOFF).rules.find((r) => r.name === 'coordinator-handoff')!.respond.toolCalls![0]!.arguments)).toMatchObject({ targetSessionKey: CODER_SESSION_KEY });
  });
});

describe('the cascade case on the reference (in process)', () => {
  it("passes with either hand-off form and notes the seed's measures", async () => {
    for (const handoff of [LANESIM_HANDOFF, OPENCLAW_HANDOFF]) {
      const report = await runSuite({ target: referenceTarget(), cases: [cascadeCase(handoff)], seed: 3, caseTimeoutMs: 30_000 });
      const r = report.results[0]!;
      expect(r.status, `${handoff.name}: ${r.reason}`).toBe('pass');
      const m = measures(r.notes);
      expect(m.handoff).toBe(handoff.name);
      expect(m.coderRequests).toBeGreaterThanOrEqual(3);
      expect(m.toolErrors).toMatchObject({ calls: 1, returned: 1, swallowed: 0, retried: true, text: "Error: read tool requires 'path' parameter. Received: {}" });
      expect(m.messagesLost).toBe(0);
      // The reference keeps every waiting client within its 15 s heartbeat bound.
      expect(m.longestSilenceMs).toBeLessThanOrEqual(15_000);
      expect(m.longestLaneWaitMs).toBeGreaterThan(0);
    }
  });

  it('is n/a "precondition not met" when the hand-off never reaches the coder', async () => {
    const unknownTool: CascadeHandoff = { name: 'broken', tool: 'no_such_handoff_tool', params: (message) => ({ sessionKey: CODER_SESSION_KEY, message }) };
    const report = await runSuite({ target: referenceTarget(), cases: [cascadeCase(unknownTool)], seed: 3, caseTimeoutMs: 30_000 });
    const r = report.results[0]!;
    expect(r.status, r.reason).toBe('n/a');
    expect(r.reason).toMatch(/^precondition not met: the coding agent never ran .*no_such_handoff_tool/);
    expect(r.checks).toEqual([]);
  });
});
