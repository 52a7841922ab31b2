/**
 * Rate limit for log lines that a peer can trigger (refused upgrades, rejected streams): at most one line per key per
 * interval; the lines skipped meanwhile are counted and reported on the next line written for that key. Exact totals
 * belong in /metrics counters, not in the log.
 */
import type { Logger } from './logger.js';

export class LogThrottle {
  private readonly keys = new Map<string, { lastAt: number; suppressed: number }>();

  constructor(
    private readonly intervalMs = 10_000,
    private readonly clock: () => number = Date.now,
    /** Distinct keys remembered; beyond this the oldest are forgotten (keys should be a small fixed set anyway). */
    private readonly maxKeys = 100,
  ) {}

  /** Writes `message` at `warn` unless a line for `key` was written less than the interval ago. */
  warn(log: Logger, key: string, message: string, meta: Record<string, unknown> = {}): boolean {
    const at = this.clock();
    const entry = this.keys.get(key);
    if (entry && at - entry.lastAt < this.intervalMs) {
      entry.suppressed++;
      return false;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.keys.delete(key);
    this.keys.set(key, { lastAt: at, suppressed: 0 });
    if (this.keys.size > this.maxKeys) {
      const oldest = this.keys.keys().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    log.warn(message, suppressed > 0 ? { ...meta, suppressedSinceLastLine: suppressed } : meta);
    return true;
  }
}
