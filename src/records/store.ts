/**
 * Where call records live. One interface, two stores: `sqlite-store.ts` (the default: embedded, one file) and
 * `pg-store.ts` (DATABASE_URL: a PostgreSQL shared by every instance). Every method is asynchronous and may reject:
 * the recorder and the webhook outbox catch, log and count.
 */
import type { EventLog } from './event-log.js';
import type { CallListItem, CallSummary } from './summary-types.js';

export interface CallWrite {
  summary: CallSummary;
  /** Events captured since the last write, as a JSON array text (empty = none). */
  eventsJson: string;
  eventCount: number;
  /** The call machine's input, written with the first chunk. */
  input?: unknown;
  /** Set on the final write when a post-call webhook is configured: queued in the same transaction. */
  webhook?: { url: string; body: string };
}

/** Bytes stored: the call's summary (replaced by each write) and what this write appended (events, input, webhook). */
export interface WriteSize {
  summary: number;
  appended: number;
}

export interface CallListQuery {
  limit: number;
  /** Keyset cursor: calls started earlier, or at `ms` with a smaller callSid. */
  before?: { ms: number; callSid?: string };
  /** Only calls whose callSid, number (from/to) or transcript contains it (case-insensitive, wildcards literal). */
  search?: string;
  /** Only calls with this status (`ended`: the history, without calls still running). */
  status?: 'in-progress' | 'ended';
}

/** One post-call webhook delivery, claimed by this process until it marks the outcome (or the claim's lease ends). */
export interface OutboxItem {
  id: number;
  callSid: string;
  url: string;
  body: string;
  attempts: number;
  /** Proof of the claim: an outcome is recorded only while the claim is still this one (not taken over after its lease). */
  claim: string;
}

/** Pending deliveries a trim dropped: too old (`expired`) or beyond the row cap (`overflow`). */
export interface OutboxTrim {
  expired: number;
  overflow: number;
}

/**
 * The post-call webhook outbox. A claimed delivery is invisible to other claimers until `leaseMs` has passed: a
 * process that dies mid-delivery leaves it to the next claimer after the lease. Marks return false when the claim
 * was lost (the lease ran out and someone else took the delivery): the outcome is then theirs to record.
 */
export interface OutboxStore {
  /** Up to `limit` deliveries due at `nowMs`, oldest first, each claimed until `nowMs + leaseMs`. */
  claimDeliveries(nowMs: number, limit: number, leaseMs: number): Promise<OutboxItem[]>;
  /** The earliest `next_attempt_at` of pending deliveries, claimed or not (epoch ms), or null. */
  nextDeliveryAt(): Promise<number | null>;
  markDelivered(item: OutboxItem, nowMs: number): Promise<boolean>;
  /** `nextAttemptAt` null = give up (kept with its last error, no longer pending). */
  markAttemptFailed(item: OutboxItem, error: string, nextAttemptAt: number | null): Promise<boolean>;
  /** Gives a claimed delivery back unattempted (shutting down mid-delivery): due again at `nowMs`. */
  releaseDelivery(item: OutboxItem, nowMs: number): Promise<boolean>;
  pendingDeliveries(): Promise<number>;
  /**
   * Bounds the outbox: deletes every row created before `cutoffMs`, then the oldest rows beyond `maxRows` (finished
   * ones first). Returns how many pending deliveries were dropped, by reason.
   */
  trimOutbox(maxRows: number, cutoffMs: number): Promise<OutboxTrim>;
}

export interface CallStore extends OutboxStore {
  /** Creates or updates the call's record and appends its new events (one transaction). */
  writeCall(write: CallWrite): Promise<WriteSize>;
  /** Newest first (started_at, then callSid, descending). */
  listCalls(query: CallListQuery): Promise<CallListItem[]>;
  getCall(callSid: string): Promise<CallSummary | undefined>;
  getEventLog(callSid: string): Promise<EventLog | undefined>;
  /** Deletes calls started before `cutoffMs` (epoch) with their events; returns how many. */
  pruneCalls(cutoffMs: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Writes still running, so that a store's `close` waits for them: a write compresses its events off the event loop
 * before it reaches the database, and a call's last write must not meet a closed database at shutdown.
 */
export class PendingWrites {
  private readonly running = new Set<Promise<unknown>>();

  track<T>(write: Promise<T>): Promise<T> {
    this.running.add(write);
    const forget = (): void => {
      this.running.delete(write);
    };
    write.then(forget, forget);
    return write;
  }

  async settled(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}
