/**
 * The in-process target: a GatewayAdapter (src/conformance/adapter.ts) run
 * by the harness under @sinonjs/fake-timers, so the whole catalogue runs in
 * seconds and a case may wait minutes of gateway time for free.
 *
 * For each case's gateway the harness:
 * - installs fake timers globally (virtual now = 0);
 * - parses the config (parseConfig over lanesim's defaults plus the case's
 *   overrides);
 * - plays the model with the reference agent loop (ModelLoopRuntime) over
 *   the in-process fake model (InProcessModelClient) and the current script
 *   (default: the fake model's default script, short answers);
 * - plays the WebSocket itself: a client's requests and the events it gets
 *   are round-tripped through JSON.stringify/JSON.parse as on the wire; an
 *   event's `at` is the fake Date.now(); a thrown `{code, message}` becomes
 *   an error response (`ok: false`), anything else `INTERNAL`.
 *
 * Time: `sleep(ms)` advances the fake clock; `client.waitFor(pred, ms)`
 * advances it timer by timer until the predicate holds or the deadline
 * passes (no real time is spent waiting).
 */
import { parseSupport } from './support.ts';
import FakeTimers from '@sinonjs/fake-timers';
import type { FakeModelScript } from '../fake-model/script.ts';
import type { RequestLogEntry } from '../fake-model/server.ts';
import type { ConfigInput, LanesimConfig } from '../model/config-types.ts';
import { mergeConfig, parseConfig } from '../model/config.ts';
import { ErrorCodes, type ResponseFrame } from '../model/protocol.ts';
import { ModelLoopRuntime } from '../reference-impl/http-model-runtime.ts';
import { ToolRegistry } from '../reference-impl/tool-validator.ts';
import type { GatewayAdapter, InProcessGateway } from './adapter.ts';
import { InProcessModelClient } from './scripted-model.ts';
import { currentCaseScope, type TranscriptDirection, type TranscriptRecorder } from './transcript.ts';
import type {
  Capability, ConformanceTarget, GatewayFacts, GatewaySession, ReceivedEvent, TestClient,
} from './types.ts';

type InstalledClock = ReturnType<typeof FakeTimers.install>;

/** What the runner fakes for lane cases; the same here. */
const TO_FAKE: FakeTimers.FakeMethod[] = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date'];

export interface InProcessTargetOptions {
  /** Default: the adapter's name. */
  name?: string;
  /** Seed of the scripted model. Default 1. */
  modelSeed?: number;
}

/** The capabilities an adapter gives: what it implements. */
export function adapterCapabilities(adapter: GatewayAdapter): Set<Capability> {
  const caps = new Set<Capability>();
  if (adapter.createLaneQueue !== undefined) caps.add('lanes');
  if (adapter.createGateway !== undefined) {
    caps.add('gateway');
    caps.add('model-script');
  }
  // Lane queues and gateways both run on the harness's fake clock.
  if (adapter.createLaneQueue !== undefined || adapter.createGateway !== undefined) caps.add('virtual-time');
  if (adapter.validateToolCall !== undefined) caps.add('tools');
  return caps;
}

export function targetFromAdapter(adapter: GatewayAdapter, options: InProcessTargetOptions = {}): ConformanceTarget {
  const capabilities = adapterCapabilities(adapter);
  const validate = adapter.validateToolCall;
  const createLaneQueue = adapter.createLaneQueue;
  const target: ConformanceTarget = {
    name: options.name ?? adapter.name,
    kind: 'in-process',
    capabilities,
    ...(createLaneQueue !== undefined ? { createLaneQueue: async () => createLaneQueue.call(adapter) } : {}),
    ...(adapter.createGateway !== undefined
      ? { openGateway: (o: { config?: Partial<LanesimConfig> }) => openInProcessGateway(adapter, { config: o.config, modelSeed: options.modelSeed ?? 1 }) }
      : {}),
    ...(validate !== undefined ? { tools: { validate: (call) => validate.call(adapter, call) } } : {}),
    ...(adapter.supports !== undefined ? { supports: parseSupport(adapter.supports, `adapter ${adapter.name}: supports`) } : {}),
  };
  return target;
}

// ------------------------------------------------------------------ session

let sessionCounter = 0;

