/**
 * The lane overlay (seed 004, proposal 1): a non-modal card, driven only by
 * `lane.status` (STATUS-*) and `heartbeat` (HB-4) events:
 *
 *   Agents collaborating… (2 of 3 messages processing)      processing.index/total
 *   claude-code is generating a response (~45s elapsed)      active.agentId, active.elapsedMs
 *   [Cancel] [View partial output]                           actions.cancel / actions.viewPartial
 *
 * The gateway sends a status only when something changes (STATUS-5), so the
 * elapsed times tick here, once a second, from the last figure received (a
 * heartbeat for the active run resets it). It closes when the lane is idle.
 * Rendering is batched into one requestAnimationFrame and touches only the
 * text nodes whose text changed.
 */
import type { LaneStatusPayload } from '../../model/events.ts';

export interface HeartbeatPayload {
  runId: string | null;
  elapsedMs: number;
  queued: boolean;
}

export interface PartialOutput {
  runId: string;
  text: string;
  elapsedMs: number;
}

type Action = { method: string; params: unknown };

export interface OverlayHandlers {
  /** Performs `actions.cancel` (chat.abort); resolves with the runIds aborted. */
  cancel(action: Action): Promise<string[]>;
  /** Performs `actions.viewPartial` (chat.history); resolves with its `partial`. */
  viewPartial(action: Action): Promise<PartialOutput | null>;
}

/** `45s`, `3m 07s`, `1h 02m`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** A threshold as configured: `30s`, or `0.6s` for the sub-second ones of a scaled test. */
function formatThreshold(ms: number): string {
  return ms >= 10_000 || ms % 1000 === 0 ? `${Math.round(ms / 1000)}s` : `${(ms / 1000).toFixed(1)}s`;
}

export function processingText(status: LaneStatusPayload): string {
  const { index, total } = status.processing;
  return `Agents collaborating… (${index} of ${total} ${total === 1 ? 'message' : 'messages'} processing)`;
}

const PARTIAL_TAIL_CHARS = 4_000;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== '') node.textContent = text;
  return node;
}

/** Sets a node's text only when it changed (no layout work for a no-op). */
function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

export class LaneOverlay {
  readonly root: HTMLElement;
  private readonly title: HTMLElement;
  private readonly agent: HTMLElement;
  private readonly queue: HTMLElement;
  private readonly warn: HTMLElement;
  private readonly note: HTMLElement;
  private readonly cancelButton: HTMLButtonElement;
  private readonly partialButton: HTMLButtonElement;
  private readonly partialBox: HTMLElement;
  private readonly partialHead: HTMLElement;
  private readonly partialText: HTMLElement;
  private status: LaneStatusPayload | null = null;
  private receivedAt = 0;
  /** The active run's elapsed time as last told (lane.status or a heartbeat for it). */
  private base: { runId: string; elapsedMs: number; at: number } | null = null;
  private tickTimer: ReturnType<typeof setTimeout> | null = null;
  private frame: number | null = null;
  private busy = false;
  /** Local ticks rendered (the page's debug record). */
  ticks = 0;

