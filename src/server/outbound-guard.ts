/**
 * What `POST /calls` may cost, whoever holds the token: at most OUTBOUND_CALLS_PER_MINUTE calls placed per minute (the
 * process's, whichever address asks: a leaked token may be used from anywhere), and only to destinations starting
 * with one of OUTBOUND_ALLOWED_PREFIXES when that list is set (so premium numbers abroad stay out of reach).
 */
import { SlidingWindowLimit } from '../../lib/sliding-window.js';

const WINDOW_MS = 60_000;

export type OutboundDecision = { ok: true } | { ok: false; status: 403 | 429; error: string; retryAfterS?: number };

export class OutboundGuard {
  private readonly window: SlidingWindowLimit | undefined;

  constructor(
    perMinute: number,
    private readonly allowedPrefixes: readonly string[],
  ) {
    this.window = perMinute > 0 ? new SlidingWindowLimit(perMinute, WINDOW_MS, 1) : undefined;
  }

  /** Checks a call to `to` about to be placed, and counts it when allowed. */
  check(to: string, nowMs: number): OutboundDecision {
    if (this.allowedPrefixes.length > 0 && !this.allowedPrefixes.some((prefix) => to.startsWith(prefix))) {
      return { ok: false, status: 403, error: `destination not allowed: OUTBOUND_ALLOWED_PREFIXES is ${this.allowedPrefixes.join(',')}` };
    }
    if (this.window !== undefined && !this.window.take('outbound', nowMs)) {
      const retryAfterS = Math.ceil(this.window.retryAfterMs('outbound', nowMs) / 1000);
      return { ok: false, status: 429, error: 'too many outbound calls: OUTBOUND_CALLS_PER_MINUTE reached', retryAfterS };
    }
    return { ok: true };
  }
}
