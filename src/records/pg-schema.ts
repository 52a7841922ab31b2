/**
 * The PostgreSQL schema and its migrations. Each instance runs them at start, in one transaction holding a
 * transaction-level advisory lock: N instances starting together apply each step exactly once (the others wait on
 * the lock, then find it applied). A database migrated by a newer server is refused rather than half understood.
 */
import type { Pool, PoolClient } from 'pg';

/** Advisory lock keys of this service (first int: the service, second: what is locked). */
export const LOCK_NAMESPACE = 0x7c0_0001;
export const LOCKS = { migrate: 1, prune: 2, sweep: 3 } as const;

/** Ordered steps; a step is never edited once released, a change is a new step. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE calls (
     call_sid text COLLATE "C" PRIMARY KEY, -- byte order, as SQLite: the keyset cursor compares it
     started_at double precision NOT NULL,
     status text NOT NULL,
     instance text,
     summary text NOT NULL,          -- the CallSummary JSON as written (key order kept)
     input text,
     event_count integer NOT NULL DEFAULT 0,
     event_chunks integer NOT NULL DEFAULT 0,
     truncated boolean NOT NULL DEFAULT false,
     updated_at timestamptz NOT NULL DEFAULT now()
   );
   CREATE INDEX calls_by_start ON calls (started_at, call_sid);
   CREATE INDEX calls_in_progress ON calls (instance) WHERE status = 'in-progress';
   CREATE TABLE call_events (
     call_sid text NOT NULL REFERENCES calls (call_sid) ON DELETE CASCADE,
     chunk integer NOT NULL,
     entries bytea NOT NULL,         -- a JSON array of log entries, deflate-compressed
     PRIMARY KEY (call_sid, chunk)
   );
   CREATE TABLE webhook_outbox (
     id bigserial PRIMARY KEY,
     call_sid text NOT NULL,
     url text NOT NULL,
     body text NOT NULL,
     attempts integer NOT NULL DEFAULT 0,
     next_attempt_at double precision,
     created_at double precision NOT NULL,
     delivered_at double precision,
     last_error text,
     claim text,
     claimed_by text
   );
   CREATE INDEX outbox_pending ON webhook_outbox (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
   CREATE TABLE instances (
     id text PRIMARY KEY,
     started_at timestamptz NOT NULL DEFAULT now(),
     last_seen timestamptz NOT NULL DEFAULT now()
   );`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Applies the missing steps under the migration lock; returns the versions applied by this call. */
export async function migrate(pool: Pool): Promise<number[]> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, LOCKS.migrate]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const current = await schemaVersion(client);
    if (current > SCHEMA_VERSION) throw new Error(`the call database has schema version ${current}, newer than this server's ${SCHEMA_VERSION}`);
    const applied: number[] = [];
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      await client.query(MIGRATIONS[version - 1] ?? '');
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
      applied.push(version);
    }
    return applied;
  });
}

/** `BEGIN … COMMIT` on one pooled connection; ROLLBACK on error, and a connection that failed is not reused. */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    failure = err instanceof Error ? err : new Error(String(err));
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release(failure);
  }
}

/** 0 when nothing was ever migrated. */
export async function schemaVersion(client: Pool | PoolClient): Promise<number> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (exists.rows[0]?.t == null) return 0;
  const res = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
  return res.rows[0]?.v ?? 0;
}
