/**
 * LaneScheduler properties:
 * (a) random lane-level workloads (submit, abort, clear, reset,
 *     setLaneConcurrency, drain, park): INV-CAP, INV-SESSION-EXCLUSIVE,
 *     INV-FIFO, INV-ABORT-SETTLES; every accepted task settles exactly once;
 *     DIAG-2 fields and diagnostics() match an independent count;
 * (b) fc.scheduler(): every completion order of concurrent promise-returning
 *     tasks (and of submits and aborts between them) keeps the invariants;
 * (c) model-based: fc.commands against test/support/lane-model.ts, comparing
 *     per lane holders and queue order and each task's state after every
 *     command.
 *
 * Volume: test/support/property-runs.ts. Replay a failure with
 * LANESIM_SEED=<seed> npx vitest run test/properties/scheduler.property.test.ts
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LaneError } from '../../src/model/codes.ts';
import type { TraceEvent } from '../../src/model/events.ts';
import { checkTrace, checkerSuite } from '../../src/model/invariants/index.ts';
import { LaneScheduler } from '../../src/reference-impl/lane-scheduler.ts';
import { TaskState, type Completion, type Task, type TaskOutcome } from '../../src/reference-impl/task.ts';
import { arbLanePath, arbLaneWorkload } from '../arbitraries/lane-ops.ts';
import { LaneModel, type ModelState } from '../support/lane-model.ts';
import { WORKLOAD_WEIGHTS, propertyParams } from '../support/property-runs.ts';
import { assertLaneWorkload } from '../support/run-lane-workload.ts';
import { fakeClock, formatViolations } from '../support/trace-recorder.ts';

// ---------------------------------------------------------------- (a)

describe('(a) random lane workloads on LaneScheduler', () => {
  it('caps, session exclusivity, FIFO, abort settling, settle-exactly-once and DIAG-2 counts hold', () => {
    fc.assert(
      fc.property(arbLaneWorkload(), assertLaneWorkload),
      propertyParams(WORKLOAD_WEIGHTS.schedulerWorkload),
    );
  });
});

// ---------------------------------------------------------------- (b)

interface AsyncTaskSpec {
  path: string[];
  fails: boolean;
  /** Submit only after this many scheduled steps (0: at once). */
  submitLate: boolean;
  /** Abort it at some scheduled point. */
  abort: boolean;
}

const arbAsyncTasks = fc.array(
  fc.record({ path: arbLanePath, fails: fc.boolean(), submitLate: fc.boolean(), abort: fc.boolean() }),
  { minLength: 1, maxLength: 12 },
);

describe('(b) completion orders of concurrent async tasks (fc.scheduler)', () => {
  it('every interleaving of completions, late submits and aborts keeps the invariants; each task settles once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), arbAsyncTasks, fc.integer({ min: 1, max: 3 }), async (s, specs, mainCap) => {
        const { clock } = fakeClock();
        const trace: TraceEvent[] = [];
        const scheduler = new LaneScheduler({
          clock, trace: (e) => trace.push(e), warnThresholdMs: null,
          concurrency: (lane) => (lane === 'main' ? mainCap : lane === 'subagent' ? 2 : 1),
        });
        const settled = new Map<string, TaskOutcome[]>();
        const submit = (spec: AsyncTaskSpec, i: number): void => {
          const id = `a${i}`;
          settled.set(id, []);
          scheduler.submit(
            spec.path,
            () => (spec.fails ? s.schedule(Promise.reject(new Error(`fail ${id}`)), `${id} fails`) : s.schedule(Promise.resolve(id), `${id} ends`)),
            { id, onSettled: (outcome) => settled.get(id)!.push(outcome) },
          );
        };
        specs.forEach((spec, i) => {
          if (spec.submitLate) void s.schedule(Promise.resolve(), `submit a${i}`).then(() => submit(spec, i));
          else submit(spec, i);
          if (spec.abort) void s.schedule(Promise.resolve(), `abort a${i}`).then(() => scheduler.abort(`a${i}`, 'scheduled abort'));
        });
        await s.waitAll();
        const violations = checkTrace(trace, checkerSuite({ lanes: true }));
        if (violations.length > 0) throw new Error(formatViolations(violations));
        for (const [id, outcomes] of settled) {
          if (outcomes.length !== 1) throw new Error(`${id} settled ${outcomes.length} times: ${outcomes.join(', ')}`);
        }
        if (scheduler.liveTasks !== 0) throw new Error(`${scheduler.liveTasks} task(s) still live`);
      }),
      propertyParams(WORKLOAD_WEIGHTS.schedulerInterleavings),
    );
  });
});

