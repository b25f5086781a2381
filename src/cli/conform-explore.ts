/**
 * `lanesim conform --explore N` / `--replay FILE|SEED[:PATH]`: the explorer
 * (src/conformance/explore) from the command line.
 *
 *   lanesim conform --explore 500 [--seed S]       the catalogue, then 500 random workloads
 *   lanesim conform --explore 500 --explore-only   only the workloads
 *   lanesim conform --replay failure.json          one workload file (written for every failure)
 *   lanesim conform --replay 1234:0:1:3            a seed, or a seed and fast-check's shrink path
 *   lanesim conform --replay lanes:1234            a lane workload seed (targets with a lane queue)
 *
 * A target with a lane queue (capability lanes) also gets N lane workloads
 * (src/conformance/explore/lanes.ts) against the reference queue; one with a
 * gateway whose model the harness scripts gets N gateway workloads.
 *
 * Exit code 1 when a workload fails, 2 on bad input.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { explore, replayWorkload, type Judgement } from '../conformance/explore/explore.ts';
import { formatResult, timeline } from '../conformance/explore/report.ts';
import { exploreLanes, laneWorkloadFromSeed, replayLanes, type LaneFinding, type LaneWorkload } from '../conformance/explore/lanes.ts';
import { WorkloadFileError, parseWorkload } from '../conformance/explore/workload.ts';
import type { ConformanceTarget } from '../conformance/types.ts';
import { UsageError } from './errors.ts';

export interface ExploreCliOptions {
  target: ConformanceTarget;
  /** --explore N (null: not asked). */
  explore: string | undefined;
  replay: string | undefined;
  seed: number;
  /** The command that reaches the same target (`npx lanesim conform --adapter ./a.ts`). */
  replayPrefix: string;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Validates --explore N: a whole number 1..1,000,000. */
export function parseExploreCount(raw: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 1_000_000) throw new UsageError(`conform: --explore must be a whole number of workloads from 1 to 1000000, got ${JSON.stringify(raw)}`);
  return n;
}

/** Whether the gateway explorer can run on the target (a gateway whose model the harness scripts). */
function exploresGateway(target: ConformanceTarget): boolean {
  return target.openGateway !== undefined && target.capabilities.has('model-script');
}

function checkTarget(target: ConformanceTarget): void {
  if (!exploresGateway(target) && target.createLaneQueue === undefined) {
    throw new UsageError(`conform: --explore/--replay need a gateway whose model the harness scripts (capabilities gateway + model-script) or a lane queue (lanes); ${target.name} has ${[...target.capabilities].join(', ') || 'none'}`);
  }
}

function laneFindingLines(f: LaneFinding): string[] {
  return [`  ${f.rule}: ${f.where}`, `    reference: ${f.expected}`, `    target:    ${f.observed}`];
}

function describeLaneWorkload(w: LaneWorkload): string[] {
  let t = 0;
  return w.ops.map((op) => {
    t += op.gap;
    const at = String(t).padEnd(8);
    switch (op.kind) {
      case 'enqueue': return `  ${at} enqueue into ${JSON.stringify(op.lane)}: runs ${op.ms} ms${op.nested !== null ? `, then enqueues ${op.nested} ms into main and waits` : ''}${op.fail ? ', then throws' : ''}${op.abortable ? ' (abortable)' : ''}`;
      case 'abort': return `  ${at} abort a task (#${op.pick}, a queued one if any)`;
      case 'clear': return `  ${at} clear ${JSON.stringify(op.lane)}`;
      case 'cap': return `  ${at} setConcurrency(${JSON.stringify(op.lane)}, ${op.n})`;
      case 'reset': return `  ${at} resetLane(${JSON.stringify(op.lane)})`;
      case 'drain': return `  ${at} drain()`;
    }
  });
}