/** The fake clock is global: one in-process gateway session at a time may own it. */
let activeClock: InstalledClock | null = null;

export interface InProcessSession extends GatewaySession {
  /** The parsed config this gateway runs with (a case may adapt to it). */
  readonly config: LanesimConfig;
  /** The scripted model (its log and script). */
  readonly model: InProcessModelClient;
  setModel(script: FakeModelScript): Promise<void>;
  modelRequests(): Promise<RequestLogEntry[]>;
  /** The fake clock's now (virtual ms since the session opened). */
  now(): number;
  /** Advances timer by timer until `check` returns non-null or `withinMs` passed; its last value or null. */
  advanceUntil<T>(check: () => T | null | undefined | false | Promise<T | null | undefined | false>, withinMs: number): Promise<T | null>;
}

export async function openInProcessGateway(
  adapter: GatewayAdapter,
  options: { config?: Partial<LanesimConfig> | undefined; modelSeed?: number } = {},
): Promise<InProcessSession> {
  if (adapter.createGateway === undefined) throw new Error(`adapter ${adapter.name} has no createGateway`);
  if (activeClock !== null) throw new Error('an in-process gateway session is already open (one per case)');
  const clock = FakeTimers.install({ now: 0, toFake: TO_FAKE, loopLimit: 10_000_000 });
  activeClock = clock;
  try {
    const config = parseConfig(mergeConfig({}, (options.config ?? {}) as ConfigInput));
    const model = new InProcessModelClient({ script: 'default', seed: options.modelSeed ?? 1 });
    const runtime = new ModelLoopRuntime({ client: model, tools: new ToolRegistry() });
    const gateway = await adapter.createGateway({ config, runtime });
    return new Session(clock, config, model, gateway);
  } catch (error) {
    activeClock = null;
    clock.uninstall();
    throw error;
  }
}

class Session implements InProcessSession {
  readonly facts: GatewayFacts;
  readonly timeScale = 1;
  private readonly id = ++sessionCounter;
  private readonly clients: Client[] = [];
  private nextConn = 0;
  private closing: Promise<void> | null = null;
  /** The running case's transcript (transcript.ts): frames to and from the in-process gateway, as on the wire. */
  private readonly transcript: TranscriptRecorder | null = currentCaseScope()?.transcript ?? null;

  constructor(
    readonly clock: InstalledClock,
    readonly config: LanesimConfig,
    readonly model: InProcessModelClient,
    readonly gateway: InProcessGateway,
  ) {
    this.facts = {
      heartbeatIntervalMs: gateway.policy?.heartbeatIntervalMs ?? config.gateway.heartbeat.intervalMs,
      warnThresholdMs: config.agents.defaults.lane.warnThresholdMs,
      tickIntervalMs: gateway.policy?.tickIntervalMs ?? config.gateway.tickIntervalMs,
      maxPayload: null,
      token: null,
    };
  }

  now(): number {
    return this.clock.now;
  }

  record(dir: TranscriptDirection, conn: string, data: unknown): void {
    this.transcript?.record(dir, conn, data, this.clock.now);
  }

  async connect(name: string): Promise<TestClient> {
    if (this.closing !== null) throw new Error('session closed');
    const connId = `${name}#${++this.nextConn}`;
    this.record('conn', name, `open (in process, connection ${connId})`);
    const client = new Client(this, name, connId);
    this.gateway.open(connId, (event, payload, seq) => client.receive(event, payload, seq));
    this.clients.push(client);
    return client;
  }

  async setModel(script: FakeModelScript): Promise<void> {
    this.record('note', 'harness', `model script: ${JSON.stringify(script)}`);
    this.model.setScript(script);
  }

  async modelRequests(): Promise<RequestLogEntry[]> {
    return this.model.requests();
  }

  async sleep(ms: number): Promise<void> {
    await this.clock.tickAsync(Math.max(0, ms));
  }