// ---------------------------------------------------------------- (c)

interface Real {
  scheduler: LaneScheduler;
  tasks: Map<string, Task>;
  completions: Map<string, Completion>;
  outcomes: Map<string, TaskOutcome[]>;
}
interface Model {
  lanes: LaneModel;
  nextId: number;
  ids: string[];
}

const MODEL_CAPS: Record<string, number> = { main: 2, subagent: 1, cron: 1 };
const modelCap = (lane: string): number => (lane.startsWith('nested:') ? 2 : (MODEL_CAPS[lane] ?? 1));

const realState = (task: Task): ModelState =>
  task.state === TaskState.Queued ? 'queued' : task.state === TaskState.Running ? 'running' : task.state === TaskState.Done ? 'done' : 'queued';

function compare(m: Model, r: Real, after: string): void {
  const lanes = new Set([...m.lanes.lanes(), ...r.scheduler.diagnostics().map((d) => d.lane)]);
  for (const lane of lanes) {
    const real = r.scheduler.getLane(lane);
    const holders = (real?.holders ?? []).map((t) => t.taskId).sort();
    const waiting = real === undefined ? [] : [...real.waiting()].map((t) => t.taskId);
    expect({ lane, holders, waiting }, `after ${after}`).toEqual({ lane, holders: m.lanes.holders(lane), waiting: m.lanes.waiting(lane) });
  }
  for (const id of m.ids) {
    const model = m.lanes.tasks.get(id)!;
    const task = r.tasks.get(id)!;
    const outcomes = r.outcomes.get(id) ?? [];
    expect({ id, state: realState(task), outcomes }, `after ${after}`).toEqual({
      id, state: model.state, outcomes: model.outcome === null ? [] : [model.outcome],
    });
  }
  expect(r.scheduler.liveTasks, `after ${after}`).toBe(m.ids.filter((id) => m.lanes.tasks.get(id)!.state !== 'done').length);
}

class SubmitCommand implements fc.Command<Model, Real> {
  constructor(readonly path: string[]) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const id = `k${m.nextId++}`;
    m.ids.push(id);
    r.outcomes.set(id, []);
    const task = r.scheduler.submit(this.path, (ctx) => {
      r.completions.set(id, ctx.detach());
    }, { id, onSettled: (outcome) => r.outcomes.get(id)!.push(outcome) });
    r.tasks.set(id, task);
    m.lanes.submit(id, this.path);
    compare(m, r, this.toString());
  }
  toString(): string {
    return `Submit(${JSON.stringify(this.path)})`;
  }
}

class CompleteRunningCommand implements fc.Command<Model, Real> {
  constructor(readonly index: number) {}
  check(m: Model): boolean {
    return m.lanes.running().length > 0;
  }
  run(m: Model, r: Real): void {
    const running = m.lanes.running();
    const id = running[this.index % running.length]!;
    r.completions.get(id)!.done();
    m.lanes.complete(id);
    compare(m, r, `${this.toString()} = ${id}`);
  }
  toString(): string {
    return `CompleteRunning(${this.index})`;
  }
}

class AbortCommand implements fc.Command<Model, Real> {
  constructor(readonly index: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    // One past the end names an id never submitted.
    const id = m.ids[this.index % (m.ids.length + 1)] ?? 'k-unknown';
    expect(r.scheduler.abort(id, 'model abort'), this.toString()).toBe(m.lanes.abort(id));
    compare(m, r, `${this.toString()} = ${id}`);
  }
  toString(): string {
    return `Abort(${this.index})`;
  }
}

