/** Call-record metrics, registered on the server's registry (so they appear in `/metrics`). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function createRecordMetrics(registry: Registry) {
  return {
    storeErrors: new Counter({
      name: 'voice_call_record_errors_total',
      help: 'Call-record store failures (open, write, read, prune); calls go on without their record',
      labelNames: ['op'] as const,
      registers: [registry],
    }),
    writeMs: new Histogram({
      name: 'voice_call_record_write_ms_per_call',
      help: 'Time spent writing one call record (every write of the call, summed), in ms',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 250],
      registers: [registry],
    }),
    bytes: new Histogram({
      name: 'voice_call_record_bytes_per_call',
      help: 'Bytes one call occupies in the store (summary, compressed event log, input, webhook body)',
      buckets: [1e3, 4e3, 16e3, 64e3, 256e3, 1e6, 4e6],
      registers: [registry],
    }),
    truncatedLogs: new Counter({
      name: 'voice_call_event_logs_truncated_total',
      help: 'Calls whose control-event log reached its size bound (later events not kept)',
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'voice_call_webhook_attempts_total',
      help: 'Post-call webhook delivery attempts by outcome (delivered, retry, gave-up)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    webhookDropped: new Counter({
      name: 'voice_call_webhook_dropped_total',
      help: 'Post-call webhook deliveries dropped from the outbox before delivery: expired (older than its max age) or overflow (beyond its max rows)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    webhookPending: new Gauge({
      name: 'voice_call_webhook_pending',
      help: 'Post-call webhook deliveries waiting in the outbox',
      registers: [registry],
    }),
    dbUp: new Gauge({
      name: 'voice_call_record_database_up',
      help: 'The shared call database (DATABASE_URL) is reachable and migrated (1) or not (0)',
      registers: [registry],
    }),
    dbWriteMs: new Histogram({
      name: 'voice_call_record_database_write_ms',
      help: 'Latency of one call-record write to the shared database (one statement), in ms',
      buckets: [0.5, 1, 2, 5, 10, 20, 50, 100, 250, 1000],
      registers: [registry],
    }),
    queueBytes: new Gauge({
      name: 'voice_call_record_queue_bytes',
      help: 'Bytes of call-record writes waiting in memory for the shared database',
      registers: [registry],
    }),
    queueDropped: new Counter({
      name: 'voice_call_record_queue_dropped_total',
      help: 'Call-record writes dropped: the in-memory queue was full (write, final = the end of a call and its webhook), refused by the database (error), or left at shutdown',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    instanceLost: new Counter({
      name: 'voice_call_records_instance_lost_total',
      help: 'Calls of a dead instance marked ended (endReason instance-lost) by this instance',
      registers: [registry],
    }),
  };
}

export type RecordMetrics = ReturnType<typeof createRecordMetrics>;
