/**
 * The call records in a shared PostgreSQL (DATABASE_URL), as one piece: the pool, the store behind its write-behind
 * queue, the migrations (run at start, retried until the database answers), this instance's heartbeat and the
 * sweeper that ends the records of dead instances.
 */
import { errorMessage, type Logger } from '../../lib/logger.js';
import { migrate } from './pg-schema.js';
import { InstanceSweeper } from './pg-instances.js';
import { createPgPool, PostgresCallStore } from './pg-store.js';
import type { RecordMetrics } from './record-metrics.js';
import { QueuedCallStore } from './write-queue.js';

export interface SharedRecordsOptions {
  url: string;
  instance: string;
  ttlMs: number;
  queueMaxBytes: number;
  webhookUrl?: string;
  log: Logger;
  metrics: RecordMetrics;
  /** The store is migrated and this instance registered (runs once). */
  onReady: () => void;
  /** Webhook deliveries reached the outbox table (a call's final write, or records of a dead instance ended). */
  kickOutbox: () => void;
}

export interface SharedRecords {
  readonly store: QueuedCallStore;
  /** Stops the heartbeat and the sweeper, writes what waits (a few seconds at most) and closes the pool. */
  close(): Promise<void>;
}

export function openSharedRecords(opts: SharedRecordsOptions): SharedRecords {
  const { log, metrics } = opts;
  const pool = createPgPool(opts.url, {
    instance: opts.instance,
    onIdleError: (err) => log.debug('database connection lost while idle; the pool replaces it', { error: err.message }),
  });
  const sweeper = new InstanceSweeper(pool, {
    instance: opts.instance,
    ttlMs: opts.ttlMs,
    log,
    webhookUrl: opts.webhookUrl,
    onSwept: (calls) => {
      metrics.instanceLost.inc(calls);
      opts.kickOutbox();
    },
    onError: (op, err) => {
      metrics.storeErrors.inc({ op });
      log.debug(`call records ${op} failed`, { error: errorMessage(err) });
    },
  });
  let ready = false;
  const store = new QueuedCallStore(new PostgresCallStore(pool, opts.instance), {
    maxBytes: opts.queueMaxBytes,
    log,
    metrics,
    onWebhookStored: opts.kickOutbox,
    prepare: async () => {
      const applied = await migrate(pool);
      await sweeper.heartbeat();
      await sweeper.endOwnLeftovers();
      if (applied.length > 0) log.info('call database migrated', { versions: applied });
      if (!ready) {
        ready = true;
        sweeper.start();
        opts.onReady();
      }
    },
  });
  store.start();
  return {
    store,
    async close() {
      sweeper.stop();
      await store.close();
    },
  };
}
