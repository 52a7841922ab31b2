/**
 * Call records in PostgreSQL through the running server (DATABASE_URL on a fresh database of the machine's
 * PostgreSQL): a call's record lands in the database with the instance that ran it, `GET /calls` reads it back, its
 * post-call webhook is delivered once, and `npm run replay` replays it from the database; with PostgreSQL unreachable
 * at start the server runs its calls anyway and writes their records when the database comes.
 */
import { spawn } from 'node:child_process';
import { builtCli, builtServer } from '../support/built-server.js';
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallListItem, CallSummary } from '../../src/records/summary-types.js';
import { has } from '../support/externals.js';
import { createTestDatabase, freePort, startProxy, type TestDatabase } from '../support/postgres.js';
import { call, startStack } from './harness.js';

// The CLI runs from the run's one production build (test/support/built-server.ts), as the package's bin does.
beforeAll(() => builtServer(), 300_000);

const TOKEN = 'records-pg-token-of-32-characters!';
const WEBHOOK_SECRET = 'records-pg-webhook-secret-32-chars!';
const enabled = has('postgres');
let db: TestDatabase | undefined;
beforeAll(async () => {
  if (enabled) db = await createTestDatabase();
});
afterAll(async () => db?.drop());

describe.skipIf(!enabled)('call records in PostgreSQL (DATABASE_URL)', () => {
  it('a call’s record lands in PostgreSQL, GET /calls reads it, its webhook is delivered once, npm run replay replays it', async () => {
    if (db === undefined) throw new Error('no test database');
    const received: string[] = [];
    const receiver = http.createServer((req, res) => {
      received.push(String(req.headers['x-call-sid']));
      req.resume().on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(receiver.address() as net.AddressInfo).port}/hook`;
    const stack = await startStack({
      env: { CALL_RECORDS: 'on', DATABASE_URL: db.url, INSTANCE_ID: 'e2e-pg-1', CALLS_API_TOKEN: TOKEN, CALL_WEBHOOK_URL: hook, CALL_WEBHOOK_SECRET: WEBHOOK_SECRET },
    });
    let callSid = '';
    try {
      const caller = await call(stack, [{ waitForAgent: 'reply' }, { say: 'what are your opening hours' }, { waitForAgent: 'reply' }, { hangup: true }]);
      expect(caller.errors).toEqual([]);
      callSid = caller.callSid;
      const get = (path: string) => fetch(`${stack.server.localUrl}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });

      let record: CallSummary | undefined;
      const until = Date.now() + 10_000;
      while (Date.now() < until && record?.status !== 'ended') {
        const res = await get(`/calls/${caller.callSid}`);
        if (res.ok) record = (await res.json()) as CallSummary;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(record).toMatchObject({ callSid: caller.callSid, status: 'ended', instance: 'e2e-pg-1' });
      expect(record?.turns.length).toBeGreaterThanOrEqual(1);

      const rows = await db.query<{ call_sid: string; instance: string; status: string }>('SELECT call_sid, instance, status FROM calls');
      expect(rows.rows).toEqual([{ call_sid: caller.callSid, instance: 'e2e-pg-1', status: 'ended' }]);
      const list = (await (await get('/calls')).json()) as { calls: CallListItem[] };
      expect(list.calls.map((c) => c.callSid)).toEqual([caller.callSid]);
      const found = (await (await get('/calls?search=opening%20hours')).json()) as { calls: CallListItem[] };
      expect(found.calls.map((c) => c.callSid)).toEqual([caller.callSid]);
      const events = (await (await get(`/calls/${caller.callSid}/events`)).json()) as { entries: unknown[] };
      expect(events.entries.length).toBe(record?.eventLog.entries);

      const until2 = Date.now() + 10_000;
      while (Date.now() < until2 && received.length === 0) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      expect(received).toEqual([caller.callSid]);
    } finally {
      await stack.close();
      receiver.close();
    }

    // The replay tool reads the same database (nothing else: no --db, no file).
    const replay = spawn(process.execPath, [builtCli('src/cli/replay-cli.ts'), callSid], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url },
    });
    let out = '';
    replay.stdout.on('data', (d: Buffer) => (out += d.toString()));
    replay.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => replay.on('close', r));
    expect(out).toContain('replay matches the recording');
    expect(code).toBe(0);
  });

  it('PostgreSQL unreachable at start: the server starts, calls go on, /metrics says so, the records land when it comes', async () => {
    if (db === undefined) throw new Error('no test database');
    const port = await freePort(); // nothing listens there yet
    const url = new URL(db.url);
    url.port = String(port);
    const stack = await startStack({ env: { CALL_RECORDS: 'on', DATABASE_URL: url.toString(), INSTANCE_ID: 'e2e-pg-2', CALLS_API_TOKEN: TOKEN } });
    let proxy: net.Server | undefined;
    try {
      const caller = await call(stack, [{ waitForAgent: 'reply' }, { say: 'what are your opening hours' }, { waitForAgent: 'reply' }, { hangup: true }]);
      expect(caller.errors).toEqual([]);
      const metrics = await (await fetch(`${stack.server.localUrl}/metrics`)).text();
      expect(metrics).toMatch(/^voice_call_record_database_up 0$/m);
      expect(metrics).toMatch(/^voice_call_record_queue_bytes [1-9]/m);
      const get = (path: string) => fetch(`${stack.server.localUrl}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect((await get(`/calls/${caller.callSid}`)).status).toBe(500); // reads fail while it is down

      proxy = await startProxy(port, Number(new URL(db.url).port || 5432));
      let record: CallSummary | undefined;
      const until = Date.now() + 15_000;
      while (Date.now() < until && record?.status !== 'ended') {
        const res = await get(`/calls/${caller.callSid}`);
        if (res.ok) record = (await res.json()) as CallSummary;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(record).toMatchObject({ callSid: caller.callSid, status: 'ended', instance: 'e2e-pg-2' });
      const events = (await (await get(`/calls/${caller.callSid}/events`)).json()) as { entries: unknown[] };
      expect(events.entries.length).toBe(record?.eventLog.entries);
      expect(await (await fetch(`${stack.server.localUrl}/metrics`)).text()).toMatch(/^voice_call_record_database_up 1$/m);
    } finally {
      await stack.close();
      proxy?.close();
    }
  });
});
