/**
 * Write-behind for a shared database: the calls never wait on it. `writeCall` puts the write in a bounded in-memory
 * queue and returns; a drainer writes the queue in order (per call; several calls at once) once the store is ready
 * (`prepare`: migrations, the first heartbeat). While the database is unreachable the writes wait and are retried
 * with backoff; two waiting writes of one call are merged into one. When the queue's bytes would pass `maxBytes` a
 * write is refused: counted (`voice_call_record_queue_dropped_total`) and logged once per episode; the recorder keeps
 * the refused events for the call's next write, so only a refused *final* write loses data (the record's end and its
 * webhook). Reads and the outbox go straight to the store (their callers handle a failure).
 */
import { errorMessage, type Logger } from '../../lib/logger.js';
import type { RecordMetrics } from './record-metrics.js';
import type { CallListQuery, CallStore, CallWrite, OutboxItem, WriteSize } from './store.js';

export class RecordQueueFullError extends Error {
  constructor(maxBytes: number) {
    super(`the call record queue is full (${maxBytes} bytes waiting for the database): write dropped`);
    this.name = 'RecordQueueFullError';
  }
}

export interface WriteQueueOptions {
  maxBytes: number;
  log: Logger;
  metrics: RecordMetrics;
  /** Runs (and is retried) until it succeeds, before the first write. */
  prepare: () => Promise<void>;
  /** A write carrying a post-call webhook reached the database (the outbox may deliver it now). */
  onWebhookStored?: () => void;
  /** Writes in flight at once (distinct calls). */
  concurrency?: number;
  /** Backoff between attempts while the database is unreachable. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

interface Queued {
  write: CallWrite;
  bytes: number;
  inFlight: boolean;
}

/** Connection-level failures (worth waiting for); anything else is a bad write that retrying will not fix. */
export function isUnavailable(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  // SQLSTATE 08 connection exception, 57P0x shutdown/terminated, 53xxx out of resources; Node socket errors.
  if (/^(08|57P0|53)/.test(code) || /^E[A-Z]+$/.test(code)) return true;
  const message = errorMessage(err);
  return /timeout|terminat|Connection|connect|closed|ended/i.test(message);
}

export class QueuedCallStore implements CallStore {
  private readonly queue: Queued[] = [];
  private bytes = 0;
  private readonly busyCalls = new Set<string>();
  private ready = false;
  private preparing = false;
  private down = false;
  private droppedInEpisode = 0;
  private retryMs: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly inner: CallStore,
    private readonly opts: WriteQueueOptions,
  ) {
    this.retryMs = opts.retryMinMs ?? 500;
    opts.metrics.dbUp.set(0);
  }

  /** Starts preparing the store (the server calls it at start; the first write would too). */
  start(): void {
    this.pump();
  }

  /** Ready and not failing: the database is reachable (for /readyz and the gauge). */
  get healthy(): boolean {
    return this.ready && !this.down;
  }

  /** Writes waiting (or in flight). */
  get waiting(): number {
    return this.queue.length;
  }

  async writeCall(write: CallWrite): Promise<WriteSize> {
    if (this.closed) throw new Error('the call record store is closed');
    const summary = JSON.stringify(write.summary).length;
    const appended = write.eventsJson.length + (write.webhook?.body.length ?? 0);
    const bytes = summary + appended;
    const callSid = write.summary.callSid;
    const last = this.lastQueued(callSid);
    const added = last === undefined ? bytes : bytes - JSON.stringify(last.write.summary).length;
    if (this.bytes + added > this.opts.maxBytes) this.refuse(write);
    if (last !== undefined) {
      last.write = merge(last.write, write);
      last.bytes += added;
    } else {
      this.queue.push({ write, bytes, inFlight: false });
    }
    this.bytes += added;
    this.opts.metrics.queueBytes.set(this.bytes);
    this.pump();
    return { summary, appended };
  }