async function judgementOfReplay(target: ConformanceTarget, replay: string): Promise<Judgement> {
  const token = /^(-?\d+)(?::(\d+(?::\d+)*))?$/.exec(replay.trim());
  if (token !== null) {
    const seed = Number(token[1]);
    if (!Number.isSafeInteger(seed) || seed < -0x8000_0000 || seed > 0xffff_ffff) throw new UsageError(`conform: --replay: seed out of range: ${token[1]}`);
    return replayWorkload(target, token[2] === undefined ? { seed: seed | 0 } : { seed: seed | 0, path: token[2] });
  }
  let text: string;
  try {
    text = await readFile(replay, 'utf8');
  } catch (error) {
    throw new UsageError(`conform: --replay: cannot read ${replay}: ${(error as Error).message} (give a workload file, a seed, or seed:path)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`conform: --replay: ${replay} is not JSON: ${(error as Error).message}`);
  }
  try {
    const w = parseWorkload((parsed as { workload?: unknown }).workload ?? parsed, replay);
    return await replayWorkload(target, { workload: w });
  } catch (error) {
    if (error instanceof WorkloadFileError) throw new UsageError(`conform: --replay: ${error.message}`);
    throw error;
  }
}

/** Runs the explorer or a replay; returns the exit code. */
export async function exploreCommand(o: ExploreCliOptions): Promise<number> {
  checkTarget(o.target);
  if (o.replay !== undefined && (await isLaneReplay(o.replay))) {
    if (o.target.createLaneQueue === undefined) throw new UsageError(`conform: --replay ${o.replay} is a lane workload; ${o.target.name} has no lane queue`);
    return replayLaneCommand(o);
  }
  if (o.replay !== undefined) {
    if (!exploresGateway(o.target)) return replayLaneCommand(o);
    let j: Judgement;
    try {
      j = await judgementOfReplay(o.target, o.replay);
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw new UsageError(`conform: --replay: ${(error as Error).message}`);
    }
    o.out(`replay ${o.replay} against ${o.target.name}:`);
    for (const line of timeline(j)) o.out(line);
    if (j.findings.length === 0) {
      o.out('no divergence from the reference, no invariant violated');
      return 0;
    }
    for (const f of j.findings) {
      o.out(f.kind === 'invariant' ? `  ${f.rule} (${f.what})${f.t !== null ? ` at t=${f.t}` : ''}: ${f.observed}` : `  ${f.rule}: ${f.what}\n    reference: ${f.expected}\n    target:    ${f.observed}`);
    }
    return 1;
  }
  const runs = parseExploreCount(o.explore ?? '0');
  let code = 0;
  if (o.target.createLaneQueue !== undefined) code = Math.max(code, await exploreLaneCommand(o, runs));
  if (!exploresGateway(o.target)) return code;
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  let lastLine = started;
  const result = await explore({
    target: o.target,
    runs,
    seed: o.seed,
    onProgress: (done, total) => {
      const now = Date.now();
      const line = `explore: [${done}/${total}] (${((now - started) / 1000).toFixed(1)} s)`;
      if (tty) process.stderr.write(`\r\x1b[K${line}${done === total ? '\n' : ''}`);
      else if (now - lastLine > 2_000 || done === total) {
        o.err(line);
        lastLine = now;
      }
    },
  });
  const files: string[] = [];
  for (const f of result.failures) {
    const file = `lanesim-explore-${f.workloadSeed >>> 0}.json`;
    await writeFile(file, `${JSON.stringify({ rule: f.rule, replay: f.replayToken, workload: f.shrunk.workload }, null, 2)}\n`);
    files.push(file);
  }
  o.out(formatResult(result, o.replayPrefix, files));
  return result.failures.length > 0 ? 1 : code;
}

/** The lane-queue half: N lane workloads against the reference queue. */
async function exploreLaneCommand(o: ExploreCliOptions, runs: number): Promise<number> {
  const started = Date.now();
  const result = await exploreLanes(o.target, { runs, seed: o.seed });
  const rate = Math.round(result.runs / Math.max(1e-9, result.durationMs / 60_000));
  const head = `explore lanes: ${result.runs} lane workload(s) against ${o.target.name}'s lane queue, seed ${o.seed}, in ${((Date.now() - started) / 1000).toFixed(1)} s (${rate} workloads/min): `;
  const f = result.failure;
  if (f === null) {
    o.out(`${head}no difference from the reference queue, no lane over its cap`);
    return 0;
  }
  const file = `lanesim-explore-lanes-${f.seed >>> 0}.json`;
  await writeFile(file, `${JSON.stringify({ rule: f.rule, lanes: f.workload }, null, 2)}\n`);
  o.out(`${head}FAIL ${f.rule}: lane workload #${f.index + 1} (seed ${f.seed}), shrunk in ${f.shrinks} step(s) to ${f.workload.ops.length} op(s):`);
  for (const line of describeLaneWorkload(f.workload)) o.out(line);
  for (const line of laneFindingLines(f.finding)) o.out(line);
  o.out(`  replay: ${o.replayPrefix} --replay ${file}`);
  o.out(`     or: ${o.replayPrefix} --replay lanes:${f.seed}   (the workload before shrinking)`);
  return 1;
}

/** `lanes:<seed>`, or a file holding a `lanes` workload. */
async function isLaneReplay(raw: string): Promise<boolean> {
  const text = raw.trim();
  if (/^lanes:/.test(text)) return true;
  if (/^-?\d+(:\d+)*$/.test(text)) return false;
  try {
    const parsed = JSON.parse(await readFile(text, 'utf8')) as { lanes?: unknown } | null;
    return parsed !== null && typeof parsed === 'object' && parsed.lanes !== undefined;
  } catch {
    return false;
  }
}

async function replayLaneCommand(o: ExploreCliOptions): Promise<number> {
  const raw = o.replay!.trim();
  let w: LaneWorkload;
  const seed = /^lanes:(-?\d+)$/.exec(raw);
  if (seed !== null) w = await laneWorkloadFromSeed(o.target, Number(seed[1]) | 0);
  else {
    let parsed: { lanes?: unknown };
    try {
      parsed = JSON.parse(await readFile(raw, 'utf8')) as { lanes?: unknown };
    } catch (error) {
      throw new UsageError(`conform: --replay: cannot read ${raw} as a lane workload (JSON with a "lanes" key, or lanes:<seed>): ${(error as Error).message}`);
    }
    const lanes = parsed.lanes as { ops?: unknown } | undefined;
    if (lanes === undefined || !Array.isArray(lanes.ops)) throw new UsageError(`conform: --replay: ${raw} has no "lanes": {ops: [...]} workload`);
    w = lanes as LaneWorkload;
  }
  o.out(`replay ${raw} against ${o.target.name}'s lane queue:`);
  for (const line of describeLaneWorkload(w)) o.out(line);
  const f = await replayLanes(o.target, w);
  if (f === null) {
    o.out('no difference from the reference queue, no lane over its cap');
    return 0;
  }
  for (const line of laneFindingLines(f)) o.out(line);
  return 1;
}
