/**
 * Where call records live. One small interface so a server database can be added later without touching the call
 * code; `sqlite-store.ts` is the default (embedded, one file). Every method is synchronous and may throw: the
 * recorder and the webhook outbox catch, log and count.
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

export interface OutboxItem {
  id: number;
  callSid: string;
  url: string;
  body: string;
  attempts: number;
}

/** Pending deliveries a trim dropped: too old (`expired`) or beyond the row cap (`overflow`). */
export interface OutboxTrim {
  expired: number;
  overflow: number;
}

export interface CallStore {
  /** Creates or updates the call's record and appends its new events (one transaction). */
  writeCall(write: CallWrite): WriteSize;
  /**
   * Newest first; `before` = a keyset cursor (calls started earlier, or at `ms` with a smaller callSid); `search` =
   * only calls whose callSid, number (from/to) or transcript contains it.
   */
  listCalls(query: { limit: number; before?: { ms: number; callSid?: string }; search?: string }): CallListItem[];
  getCall(callSid: string): CallSummary | undefined;
  getEventLog(callSid: string): EventLog | undefined;
  /** Deletes calls started before `cutoffMs` (epoch) with their events; returns how many. */
  pruneCalls(cutoffMs: number): number;

  // ── the post-call webhook outbox ──
  /** Deliveries due at `nowMs`, oldest first, skipping `exclude` (those in flight). */
  dueDeliveries(nowMs: number, limit: number, exclude: ReadonlySet<number>): OutboxItem[];
  /** The earliest `next_attempt_at` of pending deliveries (epoch ms), or null. */
  nextDeliveryAt(): number | null;
  markDelivered(id: number, nowMs: number): void;
  /** `nextAttemptAt` null = give up (kept with its last error, no longer pending). */
  markAttemptFailed(id: number, error: string, nextAttemptAt: number | null): void;
  pendingDeliveries(): number;
  /**
   * Bounds the outbox: deletes every row created before `cutoffMs`, then the oldest rows beyond `maxRows` (finished
   * ones first). Returns how many pending deliveries were dropped, by reason.
   */
  trimOutbox(maxRows: number, cutoffMs: number): OutboxTrim;

  close(): void;
}
