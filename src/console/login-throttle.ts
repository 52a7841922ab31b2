/**
 * Failed console logins per remote address: after `maxFailures` within `windowMs` the address gets 429 until the
 * oldest failure leaves the window. Bounded memory: at most `maxAddresses` addresses are remembered.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures = 5,
    private readonly windowMs = 60_000,
    private readonly maxAddresses = 10_000,
  ) {}

  /** Milliseconds until this address may try again (0 = it may try now). */
  retryAfterMs(address: string, nowMs: number): number {
    const recent = this.recent(address, nowMs);
    if (recent.length < this.maxFailures) return 0;
    return (recent[recent.length - this.maxFailures] ?? nowMs) + this.windowMs - nowMs;
  }

  fail(address: string, nowMs: number): void {
    const recent = this.recent(address, nowMs);
    recent.push(nowMs);
    this.failures.delete(address);
    this.failures.set(address, recent.slice(-this.maxFailures));
    if (this.failures.size > this.maxAddresses) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  /** A correct password clears the address's failures. */
  succeed(address: string): void {
    this.failures.delete(address);
  }

  private recent(address: string, nowMs: number): number[] {
    return (this.failures.get(address) ?? []).filter((at) => at > nowMs - this.windowMs);
  }
}
