/**
 * The memory bounds of the reference gateway (docs/SPEC.md §11, BOUND-*):
 * what it remembers per session, per connection and per idempotency key,
 * and for how long. Every bound is a number here, validated at the door, so
 * a gateway's memory under any load is a sum of products of these numbers
 * (docs/PERFORMANCE.md measures the per-item costs).
 */

export interface GatewayLimits {
  /** BOUND-2: transcript entries kept per session (oldest dropped first). */
  historyMaxMessages: number;
  /** BOUND-2: UTF-8 bytes of transcript text kept per session; one entry is cut to a quarter of this. */
  historyMaxBytes: number;
  /** BOUND-4: UTF-8 bytes of transcript text in one chat.history reply (older entries: the next page). */
  historyReplyMaxBytes: number;
  /** BOUND-4: UTF-8 bytes of `partial.text` in one chat.history reply (the tail is kept). */
  partialMaxBytes: number;
  /** BOUND-3: a session with no message, run or request for this long is forgotten. */
  sessionIdleMs: number;
  /** BOUND-3: how many evicted session keys are remembered, to answer `SESSION_EVICTED` instead of an empty transcript. */
  evictedKeysRemembered: number;
  /** BOUND-1 (WS-14): a key is forgotten this long after its sender's wait ended. */
  idempotencyWindowMs: number;
  /** BOUND-5: sessions one connection may subscribe to. */
  maxSubscriptionsPerConnection: number;
}

export const DEFAULT_GATEWAY_LIMITS: Readonly<GatewayLimits> = Object.freeze({
  historyMaxMessages: 50,
  historyMaxBytes: 262_144,
  historyReplyMaxBytes: 131_072,
  partialMaxBytes: 65_536,
  sessionIdleMs: 1_800_000,
  evictedKeysRemembered: 10_000,
  idempotencyWindowMs: 300_000,
  maxSubscriptionsPerConnection: 1_000,
});

/** WS-14: a key is remembered at least this long after its message settled. */
export const MIN_IDEMPOTENCY_WINDOW_MS = 300_000;

/** Fills in defaults and refuses a bad value with one line naming it. */
export function resolveLimits(input: Partial<GatewayLimits> | undefined): GatewayLimits {
  const limits: GatewayLimits = { ...DEFAULT_GATEWAY_LIMITS };
  if (input === undefined) return limits;
  for (const [key, value] of Object.entries(input)) {
    if (!(key in DEFAULT_GATEWAY_LIMITS)) throw new RangeError(`gateway limits: unknown key ${JSON.stringify(key)}`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`gateway limits: ${key} must be a positive integer, got ${JSON.stringify(value)}`);
    }
    limits[key as keyof GatewayLimits] = value;
  }
  if (limits.idempotencyWindowMs < MIN_IDEMPOTENCY_WINDOW_MS) {
    throw new RangeError(`gateway limits: idempotencyWindowMs must be at least ${MIN_IDEMPOTENCY_WINDOW_MS} (WS-14), got ${limits.idempotencyWindowMs}`);
  }
  return limits;
}

/** The first `maxBytes` UTF-8 bytes of `text`, never splitting a character. */
export function headUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  let end = maxBytes;
  // The first byte left out is a continuation byte (10xxxxxx): the cut splits a character; back up to its lead byte.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** The last `maxBytes` UTF-8 bytes of `text`, never splitting a character. */
export function tailUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  let start = bytes.length - maxBytes;
  // Skip continuation bytes (10xxxxxx) so the tail starts on a character.
  while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString('utf8');
}
