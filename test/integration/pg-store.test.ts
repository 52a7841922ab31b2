/**
 * The call store on the machine's real PostgreSQL (a fresh database per file, dropped after): the shared store
 * contract, migrations raced by N starting instances, the webhook outbox delivered exactly once by concurrent
 * instances (and taken over from one that died mid-delivery), the bounded write queue while the database is
 * unreachable and while its backends are killed, and the instance-lost sweep.
 */
import http from 'node:http';
import type net from 'node:net';
import { Writable } from 'node:stream';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import winston from 'winston';
import { silentLogger, type Logger } from '../../lib/logger.js';
import { InstanceSweeper } from '../../src/records/pg-instances.js';
import { LOCK_NAMESPACE, LOCKS, migrate, SCHEMA_VERSION } from '../../src/records/pg-schema.js';
import { createPgPool, PostgresCallStore } from '../../src/records/pg-store.js';
import { createRecordMetrics } from '../../src/records/record-metrics.js';
import { WebhookOutbox } from '../../src/records/webhook.js';
import { QueuedCallStore, RecordQueueFullError } from '../../src/records/write-queue.js';
import { has } from '../support/externals.js';
import { createTestDatabase, freePort, startProxy, type TestDatabase } from '../support/postgres.js';
import { storeContract, summary } from '../support/store-contract.js';

const enabled = has('postgres');
let db: TestDatabase;
const pools: pg.Pool[] = [];

beforeAll(async () => {
  if (enabled) db = await createTestDatabase();
});
afterAll(async () => {
  await Promise.allSettled(pools.map((p) => p.end()));
  await db?.drop();
});

function pool(instance: string, url = db.url): pg.Pool {
  const p = createPgPool(url, { instance, connectTimeoutMs: 1000, onIdleError: () => undefined });
  pools.push(p);
  return p;
}

async function freshStore(instance = 'test-1'): Promise<PostgresCallStore> {
  const p = pool(instance);
  await migrate(p);
  await p.query('TRUNCATE calls, call_events, webhook_outbox, instances');
  return new PostgresCallStore(p, instance);
}

function capture(): { log: Logger; lines: { level: string; message: string; [k: string]: unknown }[] } {
  const lines: { level: string; message: string }[] = [];
  const stream = new Writable({
    objectMode: true,
    write(info: { level: string; message: string }, _enc, done) {
      lines.push(info);
      done();
    },
  });
  return { lines, log: winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] }) };
}

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

