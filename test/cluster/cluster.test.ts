/**
 * Three instances behind nginx (deploy/nginx.conf, round robin), separate processes running the built JS, one Redis,
 * one fresh PostgreSQL database: calls whose webhook and stream land on different instances are all answered and
 * recorded once with one post-call webhook each; a console on one instance sees every instance's past calls; an
 * instance stopped (SIGTERM) drains and nginx moves its new calls elsewhere; an instance killed (SIGKILL) loses only
 * its own calls, which a survivor ends as `instance-lost` and reports; a rolling restart cuts no call.
 */
import http from 'node:http';
import type net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';
import type { CallRecord, ScriptStep } from '../../offline/twilio-caller-types.js';
import { has, REDIS_URL } from '../support/externals.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { fastCaller, fastSimulators, simMs } from '../support/sim-speed.js';
import { CLUSTER_AUTH_TOKEN, logLines, metric, startCluster, waitFor, type Cluster, type Instance } from './cluster-harness.js';
import { builtServer } from '../support/built-server.js';

const API_TOKEN = 'cluster-calls-api-token-of-32-chars!';
const WEBHOOK_SECRET = 'cluster-webhook-secret-of-32-chars!!';
const INSTANCE_TTL_MS = 3000;
const HOURS = 'We are open every day';
const QUESTION: ScriptStep[] = [{ waitForAgent: 'reply' }, { say: 'what are your hours' }, { waitForAgent: 'reply' }, { hangup: true }];
/** Up long enough to be caught up by a signal: the caller waits before asking. */
const LONG_QUESTION: ScriptStep[] = [{ waitForAgent: 'reply' }, { pause: simMs(8000) }, { say: 'what are your hours' }, { waitForAgent: 'reply' }, { hangup: true }];

interface Delivery {
  callSid: string;
  body: { callSid?: string; endReason?: string | null; instance?: string | null };
}

function newSid(): string {
  return 'CA' + randomBytes(16).toString('hex');
}

function answered(record: CallRecord): boolean {
  return record.errors.length === 0 && (record.transcript.filter((t) => t.role === 'agent')[1]?.text ?? '').includes(HOURS);
}

const enabled = has('redis') && has('nginx') && has('postgres');

