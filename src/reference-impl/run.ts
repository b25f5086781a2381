/**
 * A run: one agent turn in one session, carrying the messages it answers.
 * The router creates runs from messages (QUEUE-*), the scheduler moves them
 * through lanes, and an executor does the work.
 */
import type { Task, TaskMeta } from './task.ts';

export interface InboundMessage {
  /** Unique per gateway. */
  readonly msgId: string;
  /** The run id the sender was told (chat.send's reply). Terminal frames for this message carry it. */
  readonly runId: string;
  readonly sessionKey: string;
  readonly text: string;
  readonly connId: string | null;
  /** For `messages.queue.byChannel`. */
  readonly channel: string | null;
  /** channel/thread route: collect merges only messages of one route (QUEUE-10). */
  readonly route: string | null;
  readonly agentId: string | null;
}

export type RunKind = 'message' | 'collect' | 'summary' | 'nested' | 'subagent';
export type RunState = 'queued' | 'running' | 'parked' | 'done';

export class Run implements TaskMeta {
  readonly runId: string;
  readonly sessionKey: string;
  readonly agentId: string | null;
  readonly kind: RunKind;
  prompt: string;
  readonly messages: readonly InboundMessage[];
  readonly parent: Run | null;
  readonly lanes: readonly string[];
  task: Task | null = null;
  state: RunState = 'queued';
  readonly enqueuedAt: number;
  /** STATUS-2: message runs waiting ahead of this one in its session when it was queued. */
  queueAhead = 0;
  startedAt = -1;
  endedAt = -1;
  /** The nested (agent-to-agent) run this run is waiting on, if any. */
  nested: Run | null = null;
  /** Its 1-based place among the runs started in its session's busy period ("2 of 3"). */
  ordinal = 0;
  /** Messages dropped for the overflow summary this run carries (QUEUE-16). */
  summarized: readonly InboundMessage[] = [];
  /** Opaque data for the agent runtime (e.g. a simulated agent's script for a nested run). */
  data: unknown = null;

  constructor(init: {
    runId: string;
    sessionKey: string;
    agentId: string | null;
    kind: RunKind;
    prompt: string;
    messages: readonly InboundMessage[];
    parent: Run | null;
    lanes: readonly string[];
    enqueuedAt: number;
  }) {
    this.runId = init.runId;
    this.sessionKey = init.sessionKey;
    this.agentId = init.agentId;
    this.kind = init.kind;
    this.prompt = init.prompt;
    this.messages = init.messages;
    this.parent = init.parent;
    this.lanes = init.lanes;
    this.enqueuedAt = init.enqueuedAt;
  }

  /** Message arrival order, for drop-oldest. */
  get firstMsgId(): string | null {
    return this.messages[0]?.msgId ?? null;
  }
}
