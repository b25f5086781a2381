/**
 * Who may reach the reference gateway (docs/SPEC.md §11, AUTH-*): the token
 * compared in constant time, the browser origins allowed, and the throttle
 * on wrong tokens per remote address.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** AUTH-1: compares a presented token with the configured one in time independent of where they differ. */
export function tokenMatches(expected: string, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  // Hashing first gives both sides one length, so the comparison leaks neither content nor length.
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(presented, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** `Authorization: Bearer <token>` -> the token, else null. */
export function bearerToken(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match === null ? null : match[1]!;
}

/**
 * AUTH-2: the origins a browser page may connect from: the gateway's own
 * (`http://127.0.0.1:<port>`, `http://localhost:<port>`) and the configured
 * allow-list. Compared as serialized origins, case-insensitively.
 */
export class OriginPolicy {
  private readonly allowed: ReadonlySet<string>;

  constructor(port: number, allowList: readonly string[]) {
    const allowed = new Set<string>([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
    for (const origin of allowList) allowed.add(normalizeOrigin(origin));
    this.allowed = allowed;
  }

  /** A request without an Origin header is not from a browser page (curl, a webhook, a backend client): allowed. */
  allows(origin: string | string[] | undefined): boolean {
    if (origin === undefined) return true;
    if (typeof origin !== 'string') return false;
    return this.allowed.has(normalizeOrigin(origin));
  }

  get list(): string[] {
    return [...this.allowed];
  }
}

/** `https://Example.com:443/` -> `https://example.com`; anything unparseable stays as written (and matches only itself). */
export function normalizeOrigin(origin: string): string {
  const trimmed = origin.trim();
  if (trimmed === 'null') return 'null';
  try {
    const url = new URL(trimmed);
    return url.origin === 'null' ? trimmed.toLowerCase() : url.origin.toLowerCase();
  } catch {
    return trimmed.toLowerCase();
  }
}

/** Checks an allow-list at the door: each entry an http(s) origin, with no path. */
export function validateAllowedOrigins(list: unknown): string[] {
  if (!Array.isArray(list)) throw new RangeError(`allowedOrigins must be an array of origins, got ${JSON.stringify(list)}`);
  return list.map((entry, index) => {
    if (typeof entry !== 'string') throw new RangeError(`allowedOrigins[${index}] must be a string, got ${JSON.stringify(entry)}`);
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new RangeError(`allowedOrigins[${index}] must be an origin like https://example.com, got ${JSON.stringify(entry)}`);
    }
    const written = entry.trim().replace(/\/$/, '').toLowerCase();
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin.toLowerCase() !== written.replace(/:(80|443)$/, (port) => ((port === ':80') === (url.protocol === 'http:') ? '' : port))) {
      throw new RangeError(`allowedOrigins[${index}] must be an origin like https://example.com (scheme, host, optional port; no path), got ${JSON.stringify(entry)}`);
    }
    return url.origin;
  });
}

export interface AuthThrottleOptions {
  /** Wrong tokens an address may present at once (the bucket's size). */
  burst: number;
  /** One more wrong token allowed every this many ms. */
  refillMs: number;
  /** Addresses remembered at most (the oldest is forgotten first): the throttle's own memory is bounded. */
  maxAddresses: number;
  now: () => number;
}

/** AUTH-4's defaults: 10 wrong tokens at once, then one per second, per remote address. */
export const DEFAULT_AUTH_THROTTLE = Object.freeze({ burst: 10, refillMs: 1_000, maxAddresses: 4_096 });

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * AUTH-4: a token bucket per remote address, spent by wrong tokens only. An
 * address whose bucket is empty is refused before its token is even looked
 * at (any token: a correct one would otherwise tell a guesser it was right)
 * until `retryAfterMs` passes.
 */
export class AuthThrottle {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly options: AuthThrottleOptions) {}

  /** 0 when `address` may try a token now, else the ms until it may. */
  retryAfterMs(address: string): number {
    const bucket = this.refilled(address);
    if (bucket === null || bucket.tokens >= 1) return 0;
    return Math.max(1, Math.ceil((1 - bucket.tokens) * this.options.refillMs));
  }

  /** A wrong token from `address`. */
  fail(address: string): void {
    const bucket = this.refilled(address) ?? { tokens: this.options.burst, updatedAt: this.options.now() };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    // Re-inserted: the map's order is least recently failed first.
    this.buckets.delete(address);
    this.buckets.set(address, bucket);
    if (this.buckets.size > this.options.maxAddresses) {
      const oldest = this.buckets.keys().next();
      if (oldest.done !== true) this.buckets.delete(oldest.value);
    }
  }

  get size(): number {
    return this.buckets.size;
  }

  private refilled(address: string): Bucket | null {
    const bucket = this.buckets.get(address);
    if (bucket === undefined) return null;
    const now = this.options.now();
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + (now - bucket.updatedAt) / this.options.refillMs);
    bucket.updatedAt = now;
    if (bucket.tokens >= this.options.burst) {
      // A full bucket is the same as none: forget it.
      this.buckets.delete(address);
      return null;
    }
    return bucket;
  }
}