describe.skipIf(!enabled)('a cluster behind nginx, with PostgreSQL and Redis', () => {
  let cluster: Cluster;
  let db: TestDatabase;
  let redis: Redis;
  let receiver: http.Server;
  const deliveries: Delivery[] = [];

  beforeAll(async () => {
    await builtServer(); // the instances run today's code: the run's one production build
    db = await createTestDatabase();
    redis = new Redis(REDIS_URL);
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        deliveries.push({ callSid: String(req.headers['x-call-sid']), body: JSON.parse(body) as Delivery['body'] });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    cluster = await startCluster(3, {
      simulators: fastSimulators(),
      env: {
        CALL_RECORDS: 'on',
        DATABASE_URL: db.url,
        CALL_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as net.AddressInfo).port}/hook`,
        CALL_WEBHOOK_SECRET: WEBHOOK_SECRET,
        CALLS_API_TOKEN: API_TOKEN,
        CALL_OWNER_TTL_MS: String(INSTANCE_TTL_MS),
        INSTANCE_TTL_MS: String(INSTANCE_TTL_MS),
      },
    });
  }, 180_000);
  afterAll(async () => {
    await cluster?.close();
    redis?.disconnect();
    receiver?.close();
    await db?.drop();
  });

  const place = (script: ScriptStep[], callSid = newSid()) =>
    placeSimulatedCall({ serverUrl: cluster.url, authToken: CLUSTER_AUTH_TOKEN, callSid, script, maxDurationMs: 60_000, ...fastCaller() }).done;

  /** Who answered each call's webhook (its "call webhook" log line), by CallSid. */
  function webhookInstances(): Map<string, string> {
    const by = new Map<string, string>();
    for (const i of cluster.instances) for (const l of logLines(i)) if (l.message === 'call webhook' && typeof l.callSid === 'string') by.set(l.callSid, i.id);
    return by;
  }

  async function rows(sids: readonly string[]): Promise<Map<string, { instance: string; status: string; endReason: string | null }>> {
    const res = await db.query<{ call_sid: string; instance: string; status: string; end_reason: string | null }>(
      `SELECT call_sid, instance, status, summary::json->>'endReason' AS end_reason FROM calls WHERE call_sid = ANY($1)`,
      [sids],
    );
    return new Map(res.rows.map((r) => [r.call_sid, { instance: r.instance, status: r.status, endReason: r.end_reason }]));
  }

  async function ownersOf(sids: readonly string[]): Promise<(string | null)[]> {
    return redis.mget(...sids.map((sid) => `${cluster.prefix}call:${sid}`));
  }

  async function deliveredOnce(sids: readonly string[]): Promise<void> {
    await waitFor(() => sids.every((sid) => deliveries.some((d) => d.callSid === sid)), 'every post-call webhook', 20_000).catch(async (err: unknown) => {
      const missing = sids.filter((sid) => !deliveries.some((d) => d.callSid === sid));
      const outbox = await db.query('SELECT call_sid, attempts, next_attempt_at, delivered_at, last_error, claimed_by FROM webhook_outbox WHERE call_sid = ANY($1)', [missing]);
      const calls = await db.query('SELECT call_sid, instance, status FROM calls WHERE call_sid = ANY($1)', [missing]);
      throw new Error(`${String(err)}: missing ${JSON.stringify(missing)}; outbox ${JSON.stringify(outbox.rows)}; calls ${JSON.stringify(calls.rows)}`);
    });
    await new Promise((r) => setTimeout(r, 1000)); // a second delivery would come now
    for (const sid of sids) expect(deliveries.filter((d) => d.callSid === sid).length, sid).toBe(1);
  }

  const first30: string[] = [];

  it('30 calls, webhook and stream on whichever instances nginx picks: all answered, all in PostgreSQL, one webhook each', { timeout: 120_000 }, async () => {
    const calls: Promise<CallRecord>[] = [];
    for (let i = 0; i < 30; i++) {
      const sid = newSid();
      first30.push(sid);
      calls.push(place(QUESTION, sid));
      await new Promise((r) => setTimeout(r, 100));
    }
    const records = await Promise.all(calls);
    records.forEach((r) => expect(answered(r), `${r.callSid}: ${r.errors.join('; ')}`).toBe(true));

    await waitFor(async () => [...(await rows(first30)).values()].filter((r) => r.status === 'ended').length === 30, 'the 30 records ended in PostgreSQL');
    const stored = await rows(first30);
    const webhookBy = webhookInstances();
    let crossed = 0;
    for (const sid of first30) {
      const row = stored.get(sid);
      expect(row?.endReason, sid).not.toBe('instance-lost');
      expect(cluster.instances.map((i) => i.id)).toContain(row?.instance);
      expect(webhookBy.get(sid), sid).toBeDefined();
      if (webhookBy.get(sid) !== row?.instance) crossed++;
    }
    // Round robin sends a call's webhook and its stream to different instances most of the time.
    expect(crossed).toBeGreaterThanOrEqual(10);
    expect(new Set([...stored.values()].map((r) => r.instance)).size).toBe(3);
    await deliveredOnce(first30);
    for (const sid of first30) expect(deliveries.find((d) => d.callSid === sid)?.body).toMatchObject({ callSid: sid, instance: stored.get(sid)?.instance });
  });

  it('a console logged in on one instance shows the past calls of every instance; so does GET /calls through nginx', async () => {
    const c = cluster.instances[2] as Instance;
    const login = await fetch(`${c.url}/console/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: API_TOKEN }) });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const viaConsole = (await (await fetch(`${c.url}/console/api/calls?limit=200`, { headers: { Cookie: cookie } })).json()) as { calls: { callSid: string; status: string }[] };
    const seen = viaConsole.calls.filter((x) => first30.includes(x.callSid));
    expect(seen.length).toBe(30);
    expect(seen.every((x) => x.status === 'ended')).toBe(true);
    // Run by all three instances (the list items do not say which; the records do).
    const stored = await rows(seen.map((x) => x.callSid));
    expect(new Set([...stored.values()].map((r) => r.instance))).toEqual(new Set(cluster.instances.map((i) => i.id)));
    // A call's full record through the console of an instance that did not run it.
    const [otherSid, other] = [...stored.entries()].find(([, r]) => r.instance !== c.id) ?? [];
    const detail = (await (await fetch(`${c.url}/console/api/calls/${otherSid}`, { headers: { Cookie: cookie } })).json()) as { instance?: string; turns?: unknown[] };
    expect(detail.instance).toBe(other?.instance);
    expect(detail.turns?.length).toBeGreaterThanOrEqual(1);

    const viaNginx = (await (await fetch(`${cluster.url}/calls?limit=200`, { headers: { Authorization: `Bearer ${API_TOKEN}` } })).json()) as { calls: { callSid: string }[] };
    expect(viaNginx.calls.filter((x) => first30.includes(x.callSid)).length).toBe(30);
  });

  it('SIGTERM of an instance with calls up: its calls finish, /readyz says 503, nginx sends new calls elsewhere, the others go on, exit 0', { timeout: 120_000 }, async () => {
    const sids = Array.from({ length: 6 }, () => newSid());
    const calls = sids.map((sid) => place(LONG_QUESTION, sid));
    await waitFor(async () => (await ownersOf(sids)).every((o) => o !== null), 'every call owned');
    const owners = await ownersOf(sids);
    const slot = cluster.instances.findIndex((i) => owners.includes(i.id));
    const victim = cluster.instances[slot] as Instance;
    victim.process.kill('SIGTERM');
    await waitFor(async () => (await fetch(`${victim.url}/readyz`)).status === 503, `${victim.id} /readyz 503`, 5000);

    // New calls while it drains: none of their requests is taken by it.
    const laterSids = Array.from({ length: 6 }, () => newSid());
    const later: Promise<CallRecord>[] = [];
    for (const sid of laterSids) {
      later.push(place(QUESTION, sid));
      await new Promise((r) => setTimeout(r, 150));
    }
    const [records, laterRecords] = await Promise.all([Promise.all(calls), Promise.all(later)]);
    records.forEach((r) => expect(answered(r), `${r.callSid} (owner ${owners[sids.indexOf(r.callSid)]}): ${r.errors.join('; ')}`).toBe(true));
    laterRecords.forEach((r) => expect(answered(r), `${r.callSid}: ${r.errors.join('; ')}`).toBe(true));
    expect(await victim.exited).toBe(0);

    const webhookBy = webhookInstances();
    const stored = await rows(laterSids);
    for (const sid of laterSids) {
      expect(webhookBy.get(sid), sid).not.toBe(victim.id);
      expect(stored.get(sid)?.instance, sid).not.toBe(victim.id);
    }
    await deliveredOnce([...sids, ...laterSids]);
    await cluster.restart(slot);
  });

  it('SIGKILL of an instance with calls up: the others go on; its calls are instance-lost within the TTL, their webhooks sent by a survivor', { timeout: 120_000 }, async () => {
    const sids = Array.from({ length: 6 }, () => newSid());
    const calls = sids.map((sid) => place(LONG_QUESTION, sid));
    await waitFor(async () => (await ownersOf(sids)).every((o) => o !== null), 'every call owned');
    // Each record is in PostgreSQL (in progress) before the kill: what the sweep finds.
    await waitFor(async () => (await rows(sids)).size === 6, 'the 6 records in progress in PostgreSQL');
    const owners = await ownersOf(sids);
    const slot = cluster.instances.findIndex((i) => owners.includes(i.id));
    const victim = cluster.instances[slot] as Instance;
    const killedAt = Date.now();
    victim.process.kill('SIGKILL');
    const records = await Promise.all(calls);
    const lost = sids.filter((_, i) => owners[i] === victim.id);
    const kept = sids.filter((_, i) => owners[i] !== victim.id);
    expect(lost.length).toBeGreaterThan(0);
    expect(kept.length).toBeGreaterThan(0);
    for (const r of records) if (kept.includes(r.callSid)) expect(answered(r), `${r.callSid}: ${r.errors.join('; ')}`).toBe(true);

    // Heartbeats every TTL/3, sweeps every TTL/2: ended within TTL + TTL/2 of the kill, plus a loaded machine's delays.
    await waitFor(async () => [...(await rows(lost)).values()].every((r) => r.status === 'ended'), 'the lost calls ended', 20_000);
    expect(Date.now() - killedAt).toBeLessThan(INSTANCE_TTL_MS * 1.5 + 3000);
    const stored = await rows([...lost, ...kept]);
    for (const sid of lost) expect(stored.get(sid), sid).toMatchObject({ instance: victim.id, status: 'ended', endReason: 'instance-lost' });
    for (const sid of kept) expect(stored.get(sid)?.endReason, sid).not.toBe('instance-lost');
    await deliveredOnce(sids);
    for (const sid of lost) expect(deliveries.find((d) => d.callSid === sid)?.body).toMatchObject({ endReason: 'instance-lost', instance: victim.id });
    const claimedBy = await db.query<{ claimed_by: string }>('SELECT claimed_by FROM webhook_outbox WHERE call_sid = ANY($1)', [lost]);
    expect(claimedBy.rows.length).toBe(lost.length);
    for (const r of claimedBy.rows) expect(cluster.instances.filter((i) => i !== victim).map((i) => i.id)).toContain(r.claimed_by);
    await cluster.restart(slot);
  });

  it('a rolling restart of every instance while calls keep arriving: no call cut', { timeout: 150_000 }, async () => {
    const calls: Promise<CallRecord>[] = [];
    let arriving = true;
    const generator = (async () => {
      while (arriving) {
        calls.push(place(QUESTION));
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    for (let slot = 0; slot < cluster.instances.length; slot++) {
      const old = cluster.instances[slot] as Instance;
      old.process.kill('SIGTERM');
      expect(await old.exited, `${old.id} exit code`).toBe(0);
      const fresh = await cluster.restart(slot);
      // nginx takes it back (passive checks: on its next trial request) before the next one goes down.
      await waitFor(async () => (await metric(fresh, 'voice_calls_total')) > 0, `${fresh.id} takes calls`, 30_000);
    }
    arriving = false;
    await generator;
    const records = await Promise.all(calls);
    expect(records.length).toBeGreaterThan(10);
    const cut = records.filter((r) => !answered(r));
    expect(cut.map((r) => `${r.callSid}: ended by ${r.endedBy}, ${r.errors.join('; ') || 'no second reply'}`)).toEqual([]);
  });
});
