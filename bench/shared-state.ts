/**
 * `npx tsx bench/shared-state.ts` — what the shared state (REDIS_URL) costs a call, on a private redis-server started
 * here (free port, no persistence): Redis commands per call and per turn (Redis's own INFO commandstats, before and
 * after sequential offline calls), and the time its round trips add at a call's start (mint at /voice, redeem at the
 * stream's start, ownership claim), measured on the same operations in a loop.
 */
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { startOfflineStack } from '../src/harness/offline-stack.js';
import { placeSimulatedCall } from '../offline/twilio-caller.js';
import type { ScriptStep } from '../offline/twilio-caller-types.js';
import { createSharedState } from '../src/shared/shared-state.js';
import { StreamTokens } from '../src/twilio/stream-token.js';
import { silentLogger } from '../lib/logger.js';
import { freePort } from './server-process.js';

const CALLS = 6;
const OPS = 2000;

async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) out.set(m[1] ?? '', Number(m[2]));
  return out;
}

function delta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [cmd, n] of after) if (cmd !== 'info' && n - (before.get(cmd) ?? 0) > 0) out[cmd] = n - (before.get(cmd) ?? 0);
  return out;
}

const total = (d: Record<string, number>) => Object.values(d).reduce((a, b) => a + b, 0);

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  await new Promise((r) => setTimeout(r, 300));
  const admin = new Redis(url);
  try {
    const stack = await startOfflineStack({ env: { REDIS_URL: url, INSTANCE_ID: 'bench', CALL_RECORDS: 'off' } });
    const turn = (n: number): ScriptStep[] => Array.from({ length: n }, () => [{ say: 'what are your hours' }, { waitForAgent: 'reply' }] as ScriptStep[]).flat();
    const run = async (turns: number) => {
      const before = await commandStats(admin);
      const startedAt = performance.now();
      // At once: the simulated speech runs in real time.
      await Promise.all(
        Array.from({ length: CALLS }, () =>
          placeSimulatedCall({ serverUrl: stack.server.localUrl, authToken: stack.config.twilioAuthToken, script: [{ waitForAgent: 'reply' }, ...turn(turns), { hangup: true }] }).done,
        ),
      );
      await new Promise((r) => setTimeout(r, 200)); // the last release
      return { perCall: delta(before, await commandStats(admin)), seconds: (performance.now() - startedAt) / 1000 };
    };
    const one = await run(1);
    const four = await run(4);
    console.error('calls done');
    await stack.close();
    const perCall1 = total(one.perCall) / CALLS;
    const perCall4 = total(four.perCall) / CALLS;
    console.log(`Redis commands per call, 1 turn: ${perCall1.toFixed(1)}  ${JSON.stringify(one.perCall)} over ${CALLS} calls (${one.seconds.toFixed(1)} s)`);
    console.log(`Redis commands per call, 4 turns: ${perCall4.toFixed(1)}  ${JSON.stringify(four.perCall)} over ${CALLS} calls (${four.seconds.toFixed(1)} s)`);
    console.log(`→ per extra turn: ${((perCall4 - perCall1) / 3).toFixed(2)} (heartbeats of the longer calls included)`);

    // The round trips on a call's start path, timed one by one.
    const shared = await createSharedState({ redisUrl: url, prefix: 'lat:', instanceId: 'lat', log: silentLogger, ownerTtlMs: 15_000 });
    const tokens = new StreamTokens({ secret: 'x'.repeat(32), ttlMs: 30_000, ledger: shared.tokens });
    const timings = { mint: [] as number[], redeem: [] as number[], claim: [] as number[], release: [] as number[] };
    for (let i = 0; i < OPS; i++) {
      const sid = `CA${i}`;
      let t = performance.now();
      const { token } = await tokens.mint(sid);
      timings.mint.push(performance.now() - t);
      t = performance.now();
      await tokens.redeem(token, sid);
      timings.redeem.push(performance.now() - t);
      t = performance.now();
      await shared.calls.claim(sid);
      timings.claim.push(performance.now() - t);
      t = performance.now();
      await shared.calls.release(sid);
      timings.release.push(performance.now() - t);
    }
    await shared.close();
    for (const [op, values] of Object.entries(timings)) {
      const sorted = values.slice(OPS / 10).sort((a, b) => a - b); // the first tenth warms up
      console.log(`${op.padEnd(8)} p50 ${quantile(sorted, 0.5).toFixed(3)} ms  p99 ${quantile(sorted, 0.99).toFixed(3)} ms`);
    }
  } finally {
    admin.disconnect();
    server.kill('SIGKILL');
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
