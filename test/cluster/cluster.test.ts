/**
 * Three instances behind nginx (round robin), separate processes running the built JS, one Redis: calls whose
 * webhook and stream land on different instances are all answered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { has } from '../support/externals.js';
import { buildServer, CLUSTER_AUTH_TOKEN, startCluster, type Cluster } from './cluster-harness.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';

async function callsTotal(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^voice_calls_total (\d+)$/m.exec(text)?.[1] ?? 0);
}

describe.skipIf(!has('redis') || !has('nginx'))('a cluster behind nginx', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    buildServer();
    cluster = await startCluster(3);
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
});
