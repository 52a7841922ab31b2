/**
 * The default call store: one SQLite file (better-sqlite3 v12), WAL mode, created on first start. Calls hold their
 * summary as JSON; the event log is kept in chunks (one row per write, a JSON array each) so a write appends and
 * never rewrites; the webhook outbox lives in the same file so a queued delivery survives restarts. The store is
 * synchronous inside (better-sqlite3); its methods are async only to share the `CallStore` interface.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { eventLogFromChunks, packEventChunk, type EventLog } from './event-log.js';
import { PendingWrites, type CallListQuery, type CallStore, type CallWrite, type OutboxItem, type OutboxTrim, type WriteSize } from './store.js';
import { listItemOf, withTransfers, type CallListItem, type CallSummary } from './summary-types.js';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS calls (
  call_sid TEXT PRIMARY KEY,
  started_at REAL NOT NULL,
  status TEXT NOT NULL,
  summary TEXT NOT NULL,
  input TEXT,
  event_count INTEGER NOT NULL DEFAULT 0,
  event_chunks INTEGER NOT NULL DEFAULT 0,
  truncated INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS calls_by_start ON calls (started_at, call_sid);
CREATE TABLE IF NOT EXISTS call_events (
  call_sid TEXT NOT NULL,
  chunk INTEGER NOT NULL,
  entries BLOB NOT NULL, -- a JSON array of log entries, deflate-compressed
  PRIMARY KEY (call_sid, chunk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS webhook_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  call_sid TEXT NOT NULL,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at REAL,
  created_at REAL NOT NULL,
  delivered_at REAL,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON webhook_outbox (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
`;

/** `readonly`: for tools reading records (replay): the file must exist and nothing is created or changed. */
export function openSqliteStore(file: string, opts: { readonly?: boolean } = {}): CallStore {
  if (opts.readonly) return new SqliteCallStore(new Database(file, { readonly: true, fileMustExist: true }));
  if (file !== ':memory:') createPrivately(file);
  // timeout 0: a lock held by another process fails the write at once instead of blocking every call's event loop.
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('journal_mode = WAL');
    // SQLite gives the WAL and shared-memory files the database file's mode; ones left by an older run are tightened.
    if (file !== ':memory:') for (const extra of ['-wal', '-shm']) tightenIfPresent(`${file}${extra}`);
    db.pragma('synchronous = NORMAL'); // durable across process crashes; a power loss may lose the last writes
    const version = db.pragma('user_version', { simple: true });
    if (typeof version === 'number' && version > SCHEMA_VERSION) {
      throw new Error(`call database ${file} has schema version ${version}, newer than this server's ${SCHEMA_VERSION}`);
    }
    if (version !== SCHEMA_VERSION) {
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }
    return new SqliteCallStore(db);
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * The records hold transcripts: a directory we create is the owner's only (0700), and a database file we create is
 * 0600 whatever the umask. One an older run left is tightened: group and others lose their bits, the owner's stay as
 * they are (a file made read-only on purpose stays read-only).
 */
function createPrivately(file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  try {
    fs.closeSync(fs.openSync(file, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  tightenIfPresent(file);
}

function tightenIfPresent(file: string): void {
  try {
    const mode = fs.statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) fs.chmodSync(file, mode & 0o700);
  } catch (err) {
    // Gone, or another user's file (their modes are theirs to choose): nothing to tighten.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EPERM') throw err;
  }
}

class SqliteCallStore implements CallStore {
  /**
   * Claims of this process, in memory: one process per file, so a claim needs no column, and a delivery in flight
   * when the process died is due again at once at the next start (as before claims existed).
   */
  private readonly claims = new Map<number, { claim: string; until: number }>();
  private readonly upsertCall;
  private readonly insertChunk;
  private readonly enqueue;
  private readonly write;
  private readonly pending = new PendingWrites();

  constructor(private readonly db: Database.Database) {
    this.upsertCall = db.prepare<{ sid: string; started: number; status: string; summary: string; input: string | null; count: number; chunks: number; truncated: number }>(`
      INSERT INTO calls (call_sid, started_at, status, summary, input, event_count, event_chunks, truncated)
      VALUES (@sid, @started, @status, @summary, @input, @count, @chunks, @truncated)
      ON CONFLICT (call_sid) DO UPDATE SET
        status = excluded.status, summary = excluded.summary, input = COALESCE(excluded.input, calls.input),
        event_count = calls.event_count + excluded.event_count, event_chunks = calls.event_chunks + excluded.event_chunks,
        truncated = excluded.truncated`);
    this.insertChunk = db.prepare<[string, string, Buffer]>(
      `INSERT INTO call_events (call_sid, chunk, entries)
       VALUES (?, (SELECT COALESCE(MAX(chunk) + 1, 0) FROM call_events WHERE call_sid = ?), ?)`,
    );
    this.enqueue = db.prepare<[string, string, string, number, number]>(
      'INSERT INTO webhook_outbox (call_sid, url, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.write = db.transaction((w: CallWrite, packed: Buffer | null): WriteSize => {
      const summary = JSON.stringify(w.summary);
      const input = w.input === undefined ? null : JSON.stringify(w.input);
      const chunk = packed === null ? 0 : 1;
      this.upsertCall.run({
        sid: w.summary.callSid,
        started: Date.parse(w.summary.startedAt),
        status: w.summary.status,
        summary,
        input,
        count: w.eventCount,
        chunks: chunk,
        truncated: w.summary.eventLog.truncated ? 1 : 0,
      });
      let appended = input?.length ?? 0;
      if (packed !== null) {
        this.insertChunk.run(w.summary.callSid, w.summary.callSid, packed);
        appended += packed.length;
      }
      if (w.webhook) {
        const now = Date.now();
        this.enqueue.run(w.summary.callSid, w.webhook.url, w.webhook.body, now, now);
        appended += w.webhook.body.length;
      }
      return { summary: summary.length, appended };
    });
  }

  async writeCall(write: CallWrite): Promise<WriteSize> {
    return this.pending.track((async () => this.write(write, write.eventCount > 0 ? await packEventChunk(write.eventsJson) : null))());
  }

  async listCalls(query: CallListQuery): Promise<CallListItem[]> {
    const search = query.search?.trim() ?? '';
    // A search matches the callSid, either number, or any transcript text (LIKE: case-insensitive for ASCII).
    const matching = search === ''
      ? ''
      : `AND (call_sid LIKE @q ESCAPE '\\' OR json_extract(summary, '$.from') LIKE @q ESCAPE '\\' OR json_extract(summary, '$.to') LIKE @q ESCAPE '\\'
           OR EXISTS (SELECT 1 FROM json_each(summary, '$.conversation') AS e
                      WHERE json_extract(e.value, '$.text') LIKE @q ESCAPE '\\' OR json_extract(e.value, '$.heard') LIKE @q ESCAPE '\\'))`;
    const rows = this.db
      .prepare<{ ms: number; sid: string | null; limit: number; q: string; status: string | null }, { summary: string }>(
        `SELECT summary FROM calls
         WHERE (started_at < @ms OR (started_at = @ms AND @sid IS NOT NULL AND call_sid < @sid)) AND (@status IS NULL OR status = @status) ${matching}
         ORDER BY started_at DESC, call_sid DESC LIMIT @limit`,
      )
      .all({ ms: query.before?.ms ?? Number.MAX_VALUE, sid: query.before?.callSid ?? null, limit: query.limit, q: `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`, status: query.status ?? null });
    return rows.map((row) => listItemOf(JSON.parse(row.summary) as CallSummary));
  }

  async getCall(callSid: string): Promise<CallSummary | undefined> {
    const row = this.db.prepare<[string], { summary: string }>('SELECT summary FROM calls WHERE call_sid = ?').get(callSid);
    return row === undefined ? undefined : withTransfers(JSON.parse(row.summary) as CallSummary);
  }

  async getEventLog(callSid: string): Promise<EventLog | undefined> {
    const call = this.db
      .prepare<[string], { started_at: number; input: string | null; truncated: number }>('SELECT started_at, input, truncated FROM calls WHERE call_sid = ?')
      .get(callSid);
    if (call === undefined) return undefined;
    const chunks = this.db
      .prepare<[string], { entries: Buffer }>('SELECT entries FROM call_events WHERE call_sid = ? ORDER BY chunk')
      .all(callSid);
    return eventLogFromChunks(callSid, call.started_at, call.input, chunks.map((c) => c.entries), call.truncated === 1);
  }

  async pruneCalls(cutoffMs: number): Promise<number> {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM call_events WHERE call_sid IN (SELECT call_sid FROM calls WHERE started_at < ?)').run(cutoffMs);
      this.db.prepare('DELETE FROM webhook_outbox WHERE next_attempt_at IS NULL AND created_at < ?').run(cutoffMs);
      return this.db.prepare('DELETE FROM calls WHERE started_at < ?').run(cutoffMs).changes;
    })();
  }

  async claimDeliveries(nowMs: number, limit: number, leaseMs: number): Promise<OutboxItem[]> {
    const held = new Set([...this.claims].filter(([, c]) => c.until > nowMs).map(([id]) => id));
    const rows = this.db
      .prepare<[number, number], { id: number; call_sid: string; url: string; body: string; attempts: number }>(
        'SELECT id, call_sid, url, body, attempts FROM webhook_outbox WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?',
      )
      .all(nowMs, limit + held.size);
    return rows
      .filter((r) => !held.has(r.id))
      .slice(0, limit)
      .map((r) => {
        const claim = randomUUID();
        this.claims.set(r.id, { claim, until: nowMs + leaseMs });
        return { id: r.id, callSid: r.call_sid, url: r.url, body: r.body, attempts: r.attempts, claim };
      });
  }

  async nextDeliveryAt(): Promise<number | null> {
    // A claimed delivery is due again when its lease ends: look past the claimed ones to the first that is not.
    const rows = this.db
      .prepare<[number], { id: number; at: number }>('SELECT id, next_attempt_at AS at FROM webhook_outbox WHERE next_attempt_at IS NOT NULL ORDER BY next_attempt_at LIMIT ?')
      .all(this.claims.size + 1);
    const due = rows.map((r) => Math.max(r.at, this.claims.get(r.id)?.until ?? -Infinity));
    return due.length === 0 ? null : Math.min(...due);
  }

  async markDelivered(item: OutboxItem, nowMs: number): Promise<boolean> {
    if (!this.release(item)) return false;
    this.db
      // The body is a copy of the summary (kept in `calls`): a delivered row keeps only its bookkeeping.
      .prepare("UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = NULL, delivered_at = ?, last_error = NULL, body = '' WHERE id = ?")
      .run(nowMs, item.id);
    return true;
  }

  async markAttemptFailed(item: OutboxItem, error: string, nextAttemptAt: number | null): Promise<boolean> {
    if (!this.release(item)) return false;
    this.db.prepare('UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?').run(nextAttemptAt, error, item.id);
    return true;
  }

  async releaseDelivery(item: OutboxItem, _nowMs: number): Promise<boolean> {
    return this.release(item); // due again at once: its row was never changed
  }

  /** Ends this process's claim on the item; false when it no longer holds it. */
  private release(item: OutboxItem): boolean {
    if (this.claims.get(item.id)?.claim !== item.claim) return false;
    this.claims.delete(item.id);
    return true;
  }

  async pendingDeliveries(): Promise<number> {
    const row = this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM webhook_outbox WHERE next_attempt_at IS NOT NULL').get();
    return row?.n ?? 0;
  }

  async trimOutbox(maxRows: number, cutoffMs: number): Promise<OutboxTrim> {
    const pending = (): number => this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM webhook_outbox WHERE next_attempt_at IS NOT NULL').get()?.n ?? 0;
    return this.db.transaction((): OutboxTrim => {
      const start = pending();
      this.db.prepare('DELETE FROM webhook_outbox WHERE created_at < ?').run(cutoffMs);
      const afterAge = pending();
      const rows = this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM webhook_outbox').get()?.n ?? 0;
      if (rows > maxRows) {
        this.db
          .prepare('DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox ORDER BY next_attempt_at IS NOT NULL, id LIMIT ?)')
          .run(rows - maxRows);
      }
      return { expired: start - afterAge, overflow: afterAge - pending() };
    })();
  }

  async close(): Promise<void> {
    await this.pending.settled();
    if (this.db.open) this.db.close();
  }
}
