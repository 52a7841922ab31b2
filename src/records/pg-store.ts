/**
 * The call store in PostgreSQL (DATABASE_URL), shared by every instance: the same tables as the SQLite store (the
 * summary kept as the JSON text written, the event log in deflated chunks), written in one statement per write.
 * Outbox deliveries are claimed with `FOR UPDATE SKIP LOCKED` and a lease, so each is attempted by one instance at a
 * time and a dead instance's claim passes to another when its lease ends. Pruning runs on one instance at a time.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { eventLogFromChunks, packEventChunk, type EventLog } from './event-log.js';
import { inTransaction, LOCK_NAMESPACE, LOCKS, schemaVersion, SCHEMA_VERSION } from './pg-schema.js';
import { PendingWrites, type CallListQuery, type CallStore, type CallWrite, type OutboxItem, type OutboxTrim, type WriteSize } from './store.js';
import { listItemOf, withTransfers, type CallListItem, type CallSummary } from './summary-types.js';

export interface PgPoolOptions {
  /** Shown in `pg_stat_activity.application_name` (which instance holds a connection). */
  instance: string;
  /** Connections per instance. */
  max?: number;
  /** A connection attempt fails after this long (the write queue then waits and retries). */
  connectTimeoutMs?: number;
  /** Called with errors of idle connections (a backend killed, the server restarting); the pool replaces them. */
  onIdleError: (err: Error) => void;
}

export function createPgPool(url: string, opts: PgPoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 8,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    application_name: `voice-call-orchestrator ${opts.instance}`.slice(0, 63),
    // A statement that hangs (a lock held elsewhere, a dead network) must not hold a call's record forever.
    query_timeout: 15_000,
  });
  // Without a listener an idle connection's error (pg_terminate_backend, a failover) would crash the process.
  pool.on('error', opts.onIdleError);
  return pool;
}

/** Reads the schema version and refuses a database that is not migrated or migrated by a newer server. */
export async function checkSchema(pool: pg.Pool): Promise<void> {
  const version = await schemaVersion(pool);
  if (version === 0) throw new Error('the database has no call records schema (a server started with DATABASE_URL creates it)');
  if (version > SCHEMA_VERSION) throw new Error(`the call database has schema version ${version}, newer than this tool's ${SCHEMA_VERSION}`);
}

/** One call's event log, for a tool (replay): nothing is created or changed; the schema must be there. */
export async function readPostgresEventLog(url: string, callSid: string): Promise<EventLog | undefined> {
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => undefined); // an idle connection lost: the query in progress reports it
  try {
    await checkSchema(pool);
    return await new PostgresCallStore(pool, 'replay').getEventLog(callSid);
  } finally {
    await pool.end();
  }
}

const WRITE_SQL = `
WITH c AS (
  INSERT INTO calls (call_sid, started_at, status, instance, summary, input, event_count, event_chunks, truncated)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  ON CONFLICT (call_sid) DO UPDATE SET
    status = EXCLUDED.status, instance = EXCLUDED.instance, summary = EXCLUDED.summary,
    input = COALESCE(EXCLUDED.input, calls.input), event_count = calls.event_count + EXCLUDED.event_count,
    event_chunks = calls.event_chunks + EXCLUDED.event_chunks, truncated = EXCLUDED.truncated, updated_at = now()
  RETURNING event_chunks
), e AS (
  INSERT INTO call_events (call_sid, chunk, entries) SELECT $1, c.event_chunks - 1, $10 FROM c WHERE $10::bytea IS NOT NULL
), w AS (
  INSERT INTO webhook_outbox (call_sid, url, body, next_attempt_at, created_at) SELECT $1, $11, $12, $13, $13 WHERE $11::text IS NOT NULL
)
SELECT 1`;

/** The search of the SQLite store, on the summary's JSON: callSid, either number, any transcript text. */
const SEARCH_SQL = `AND (call_sid ILIKE $5 OR (summary::jsonb)->>'from' ILIKE $5 OR (summary::jsonb)->>'to' ILIKE $5
  OR EXISTS (SELECT 1 FROM jsonb_array_elements((summary::jsonb)->'conversation') AS e WHERE e->>'text' ILIKE $5 OR e->>'heard' ILIKE $5))`;

type OutboxRow = { id: string; call_sid: string; url: string; body: string; attempts: number };

export class PostgresCallStore implements CallStore {
  private readonly pending = new PendingWrites();

  constructor(
    private readonly pool: pg.Pool,
    /** Recorded with the outbox claims (which instance is delivering). */
    private readonly instance: string,
  ) {}

  async writeCall(w: CallWrite): Promise<WriteSize> {
    return this.pending.track(this.writeNow(w));
  }

  private async writeNow(w: CallWrite): Promise<WriteSize> {
    const summary = JSON.stringify(w.summary);
    const input = w.input === undefined ? null : JSON.stringify(w.input);
    const packed = w.eventCount > 0 ? await packEventChunk(w.eventsJson) : null;
    await this.pool.query(WRITE_SQL, [
      w.summary.callSid,
      Date.parse(w.summary.startedAt),
      w.summary.status,
      w.summary.instance ?? null,
      summary,
      input,
      w.eventCount,
      packed === null ? 0 : 1,
      w.summary.eventLog.truncated,
      packed,
      w.webhook?.url ?? null,
      w.webhook?.body ?? null,
      Date.now(),
    ]);
    return { summary: summary.length, appended: (input?.length ?? 0) + (packed?.length ?? 0) + (w.webhook?.body.length ?? 0) };
  }