const counter = async (metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> }, labels: Record<string, string> = {}) =>
  (await metric.get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;

describe.skipIf(!enabled)('PostgreSQL call store', () => {
  storeContract('PostgreSQL', () => freshStore());

  it('migrations raced by 8 instances starting together: each step applied once, nobody fails', async () => {
    const fresh = await createTestDatabase();
    try {
      const starts = Array.from({ length: 8 }, (_, i) => pool(`racer-${i}`, fresh.url));
      const applied = await Promise.all(starts.map((p) => migrate(p)));
      expect(applied.flat()).toEqual([SCHEMA_VERSION]); // exactly one instance applied it
      const versions = await fresh.query<{ version: number }>('SELECT version FROM schema_migrations');
      expect(versions.rows).toEqual([{ version: SCHEMA_VERSION }]);
      expect(await migrate(starts[0] as pg.Pool)).toEqual([]); // idempotent
      await Promise.all(starts.map((p) => p.end()));
      pools.splice(0, pools.length, ...pools.filter((p) => !starts.includes(p)));
    } finally {
      await fresh.drop();
    }
  });

  it('retention pruning runs on one instance at a time: while another holds the prune lock, it skips', async () => {
    const store = await freshStore('pruner');
    await store.writeCall({ summary: summary('CAold', 1_700_000_000_000), eventsJson: '[{"t":0}]', eventCount: 1 });
    const other = await pool('other-pruner').connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, LOCKS.prune]); // another instance pruning
      expect(await store.pruneCalls(1_800_000_000_000)).toBe(0);
      expect(await store.getCall('CAold')).toBeDefined();
      await other.query('COMMIT');
      expect(await store.pruneCalls(1_800_000_000_000)).toBe(1);
      expect(await db.query('SELECT 1 FROM call_events')).toMatchObject({ rowCount: 0 });
    } finally {
      other.release();
    }
  });

  it('the webhook outbox: three instances deliver 40 webhooks exactly once; one dead mid-delivery is taken over after its lease', async () => {
    const store = await freshStore('writer');
    const received = new Map<string, number>();
    const receiver = http.createServer((req, res) => {
      const sid = String(req.headers['x-call-sid']);
      received.set(sid, (received.get(sid) ?? 0) + 1);
      req.resume();
      req.on('end', () => setTimeout(() => res.end('ok'), 5)); // a little work, so claims overlap
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(receiver.address() as net.AddressInfo).port}/hook`;
    try {
      for (let i = 0; i < 40; i++) {
        await store.writeCall({ summary: summary(`CAw${i}`, Date.now()), eventsJson: '', eventCount: 0, webhook: { url, body: `{"n":${i}}` } });
      }
      // A fourth instance claims two deliveries and dies before delivering them (its lease: 1.5 s).
      const dead = await new PostgresCallStore(pool('dead'), 'dead').claimDeliveries(Date.now(), 2, 1500);
      expect(dead).toHaveLength(2);
      const outboxes = ['a', 'b', 'c'].map(
        (name) =>
          new WebhookOutbox(new PostgresCallStore(pool(name), name), {
            secret: 's3cret',
            log: silentLogger,
            metrics: createRecordMetrics(new Registry()),
            pollMs: 200,
            retry: { baseMs: 100, maxMs: 1000, maxAttempts: 5, timeoutMs: 2000 },
          }),
      );
      outboxes.forEach((o) => o.kick());
      await eventually(() => received.size === 40, 'every webhook delivered');
      await new Promise((r) => setTimeout(r, 500)); // nothing more arrives
      expect([...received.values()].every((n) => n === 1)).toBe(true);
      expect(await store.pendingDeliveries()).toBe(0);
      const by = await db.query<{ claimed_by: string; n: number }>('SELECT claimed_by, COUNT(*)::int AS n FROM webhook_outbox GROUP BY claimed_by');
      expect(by.rows.map((r) => r.claimed_by).sort()).toEqual(expect.arrayContaining(['a', 'b'])); // the work was shared
      expect(by.rows.find((r) => r.claimed_by === 'dead')).toBeUndefined(); // its two were taken over
      await Promise.all(outboxes.map((o) => o.stop()));
    } finally {
      receiver.close();
    }
  });

  it('an outbox stopped while it claims (a draining instance exiting): the row is given back before stop() resolves, not left leased', async () => {
    const store = await freshStore('stopping');
    await store.writeCall({ summary: summary('CAstop', Date.now()), eventsJson: '', eventCount: 0, webhook: { url: 'http://127.0.0.1:9/never', body: '{}' } });
    const stopping = pool('stopping');
    // The stop comes while the claim's answer is on its way back: claimed in the database, not yet seen by the outbox.
    let claimStarted!: () => void;
    const claiming = new Promise<void>((resolve) => (claimStarted = resolve));
    let letThrough!: () => void;
    const gate = new Promise<void>((resolve) => (letThrough = resolve));
    class SlowClaims extends PostgresCallStore {
      override async claimDeliveries(nowMs: number, limit: number, leaseMs: number) {
        const claimed = await super.claimDeliveries(nowMs, limit, leaseMs);
        claimStarted();
        await gate;
        return claimed;
      }
    }
    const outbox = new WebhookOutbox(new SlowClaims(stopping, 'stopping'), { secret: 's3cret', log: silentLogger, metrics: createRecordMetrics(new Registry()) });
    outbox.kick();
    await claiming;
    const stopped = outbox.stop();
    setTimeout(letThrough, 50);
    await stopped;
    await stopping.end(); // the server closes its pool once the outbox has stopped
    await new Promise((r) => setTimeout(r, 200));
    const row = await db.query<{ next_attempt_at: number; attempts: number }>("SELECT next_attempt_at, attempts FROM webhook_outbox WHERE call_sid = 'CAstop'");
    expect(row.rows[0]?.attempts).toBe(0);
    expect(row.rows[0]?.next_attempt_at).toBeLessThanOrEqual(Date.now()); // due at once for another instance
  });

  it('PostgreSQL unreachable: writes wait in a bounded queue (overflow counted and logged once), then land when it is back', async () => {
    await freshStore('setup'); // migrated, empty
    const port = await freePort();
    const target = new URL(db.url);
    const proxyUrl = new URL(db.url);
    proxyUrl.port = String(port);
    const { log, lines } = capture();
    const metrics = createRecordMetrics(new Registry());
    const inner = new PostgresCallStore(pool('queued', proxyUrl.toString()), 'queued');
    const queued = new QueuedCallStore(inner, { maxBytes: 20_000, log, metrics, prepare: async () => void (await migrate(pool('queued-prep', proxyUrl.toString()))), retryMinMs: 100, retryMaxMs: 300 });
    queued.start();
    await eventually(() => lines.some((l) => l.message.startsWith('database unreachable')), 'the outage logged');
    expect(queued.healthy).toBe(false);
    expect(await counter(metrics.dbUp)).toBe(0);

    // Calls go on: writes are accepted until the bound, then refused (counted), and the log says so once.
    const events = `[${Array.from({ length: 20 }, (_, i) => `{"t":${i},"state":"listening"}`).join(',')}]`;
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      try {
        await queued.writeCall({ summary: summary(`CAq${i}`, Date.now() + i), eventsJson: events, eventCount: 20 });
        accepted++;
      } catch (err) {
        expect(err).toBeInstanceOf(RecordQueueFullError);
        refused++;
      }
    }
    // Two writes of one call while waiting: merged into one row write, events in order.
    await queued.writeCall({ summary: summary('CAq0', Date.now()), eventsJson: '[{"t":99,"state":"ended"}]', eventCount: 1 });
    expect(accepted).toBeGreaterThan(5);
    expect(refused).toBeGreaterThan(5);
    expect(await counter(metrics.queueDropped, { kind: 'final' })).toBe(refused);
    expect(lines.filter((l) => l.message.startsWith('call record queue full'))).toHaveLength(1);

    const proxy = await startProxy(port, Number(target.port || 5432));
    try {
      await eventually(() => queued.waiting === 0, 'the queue written');
      expect(queued.healthy).toBe(true);
      expect(lines.some((l) => l.message.startsWith('database reachable again'))).toBe(true);
      const stored = await db.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM calls WHERE call_sid LIKE 'CAq%'");
      expect(stored.rows[0]?.n).toBe(accepted);
      const log0 = await inner.getEventLog('CAq0');
      expect(log0?.entries).toHaveLength(21);
      expect(log0?.entries.at(-1)).toEqual({ t: 99, state: 'ended' });
      const chunks = await db.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM call_events WHERE call_sid = 'CAq0'");
      expect(chunks.rows[0]?.n).toBe(1);
      await queued.close();
    } finally {
      proxy.close();
    }
  });

  it('the pool’s backends killed (pg_terminate_backend) mid-run: every write still lands, nothing crashes', async () => {
    await freshStore('setup');
    const metrics = createRecordMetrics(new Registry());
    const inner = new PostgresCallStore(pool('victim'), 'victim');
    const queued = new QueuedCallStore(inner, { maxBytes: 10_000_000, log: silentLogger, metrics, prepare: async () => undefined, retryMinMs: 50, retryMaxMs: 200 });
    queued.start();
    let kills = 0;
    for (let i = 0; i < 200; i++) {
      await queued.writeCall({ summary: summary(`CAk${i % 20}`, 1_800_000_000_000 + (i % 20), i < 180 ? 'in-progress' : 'ended'), eventsJson: `[{"t":${i}}]`, eventCount: 1 });
      if (i % 40 === 20) {
        const killed = await db.query<{ ok: boolean }>("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'voice-call-orchestrator victim'");
        kills += killed.rows.length;
      }
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await eventually(() => queued.waiting === 0, 'every write landed');
    expect(kills).toBeGreaterThan(0);
    const rows = await db.query<{ call_sid: string; event_count: number }>("SELECT call_sid, event_count FROM calls WHERE call_sid LIKE 'CAk%' ORDER BY call_sid");
    expect(rows.rows).toHaveLength(20);
    expect(rows.rows.reduce((n, r) => n + r.event_count, 0)).toBe(200);
    for (let c = 0; c < 20; c++) {
      const log = await inner.getEventLog(`CAk${c}`);
      expect(log?.entries.map((e) => (e as unknown as { t: number }).t)).toEqual(Array.from({ length: 10 }, (_, k) => c + 20 * k)); // in order
    }
    expect(await counter(metrics.queueDropped)).toBe(0);
    await queued.close();
  });

  it('instance lost: a survivor ends the dead instance’s records in progress (once, under concurrent sweepers) and queues their webhooks', async () => {
    const store = await freshStore('A');
    const p = pool('sweepers');
    const sweeper = (instance: string) => new InstanceSweeper(p, { instance, ttlMs: 1000, log: silentLogger, webhookUrl: 'http://127.0.0.1:9/hook' });
    const [a, b, c] = [sweeper('A'), sweeper('B'), sweeper('C')];
    await Promise.all([a.heartbeat(), b.heartbeat(), c.heartbeat()]);
    const t = Date.now();
    await store.writeCall({ summary: { ...summary('CAlost', t - 5000, 'in-progress'), instance: 'A', turns: [] }, eventsJson: '[{"t":0}]', eventCount: 1 });
    await store.writeCall({ summary: { ...summary('CAalive', t - 5000, 'in-progress'), instance: 'B' }, eventsJson: '', eventCount: 0 });
    await store.writeCall({ summary: { ...summary('CAdone', t - 5000, 'ended'), instance: 'A' }, eventsJson: '', eventCount: 0 });
    expect(await b.sweep()).toBe(0); // A is alive
    // A dies (no more heartbeats); B keeps beating.
    await new Promise((r) => setTimeout(r, 1200));
    await b.heartbeat();
    await c.heartbeat();
    const swept = await Promise.all([b.sweep(), c.sweep(), b.sweep(), c.sweep()]);
    expect(swept.reduce((x, y) => x + y, 0)).toBe(1);
    const lost = await store.getCall('CAlost');
    expect(lost).toMatchObject({ status: 'ended', endReason: 'instance-lost', instance: 'A' });
    expect(Date.parse(lost?.endedAt ?? '')).toBeGreaterThan(t - 1000); // at its last heartbeat
    expect(lost?.durationMs).toBe(Date.parse(lost?.endedAt ?? '') - (t - 5000));
    expect((await store.getEventLog('CAlost'))?.entries).toEqual([{ t: 0 }]); // what was captured so far
    expect((await store.getCall('CAalive'))?.status).toBe('in-progress');
    expect((await store.getCall('CAdone'))?.endReason).toBeNull();
    const hooks = await db.query<{ call_sid: string; body: string }>('SELECT call_sid, body FROM webhook_outbox');
    expect(hooks.rows.map((r) => r.call_sid)).toEqual(['CAlost']);
    expect(JSON.parse(hooks.rows[0]?.body ?? '{}')).toEqual(lost);

    // B restarts with the same ID: its own leftovers end at its start (a fresh process has no calls).
    expect(await b.endOwnLeftovers()).toBe(1);
    expect((await store.getCall('CAalive'))?.endReason).toBe('instance-lost');
  });
});
