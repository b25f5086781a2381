/**
 * A modelled client: it connects to the gateway through a transport that
 * records what it would receive, sends chat messages, aborts, disconnects and
 * reconnects (each connection gets a new connection id, as a browser tab
 * reconnecting would).
 */
import type { ChatSendResult } from '../model/protocol.ts';
import type { Gateway } from '../reference-impl/gateway.ts';

export interface ReceivedFrame {
  t: number;
  event: string;
  seq: number;
  payload: unknown;
}

export class SimClient {
  readonly name: string;
  private readonly gateway: Gateway;
  private readonly now: () => number;
  private readonly keepFrames: boolean;
  private connection = 0;
  private sent = 0;
  connId: string | null = null;
  /** Set false to model a hung peer (HB-6 declares it dead). */
  answersPings = true;
  /** Every frame received (when kept), across connections. */
  readonly frames: ReceivedFrame[] = [];
  framesReceived = 0;
  lastFrameAt = -1;
  readonly results: ChatSendResult[] = [];

  constructor(name: string, gateway: Gateway, now: () => number, keepFrames: boolean) {
    this.name = name;
    this.gateway = gateway;
    this.now = now;
    this.keepFrames = keepFrames;
  }

  get connected(): boolean {
    return this.connId !== null;
  }

  connect(): void {
    if (this.connId !== null) return;
    const connId = this.connection === 0 ? this.name : `${this.name}#${this.connection}`;
    this.connection++;
    this.connId = connId;
    this.gateway.connect(connId, {
      wantsPayload: this.keepFrames,
      send: (event, payload, seq) => {
        this.framesReceived++;
        const t = this.now();
        this.lastFrameAt = t;
        if (this.keepFrames) this.frames.push({ t, event, seq, payload });
        return true;
      },
      close: () => this.disconnect(),
      // A live browser answers pings at once (HB-5); a client modelled as hung would not.
      ping: () => {
        if (this.answersPings) this.gateway.noteInbound(connId, true);
      },
    });
  }

  disconnect(): void {
    if (this.connId === null) return;
    const connId = this.connId;
    this.connId = null;
    this.gateway.disconnect(connId);
  }

  send(sessionKey: string, message: string, options: { channel?: string; route?: string } = {}): ChatSendResult | null {
    if (this.connId === null) return null;
    const result = this.gateway.chatSend(this.connId, {
      sessionKey,
      message,
      idempotencyKey: `${this.name}-${++this.sent}`,
      ...options,
    });
    this.results.push(result);
    return result;
  }

  abort(sessionKey: string, runId?: string): string[] {
    if (this.connId === null) return [];
    return this.gateway.chatAbort(this.connId, runId === undefined ? { sessionKey } : { sessionKey, runId }).aborted;
  }

  subscribe(sessionKey: string): void {
    if (this.connId !== null) this.gateway.subscribe(this.connId, sessionKey);
  }
}
