/**
 * Calls of a dead instance (shared database only). Each instance keeps a heartbeat row (`instances.last_seen`, the
 * database's clock, so the instances' clocks need not agree). A sweeper, on one instance at a time (advisory lock),
 * ends the records still in progress whose instance has not been seen for `ttlMs`: `endReason: "instance-lost"`,
 * with what was written so far (records are written at turn boundaries), ended at the instance's last heartbeat, and
 * queues their post-call webhooks in the same transaction. At start an instance also ends the records its own ID left
 * in progress (a restart that kept the ID: a fresh process has no calls). Nothing stays "live" forever.
 */
import type { Pool, PoolClient } from 'pg';
import type { Logger } from '../../lib/logger.js';
import { inTransaction, LOCK_NAMESPACE, LOCKS } from './pg-schema.js';
import type { CallSummary } from './summary-types.js';

export const INSTANCE_LOST = 'instance-lost';

export interface InstanceSweeperOptions {
  instance: string;
  /** An instance unseen this long is dead; heartbeats every ttl/3, sweeps every ttl/2. */
  ttlMs: number;
  log: Logger;
  /** The post-call webhook of the swept calls (the same for every instance). */
  webhookUrl?: string;
  /** Records swept, and webhooks queued (the outbox should look). */
  onSwept?: (calls: number) => void;
  onError?: (op: 'heartbeat' | 'sweep', err: unknown) => void;
}

type LostRow = { call_sid: string; summary: string; lost_at: Date };

export class InstanceSweeper {
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly opts: InstanceSweeperOptions,
  ) {}

  /** Periodic heartbeat and sweep (the first heartbeat belongs to the store's preparation). */
  start(): void {
    const every = (ms: number, fn: () => Promise<unknown>, op: 'heartbeat' | 'sweep') => {
      const timer = setInterval(() => void fn().catch((err: unknown) => this.opts.onError?.(op, err)), ms);
      timer.unref();
      return timer;
    };
    this.heartbeatTimer = every(Math.max(100, Math.floor(this.opts.ttlMs / 3)), () => this.heartbeat(), 'heartbeat');
    this.sweepTimer = every(Math.max(100, Math.floor(this.opts.ttlMs / 2)), () => this.sweep(), 'sweep');
  }

  stop(): void {
    clearInterval(this.heartbeatTimer);
    clearInterval(this.sweepTimer);
  }

  async heartbeat(): Promise<void> {
    await this.pool.query('INSERT INTO instances (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET last_seen = now()', [this.opts.instance]);
  }

  /** Ends the records this instance's ID left in progress in an earlier life; returns how many. */
  async endOwnLeftovers(): Promise<number> {
    return this.ending(async (client) => {
      const rows = await client.query<LostRow>(
        `SELECT call_sid, summary, updated_at AS lost_at FROM calls
         WHERE status = 'in-progress' AND instance = $1 FOR UPDATE SKIP LOCKED`,
        [this.opts.instance],
      );
      return this.end(client, rows.rows);
    }, 'left in progress by an earlier run of this instance');
  }

  /** One sweep, if no other instance is sweeping; returns the records ended. */
  async sweep(): Promise<number> {
    return this.ending(async (client) => {
      const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS ok', [LOCK_NAMESPACE, LOCKS.sweep]);
      if (lock.rows[0]?.ok !== true) return [];
      const rows = await client.query<LostRow>(
        `SELECT c.call_sid, c.summary, COALESCE(i.last_seen, c.updated_at) AS lost_at
         FROM calls c LEFT JOIN instances i ON i.id = c.instance
         WHERE c.status = 'in-progress' AND c.instance IS DISTINCT FROM $1
           AND (i.id IS NULL OR i.last_seen < now() - make_interval(secs => $2::float8 / 1000))
         ORDER BY c.started_at LIMIT 1000
         FOR UPDATE OF c SKIP LOCKED`,
        [this.opts.instance, this.opts.ttlMs],
      );
      const ended = await this.end(client, rows.rows);
      // Dead instances with nothing left in progress: forgotten (a day later, so a slow restart is still recognised).
      await client.query(
        `DELETE FROM instances i WHERE i.last_seen < now() - interval '1 day'
           AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.instance = i.id AND c.status = 'in-progress')`,
      );
      return ended;
    }, 'its instance stopped sending heartbeats');
  }

  /** Runs `fn` in a transaction; after the commit, logs each record ended and tells `onSwept`. */
  private async ending(fn: (client: PoolClient) => Promise<{ callSid: string; instance: string | null }[]>, why: string): Promise<number> {
    const ended = await inTransaction(this.pool, fn);
    for (const call of ended) this.opts.log.warn('call record ended: its instance was lost', { ...call, why });
    if (ended.length > 0) this.opts.onSwept?.(ended.length);
    return ended.length;
  }

  private async end(client: PoolClient, rows: LostRow[]): Promise<{ callSid: string; instance: string | null }[]> {
    const now = Date.now();
    const ended: { callSid: string; instance: string | null }[] = [];
    for (const row of rows) {
      const summary = JSON.parse(row.summary) as CallSummary;
      const endedAt = Math.max(Date.parse(summary.startedAt), row.lost_at.getTime());
      summary.status = 'ended';
      summary.endReason = INSTANCE_LOST;
      summary.endedAt = new Date(endedAt).toISOString();
      summary.durationMs = endedAt - Date.parse(summary.startedAt);
      const body = JSON.stringify(summary);
      await client.query("UPDATE calls SET status = 'ended', summary = $2, updated_at = now() WHERE call_sid = $1", [row.call_sid, body]);
      if (this.opts.webhookUrl !== undefined) {
        await client.query('INSERT INTO webhook_outbox (call_sid, url, body, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $4)', [
          row.call_sid,
          this.opts.webhookUrl,
          body,
          now,
        ]);
      }
      ended.push({ callSid: row.call_sid, instance: summary.instance });
    }
    return ended;
  }
}
