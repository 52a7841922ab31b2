/**
 * The webhook outbox while the receiver is down or refuses: bounded in rows and in age (given-up rows included, with
 * retention 0), every pending delivery dropped counted; a delivered row keeps no copy of the summary.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logger.js';
import { createRecordMetrics } from '../../src/records/record-metrics.js';
import { openSqliteStore } from '../../src/records/sqlite-store.js';
import type { CallSummary } from '../../src/records/summary-types.js';
import { WebhookOutbox, type RetryPolicy } from '../../src/records/webhook.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outbox-limits-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Far apart retries: each test sees only first attempts. */
const RETRY: RetryPolicy = { baseMs: 3_600_000, maxMs: 3_600_000, maxAttempts: 15, timeoutMs: 2000 };

function summary(callSid: string): CallSummary {
  return {
    version: 1, callSid, streamSid: null, accountSid: null, direction: '', from: '', to: '', customParameters: {}, agent: null, instance: null,
    status: 'ended', startedAt: new Date().toISOString(), answeredAt: null, endedAt: null, durationMs: null, endReason: null,
    answeredBy: null, conversation: [], turns: [], bargeIns: [], transfers: [], errors: [], eventLog: { entries: 0, truncated: false },
  };
}

/** A receiver answering `status` to every delivery. */
async function receiver(status: number): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
  let received = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received: () => received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i > 250) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function rows(file: string): Array<{ call_sid: string; body: string; next_attempt_at: number | null }> {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare<[], { call_sid: string; body: string; next_attempt_at: number | null }>('SELECT call_sid, body, next_attempt_at FROM webhook_outbox ORDER BY id').all();
  } finally {
    db.close();
  }
}

describe('webhook outbox limits', () => {
  it('keeps at most maxRows while the receiver is down: the oldest pending go, counted', async () => {
    const down = await receiver(503);
    const file = path.join(dir, 'rows.db');
    const store = openSqliteStore(file);
    const metrics = createRecordMetrics(new Registry());
    const outbox = new WebhookOutbox(store, { secret: 's', log: silentLogger, metrics, retry: RETRY, limits: { maxRows: 3, maxAgeMs: 3_600_000 } });
    for (let i = 1; i <= 6; i++) {
      store.writeCall({ summary: summary(`CA${i}`), eventsJson: '', eventCount: 0, webhook: { url: down.url, body: `{"call":${i}}` } });
      outbox.kick();
      await until(() => down.received() === i, `attempt ${i}`);
    }
    outbox.kick();
    await until(() => rows(file).length === 3, 'the outbox to shrink to 3 rows');
    expect(rows(file).map((r) => r.call_sid)).toEqual(['CA4', 'CA5', 'CA6']);
    expect((await metrics.webhookDropped.get()).values).toEqual([expect.objectContaining({ labels: { reason: 'overflow' }, value: 3 })]);
    await outbox.stop();
    store.close();
    await down.close();
  });

  it('given-up rows leave after maxAgeMs (retention 0 or not); a delivered row keeps no body', async () => {
    const refusing = await receiver(400); // not retryable: given up at once
    const file = path.join(dir, 'age.db');
    const store = openSqliteStore(file);
    const metrics = createRecordMetrics(new Registry());
    const outbox = new WebhookOutbox(store, { secret: 's', log: silentLogger, metrics, retry: RETRY, limits: { maxRows: 100, maxAgeMs: 300 } });
    store.writeCall({ summary: summary('CAgone'), eventsJson: '', eventCount: 0, webhook: { url: refusing.url, body: '{"transcript":"personal"}' } });
    outbox.kick();
    await until(() => refusing.received() === 1 && rows(file)[0]?.next_attempt_at === null, 'the delivery to be given up');
    expect(rows(file)[0]?.body).toContain('personal');
    await new Promise((resolve) => setTimeout(resolve, 350));
    outbox.trim();
    expect(rows(file)).toEqual([]);

    const ok = await receiver(200);
    store.writeCall({ summary: summary('CAok'), eventsJson: '', eventCount: 0, webhook: { url: ok.url, body: '{"transcript":"personal"}' } });
    outbox.kick();
    await until(() => ok.received() === 1 && rows(file)[0]?.next_attempt_at === null, 'the delivery');
    expect(rows(file)).toEqual([expect.objectContaining({ call_sid: 'CAok', body: '' })]);
    await outbox.stop();
    store.close();
    await Promise.all([refusing.close(), ok.close()]);
  });
});
