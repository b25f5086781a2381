/**
 * lanesim's reference webchat page: connects to the gateway it was served
 * from (token from `?token=`), lets the user pick a session and send
 * messages, streams the replies (`chat` delta/final), and shows the lane
 * overlay (overlay.ts) from `lane.status` and `heartbeat` events.
 *
 * The page never blocks: frames are handled in small steps, streamed text is
 * appended to a Text node, scrolling and the overlay render in one
 * requestAnimationFrame, and the only timers are the overlay's once-a-second
 * tick and the connection watchdog.
 *
 * `window.lanesimWebchat` holds a small record of what the page received
 * (statuses, heartbeats, connection states), for tests and for curious users.
 */
import type { LaneStatusPayload } from '../../model/events.ts';
import type { ChatEventPayload, ChatSendResult, HelloOk } from '../../model/protocol.ts';
import { GatewayConnection, RequestError, type ConnState } from './connection.ts';
import { LaneOverlay, type HeartbeatPayload, type PartialOutput } from './overlay.ts';

const VERSION = '0.1.0';
const DEFAULT_SESSION = 'agent:main:webchat';
/** Transcript entries kept per session (older ones leave the DOM). */
const MAX_ENTRIES = 300;
/** Records kept in window.lanesimWebchat. */
const MAX_RECORDS = 500;

interface Entry {
  li: HTMLLIElement;
  body: Text;
  meta: HTMLElement;
  /** Last chat seq applied (assistant entries). */
  seq: number;
}

interface Outgoing {
  sessionKey: string;
  message: string;
  idempotencyKey: string;
  entry: Entry;
  inFlight: boolean;
}

export interface WebchatDebug {
  statuses: { at: number; status: LaneStatusPayload }[];
  heartbeats: { at: number; payload: HeartbeatPayload }[];
  chats: { at: number; runId: string; state: string; sessionKey: string }[];
  states: { at: number; state: ConnState; detail: string }[];
  subscribes: { at: number; sessionKey: string; connId: string }[];
  sent: { at: number; runId: string; status: string; message: string }[];
  frames: number;
  lastFrameAt: number;
  hellos: number;
  attempts: number[];
  readonly ticks: number;
}

function push<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > MAX_RECORDS) list.splice(0, list.length - MAX_RECORDS);
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== '') node.textContent = text;
  return node;
}