  /** Resolves when nothing waits (or at `timeoutMs`); true when the queue is empty. */
  async drained(timeoutMs: number): Promise<boolean> {
    if (this.queue.length === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([idle, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  listCalls(query: CallListQuery) {
    return this.inner.listCalls(query);
  }
  getCall(callSid: string) {
    return this.inner.getCall(callSid);
  }
  getEventLog(callSid: string) {
    return this.inner.getEventLog(callSid);
  }
  pruneCalls(cutoffMs: number) {
    return this.inner.pruneCalls(cutoffMs);
  }
  claimDeliveries(nowMs: number, limit: number, leaseMs: number) {
    return this.inner.claimDeliveries(nowMs, limit, leaseMs);
  }
  nextDeliveryAt() {
    return this.inner.nextDeliveryAt();
  }
  markDelivered(item: OutboxItem, nowMs: number) {
    return this.inner.markDelivered(item, nowMs);
  }
  markAttemptFailed(item: OutboxItem, error: string, nextAttemptAt: number | null) {
    return this.inner.markAttemptFailed(item, error, nextAttemptAt);
  }
  releaseDelivery(item: OutboxItem, nowMs: number) {
    return this.inner.releaseDelivery(item, nowMs);
  }
  pendingDeliveries() {
    return this.inner.pendingDeliveries();
  }
  trimOutbox(maxRows: number, cutoffMs: number) {
    return this.inner.trimOutbox(maxRows, cutoffMs);
  }

  /** Gives the queue `timeoutMs` to be written, counts and logs what is left, then closes the store. */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    if (!(await this.drained(timeoutMs)) && this.queue.length > 0) {
      const finals = this.queue.filter((q) => q.write.summary.status === 'ended').length;
      this.opts.metrics.queueDropped.inc({ kind: 'write' }, this.queue.length - finals);
      this.opts.metrics.queueDropped.inc({ kind: 'final' }, finals);
      this.opts.log.error('call records not written at shutdown: the database did not come back in time', {
        writes: this.queue.length,
        calls: new Set(this.queue.map((q) => q.write.summary.callSid)).size,
      });
    }
    this.closed = true;
    clearTimeout(this.timer);
    await this.inner.close();
  }

  private refuse(write: CallWrite): never {
    const kind = write.summary.status === 'ended' ? 'final' : 'write';
    this.opts.metrics.queueDropped.inc({ kind });
    if (this.droppedInEpisode++ === 0) {
      this.opts.log.error('call record queue full: writes are dropped until the database catches up', {
        maxBytes: this.opts.maxBytes,
        waiting: this.queue.length,
        callSid: write.summary.callSid,
      });
    }
    throw new RecordQueueFullError(this.opts.maxBytes);
  }

  /** The call's last write still waiting (not in flight): a new write merges into it. */
  private lastQueued(callSid: string): Queued | undefined {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const q = this.queue[i];
      if (q?.write.summary.callSid === callSid) return q.inFlight ? undefined : q;
    }
    return undefined;
  }

  private pump(): void {
    if (this.closed || this.timer !== undefined) return;
    if (!this.ready) {
      this.prepareStore();
      return;
    }
    const concurrency = this.opts.concurrency ?? 4;
    for (const q of this.queue) {
      if (this.busyCalls.size >= concurrency) break;
      const callSid = q.write.summary.callSid;
      if (q.inFlight || this.busyCalls.has(callSid)) continue;
      q.inFlight = true;
      this.busyCalls.add(callSid);
      void this.send(q);
    }
  }

  private prepareStore(): void {
    if (this.preparing) return;
    this.preparing = true;
    this.opts.prepare().then(
      () => {
        this.preparing = false;
        this.ready = true;
        this.up();
        this.pump();
      },
      (err: unknown) => {
        this.preparing = false;
        this.failed(err);
      },
    );
  }

  private async send(q: Queued): Promise<void> {
    const callSid = q.write.summary.callSid;
    const started = performance.now();
    try {
      await this.inner.writeCall(q.write);
      this.opts.metrics.dbWriteMs.observe(performance.now() - started);
      this.remove(q);
      this.up();
      if (q.write.webhook !== undefined) this.opts.onWebhookStored?.();
    } catch (err) {
      q.inFlight = false;
      if (isUnavailable(err)) {
        this.failed(err);
      } else {
        // A write the database refuses (a bug, not an outage): waiting will not help.
        this.remove(q);
        this.opts.metrics.storeErrors.inc({ op: 'write' });
        this.opts.metrics.queueDropped.inc({ kind: 'error' });
        this.opts.log.error('call record write refused by the database: dropped', { callSid, error: errorMessage(err) });
      }
    } finally {
      this.busyCalls.delete(callSid);
      this.pump();
    }
  }

  private remove(q: Queued): void {
    const i = this.queue.indexOf(q);
    if (i >= 0) this.queue.splice(i, 1);
    this.bytes -= q.bytes;
    this.opts.metrics.queueBytes.set(this.bytes);
    if (this.queue.length === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private up(): void {
    if (this.down) {
      this.opts.log.info('database reachable again: the waiting call records are being written', { waiting: this.queue.length });
    }
    if (this.droppedInEpisode > 0 && this.bytes < this.opts.maxBytes / 2) {
      this.opts.log.warn('call record queue has room again', { dropped: this.droppedInEpisode });
      this.droppedInEpisode = 0;
    }
    this.down = false;
    this.retryMs = this.opts.retryMinMs ?? 500;
    this.opts.metrics.dbUp.set(1);
  }

  private failed(err: unknown): void {
    if (!this.down) {
      this.opts.log.error('database unreachable: call records wait in memory and are written when it is back', {
        error: errorMessage(err),
        waiting: this.queue.length,
        maxBytes: this.opts.maxBytes,
      });
    }
    this.down = true;
    this.opts.metrics.dbUp.set(0);
    if (this.closed || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump(); // try again: a success logs the recovery, a failure waits longer

    }, this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(this.retryMs * 2, this.opts.retryMaxMs ?? 5000);
  }
}

/** Two writes of one call as one: the newer summary, the events of both in order, the first input, the webhook. */
function merge(a: CallWrite, b: CallWrite): CallWrite {
  const events = [a.eventsJson.slice(1, -1), b.eventsJson.slice(1, -1)].filter((e) => e !== '').join(',');
  return {
    summary: b.summary,
    eventsJson: events === '' ? '' : `[${events}]`,
    eventCount: a.eventCount + b.eventCount,
    input: a.input ?? b.input,
    webhook: b.webhook ?? a.webhook,
  };
}

