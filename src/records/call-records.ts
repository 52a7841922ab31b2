/**
 * Call records for the server: the store (the SQLite file, created on first start; or a shared PostgreSQL with
 * DATABASE_URL), retention pruning at start and daily, a recorder per call, the `GET /calls…` router and the
 * post-call webhook outbox. A store that cannot open is logged and counted, and calls run without records; a shared
 * database that is unreachable keeps the writes in a bounded queue: a call never depends on the database.
 */
import type { Router } from 'express';
import { errorMessage, type Logger } from '../../lib/logger.js';
import type { FailedAuthThrottle } from '../shared/failed-auth-throttle.js';
import type { Registry } from 'prom-client';
import { createRecordMetrics, type RecordMetrics } from './record-metrics.js';
import type { EventLog } from './event-log.js';
import { CallRecorder } from './recorder.js';
import { callReadRoutes, callRecordsRouter, readStore, type StoreReadOptions } from './router.js';
import { openSharedRecords, type SharedRecords } from './pg-records.js';
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
  /** Set: the records live in this PostgreSQL, shared by the instances. */
  DATABASE_URL?: string | undefined;
  DATABASE_QUEUE_MB?: number;
  INSTANCE_ID?: string;
  INSTANCE_TTL_MS?: number;
}

/** With a shared database, the outbox also looks this often for deliveries queued by other instances. */
const SHARED_OUTBOX_POLL_MS = 5000;

export interface CallRecordsOptions {
  config: RecordsConfig;
  log: Logger;
  /** The process's Prometheus registry (the records' own counters are added to it). */
  metrics: { registry: Registry };
  /** Name of the agent running the calls (kept in each record). */
  agent?: string | null;
  /** Receives every ended call's summary (the agent's `onCallEnd`); runs even with CALL_RECORDS=off. */
  onCallEnd?: (summary: CallSummary) => void | Promise<void>;
  /** Wrong CALLS_API_TOKEN bearers (the server shares it with the console's login when the secret is the same). */
  bearerThrottle: FailedAuthThrottle;
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
  readEventLog(callSid: string): Promise<EventLogRead>;
  /** The shared database (DATABASE_URL) is reachable; null without one (for readiness checks). */
  sharedDatabaseUp(): boolean | null;
  /** A recorder for a new call; undefined when nothing is kept and no hook wants summaries. */
  startRecording(log: Logger): CallRecorder | undefined;
  /** Stops pruning and the webhook (pending deliveries stay queued for the next start) and closes the store. */
  close(): Promise<void>;
}