function randomKey(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return `webchat-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** One session's transcript. */
class SessionView {
  readonly list: HTMLOListElement;
  private readonly users = new Map<string, Entry>();
  private readonly answers = new Map<string, Entry>();

  constructor(readonly sessionKey: string) {
    this.list = el('ol', 'transcript');
    this.list.dataset.session = sessionKey;
    this.list.setAttribute('aria-label', `Messages in ${sessionKey}`);
  }

  addUser(text: string): Entry {
    return this.add('user', text, 'sending…');
  }

  bindUser(runId: string, entry: Entry): void {
    entry.li.dataset.runId = runId;
    this.users.set(runId, entry);
  }

  user(runId: string): Entry | undefined {
    return this.users.get(runId);
  }

  answer(runId: string): Entry {
    let entry = this.answers.get(runId);
    if (entry === undefined) {
      entry = this.add('assistant', '', 'streaming…');
      entry.li.dataset.runId = runId;
      this.answers.set(runId, entry);
    }
    return entry;
  }

  private add(role: 'user' | 'assistant', text: string, meta: string): Entry {
    const li = el('li', `msg msg--${role}`);
    const bubble = el('div', 'msg__text');
    const body = document.createTextNode(text);
    bubble.append(body);
    const m = el('div', 'msg__meta', meta);
    li.append(bubble, m);
    this.list.append(li);
    while (this.list.childElementCount > MAX_ENTRIES) {
      const first = this.list.firstElementChild as HTMLLIElement | null;
      if (first === null) break;
      const runId = first.dataset.runId;
      if (runId !== undefined) {
        if (this.users.get(runId)?.li === first) this.users.delete(runId);
        if (this.answers.get(runId)?.li === first) this.answers.delete(runId);
      }
      first.remove();
    }
    return { li, body, meta: m, seq: 0 };
  }
}

class WebchatApp {
  private readonly conn: GatewayConnection;
  private readonly overlay: LaneOverlay;
  private readonly views = new Map<string, SessionView>();
  /** The last lane.status of each session this connection heard, with when it arrived. */
  private readonly statuses = new Map<string, { status: LaneStatusPayload; at: number }>();
  /** runIds this connection waits on (HB-1: the gateway owes it heartbeats for these). */
  private readonly awaited = new Set<string>();
  private readonly outbox: Outgoing[] = [];
  private readonly transcripts: HTMLElement;
  private readonly connState: HTMLElement;
  private readonly sessionInput: HTMLInputElement;
  private readonly messageInput: HTMLTextAreaElement;
  private sessionKey: string;
  private connId = '';
  private scrollFrame: number | null = null;
  /** The reader is at the bottom of the transcript (updated on scroll, read in the render frame). */
  private stick = true;
  readonly debug: WebchatDebug;

  constructor(root: HTMLElement, params: URLSearchParams) {
    this.sessionKey = params.get('session') ?? DEFAULT_SESSION;
    const overlay = new LaneOverlay({
      cancel: async (action) => {
        const res = await this.conn.request<{ aborted: string[] }>(action.method, action.params);
        return res.aborted;
      },
      viewPartial: async (action) => {
        const res = await this.conn.request<{ partial: PartialOutput | null }>(action.method, action.params);
        return res.partial;
      },
    });
    this.overlay = overlay;
    const attempts: number[] = [];
    this.debug = {
      statuses: [], heartbeats: [], chats: [], states: [], subscribes: [], sent: [],
      frames: 0, lastFrameAt: 0, hellos: 0, attempts,
      get ticks() {
        return overlay.ticks;
      },
    };

    // ---- layout
    const header = el('header', 'bar');
    header.append(el('h1', 'bar__title', 'lanesim webchat'));
    const sessionForm = el('form', 'bar__session');
    sessionForm.id = 'session-form';
    const label = el('label', 'bar__label', 'Session');
    label.htmlFor = 'session-key';
    this.sessionInput = el('input', 'input');
    this.sessionInput.id = 'session-key';
    this.sessionInput.value = this.sessionKey;
    this.sessionInput.spellcheck = false;
    this.sessionInput.autocomplete = 'off';
    const open = el('button', 'btn', 'Open');
    open.type = 'submit';
    sessionForm.append(label, this.sessionInput, open);
    this.connState = el('span', 'conn', 'Connecting…');
    this.connState.id = 'conn-state';
    this.connState.setAttribute('role', 'status');
    header.append(sessionForm, this.connState);

    const main = el('main', 'chat');
    this.transcripts = el('div', 'chat__scroll');
    this.transcripts.id = 'transcripts';
    main.append(this.transcripts, overlay.root);
    // The overlay floats over the bottom of the transcript: keep that much room below the last message,
    // so the newest messages scroll into view above it instead of behind it.
    new ResizeObserver(() => {
      const room = overlay.root.hidden ? 0 : overlay.root.offsetHeight + 12;
      this.transcripts.style.paddingBottom = `${16 + room}px`;
      this.scrollToEnd(false);
    }).observe(overlay.root);
    this.transcripts.addEventListener(
      'scroll',
      () => {
        const box = this.transcripts;
        this.stick = box.scrollHeight - box.scrollTop - box.clientHeight < 48;
      },
      { passive: true },
    );

    const composer = el('form', 'composer');
    composer.id = 'composer';
    this.messageInput = el('textarea', 'input composer__input');
    this.messageInput.id = 'message';
    this.messageInput.rows = 2;
    this.messageInput.placeholder = 'Message (Enter to send, Shift+Enter for a new line)';
    this.messageInput.setAttribute('aria-label', 'Message');
    const send = el('button', 'btn btn--primary', 'Send');
    send.id = 'send';
    send.type = 'submit';
    composer.append(this.messageInput, send);
    root.append(header, main, composer);
    this.showSession(this.sessionKey);

    sessionForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const key = this.sessionInput.value.trim();
      if (key !== '' && key !== this.sessionKey) this.switchSession(key);
    });
    composer.addEventListener('submit', (e) => {
      e.preventDefault();
      this.sendMessage();
    });
    this.messageInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.sendMessage();
      }
    });

    // ---- gateway
    const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
    this.conn = new GatewayConnection({
      url: wsUrl,
      token: params.get('token'),
      clientVersion: VERSION,
      isWaiting: () => this.awaited.size > 0,
      onHello: (hello) => this.onHello(hello),
      onEvent: (event, payload) => this.onEvent(event, payload),
      onState: (state, detail) => this.onState(state, detail),
      onFrame: (now) => {
        this.debug.frames++;
        this.debug.lastFrameAt = now;
      },
    });
    this.debug.attempts = this.conn.attempts;
    window.addEventListener('pagehide', () => this.conn.stop());
    this.conn.start();
  }

  // ------------------------------------------------------------ sessions

  private view(sessionKey: string): SessionView {
    let v = this.views.get(sessionKey);
    if (v === undefined) {
      v = new SessionView(sessionKey);
      v.list.hidden = sessionKey !== this.sessionKey;
      this.views.set(sessionKey, v);
      this.transcripts.append(v.list);
    }
    return v;
  }

  private showSession(sessionKey: string): void {
    for (const v of this.views.values()) v.list.hidden = v.sessionKey !== sessionKey;
    this.view(sessionKey).list.hidden = false;
    const known = this.statuses.get(sessionKey);
    this.overlay.update(known?.status ?? null, known?.at ?? performance.now());
    this.scrollToEnd(true);
  }

  private switchSession(sessionKey: string): void {
    this.sessionKey = sessionKey;
    this.showSession(sessionKey);
    const url = new URL(location.href);
    url.searchParams.set('session', sessionKey);
    history.replaceState(null, '', url);
    this.subscribe(sessionKey);
  }

  /** WS-11: a busy session answers with a lane.status event at once; an idle one sends nothing. */
  private subscribe(sessionKey: string): void {
    if (!this.conn.connected) return;
    push(this.debug.subscribes, { at: performance.now(), sessionKey, connId: this.connId });
    this.conn.request('sessions.subscribe', { sessionKey }).catch(() => {});
  }

  // ------------------------------------------------------------ sending

  private sendMessage(): void {
    const text = this.messageInput.value;
    if (text.trim() === '') return;
    this.messageInput.value = '';
    const entry = this.view(this.sessionKey).addUser(text);
    this.outbox.push({ sessionKey: this.sessionKey, message: text, idempotencyKey: randomKey(), entry, inFlight: false });
    if (!this.conn.connected) entry.meta.textContent = 'will send when reconnected';
    this.scrollToEnd(true);
    this.flushOutbox();
  }

  /** Sends what is not sent yet, in order; the idempotency key makes a resend after a reconnect safe (WS-14). */
  private flushOutbox(): void {
    for (const out of this.outbox) {
      if (out.inFlight || !this.conn.connected) continue;
      out.inFlight = true;
      out.entry.meta.textContent = 'sending…';
      this.conn
        .request<ChatSendResult>('chat.send', { sessionKey: out.sessionKey, message: out.message, idempotencyKey: out.idempotencyKey })
        .then((res) => {
          this.outbox.splice(this.outbox.indexOf(out), 1);
          this.onSent(out, res);
        })
        .catch((error: unknown) => {
          out.inFlight = false;
          const code = error instanceof RequestError ? error.code : '';
          if (code === 'DISCONNECTED' || code === 'NOT_CONNECTED') {
            out.entry.meta.textContent = 'will send when reconnected';
            return;
          }
          this.outbox.splice(this.outbox.indexOf(out), 1);
          out.entry.li.classList.add('msg--failed');
          out.entry.meta.textContent = `not sent: ${error instanceof Error ? error.message : String(error)}`;
        });
    }
  }

  private onSent(out: Outgoing, res: ChatSendResult): void {
    push(this.debug.sent, { at: performance.now(), runId: res.runId, status: res.status, message: out.message });
    const view = this.view(out.sessionKey);
    view.bindUser(res.runId, out.entry);
    const meta = out.entry.meta;
    switch (res.status) {
      case 'started':
        this.awaited.add(res.runId);
        meta.textContent = `${res.runId} · started`;
        break;
      case 'queued':
        this.awaited.add(res.runId);
        meta.textContent = `${res.runId} · queued`;
        break;
      case 'steered':
        meta.textContent = `${res.runId} · steered into the current run`;
        break;
      case 'in_flight':
        meta.textContent = `${res.runId} · sent`;
        break;
      case 'rejected':
        out.entry.li.classList.add('msg--failed');
        meta.textContent = `${res.runId} · rejected${res.code === undefined ? '' : ` (${res.code})`}`;
        break;
    }
  }

  // ------------------------------------------------------------ gateway events

  private onHello(hello: HelloOk): void {
    this.debug.hellos++;
    this.connId = hello.server.connId;
    // A new connection: the gateway forgot this page's waits and subscriptions, and what it told before may be stale.
    this.awaited.clear();
    this.statuses.clear();
    this.overlay.reset();
    this.subscribe(this.sessionKey);
    this.flushOutbox();
  }

  private onState(state: ConnState, detail: string): void {
    push(this.debug.states, { at: performance.now(), state, detail });
    const text: Record<ConnState, string> = {
      connecting: 'Connecting…',
      connected: 'Connected',
      lost: 'Connection looks lost',
      reconnecting: 'Reconnecting',
      unauthorized: 'Not authorized',
      stopped: 'Disconnected',
    };
    this.connState.dataset.state = state;
    this.connState.textContent = state === 'lost' ? `Connection looks lost (${detail}); reconnecting…` : detail === '' ? text[state] : `${text[state]}: ${detail}`;
  }

  private onEvent(event: string, payload: unknown): void {
    const now = performance.now();
    switch (event) {
      case 'lane.status': {
        const status = payload as LaneStatusPayload;
        push(this.debug.statuses, { at: now, status });
        this.statuses.set(status.sessionKey, { status, at: now });
        if (status.sessionKey === this.sessionKey) this.overlay.update(status, now);
        return;
      }
      case 'heartbeat': {
        const hb = payload as HeartbeatPayload;
        push(this.debug.heartbeats, { at: now, payload: hb });
        this.overlay.heartbeat(hb, now);
        return;
      }
      case 'chat':
        this.onChat(payload as ChatEventPayload, now);
        return;
      case 'shutdown':
        this.connState.textContent = 'The gateway is shutting down; will reconnect';
        return;
      default:
        // tick, agent: liveness only (the watchdog saw the frame).
        return;
    }
  }

  private onChat(p: ChatEventPayload, now: number): void {
    if (p.state !== 'delta') push(this.debug.chats, { at: now, runId: p.runId, state: p.state, sessionKey: p.sessionKey });
    const view = this.view(p.sessionKey);
    const fullText = p.message?.content.map((c) => c.text).join('') ?? '';
    switch (p.state) {
      case 'delta': {
        const entry = view.answer(p.runId);
        if (p.seq === entry.seq + 1 && p.deltaText !== undefined) entry.body.appendData(p.deltaText);
        else entry.body.data = fullText; // a dropped delta (WS-10): the accumulated message repairs it
        entry.seq = p.seq;
        break;
      }
      case 'final': {
        const entry = view.answer(p.runId);
        entry.body.data = fullText;
        entry.seq = p.seq;
        entry.meta.textContent = p.runId;
        this.settled(view, p.runId, 'answered');
        break;
      }
      case 'aborted': {
        if (p.message !== undefined) {
          // Aborted while running: keep what it had said.
          const entry = view.answer(p.runId);
          entry.body.data = fullText;
          entry.li.classList.add('msg--aborted');
          entry.meta.textContent = `${p.runId} · aborted`;
        }
        this.settled(view, p.runId, p.errorMessage === undefined ? 'aborted' : `aborted: ${p.errorMessage}`);
        break;
      }
      case 'error': {
        const entry = view.user(p.runId) ?? view.answer(p.runId);
        entry.li.classList.add('msg--failed');
        this.settled(view, p.runId, `error: ${p.errorMessage ?? p.errorCode ?? 'failed'}`);
        break;
      }
      case 'status': {
        const user = view.user(p.runId);
        if (user !== undefined) user.meta.textContent = `${p.runId} · ${p.status ?? 'status'}${p.carriedBy === undefined ? '' : ` into ${p.carriedBy}`}`;
        // WS-17: the sender (this page, if the message has its bubble here) now waits on the carrying run.
        this.awaited.delete(p.runId);
        if (user !== undefined && p.carriedBy !== undefined) this.awaited.add(p.carriedBy);
        break;
      }
    }
    this.scrollToEnd(false);
  }

  private settled(view: SessionView, runId: string, outcome: string): void {
    this.awaited.delete(runId);
    const user = view.user(runId);
    if (user !== undefined) user.meta.textContent = `${runId} · ${outcome}`;
  }

  // ------------------------------------------------------------ rendering

  /** Keeps the newest message in view while the reader is at the bottom (and always after sending). */
  private scrollToEnd(force: boolean): void {
    if (force) this.stick = true;
    if (!this.stick || this.scrollFrame !== null) return;
    // One layout read/write per frame, however many deltas arrived.
    this.scrollFrame = requestAnimationFrame(() => {
      this.scrollFrame = null;
      this.transcripts.scrollTop = this.transcripts.scrollHeight;
    });
  }
}

const root = document.getElementById('app');
if (root !== null) {
  const app = new WebchatApp(root, new URLSearchParams(location.search));
  (window as unknown as { lanesimWebchat: WebchatDebug }).lanesimWebchat = app.debug;
}
