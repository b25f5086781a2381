/**
 * Evidence per case: what the case sent and received, with times.
 *
 * The runner opens a CaseScope for every case it runs (an AsyncLocalStorage,
 * like the soft-check sink); a target that opens a gateway session inside the
 * case takes the scope's transcript (`currentCaseScope()`) and records into it
 * every frame its connections send and receive (both directions, with the
 * connection's name), socket opens, closes and pings, and, when the case
 * ends, the requests the model got (the runner asks each session for them).
 *
 * Times: `t` is real milliseconds since the case started (performance.now());
 * `at`, when the target has one, is the session clock (the units of
 * ReceivedEvent.at: virtual ms in process, scaled ms over WebSocket), so an
 * entry can be matched with what a failed check quotes.
 *
 * Bounded: a frame's text is cut at MAX_FRAME_CHARS (the oversize and
 * slow-consumer cases move megabytes) and a case keeps at most MAX_ENTRIES
 * entries; what was cut or dropped is counted, never silently lost.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';

export const MAX_FRAME_CHARS = 4_000;
export const MAX_ENTRIES = 5_000;
/** Strings longer than this are described by their length only (see frameText). */
export const MAX_READ_CHARS = 256 * 1024;

export type TranscriptDirection =
  /** harness -> gateway */
  | 'send'
  /** gateway -> harness */
  | 'recv'
  /** a connection opened, closed, was pinged, ... */
  | 'conn'
  /** a request the model got */
  | 'model'
  /** the harness's own remark (model script set, session opened) */
  | 'note';

export interface TranscriptEntry {
  /** Real ms since the case started. */
  t: number;
  /** Session clock (ReceivedEvent.at units), when known. */
  at?: number;
  dir: TranscriptDirection;
  /** The connection (client name, `raw#n`), `model`, or `harness`. */
  conn: string;
  /** The frame text (cut at MAX_FRAME_CHARS), or a description. */
  text: string;
}

export interface CaseTranscript {
  entries: TranscriptEntry[];
  /** Entries not kept (past MAX_ENTRIES). */
  dropped: number;
}

export class TranscriptRecorder {
  readonly entries: TranscriptEntry[] = [];
  dropped = 0;
  private readonly t0 = performance.now();

  record(dir: TranscriptDirection, conn: string, data: unknown, at?: number): void {
    if (this.entries.length >= MAX_ENTRIES) {
      this.dropped++;
      return;
    }
    const entry: TranscriptEntry = { t: Math.round((performance.now() - this.t0) * 10) / 10, dir, conn, text: frameText(data) };
    if (at !== undefined && Number.isFinite(at)) entry.at = Math.round(at * 10) / 10;
    this.entries.push(entry);
  }

  snapshot(): CaseTranscript {
    return { entries: [...this.entries], dropped: this.dropped };
  }
}

/** A frame as text, cut at MAX_FRAME_CHARS with the number of characters cut. */
export function frameText(data: unknown): string {
  let text: string;
  // A huge string is described, not read: slicing or searching it would flatten it (a copy of
  // megabytes) and stall the event loop while the oversize and slow-consumer cases time things.
  if (typeof data === 'string' && data.length > MAX_READ_CHARS) return `<text frame of ${data.length} chars, not kept>`;
  if (typeof data === 'string') text = data;
  else if (Buffer.isBuffer(data)) text = `<binary ${data.length} bytes>`;
  else if (data instanceof ArrayBuffer) text = `<binary ${data.byteLength} bytes>`;
  else {
    try {
      text = JSON.stringify(data) ?? String(data);
    } catch {
      text = String(data);
    }
  }
  return text.length <= MAX_FRAME_CHARS ? text : `${text.slice(0, MAX_FRAME_CHARS)}…[cut ${text.length - MAX_FRAME_CHARS} chars]`;
}

/** What the runner knows of the case running in this async context. */
export interface CaseScope {
  readonly caseId: string;
  readonly transcript: TranscriptRecorder;
}

const scopes = new AsyncLocalStorage<CaseScope>();

export function runInCaseScope<T>(scope: CaseScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

/** The scope of the case running here; undefined outside the runner (a target used directly). */
export function currentCaseScope(): CaseScope | undefined {
  return scopes.getStore();
}

/** A file name for a case's transcript: its id (ids are [a-z0-9.-]). */
export function transcriptFileName(caseId: string): string {
  return `${caseId.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`;
}
