/**
 * The post-call webhook: each ended call's summary is queued in the database (the outbox, in the same transaction
 * as the final record) and POSTed, signed the way Stripe signs: `X-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
 * "<t>.<body>">`. Retries with exponential backoff on 5xx, 408, 429, timeouts and refused connections; a restart
 * resumes the pending deliveries. A delivery is marked done as soon as the receiver answers 2xx, so each success is
 * sent once (a crash between that answer and the mark can repeat it: receivers dedupe on `X-Call-Sid`).
 *
 * Deliveries are claimed from the store with a lease (`OutboxStore`): with a shared database each is attempted by one
 * instance at a time, and one that a dead instance had claimed is taken by another when the lease ends. With a shared
 * database the outbox also looks for due deliveries every `pollMs` (queued by another instance, or left by a dead one).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { errorMessage, type Logger } from '../../lib/logger.js';
import { redactUrls } from '../../lib/redact-url.js';
import { LogThrottle } from '../../lib/log-throttle.js';
import type { RecordMetrics } from './record-metrics.js';
import type { OutboxItem, OutboxStore } from './store.js';

export interface RetryPolicy {
  /** Wait before the 2nd attempt; doubles per attempt up to `maxMs`. */
  baseMs: number;
  maxMs: number;
  /** Attempts before giving up (the delivery stays in the outbox with its last error). */
  maxAttempts: number;
  /** Per-attempt timeout. */
  timeoutMs: number;
}

/** 15 attempts over ≈ 4 hours (1 s, 2 s, 4 s … capped at 1 h). */
export const DEFAULT_RETRY: RetryPolicy = { baseMs: 1000, maxMs: 3_600_000, maxAttempts: 15, timeoutMs: 10_000 };

