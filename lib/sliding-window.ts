/**
 * Events per key (a client address) in a sliding window, for the throttles: failed logins and bearer tokens
 * (src/shared/failed-auth-throttle.ts, through the shared state's windows), softphone grants. Bounded memory: keys are kept in order of their last event, the quiet ones are dropped as others record,
 * and at most `maxKeys` are remembered (the least recent go first).
 */
export class SlidingWindowLimit {
  private readonly events = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** Milliseconds until `key` may have another event (0 = now). */
  retryAfterMs(key: string, nowMs: number): number {
    const recent = this.recent(key, nowMs);
    if (recent.length < this.limit) return 0;
    return (recent[recent.length - this.limit] ?? nowMs) + this.windowMs - nowMs;
  }

  /** Events of `key` still in the window (at most `limit`). */
  count(key: string, nowMs: number): number {
    return this.recent(key, nowMs).length;
  }

  /** Counts an event for `key` (only the last `limit` matter). */
  record(key: string, nowMs: number): void {
    const recent = this.recent(key, nowMs);
    recent.push(nowMs);
    // Re-inserted last: the map stays ordered by last event, so the quietest keys are at the front.
    this.events.delete(key);
    this.events.set(key, recent.slice(-this.limit));
    for (const [k, times] of this.events) {
      const quiet = (times.at(-1) ?? -Infinity) <= nowMs - this.windowMs;
      if (!quiet && this.events.size <= this.maxKeys) break;
      this.events.delete(k);
    }
  }

  /** Records an event for `key` if the limit allows it; false (nothing recorded) when it does not. */
  take(key: string, nowMs: number): boolean {
    if (this.retryAfterMs(key, nowMs) > 0) return false;
    this.record(key, nowMs);
    return true;
  }

  /** Forgets `key`'s events (a login that succeeded). */
  forget(key: string): void {
    this.events.delete(key);
  }

  private recent(key: string, nowMs: number): number[] {
    return (this.events.get(key) ?? []).filter((at) => at > nowMs - this.windowMs);
  }
}
