/**
 * Call records for the server: the store (opened once, on first start it creates the file), retention pruning at
 * start and daily, a recorder per call, the `GET /calls…` router and the post-call webhook outbox. A store that
 * cannot open is logged and counted, and calls run without records: a call never depends on the database.
 */
import type { Router } from 'express';
import type { Logger } from '../../lib/logger.js';
import type { Registry } from 'prom-client';
import { createRecordMetrics, type RecordMetrics } from './record-metrics.js';
import type { EventLog } from './event-log.js';
import { CallRecorder } from './recorder.js';
import { callReadRoutes, callRecordsRouter, readStore, type StoreReadOptions } from './router.js';
import { openSqliteStore } from './sqlite-store.js';
import type { CallStore } from './store.js';
import type { CallSummary } from './summary-types.js';
import { DEFAULT_OUTBOX_LIMITS, WebhookOutbox, type RetryPolicy } from './webhook.js';

const DAY_MS = 86_400_000;
/** Per-call bound of the stored event log (a 30-minute call needs about 1 MB). */
export const MAX_EVENT_LOG_BYTES = 4 * 1024 * 1024;

/** The settings records read (the server's validated config satisfies it; records do not import the server). */
export interface RecordsConfig {
  CALL_RECORDS: boolean;
  CALL_DB_PATH: string;
  CALL_RECORD_RETENTION_DAYS: number;
  CALL_WEBHOOK_URL?: string | undefined;
  CALL_WEBHOOK_SECRET?: string | undefined;
  CALL_WEBHOOK_OUTBOX_MAX_ROWS?: number;
  CALL_WEBHOOK_OUTBOX_MAX_AGE_HOURS?: number;
  CALLS_API_TOKEN?: string | undefined;
}

export interface CallRecordsOptions {
  config: RecordsConfig;
  log: Logger;
  /** The process's Prometheus registry (the records' own counters are added to it). */
  metrics: { registry: Registry };
  /** Name of the agent running the calls (kept in each record). */
  agent?: string | null;
  /** Receives every ended call's summary (the agent's `onCallEnd`); runs even with CALL_RECORDS=off. */
  onCallEnd?: (summary: CallSummary) => void | Promise<void>;
  /** Tests shorten the webhook's backoff. */
  webhookRetry?: RetryPolicy;
  maxLogBytes?: number;
}

/** What the server's caller may add: the agent, its hook, tuning. */
export type CallRecordHooks = Pick<CallRecordsOptions, 'agent' | 'onCallEnd' | 'webhookRetry' | 'maxLogBytes'>;

/** A stored event log, or why there is none: 404 no such call, 503 records off, 500 the read failed. */
export type EventLogRead = { ok: true; log: EventLog } | { ok: false; status: 404 | 500 | 503; error: string };

export interface CallRecords {
  readonly router: Router;
  /** The same GET routes without the bearer token, for a caller that authenticates itself (the console). */
  readonly readRoutes: Router;
  readonly metrics: RecordMetrics;
  /** One call's event log, for a replay started by the server (the console); a failed read is logged and counted. */
  readEventLog(callSid: string): EventLogRead;
  /** A recorder for a new call; undefined when nothing is kept and no hook wants summaries. */
  startRecording(log: Logger): CallRecorder | undefined;
  /** Stops pruning and the webhook (pending deliveries stay queued for the next start) and closes the store. */
  close(): Promise<void>;
}

export function startCallRecords(opts: CallRecordsOptions): CallRecords {
  const { config, log } = opts;
  const metrics = createRecordMetrics(opts.metrics.registry);
  let store: CallStore | null = null;
  let offReason = 'call records are off (CALL_RECORDS=off)';
  if (config.CALL_RECORDS) {
    try {
      store = openSqliteStore(config.CALL_DB_PATH);
      log.info('call records', { path: config.CALL_DB_PATH, retentionDays: config.CALL_RECORD_RETENTION_DAYS, webhook: config.CALL_WEBHOOK_URL !== undefined });
    } catch (err) {
      metrics.storeErrors.inc({ op: 'open' });
      offReason = 'the call database could not be opened (see the server log)';
      log.error('call database could not be opened: calls run without records', { path: config.CALL_DB_PATH, error: errorMessage(err) });
    }
  }

  const prune = (): void => {
    if (store === null || config.CALL_RECORD_RETENTION_DAYS === 0) return;
    try {
      const deleted = store.pruneCalls(Date.now() - config.CALL_RECORD_RETENTION_DAYS * DAY_MS);
      if (deleted > 0) log.info('old call records deleted', { deleted, retentionDays: config.CALL_RECORD_RETENTION_DAYS });
    } catch (err) {
      metrics.storeErrors.inc({ op: 'prune' });
      log.warn('call record pruning failed', { error: errorMessage(err) });
    }
  };

  const secret = config.CALL_WEBHOOK_SECRET;
  // A delivery never outlives the call records' retention either.
  const maxAgeMs = Math.min(
    (config.CALL_WEBHOOK_OUTBOX_MAX_AGE_HOURS ?? DEFAULT_OUTBOX_LIMITS.maxAgeMs / 3_600_000) * 3_600_000,
    config.CALL_RECORD_RETENTION_DAYS > 0 ? config.CALL_RECORD_RETENTION_DAYS * DAY_MS : Infinity,
  );
  const limits = { maxRows: config.CALL_WEBHOOK_OUTBOX_MAX_ROWS ?? DEFAULT_OUTBOX_LIMITS.maxRows, maxAgeMs };
  const outbox =
    store !== null && config.CALL_WEBHOOK_URL !== undefined && secret !== undefined
      ? new WebhookOutbox(store, { secret, log, metrics, retry: opts.webhookRetry, limits })
      : undefined;
  const pruneAll = (): void => {
    prune();
    try {
      outbox?.trim();
    } catch (err) {
      metrics.storeErrors.inc({ op: 'prune' });
      log.warn('webhook outbox trim failed', { error: errorMessage(err) });
    }
  };
  pruneAll();
  const pruneTimer = setInterval(pruneAll, Math.min(DAY_MS, limits.maxAgeMs));
  pruneTimer.unref();
  outbox?.kick(); // deliveries left pending by the previous run

  const reads: StoreReadOptions = { store: () => store, offReason: () => offReason, log, metrics };
  return {
    router: callRecordsRouter({ ...reads, token: config.CALLS_API_TOKEN }),
    readRoutes: callReadRoutes(reads, (_req, _res, next) => next()),
    metrics,
    readEventLog(callSid) {
      const read = readStore(reads, (s) => s.getEventLog(callSid), { callSid });
      if (!read.ok) return read;
      return read.value === undefined ? { ok: false, status: 404, error: 'no such call' } : { ok: true, log: read.value };
    },
    startRecording(callLog) {
      if (store === null && opts.onCallEnd === undefined) return undefined;
      return new CallRecorder({
        store,
        log: callLog,
        metrics,
        agent: opts.agent ?? null,
        maxLogBytes: opts.maxLogBytes ?? MAX_EVENT_LOG_BYTES,
        webhookUrl: outbox === undefined ? undefined : config.CALL_WEBHOOK_URL,
        onWebhookQueued: () => outbox?.kick(),
        onCallEnd: opts.onCallEnd,
      });
    },
    async close() {
      clearInterval(pruneTimer);
      await outbox?.stop();
      store?.close();
      store = null;
      offReason = 'the server is shutting down';
    },
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