  constructor(private readonly handlers: OverlayHandlers) {
    this.root = el('section', 'overlay');
    this.root.id = 'lane-overlay';
    this.root.setAttribute('role', 'region');
    this.root.setAttribute('aria-label', 'Agent activity');
    this.root.hidden = true;
    const head = el('div', 'overlay__head');
    const spinner = el('span', 'overlay__spinner');
    spinner.setAttribute('aria-hidden', 'true');
    this.title = el('span', 'overlay__title');
    this.title.id = 'overlay-title';
    // Announce count changes, not the ticking seconds.
    this.title.setAttribute('aria-live', 'polite');
    head.append(spinner, this.title);
    this.agent = el('div', 'overlay__agent');
    this.agent.id = 'overlay-agent';
    this.queue = el('div', 'overlay__queue');
    this.queue.id = 'overlay-queue';
    this.warn = el('div', 'overlay__warn');
    this.warn.id = 'overlay-warning';
    this.warn.hidden = true;
    const actions = el('div', 'overlay__actions');
    this.cancelButton = el('button', 'btn btn--danger', 'Cancel');
    this.cancelButton.id = 'overlay-cancel';
    this.cancelButton.type = 'button';
    this.partialButton = el('button', 'btn', 'View partial output');
    this.partialButton.id = 'overlay-partial';
    this.partialButton.type = 'button';
    actions.append(this.cancelButton, this.partialButton);
    this.note = el('div', 'overlay__note');
    this.note.id = 'overlay-note';
    this.partialBox = el('div', 'overlay__partial');
    this.partialBox.id = 'overlay-partial-box';
    this.partialBox.hidden = true;
    const partialBar = el('div', 'overlay__partial-bar');
    this.partialHead = el('span', 'overlay__partial-head');
    const hide = el('button', 'btn btn--link', 'Hide');
    hide.type = 'button';
    hide.addEventListener('click', () => {
      this.partialBox.hidden = true;
    });
    partialBar.append(this.partialHead, hide);
    this.partialText = el('pre', 'overlay__partial-text');
    this.partialText.id = 'overlay-partial-text';
    this.partialBox.append(partialBar, this.partialText);
    this.root.append(head, this.agent, this.queue, this.warn, actions, this.note, this.partialBox);
    this.cancelButton.addEventListener('click', () => void this.onCancel());
    this.partialButton.addEventListener('click', () => void this.onViewPartial());
  }

  get current(): LaneStatusPayload | null {
    return this.status;
  }

  /** A `lane.status` for the session shown (or the last one kept for it, with when it arrived). */
  update(status: LaneStatusPayload | null, receivedAt: number): void {
    const previous = this.status;
    this.status = status;
    this.receivedAt = receivedAt;
    if (status === null || status.state === 'idle') {
      this.base = null;
      this.stopTicking();
      this.schedule();
      return;
    }
    const active = status.active;
    this.base = active === null ? null : { runId: active.runId, elapsedMs: active.elapsedMs, at: receivedAt };
    if (previous?.active?.runId !== active?.runId) setText(this.note, '');
    this.startTicking();
    this.schedule();
  }

  /** HB-4: `{runId, elapsedMs, queued}`; for the active run it resets the elapsed clock. */
  heartbeat(payload: HeartbeatPayload, at: number): void {
    if (this.base === null || payload.queued || payload.runId !== this.base.runId) return;
    this.base = { runId: this.base.runId, elapsedMs: payload.elapsedMs, at };
  }

  /** Closes the overlay and forgets its status (after a reconnect, until the gateway tells again). */
  reset(): void {
    this.partialBox.hidden = true;
    setText(this.note, '');
    this.update(null, performance.now());
  }

  // ------------------------------------------------------------ rendering