  async listCalls(query: CallListQuery): Promise<CallListItem[]> {
    const search = query.search?.trim() ?? '';
    const res = await this.pool.query<{ summary: string }>(
      `SELECT summary FROM calls
       WHERE (started_at < $1::float8 OR (started_at = $1::float8 AND $2::text IS NOT NULL AND call_sid < $2::text))
         AND ($4::text IS NULL OR status = $4::text) ${search === '' ? '' : SEARCH_SQL}
       ORDER BY started_at DESC, call_sid DESC LIMIT $3`,
      [
        query.before?.ms ?? Number.MAX_VALUE,
        query.before?.callSid ?? null,
        query.limit,
        query.status ?? null,
        ...(search === '' ? [] : [`%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`]),
      ],
    );
    return res.rows.map((row) => listItemOf(JSON.parse(row.summary) as CallSummary));
  }

  async getCall(callSid: string): Promise<CallSummary | undefined> {
    const res = await this.pool.query<{ summary: string }>('SELECT summary FROM calls WHERE call_sid = $1', [callSid]);
    const row = res.rows[0];
    return row === undefined ? undefined : withTransfers(JSON.parse(row.summary) as CallSummary);
  }

  async getEventLog(callSid: string): Promise<EventLog | undefined> {
    const call = await this.pool.query<{ started_at: number; input: string | null; truncated: boolean }>(
      'SELECT started_at, input, truncated FROM calls WHERE call_sid = $1',
      [callSid],
    );
    const row = call.rows[0];
    if (row === undefined) return undefined;
    const chunks = await this.pool.query<{ entries: Buffer }>('SELECT entries FROM call_events WHERE call_sid = $1 ORDER BY chunk', [callSid]);
    return eventLogFromChunks(callSid, row.started_at, row.input, chunks.rows.map((c) => c.entries), row.truncated);
  }

  /** Runs on one instance at a time: while another instance prunes, this returns 0 at once. */
  async pruneCalls(cutoffMs: number): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS ok', [LOCK_NAMESPACE, LOCKS.prune]);
      if (lock.rows[0]?.ok !== true) return 0;
      await client.query('DELETE FROM webhook_outbox WHERE next_attempt_at IS NULL AND created_at < $1', [cutoffMs]);
      const res = await client.query('DELETE FROM calls WHERE started_at < $1', [cutoffMs]); // events: ON DELETE CASCADE
      return res.rowCount ?? 0;
    });
  }

  async claimDeliveries(nowMs: number, limit: number, leaseMs: number): Promise<OutboxItem[]> {
    const claim = randomUUID();
    const res = await this.pool.query<OutboxRow>(
      `UPDATE webhook_outbox SET next_attempt_at = $2::float8 + $3::float8, claim = $4, claimed_by = $5
       WHERE id IN (SELECT id FROM webhook_outbox WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $2
                    ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING id, call_sid, url, body, attempts`,
      [limit, nowMs, leaseMs, claim, this.instance],
    );
    return res.rows
      .map((r) => ({ id: Number(r.id), callSid: r.call_sid, url: r.url, body: r.body, attempts: r.attempts, claim }))
      .sort((a, b) => a.id - b.id);
  }

  async nextDeliveryAt(): Promise<number | null> {
    const res = await this.pool.query<{ at: number | null }>('SELECT MIN(next_attempt_at) AS at FROM webhook_outbox WHERE next_attempt_at IS NOT NULL');
    return res.rows[0]?.at ?? null;
  }

  async markDelivered(item: OutboxItem, nowMs: number): Promise<boolean> {
    const res = await this.pool.query(
      // The body is a copy of the summary (kept in calls): a delivered row keeps only its bookkeeping.
      `UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = NULL, delivered_at = $3, last_error = NULL, claim = NULL, body = ''
       WHERE id = $1 AND claim = $2`,
      [item.id, item.claim, nowMs],
    );
    return res.rowCount === 1;
  }

  async markAttemptFailed(item: OutboxItem, error: string, nextAttemptAt: number | null): Promise<boolean> {
    const res = await this.pool.query(
      'UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = $3, last_error = $4, claim = NULL WHERE id = $1 AND claim = $2',
      [item.id, item.claim, nextAttemptAt, error],
    );
    return res.rowCount === 1;
  }

  async releaseDelivery(item: OutboxItem, nowMs: number): Promise<boolean> {
    const res = await this.pool.query('UPDATE webhook_outbox SET next_attempt_at = $3, claim = NULL WHERE id = $1 AND claim = $2', [item.id, item.claim, nowMs]);
    return res.rowCount === 1;
  }

  async pendingDeliveries(): Promise<number> {
    const res = await this.pool.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM webhook_outbox WHERE next_attempt_at IS NOT NULL');
    return res.rows[0]?.n ?? 0;
  }

  /** The SQLite store's trim in one statement: rows older than the cutoff, then the oldest beyond the cap, finished first. */
  async trimOutbox(maxRows: number, cutoffMs: number): Promise<OutboxTrim> {
    const res = await this.pool.query<OutboxTrim>(
      `WITH expired AS (DELETE FROM webhook_outbox WHERE created_at < $1 RETURNING next_attempt_at),
       excess AS (
         SELECT id FROM webhook_outbox WHERE created_at >= $1
         ORDER BY (next_attempt_at IS NOT NULL), id
         LIMIT GREATEST(0, (SELECT COUNT(*) FROM webhook_outbox WHERE created_at >= $1) - $2)
       ),
       overflow AS (DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM excess) RETURNING next_attempt_at)
       SELECT (SELECT COUNT(*) FROM expired WHERE next_attempt_at IS NOT NULL)::int AS expired,
              (SELECT COUNT(*) FROM overflow WHERE next_attempt_at IS NOT NULL)::int AS overflow`,
      [cutoffMs, maxRows],
    );
    return res.rows[0] ?? { expired: 0, overflow: 0 };
  }

  async close(): Promise<void> {
    await this.pending.settled();
    await this.pool.end();
  }
}