export function startCallRecords(opts: CallRecordsOptions): CallRecords {
  const { config, log } = opts;
  const metrics = createRecordMetrics(opts.metrics.registry);
  const secret = config.CALL_WEBHOOK_SECRET;
  const webhookUrl = config.CALL_WEBHOOK_URL !== undefined && secret !== undefined ? config.CALL_WEBHOOK_URL : undefined;
  let store: CallStore | null = null;
  let shared: SharedRecords | undefined;
  let offReason = 'call records are off (CALL_RECORDS=off)';
  let outbox: WebhookOutbox | undefined;
  /** Calls whose record is still being written (close waits for them). */
  const recording = new Set<CallRecorder>();

  const prune = async (): Promise<void> => {
    if (store === null || config.CALL_RECORD_RETENTION_DAYS === 0) return;
    try {
      const deleted = await store.pruneCalls(Date.now() - config.CALL_RECORD_RETENTION_DAYS * DAY_MS);
      if (deleted > 0) log.info('old call records deleted', { deleted, retentionDays: config.CALL_RECORD_RETENTION_DAYS });
    } catch (err) {
      metrics.storeErrors.inc({ op: 'prune' });
      log.warn('call record pruning failed', { error: errorMessage(err) });
    }
  };

  // A delivery never outlives the call records' retention either.
  const maxAgeMs = Math.min(
    (config.CALL_WEBHOOK_OUTBOX_MAX_AGE_HOURS ?? DEFAULT_OUTBOX_LIMITS.maxAgeMs / 3_600_000) * 3_600_000,
    config.CALL_RECORD_RETENTION_DAYS > 0 ? config.CALL_RECORD_RETENTION_DAYS * DAY_MS : Infinity,
  );
  const limits = { maxRows: config.CALL_WEBHOOK_OUTBOX_MAX_ROWS ?? DEFAULT_OUTBOX_LIMITS.maxRows, maxAgeMs };
  /** Retention for the records, and the outbox's bounds (age, rows). */
  const pruneAll = async (): Promise<void> => {
    await prune();
    try {
      await outbox?.trim();
    } catch (err) {
      metrics.storeErrors.inc({ op: 'prune' });
      log.warn('webhook outbox trim failed', { error: errorMessage(err) });
    }
  };

  if (config.CALL_RECORDS && config.DATABASE_URL !== undefined) {
    shared = openSharedRecords({
      url: config.DATABASE_URL,
      instance: config.INSTANCE_ID ?? 'default',
      ttlMs: config.INSTANCE_TTL_MS ?? 30_000,
      queueMaxBytes: (config.DATABASE_QUEUE_MB ?? 64) * 1024 * 1024,
      webhookUrl,
      log,
      metrics,
      // Pruning and the deliveries left pending wait for the migrations.
      onReady: () => {
        void pruneAll();
        outbox?.kick();
      },
      kickOutbox: () => outbox?.kick(),
    });
    store = shared.store;
    log.info('call records', { database: redactedUrl(config.DATABASE_URL), instance: config.INSTANCE_ID, retentionDays: config.CALL_RECORD_RETENTION_DAYS, webhook: webhookUrl !== undefined });
  } else if (config.CALL_RECORDS) {
    try {
      store = openSqliteStore(config.CALL_DB_PATH);
      log.info('call records', { path: config.CALL_DB_PATH, retentionDays: config.CALL_RECORD_RETENTION_DAYS, webhook: config.CALL_WEBHOOK_URL !== undefined });
    } catch (err) {
      metrics.storeErrors.inc({ op: 'open' });
      offReason = 'the call database could not be opened (see the server log)';
      log.error('call database could not be opened: calls run without records', { path: config.CALL_DB_PATH, error: errorMessage(err) });
    }
  }
  outbox =
    store !== null && webhookUrl !== undefined && secret !== undefined
      ? new WebhookOutbox(store, { secret, log, metrics, retry: opts.webhookRetry, limits, pollMs: shared === undefined ? undefined : SHARED_OUTBOX_POLL_MS })
      : undefined;
  const pruneTimer = setInterval(() => void pruneAll(), Math.min(DAY_MS, limits.maxAgeMs));
  pruneTimer.unref();
  if (shared === undefined) {
    void pruneAll();
    outbox?.kick(); // deliveries left pending by the previous run
  }

  const reads: StoreReadOptions = { store: () => store, offReason: () => offReason, log, metrics };
  return {
    router: callRecordsRouter({ ...reads, token: config.CALLS_API_TOKEN, throttle: opts.bearerThrottle }),
    readRoutes: callReadRoutes(reads, (_req, _res, next) => next()),
    metrics,
    async readEventLog(callSid) {
      const read = await readStore(reads, (s) => s.getEventLog(callSid), { callSid });
      if (!read.ok) return read;
      return read.value === undefined ? { ok: false, status: 404, error: 'no such call' } : { ok: true, log: read.value };
    },
    sharedDatabaseUp() {
      return shared === undefined ? null : shared.store.healthy;
    },
    startRecording(callLog) {
      if (store === null && opts.onCallEnd === undefined) return undefined;
      const recorder: CallRecorder = new CallRecorder({
        onFinished: () => recording.delete(recorder),
        store,
        log: callLog,
        metrics,
        agent: opts.agent ?? null,
        instance: config.INSTANCE_ID ?? null,
        maxLogBytes: opts.maxLogBytes ?? MAX_EVENT_LOG_BYTES,
        webhookUrl: outbox === undefined ? undefined : webhookUrl,
        onWebhookQueued: () => outbox?.kick(),
        onCallEnd: opts.onCallEnd,
      });
      recording.add(recorder);
      return recorder;
    },
    async close() {
      clearInterval(pruneTimer);
      // The calls' last writes first (each compresses its events off the event loop before it reaches the store).
      await Promise.all([...recording].map((r) => r.settled()));
      await outbox?.stop();
      if (shared !== undefined) await shared.close();
      else await store?.close();
      store = null;
      offReason = 'the server is shutting down';
    },
  };
}

/** The URL without its password (for the log). */
function redactedUrl(url: string): string {
  const u = new URL(url);
  if (u.password !== '') u.password = '***';
  return u.toString();
}