  private schedule(): void {
    if (this.frame !== null) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.render(performance.now());
    });
  }

  private startTicking(): void {
    if (this.tickTimer !== null) return;
    const next = (): void => {
      // Wake at the next whole second of the active run's elapsed time.
      const elapsed = this.elapsedNow(performance.now());
      const wait = elapsed === null ? 1000 : 1000 - (elapsed % 1000) + 5;
      this.tickTimer = setTimeout(() => {
        this.tickTimer = null;
        if (this.status === null || this.status.state === 'idle') return;
        this.ticks++;
        this.schedule();
        next();
      }, wait);
    };
    next();
  }

  private stopTicking(): void {
    if (this.tickTimer !== null) clearTimeout(this.tickTimer);
    this.tickTimer = null;
  }

  private elapsedNow(now: number): number | null {
    return this.base === null ? null : Math.max(0, this.base.elapsedMs + (now - this.base.at));
  }

  private render(now: number): void {
    const s = this.status;
    if (s === null || s.state === 'idle') {
      this.root.hidden = true;
      this.root.dataset.state = 'idle';
      this.partialBox.hidden = true;
      return;
    }
    this.root.hidden = false;
    const active = s.active;
    const d = this.root.dataset;
    d.state = s.state;
    d.runId = active?.runId ?? '';
    d.agent = active?.agentId ?? '';
    d.index = String(s.processing.index);
    d.total = String(s.processing.total);
    d.warning = String(s.warning);
    this.root.classList.toggle('overlay--warning', s.warning);
    setText(this.title, processingText(s));
    const elapsed = this.elapsedNow(now);
    if (active !== null) {
      const who = active.agentId ?? 'The agent';
      const since = `(~${formatDuration(elapsed ?? active.elapsedMs)} elapsed)`;
      setText(this.agent, active.waitingFor !== null ? `${who} is waiting for lane ${active.waitingFor} ${since}` : `${who} is generating a response ${since}`);
    } else {
      setText(this.agent, 'Waiting for a free lane…');
    }
    const sinceStatus = now - this.receivedAt;
    const waiting = s.waiting.length;
    if (waiting === 0) {
      setText(this.queue, '');
    } else {
      const longest = Math.max(...s.waiting.map((w) => w.waitedMs)) + sinceStatus;
      setText(this.queue, `${waiting} ${waiting === 1 ? 'message' : 'messages'} waiting (longest ~${formatDuration(longest)})`);
    }
    this.warn.hidden = !s.warning;
    if (s.warning) {
      const late = s.waiting.filter((w) => w.warning).length;
      setText(this.warn, `Taking longer than usual: ${late} ${late === 1 ? 'message has' : 'messages have'} waited over ${formatThreshold(s.warnThresholdMs)}. You can keep typing, cancel the current run, or look at its output so far.`);
    }
    this.cancelButton.disabled = this.busy || s.actions.cancel === null;
    this.partialButton.disabled = s.actions.viewPartial === null;
  }

  // ------------------------------------------------------------ actions

  private async onCancel(): Promise<void> {
    const action = this.status?.actions.cancel ?? null;
    if (action === null || this.busy) return;
    this.busy = true;
    this.schedule();
    setText(this.note, 'Cancelling…');
    try {
      const aborted = await this.handlers.cancel(action);
      setText(this.note, aborted.length === 0 ? 'Nothing to cancel: the run had already ended.' : `Cancelled ${aborted.join(', ')}.`);
    } catch (error) {
      setText(this.note, `Cancel failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.busy = false;
      this.schedule();
    }
  }

  private async onViewPartial(): Promise<void> {
    const action = this.status?.actions.viewPartial ?? null;
    if (action === null) return;
    this.partialButton.disabled = true;
    try {
      const partial = await this.handlers.viewPartial(action);
      this.partialBox.hidden = false;
      if (partial === null) {
        setText(this.partialHead, 'Nothing is running right now.');
        setText(this.partialText, '');
      } else {
        const text = partial.text;
        const shown = text.length > PARTIAL_TAIL_CHARS ? `…${text.slice(-PARTIAL_TAIL_CHARS)}` : text;
        // WS-19: the partial of the deepest nested run when one is running; STATUS-9 names its agent.
        const agent = this.status?.active?.agentId ?? 'agent';
        setText(this.partialHead, `Output so far · ${agent} · ${partial.runId} · ~${formatDuration(partial.elapsedMs)} · ${text.length.toLocaleString('en-US')} chars`);
        setText(this.partialText, shown === '' ? '(no text yet)' : shown);
        this.partialText.scrollTop = this.partialText.scrollHeight;
      }
    } catch (error) {
      this.partialBox.hidden = false;
      setText(this.partialHead, `Could not load the partial output: ${error instanceof Error ? error.message : String(error)}`);
      setText(this.partialText, '');
    } finally {
      this.schedule();
    }
  }
}
