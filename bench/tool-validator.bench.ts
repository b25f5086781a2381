/**
 * Throughput of validateToolCall (seed 004, proposal 3). Targets on the
 * 2-core reference machine: >= 1,000,000 valid `read` calls/s and >=
 * 200,000 invalid calls/s.
 *
 * Inputs rotate through pre-built sets (distinct objects, distinct paths,
 * several error kinds) so no result can be trivially cached; every result is
 * consumed into a checksum so the work cannot be optimised away.
 *
 * Run: npm run bench -- tools
 */
import { validateToolCall, type ToolCallInput } from '../src/reference-impl/tool-validator.ts';

export interface ToolValidatorBenchResult {
  /** Valid `read` calls with object arguments, per second. */
  validPerSec: number;
  /** Invalid calls (missing/blank path, wrong types, minimum, not-object, unparsable, unknown tool), per second. */
  invalidPerSec: number;
  /** Valid `read` calls with JSON-string arguments (OpenAI style; includes JSON.parse), per second. */
  validJsonPerSec: number;
  iterations: number;
}

const SET_SIZE = 256;

function validCalls(): ToolCallInput[] {
  const calls: ToolCallInput[] = [];
  for (let i = 0; i < SET_SIZE; i++) {
    const path = `src/module-${i}/file-${(i * 7919) % 1000}.ts`;
    let args: Record<string, unknown>;
    if (i % 4 === 0) args = { path };
    else if (i % 4 === 1) args = { path, offset: 1 + i };
    else if (i % 4 === 2) args = { path, offset: 1 + i, limit: 200 };
    else args = { file_path: path, limit: 50 };
    calls.push({ id: `call_${i}`, name: 'read', arguments: args });
  }
  return calls;
}

function validJsonCalls(): ToolCallInput[] {
  return validCalls().map((c) => ({ ...c, arguments: JSON.stringify(c.arguments) }));
}

function invalidCalls(): ToolCallInput[] {
  const calls: ToolCallInput[] = [];
  for (let i = 0; i < SET_SIZE; i++) {
    const id = `bad_${i}`;
    let call: ToolCallInput;
    switch (i % 8) {
      case 0: call = { id, name: 'read', arguments: {} }; break;
      case 1: call = { id, name: 'read', arguments: { path: '   ', offset: i + 1 } }; break;
      case 2: call = { id, name: 'read', arguments: { path: i } }; break;
      case 3: call = { id, name: 'read', arguments: { path: `f${i}`, offset: 0 } }; break;
      case 4: call = { id, name: 'read', arguments: { path: `f${i}`, limit: `${i}` } }; break;
      case 5: call = { id, name: 'exec', arguments: { command: ['ls', `-${i}`] } }; break;
      case 6: call = { id, name: 'read', arguments: `{"path": "f${i}",` }; break;
      default: call = { id, name: `reed${i % 3}`, arguments: { path: `f${i}` } }; break;
    }
    calls.push(call);
  }
  return calls;
}

/** Validate `n` calls rotating through `calls`; returns [elapsed ns, checksum]. */
function run(calls: readonly ToolCallInput[], n: number): [bigint, number] {
  let checksum = 0;
  const mask = calls.length - 1; // SET_SIZE is a power of two
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const r = validateToolCall(calls[i & mask] as ToolCallInput);
    checksum += r.ok ? 1 : r.result.content.length;
  }
  const elapsed = process.hrtime.bigint() - start;
  return [elapsed, checksum];
}

function perSec(n: number, ns: bigint): number {
  return Math.round((n * 1e9) / Number(ns));
}

export async function runToolValidatorBench(opts: { iterations?: number } = {}): Promise<ToolValidatorBenchResult> {
  const iterations = Math.max(1000, Math.floor(opts.iterations ?? 500_000));
  const valid = validCalls();
  const validJson = validJsonCalls();
  const invalid = invalidCalls();
  // Sanity: the sets are what they claim to be.
  for (const c of valid) if (!validateToolCall(c).ok) throw new Error(`bench input unexpectedly invalid: ${c.id}`);
  for (const c of validJson) if (!validateToolCall(c).ok) throw new Error(`bench input unexpectedly invalid: ${c.id}`);
  for (const c of invalid) if (validateToolCall(c).ok) throw new Error(`bench input unexpectedly valid: ${c.id}`);

  // Warm-up: let the JIT settle on every path before timing.
  const warm = Math.max(1000, Math.floor(iterations / 5));
  run(valid, warm);
  run(invalid, warm);
  run(validJson, warm);
  await new Promise((resolve) => setImmediate(resolve));

  const [validNs, c1] = run(valid, iterations);
  const [invalidNs, c2] = run(invalid, iterations);
  const [jsonNs, c3] = run(validJson, iterations);
  if (c1 + c2 + c3 < 0) throw new Error('unreachable'); // keeps the checksums live

  return {
    validPerSec: perSec(iterations, validNs),
    invalidPerSec: perSec(iterations, invalidNs),
    validJsonPerSec: perSec(iterations, jsonNs),
    iterations,
  };
}
