/**
 * `npm run bench -- <scheduler|sim|tools|all> [--json out.json] [--tasks N]`
 * `npm run bench -- load [--clients N] [--peer openclaw] ...` (bench/load/cli.ts)
 * `npm run bench -- load-curve [--sizes 25,100,300] [--reps 3] [--peer openclaw]` (bench/load/curve.ts)
 * `npm run bench -- soak [--minutes N]` (bench/soak.bench.ts)
 *
 * Speed and memory targets live here, as ratios against a peer measured in
 * the same run, never in timed unit tests. Figures go to the terminal and,
 * with --json, to a file (docs/PERFORMANCE.md quotes them with this command).
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { table } from '../src/report/format.ts';
import { TIMER_WORKLOADS, cascadeWallMs, engineEventsPerSec, largeHourWall, objectHeapEventsPerSec, typedArrayHeapPushPopPerSec } from './sim.bench.ts';
import {
  lanesimCallbackContender, lanesimPromiseContender, noopAsync, noopSync, openClawContender, pQueueContender, runContender,
  type Contender, type ContenderResult,
} from './scheduler.bench.ts';
import { runToolValidatorBench } from './tool-validator.bench.ts';

const TARGETS = {
  schedulerThroughputRatio: 5,
  schedulerMemoryRatio: 1 / 3,
  validPerSec: 1_000_000,
  invalidPerSec: 200_000,
  desEventsPerSec: 3_000_000,
  cascadePairMs: 100,
  largeHourMs: 10_000,
};

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function scheduler(tasks: number, openclawTasks: number): Promise<Record<string, unknown>> {
  const options = { tasks, sessions: 1000, globalCap: 4 };
  let openclaw: Contender | null = null;
  let openclawNote = '';
  try {
    const dir = process.env.LANESIM_OPENCLAW_DIR;
    openclaw = await openClawContender(dir === undefined || dir === '' ? undefined : dir);
  } catch (error) {
    openclawNote = `openclaw: skipped (${(error as Error).message.split('\n')[0]}); install it with: npm run peer:openclaw -- install`;
  }
  const measure = async (contender: Contender, noop: () => unknown, n = tasks): Promise<ContenderResult> => {
    process.stderr.write(`scheduler: ${contender.name} (${noop === noopSync ? 'sync' : 'async'} no-op, ${fmt(n)} tasks) ...\n`);
    // Warm-up with the same code path, so no contender pays for the JIT in its measured runs; then the
    // median of three runs (this machine is shared: single runs vary by up to 2x).
    await runContender(contender, { ...options, tasks: Math.min(n, 50_000) }, noop);
    const runs: ContenderResult[] = [];
    for (let i = 0; i < 3; i++) runs.push(await runContender(contender, { ...options, tasks: n }, noop));
    runs.sort((a, b) => a.opsPerSec - b.opsPerSec);
    return runs[1]!;
  };
  const sync: ContenderResult[] = [];
  for (const c of [lanesimCallbackContender, lanesimPromiseContender, pQueueContender]) sync.push(await measure(c, noopSync));
  if (openclaw !== null) sync.push(await measure(openclaw, noopSync, Math.min(tasks, openclawTasks)));
  const async_: ContenderResult[] = [];
  for (const c of [lanesimCallbackContender, pQueueContender]) async_.push(await measure(c, noopAsync));
  const render = (title: string, results: ContenderResult[]): void => {
    const pq = results.find((r) => r.name === 'p-queue')!;
    console.log(`\n${title}`);
    console.log(table([
      ['contender', 'tasks', 'tasks/s', 'x p-queue', 'bytes/queued task', 'x p-queue mem', 'enqueue ms', 'drain ms', 'RSS MiB'],
      ...results.map((r) => [
        r.name, fmt(r.tasks), fmt(r.opsPerSec), fmt(r.opsPerSec / pq.opsPerSec, 2), fmt(r.bytesPerQueuedTask), fmt(r.bytesPerQueuedTask / pq.bytesPerQueuedTask, 2),
        fmt(r.enqueueMs), fmt(r.drainMs), fmt(r.rssMiB),
      ]),
    ]));
  };
  render(`scheduler: no-op tasks (() => undefined) over ${options.sessions} session lanes, global cap ${options.globalCap}; enqueue all while paused, then run`, sync);
  render('the same with an async no-op (async () => {}): a promise per task for everyone', async_);
  if (openclawNote !== '') console.log(openclawNote);
  else console.log(`openclaw ran ${fmt(Math.min(tasks, openclawTasks))} tasks (--openclaw-tasks): its queue slows down with depth, a million takes minutes`);
  const pq = sync.find((r) => r.name === 'p-queue')!;
  const ours = sync[0]!;
  const throughputRatio = ours.opsPerSec / pq.opsPerSec;
  const memoryRatio = ours.bytesPerQueuedTask / pq.bytesPerQueuedTask;
  console.log(`target: lanesim >= ${TARGETS.schedulerThroughputRatio}x p-queue throughput: ${fmt(throughputRatio, 2)}x ${throughputRatio >= TARGETS.schedulerThroughputRatio ? 'PASS' : 'MISS'}; <= 1/3 of its memory per queued task: ${fmt(memoryRatio, 2)}x ${memoryRatio <= TARGETS.schedulerMemoryRatio ? 'PASS' : 'MISS'}`);
  return { options, sync, async: async_, throughputRatio, memoryRatio };
}

async function sim(): Promise<Record<string, unknown>> {
  process.stderr.write('sim: discrete-event engine raw rate, three workloads, against a binary heap of event objects ...\n');
  // Warm-up, then engine and peer alternately, five times each: single runs on this shared machine vary by a third.
  const engineRates: Record<string, number> = {};
  const peerRates: Record<string, number> = {};
  const bareRates: Record<string, number> = {};
  for (const workload of TIMER_WORKLOADS) {
    engineEventsPerSec(500_000, 10_000, workload);
    objectHeapEventsPerSec(500_000, 10_000, workload);
    typedArrayHeapPushPopPerSec(500_000, 10_000, workload);
    const engine: number[] = [];
    const peer: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < 5; i++) {
      engine.push(engineEventsPerSec(2_000_000, 10_000, workload).eventsPerSec);
      peer.push(objectHeapEventsPerSec(2_000_000, 10_000, workload).eventsPerSec);
      bare.push(typedArrayHeapPushPopPerSec(2_000_000, 10_000, workload));
    }
    engineRates[workload] = median(engine);
    peerRates[workload] = median(peer);
    bareRates[workload] = median(bare);
  }
  const eventsPerSec = engineRates.clustered!;
  process.stderr.write('sim: cascade on fake-timers ...\n');
  const cascade = await cascadeWallMs();
  process.stderr.write('sim: 10,000-session hour on discrete-event (three runs) ...\n');
  const hours = [await largeHourWall(), await largeHourWall(), await largeHourWall()];
  const large = hours.sort((a, b) => a.wallMs - b.wallMs)[1]!;
  console.log('\nsimulator');
  console.log(table([
    ['discrete-event engine (2M events, 10k pending, median of 5)', 'lanesim events/s', 'binary heap of objects, events/s', 'ratio', 'bare typed-array heap, push+pop/s', 'lanesim / bare', 'target', 'result'],
    ...TIMER_WORKLOADS.map((w) => {
      const ratio = engineRates[w]! / peerRates[w]!;
      const target = w === 'clustered' ? `>= ${fmt(TARGETS.desEventsPerSec)}/s` : '-';
      const result = w === 'clustered' ? (engineRates[w]! >= TARGETS.desEventsPerSec ? 'PASS' : 'MISS') : '';
      return [`${w} timers`, fmt(engineRates[w]!), fmt(peerRates[w]!), `${fmt(ratio, 2)}x`, fmt(bareRates[w]!), `${fmt(engineRates[w]! / bareRates[w]!, 2)}x`, target, result];
    }),
  ]));
  console.log('(bare typed-array heap: times only, no callbacks, handles or tie order: the limit a queue of events approaches)');
  console.log(table([
    ['measure', 'value', 'target', 'result'],
    ['cascade baseline + fixed, fake-timers, wall ms (median of 7)', fmt(cascade.medianPairMs, 1), `< ${TARGETS.cascadePairMs}`, cascade.medianPairMs < TARGETS.cascadePairMs ? 'PASS' : 'MISS'],
    [`10,000-session hour, discrete-event, wall s (median of 3: ${hours.map((h) => fmt(h.wallMs / 1000, 2)).join(' / ')})`, fmt(large.wallMs / 1000, 2), `< ${TARGETS.largeHourMs / 1000}`, large.wallMs < TARGETS.largeHourMs ? 'PASS' : 'MISS'],
  ]));
  console.log(`large hour: ${fmt(large.messages)} messages, ${fmt(large.engineEvents)} engine events (${fmt(large.timersScheduled)} timers scheduled, ${fmt(large.timersJoined)} joined a millisecond already queued), ${fmt(large.traceEvents)} trace events, ${large.violations} violations`);
  return { eventsPerSec, engineRates, peerRates, bareRates, cascade, large, hourWallMs: hours.map((h) => h.wallMs) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function tools(): Promise<Record<string, unknown>> {
  process.stderr.write('tools: validator ...\n');
  const r = await runToolValidatorBench({ iterations: 1_000_000 });
  console.log('\ntool-call validation');
  console.log(table([
    ['measure', 'per second', 'target', 'result'],
    ['valid read calls', fmt(r.validPerSec), `>= ${fmt(TARGETS.validPerSec)}`, r.validPerSec >= TARGETS.validPerSec ? 'PASS' : 'MISS'],
    ['invalid calls (8 kinds)', fmt(r.invalidPerSec), `>= ${fmt(TARGETS.invalidPerSec)}`, r.invalidPerSec >= TARGETS.invalidPerSec ? 'PASS' : 'MISS'],
    ['valid read calls, JSON-string args', fmt(r.validJsonPerSec), '-', '-'],
  ]));
  return { ...r };
}

async function main(): Promise<void> {
  if (process.argv[2] === 'load') {
    // The real-WebSocket load bench has its own options (bench/load/cli.ts).
    const { loadMain } = await import('./load/cli.ts');
    process.exitCode = await loadMain(process.argv.slice(3));
    return;
  }
  if (process.argv[2] === 'load-curve') {
    // The load bench at several sizes and repetitions, reference and peer side by side (bench/load/curve.ts).
    process.exitCode = await (await import('./load/curve.ts')).curveMain(process.argv.slice(3));
    return;
  }
  if (process.argv[2] === 'soak') {
    // Memory under continuous traffic and attacks (bench/soak.bench.ts, docs/SPEC.md §11).
    process.exitCode = await (await import('./soak.bench.ts')).soakMain(process.argv.slice(3));
    return;
  }
  if (process.argv[2] === 'explore') {
    // The conformance explorer's rate against the catalogue's (bench/explore.bench.ts).
    process.exitCode = await (await import('./explore.bench.ts')).exploreMain(process.argv.slice(3));
    return;
  }
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { json: { type: 'string' }, tasks: { type: 'string' }, 'openclaw-tasks': { type: 'string' } },
  });
  const which = positionals[0] ?? 'all';
  const known = ['scheduler', 'sim', 'tools', 'all', 'load', 'load-curve', 'soak'];
  if (!known.includes(which)) {
    process.stderr.write(`bench: unknown benchmark ${JSON.stringify(which)}; known: ${known.join(', ')}\n`);
    process.exit(2);
  }
  const tasks = values.tasks === undefined ? 1_000_000 : Number(values.tasks);
  if (!Number.isInteger(tasks) || tasks < 1000) {
    process.stderr.write(`bench: --tasks must be an integer >= 1000, got ${JSON.stringify(values.tasks)}\n`);
    process.exit(2);
  }
  const openclawTasks = values['openclaw-tasks'] === undefined ? 100_000 : Number(values['openclaw-tasks']);
  if (!Number.isInteger(openclawTasks) || openclawTasks < 1000) {
    process.stderr.write(`bench: --openclaw-tasks must be an integer >= 1000, got ${JSON.stringify(values['openclaw-tasks'])}\n`);
    process.exit(2);
  }
  console.log(`lanesim bench on Node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${fmt(os.totalmem() / 2 ** 30)} GiB`);
  const report: Record<string, unknown> = { node: process.version, cpus: os.cpus().length };
  if (which === 'scheduler' || which === 'all') report.scheduler = await scheduler(tasks, openclawTasks);
  if (which === 'tools' || which === 'all') report.tools = await tools();
  if (which === 'sim' || which === 'all') report.sim = await sim();
  if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
}

await main();