export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** Receiver side (also the README snippet): the signature matches and is at most `toleranceS` old. */
export function verifyWebhookSignature(secret: string, body: string, header: string | undefined, toleranceS = 300, nowS = Date.now() / 1000): boolean {
  if (header === undefined) return false;
  const parts = new Map(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowS - t) > toleranceS) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  const given = Buffer.from(v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * How big and how old the outbox may grow while the receiver is down (every ended call adds a row): beyond either,
 * the oldest rows go (finished ones first), each pending one dropped counted and logged (rate-limited).
 */
export interface OutboxLimits {
  maxRows: number;
  maxAgeMs: number;
}

export const DEFAULT_OUTBOX_LIMITS: OutboxLimits = { maxRows: 10_000, maxAgeMs: 24 * 3_600_000 };

export interface OutboxOptions {
  secret: string;
  log: Logger;
  metrics: RecordMetrics;
  retry?: RetryPolicy;
  limits?: OutboxLimits;
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** Look for due deliveries at least this often (a shared database: others queue too); undefined = only when told. */
  pollMs?: number;
}

/** A claim outlives one attempt by this margin, so a live instance always records its outcome before the lease ends. */
const LEASE_MARGIN_MS = 30_000;

export class WebhookOutbox {
  private readonly retry: RetryPolicy;
  private readonly limits: OutboxLimits;
  private readonly throttle = new LogThrottle(60_000);
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly store: OutboxStore,
    private readonly opts: OutboxOptions,
  ) {
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.limits = opts.limits ?? DEFAULT_OUTBOX_LIMITS;
    this.concurrency = opts.concurrency ?? 4;
    this.leaseMs = this.retry.timeoutMs + LEASE_MARGIN_MS;
  }

  /** Something was queued, or it is time to look: deliver what is due. */
  kick(): void {
    if (this.stopped) return;
    if (this.pumping !== undefined) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => (this.pumping = undefined));
  }

  /** Aborts deliveries in flight (given back to the outbox, due at once for the next start or instance) and stops the timer. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    // A pump caught mid-claim hands its rows to deliveries that see the abort and give them back: wait for those too,
    // or the rows stay claimed by a process that is gone until their lease runs out.
    await this.pumping;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Applies the outbox's limits (each pump does; the daily prune too, for an outbox nobody kicks). */
  async trim(): Promise<void> {
    const dropped = await this.store.trimOutbox(this.limits.maxRows, Date.now() - this.limits.maxAgeMs);
    for (const reason of ['expired', 'overflow'] as const) {
      if (dropped[reason] === 0) continue;
      this.opts.metrics.webhookDropped.inc({ reason }, dropped[reason]);
      this.throttle.warn(this.opts.log, `dropped:${reason}`, 'call webhook deliveries dropped from the outbox', {
        reason,
        dropped: dropped[reason],
        maxRows: this.limits.maxRows,
        maxAgeHours: this.limits.maxAgeMs / 3_600_000,
      });
    }
  }

  private async pump(): Promise<void> {
    try {
      await this.trim();
      do {
        this.again = false;
        const free = this.concurrency - this.inFlight.size;
        if (free <= 0) break; // a finishing delivery kicks again
        const claimed = await this.store.claimDeliveries(Date.now(), free, this.leaseMs);
        for (const item of claimed) {
          const delivery = this.deliver(item)
            .catch((err: unknown) => {
              this.opts.metrics.storeErrors.inc({ op: 'webhook' });
              this.opts.log.warn('webhook outbox update failed', { callSid: item.callSid, error: errorMessage(err) });
            })
            .finally(() => {
              this.inFlight.delete(item.id);
              this.kick();
            });
          this.inFlight.set(item.id, delivery);
        }
        if (claimed.length === free) this.again = true; // more may be due
      } while (this.again && !this.stopped);
      this.opts.metrics.webhookPending.set(await this.store.pendingDeliveries());
      await this.scheduleNext();
    } catch (err) {
      this.opts.metrics.storeErrors.inc({ op: 'webhook' });
      this.opts.log.warn('webhook outbox unavailable; retrying in 5 s', { error: errorMessage(err) });
      this.wakeIn(5000);
    }
  }

  private async scheduleNext(): Promise<void> {
    if (this.inFlight.size >= this.concurrency) return; // a finishing delivery kicks again
    const next = await this.store.nextDeliveryAt();
    const wait = next === null ? this.opts.pollMs : Math.min(next - Date.now(), this.opts.pollMs ?? Infinity);
    if (wait !== undefined) this.wakeIn(wait);
  }

  private wakeIn(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    this.timer.unref(); // a pending delivery never keeps the process alive: it resumes at the next start
  }

  private async deliver(item: OutboxItem): Promise<void> {
    const attempt = item.attempts + 1;
    const { log, metrics } = this.opts;
    let failure: string;
    let retryable = true;
    try {
      const res = await fetch(item.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'voice-call-orchestrator-webhook/1',
          'X-Signature': signWebhook(this.opts.secret, item.body, Math.floor(Date.now() / 1000)),
          'X-Call-Sid': item.callSid,
          'X-Delivery-Attempt': String(attempt),
        },
        body: item.body,
        redirect: 'manual',
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.retry.timeoutMs)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        if (!(await this.store.markDelivered(item, Date.now()))) this.lostClaim(item);
        metrics.webhookDeliveries.inc({ outcome: 'delivered' });
        log.info('call webhook delivered', { callSid: item.callSid, attempt, status: res.status });
        return;
      }
      failure = `HTTP ${res.status}`;
      retryable = res.status >= 500 || res.status === 408 || res.status === 429;
    } catch (err) {
      if (this.stopped) {
        // Shutting down: given back, due at once for another instance or the next start.
        await this.store.releaseDelivery(item, Date.now());
        return;
      }
      // Logged and stored: a message quoting the URL must not carry its credentials or query.
      failure = redactUrls(err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err));
    }
    const giveUp = !retryable || attempt >= this.retry.maxAttempts;
    const delay = Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** (attempt - 1)) * (0.9 + Math.random() * 0.2);
    if (!(await this.store.markAttemptFailed(item, failure, giveUp ? null : Date.now() + delay))) this.lostClaim(item);
    metrics.webhookDeliveries.inc({ outcome: giveUp ? 'gave-up' : 'retry' });
    if (giveUp) log.warn('call webhook gave up', { callSid: item.callSid, attempt, error: failure });
    else log.info('call webhook failed; will retry', { callSid: item.callSid, attempt, error: failure, retryInMs: Math.round(delay) });
  }

  /** The lease ran out before the outcome was recorded (a stalled process): the delivery was claimed again elsewhere. */
  private lostClaim(item: OutboxItem): void {
    this.opts.log.warn('webhook outbox claim lost before the outcome was recorded; another claimer owns the delivery', { callSid: item.callSid });
  }
}
