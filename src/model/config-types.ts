/**
 * The configuration lanesim understands, in OpenClaw's shape (JSON/JSON5):
 * the keys a gateway author already has in their config file mean the same
 * here. Rule ids refer to docs/SPEC.md.
 */

/** CFG-2: the five message queue modes. */
export const QUEUE_MODES = ['steer', 'followup', 'collect', 'steer-backlog', 'interrupt'] as const;
export type QueueMode = (typeof QUEUE_MODES)[number];

/** CFG-3: what happens when a session's queue is at `cap`. */
export const DROP_POLICIES = ['old', 'new', 'summarize'] as const;
export type DropPolicy = (typeof DROP_POLICIES)[number];

/** Accepted spellings, as OpenClaw's normalizeQueueMode / normalizeQueueDropPolicy take them. */
export const QUEUE_MODE_ALIASES: Readonly<Record<string, QueueMode>> = {
  steer: 'steer',
  steering: 'steer',
  queue: 'steer',
  queued: 'steer',
  followup: 'followup',
  followups: 'followup',
  'follow-ups': 'followup',
  collect: 'collect',
  coalesce: 'collect',
  'steer-backlog': 'steer-backlog',
  'steer+backlog': 'steer-backlog',
  steer_backlog: 'steer-backlog',
  interrupt: 'interrupt',
  interrupts: 'interrupt',
  abort: 'interrupt',
};

export const DROP_POLICY_ALIASES: Readonly<Record<string, DropPolicy>> = {
  old: 'old',
  oldest: 'old',
  new: 'new',
  newest: 'new',
  summarize: 'summarize',
  summary: 'summarize',
};

/** The seed's `agents.defaults.lane` block (LANE-20..LANE-24). */
export interface LaneConfig {
  /** Concurrency of each per-target nested lane `nested:<target>` when nestedAgentParallel is on. */
  maxConcurrent: number;
  /** A wait in a lane longer than this produces a user-visible lane.status warning (STATUS-4). */
  warnThresholdMs: number;
  /** When true, nested agent runs leave the parent's session lane (LANE-21). */
  nestedAgentParallel: boolean;
}

export interface QueueConfig {
  mode: QueueMode;
  /** Quiet time since the last enqueue before a collect batch drains (QUEUE-8). */
  debounceMs: number;
  /** Max messages waiting per session, queued runs and collect buffer together (QUEUE-12). */
  cap: number;
  drop: DropPolicy;
  /** Per-channel mode overrides, e.g. `{ webchat: 'steer' }`. */
  byChannel: Readonly<Record<string, QueueMode>>;
}

export interface HeartbeatConfig {
  /** HB-1: the longest a client with a run active or queued may go without a frame. */
  intervalMs: number;
  /** HB-5: WebSocket ping period. */
  pingIntervalMs: number;
  /** HB-6: a peer that has not answered a ping for this long is dead. */
  deadAfterMs: number;
}

export interface LanesimConfig {
  agents: {
    defaults: {
      /** Global lane `main` (LANE-3). */
      maxConcurrent: number;
      subagents: { maxConcurrent: number };
      lane: LaneConfig;
    };
  };
  cron: { maxConcurrentRuns: number };
  messages: { queue: QueueConfig };
  diagnostics: {
    /** DIAG-1: OpenClaw's `warnAfterMs`; a dequeue after waiting this long logs `lane wait exceeded`. */
    laneWaitWarnMs: number;
  };
  gateway: {
    heartbeat: HeartbeatConfig;
    /** OpenClaw's server-wide `tick` period, kept for compatibility (WS-12). */
    tickIntervalMs: number;
    /** AUTH-2: browser origins allowed besides the gateway's own; absent: none. */
    allowedOrigins?: readonly string[];
  };
}

export const DEFAULT_CONFIG: LanesimConfig = Object.freeze({
  agents: {
    defaults: {
      maxConcurrent: 4,
      subagents: { maxConcurrent: 8 },
      lane: { maxConcurrent: 1, warnThresholdMs: 30_000, nestedAgentParallel: false },
    },
  },
  cron: { maxConcurrentRuns: 1 },
  messages: { queue: { mode: 'collect', debounceMs: 500, cap: 20, drop: 'summarize', byChannel: {} } },
  diagnostics: { laneWaitWarnMs: 2_000 },
  gateway: {
    heartbeat: { intervalMs: 15_000, pingIntervalMs: 15_000, deadAfterMs: 45_000 },
    tickIntervalMs: 30_000,
  },
}) as LanesimConfig;

/** A config fragment as a user writes it: every key optional, at every depth. */
export type ConfigInput = DeepPartial<LanesimConfig>;
type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