  async advanceUntil<T>(check: () => T | null | undefined | false | Promise<T | null | undefined | false>, withinMs: number): Promise<T | null> {
    const first = await check();
    if (first !== null && first !== undefined && first !== false) return first;
    let deadlinePassed = false;
    // A sentinel at the deadline: stepping timer by timer reaches it at the latest.
    const sentinel = setTimeout(() => {
      deadlinePassed = true;
    }, Math.max(0, withinMs));
    try {
      for (;;) {
        // What is due now (0 ms timers, promise chains) first: a value may need no time at all.
        await this.clock.tickAsync(0);
        const value = await check();
        if (value !== null && value !== undefined && value !== false) return value;
        if (deadlinePassed) return null;
        await this.clock.nextAsync();
      }
    } finally {
      clearTimeout(sentinel);
    }
  }

  sessionKey(name: string): string {
    return `lanesim-c${this.id}-${name}`;
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    try {
      if (this.gateway.stop !== undefined) {
        let stopped = false;
        let failure: unknown = null;
        void Promise.resolve()
          .then(() => this.gateway.stop!({ abortRunning: true }))
          .then(() => void (stopped = true), (error: unknown) => {
            stopped = true;
            failure = error;
          });
        // The stop may wait for aborted runs to settle: let (virtual) time pass, bounded.
        for (let i = 0; i < 600 && !stopped; i++) await this.clock.tickAsync(i < 10 ? 0 : 1000);
        if (failure !== null) throw failure;
      }
      for (const client of this.clients) if (!client.closed) client.detach();
      this.model.close();
    } finally {
      this.clock.reset();
      this.clock.uninstall();
      if (activeClock === this.clock) activeClock = null;
    }
  }

  /** One request through the in-memory "socket". */
  async request(client: Client, method: string, params: unknown): Promise<ResponseFrame> {
    const id = `${client.name}-${++client.nextRequest}`;
    const wireParams: unknown = params === undefined ? undefined : wire(params);
    this.record('send', client.name, wireParams === undefined ? { type: 'req', id, method } : { type: 'req', id, method, params: wireParams });
    const answered = (frame: ResponseFrame): ResponseFrame => {
      this.record('recv', client.name, frame);
      return frame;
    };
    try {
      const payload: unknown = await this.gateway.request(client.connId, method, wireParams);
      return answered(wire({ type: 'res', id, ok: true, payload: payload === undefined ? null : payload }) as ResponseFrame);
    } catch (error) {
      const e = error as { code?: unknown; message?: unknown; details?: unknown; retryable?: unknown; retryAfterMs?: unknown } | null;
      if (e !== null && typeof e === 'object' && typeof e.code === 'string' && typeof e.message === 'string') {
        return answered(wire({
          type: 'res', id, ok: false,
          error: {
            code: e.code, message: e.message,
            ...(e.details !== undefined ? { details: e.details } : {}),
            ...(typeof e.retryable === 'boolean' ? { retryable: e.retryable } : {}),
            ...(typeof e.retryAfterMs === 'number' ? { retryAfterMs: e.retryAfterMs } : {}),
          },
        }) as ResponseFrame);
      }
      return answered({ type: 'res', id, ok: false, error: { code: ErrorCodes.INTERNAL, message: `internal error in ${method}` } });
    }
  }
}

/** Round-trips a value through JSON, as the wire would. */
function wire<T>(value: T): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? undefined : JSON.parse(text);
}

class Client implements TestClient {
  readonly events: ReceivedEvent[] = [];
  closed = false;
  nextRequest = 0;

  constructor(
    private readonly session: Session,
    readonly name: string,
    readonly connId: string,
  ) {}

  receive(event: string, payload: unknown, seq: number): void {
    if (this.closed) return;
    const frame = wire({ type: 'event', event, payload, seq }) as ReceivedEvent;
    this.session.record('recv', this.name, frame);
    frame.at = Date.now();
    this.events.push(frame);
  }

  request(method: string, params?: unknown): Promise<ResponseFrame> {
    if (this.closed) return Promise.reject(new Error(`client ${this.name} is closed`));
    return this.session.request(this, method, params);
  }

  waitFor(predicate: (event: ReceivedEvent) => boolean, withinMs: number): Promise<ReceivedEvent | null> {
    return this.session.advanceUntil(() => this.events.find(predicate) ?? null, withinMs);
  }

  /** The harness's side of a close: the gateway forgets the connection. */
  detach(): void {
    if (this.closed) return;
    this.session.record('conn', this.name, 'closed');
    this.closed = true;
    this.session.gateway.close(this.connId);
  }

  async close(): Promise<void> {
    this.detach();
  }
}