class ClearCommand implements fc.Command<Model, Real> {
  constructor(readonly lane: string) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    expect(r.scheduler.clearLane(this.lane), this.toString()).toBe(m.lanes.clear(this.lane));
    compare(m, r, this.toString());
  }
  toString(): string {
    return `Clear(${this.lane})`;
  }
}

class SetConcurrencyCommand implements fc.Command<Model, Real> {
  constructor(readonly lane: string, readonly maxConcurrent: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    let modelError: unknown = null;
    try {
      m.lanes.setConcurrency(this.lane, this.maxConcurrent);
    } catch (error) {
      modelError = error;
    }
    if (modelError !== null) {
      expect(() => r.scheduler.setLaneConcurrency(this.lane, this.maxConcurrent), this.toString()).toThrow(RangeError);
    } else {
      r.scheduler.setLaneConcurrency(this.lane, this.maxConcurrent);
    }
    compare(m, r, this.toString());
  }
  toString(): string {
    return `SetConcurrency(${this.lane}, ${this.maxConcurrent})`;
  }
}

// Few lanes, so that tasks contend: two sessions, one nested target.
const arbModelPath = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('session:s0', 'session:s1').map((lane) => [lane, 'main']) },
  { weight: 2, arbitrary: fc.constantFrom('session:s0', 'session:s1').map((lane) => [lane, 'nested:t0', 'subagent']) },
  { weight: 1, arbitrary: fc.constantFrom<string[]>(['main'], ['subagent'], ['nested:t0', 'subagent'], ['session:s0'], ['session:s1', 'cron']) },
);
const arbModelLane = fc.constantFrom('session:s0', 'session:s1', 'nested:t0', 'main', 'subagent', 'cron');
const modelCommands = fc.commands(
  [
    arbModelPath.map((path) => new SubmitCommand(path)),
    arbModelPath.map((path) => new SubmitCommand(path)),
    arbModelPath.map((path) => new SubmitCommand(path)),
    fc.nat({ max: 50 }).map((i) => new CompleteRunningCommand(i)),
    fc.nat({ max: 50 }).map((i) => new CompleteRunningCommand(i)),
    fc.nat({ max: 60 }).map((i) => new AbortCommand(i)),
    arbModelLane.map((lane) => new ClearCommand(lane)),
    fc.tuple(arbModelLane, fc.integer({ min: 1, max: 3 })).map(([lane, n]) => new SetConcurrencyCommand(lane, n)),
  ],
  { maxCommands: 60 },
);

describe('(c) model-based: LaneScheduler against a plain lane model', () => {
  it('after every Submit / CompleteRunning / Abort / Clear / SetConcurrency, holders, queues and task states agree', () => {
    fc.assert(
      fc.property(modelCommands, (commands) => {
        const { clock } = fakeClock();
        const setup = () => ({
          model: { lanes: new LaneModel(modelCap), nextId: 0, ids: [] } satisfies Model,
          real: {
            scheduler: new LaneScheduler({ clock, concurrency: modelCap, warnThresholdMs: null }),
            tasks: new Map(), completions: new Map(), outcomes: new Map(),
          } satisfies Real,
        });
        fc.modelRun(setup, commands);
      }),
      propertyParams(WORKLOAD_WEIGHTS.schedulerModel),
    );
  });

  it('the model refuses what the scheduler refuses: session lanes stay at 1', () => {
    const model = new LaneModel(modelCap);
    expect(() => model.setConcurrency('session:s0', 2)).toThrow(RangeError);
    const scheduler = new LaneScheduler({ warnThresholdMs: null });
    expect(() => scheduler.setLaneConcurrency('session:s0', 2)).toThrow(RangeError);
    expect(() => scheduler.submit(['main', 'session:s0'], () => {})).toThrow(LaneError);
  });
});
