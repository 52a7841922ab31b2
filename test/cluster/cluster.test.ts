/**
 * Three instances behind nginx (round robin), separate processes running the built JS, one Redis: calls whose
 * webhook and stream land on different instances are all answered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { has } from '../support/externals.js';
import { buildServer, CLUSTER_AUTH_TOKEN, startCluster, type Cluster } from './cluster-harness.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../support/externals.js';

async function callsTotal(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^voice_calls_total (\d+)$/m.exec(text)?.[1] ?? 0);
}

describe.skipIf(!has('redis') || !has('nginx'))('a cluster behind nginx', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    buildServer();
    cluster = await startCluster(3, { CALL_OWNER_TTL_MS: '3000' });
  }, 180_000);
  afterAll(async () => cluster?.close());

  it('6 calls through nginx, webhook and stream on whichever instance nginx picks: all answered', { timeout: 90_000 }, async () => {
    const script = [{ waitForAgent: 'reply' as const }, { say: 'what are your hours' }, { waitForAgent: 'reply' as const }, { hangup: true as const }];
    const records = await Promise.all(
      Array.from({ length: 6 }, () => placeSimulatedCall({ serverUrl: cluster.url, authToken: CLUSTER_AUTH_TOKEN, script, maxDurationMs: 60_000 }).done),
    );
    for (const record of records) {
      expect(record.errors).toEqual([]);
      expect(record.transcript.filter((t) => t.role === 'agent')[1]?.text).toContain('We are open every day');
    }
    const perInstance = await Promise.all(cluster.instances.map((i) => callsTotal(i.url)));
    expect(perInstance.reduce((a, b) => a + b, 0)).toBe(6);
    expect(perInstance.filter((n) => n > 0).length).toBeGreaterThan(1);
  });

  // Last: it leaves the cluster one instance short.
  it("SIGKILL of an instance with calls up: the others' calls go on; its calls' ownership expires within the TTL", { timeout: 90_000 }, async () => {
    const redis = new Redis(REDIS_URL);
    try {
      const sids = Array.from({ length: 6 }, () => 'CA' + randomBytes(16).toString('hex'));
      const script = [{ waitForAgent: 'reply' as const }, { pause: 3000 }, { say: 'what are your hours' }, { waitForAgent: 'reply' as const }, { hangup: true as const }];
      const calls = sids.map((callSid) => placeSimulatedCall({ serverUrl: cluster.url, authToken: CLUSTER_AUTH_TOKEN, callSid, script, maxDurationMs: 60_000 }).done);
      const ownerOf = async () => redis.mget(...sids.map((sid) => `${cluster.prefix}call:${sid}`));
      const until = Date.now() + 20_000;
      let owners = await ownerOf();
      while (owners.some((o) => o === null) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        owners = await ownerOf();
      }
      expect(owners.every((o) => o !== null)).toBe(true);
      const victim = cluster.instances.find((i) => owners.includes(i.id));
      if (victim === undefined) throw new Error('no owner');
      const killedAt = Date.now();
      victim.process.kill('SIGKILL');
      const records = await Promise.all(calls);
      records.forEach((record, i) => {
        if (owners[i] === victim.id) return; // its caller hears the line drop: that cannot be helped
        expect(record.errors).toEqual([]);
        expect(record.transcript.filter((t) => t.role === 'agent')[1]?.text).toContain('We are open every day');
      });
      const lost = sids.filter((_, i) => owners[i] === victim.id);
      while ((await redis.mget(...lost.map((sid) => `${cluster.prefix}call:${sid}`))).some((o) => o !== null)) {
        expect(Date.now() - killedAt).toBeLessThan(3000 + 2000);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      redis.disconnect();
    }
  });
});
