/** The signed post-call webhook against a local receiver: retries, exactly one success, outbox across restarts. */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/records/sqlite-store.js';
import type { CallSummary } from '../../src/records/summary-types.js';
import { verifyWebhookSignature } from '../../src/records/webhook.js';
import { call, eventually, startStack, type E2eStack } from './harness.js';

const SECRET = 'whsec_test_secret_of_32_characters';
const FAST_RETRY = { baseMs: 100, maxMs: 1000, maxAttempts: 8, timeoutMs: 5000 };

type Answer = 'reset' | 'hang' | number;
interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  answer: Answer;
}

/** A webhook receiver whose answers are scripted per request (the last one repeats). */
async function startReceiver(answers: Answer[]) {
  const received: Received[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const answer = answers.length > 1 ? (answers.shift() as Answer) : (answers[0] as Answer);
      received.push({ headers: req.headers, body, answer });
      if (answer === 'reset') req.socket.destroy();
      else if (answer === 'hang') hanging.add(res);
      else res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/call-ended`,
    received,
    answers,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-e2e-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('post-call webhook', () => {
  let stack: E2eStack | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  afterEach(async () => {
    await stack?.close();
    await receiver?.close();
    stack = undefined;
    receiver = undefined;
  });

  const startWith = (db: string, url: string) =>
    startStack({
      env: { CALL_RECORDS: 'on', CALL_DB_PATH: path.join(dir, db), CALL_WEBHOOK_URL: url, CALL_WEBHOOK_SECRET: SECRET },
      recordOptions: { webhookRetry: FAST_RETRY },
    });

  it('is signed, retried while the receiver is down, and delivered once on the third try', async () => {
    receiver = await startReceiver(['reset', 503, 200]);
    stack = await startWith('retry.db', receiver.url);
    const caller = await call(stack, [{ waitForAgent: 'reply' }, { say: 'what are your opening hours' }, { waitForAgent: 'reply' }, { hangup: true }]);
    const got = receiver.received;
    await eventually(() => got.length >= 3, 'three delivery attempts');
    await new Promise((r) => setTimeout(r, 4 * FAST_RETRY.baseMs)); // longer than the next backoff: nothing more comes
    expect(got.map((r) => r.answer)).toEqual(['reset', 503, 200]);
    expect(got.map((r) => r.headers['x-delivery-attempt'])).toEqual(['1', '2', '3']);
    for (const r of got) {
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-call-sid']).toBe(caller.callSid);
      expect(verifyWebhookSignature(SECRET, r.body, String(r.headers['x-signature']))).toBe(true);
      expect(verifyWebhookSignature('another-secret', r.body, String(r.headers['x-signature']))).toBe(false);
      expect(verifyWebhookSignature(SECRET, r.body.replace('opening', 'closing'), String(r.headers['x-signature']))).toBe(false);
    }
    const summary = JSON.parse(got[2]?.body ?? '{}') as CallSummary;
    expect(summary).toMatchObject({ callSid: caller.callSid, status: 'ended' });
    expect(summary.conversation.some((e) => e.kind === 'caller' && e.text === 'what are your opening hours')).toBe(true);
    const metrics = await (await fetch(`${stack.server.localUrl}/metrics`)).text();
    expect(metrics).toContain('voice_call_webhook_attempts_total{outcome="delivered"} 1');
    expect(metrics).toContain('voice_call_webhook_attempts_total{outcome="retry"} 2');
  });

  it('a delivery pending at shutdown does not hold the shutdown, and is delivered after the restart', async () => {
    receiver = await startReceiver(['hang', 200]);
    const db = 'restart.db';
    stack = await startWith(db, receiver.url);
    const caller = await call(stack, [{ waitForAgent: 'reply' }, { hangup: true }]);
    await eventually(() => receiver?.received.length === 1, 'the first attempt reached the receiver');
    const closing = performance.now();
    await stack.close(); // the receiver never answers that attempt
    stack = undefined;
    expect(performance.now() - closing).toBeLessThan(2000);
    const store = openSqliteStore(path.join(dir, db), { readonly: true });
    expect(await store.pendingDeliveries()).toBe(1);
    await store.close();

    stack = await startWith(db, receiver.url);
    await eventually(() => receiver?.received.length === 2, 'delivered after the restart');
    await new Promise((r) => setTimeout(r, 4 * FAST_RETRY.baseMs));
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]?.headers['x-call-sid']).toBe(caller.callSid);
    expect(verifyWebhookSignature(SECRET, receiver.received[1]?.body ?? '', String(receiver.received[1]?.headers['x-signature']))).toBe(true);
  });
});
