/**
 * `npm run bench -- --instances 1,2`: the same sweep of concurrency levels as the single-server bench, but through
 * nginx (the committed deploy/nginx.conf, test/support/nginx.ts) in front of N instances sharing a private
 * redis-server (free port, no persistence: its INFO commandstats count only this run) and a fresh PostgreSQL
 * database on the machine's server (call records, event logs, webhook outbox; its pg_stat counters count only this
 * run). Per instance count: the level table, PostgreSQL row writes per call and Redis commands per call.
 *
 * The load generator and the simulators share the machine's cores with the instances: on 2 cores, two instances do
 * not get two cores to themselves, and the report says how much CPU the bench itself used.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startNginx } from '../test/support/nginx.js';
import { createScratchDatabase } from '../test/support/scratch-database.js';
import { analyzeLevel, type LevelResult } from './analyze.js';
import { autoRampMs } from './bench.js';
import { AUTH_TOKEN, runLevel } from './level.js';
import { PhasedTickers } from './phases.js';
import { buildServer, freePort, startServerProcess, type ServerProcess } from './server-process.js';
import { defaultLatencies, startWorld } from './world.js';

export const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ClusterBenchOptions {
  cwd: string;
  instances: number[];
  concurrency: number[];
  turns: number;
  rampMs?: number;
  log: (line: string) => void;
}

export interface ClusterLevel {
  instances: number;
  level: LevelResult;
  /** Rows inserted + updated + deleted in the call database during the level, per call placed. */
  postgresWritesPerCall: number;
  /** Transactions committed in the call database during the level, per call placed. */
  postgresCommitsPerCall: number;
  /** Redis commands (INFO commandstats, INFO itself excluded) during the level, per call placed. */
  redisCommandsPerCall: number;
  redisCommands: Record<string, number>;
}

async function startRedis(): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on('error', () => undefined); // refused until redis-server listens: the loop below retries
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      break;
    } catch (err) {
      if (i > 50) throw new Error(`redis-server did not start on ${port}: ${String(err)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  probe.disconnect();
  return { url, process: child };
}

async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) out.set(m[1] ?? '', Number(m[2]));
  return out;
}

async function pgWrites(url: string): Promise<{ rows: number; commits: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    // The statistics reach the shared counters at the end of each backend's transactions (PostgreSQL 15: at most a
    // second later); the caller waits before reading.
    const rows = await c.query<{ n: string }>('SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0) AS n FROM pg_stat_user_tables');
    const commits = await c.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()');
    return { rows: Number(rows.rows[0]?.n ?? 0), commits: Number(commits.rows[0]?.n ?? 0) };
  } finally {
    await c.end();
  }
}

/** N instances seen as one server by the level runner: nginx's URL; CPU, RSS, calls and counters summed. */
function asOne(url: string, instances: ServerProcess[]): ServerProcess {
  const first = instances[0];
  if (first === undefined) throw new Error('no instance');
  return {
    pid: first.pid,
    url,
    port: Number(new URL(url).port),
    takeLogs: () => instances.flatMap((i) => i.takeLogs()),
    cpuTimes: () =>
      instances.map((i) => i.cpuTimes()).reduce((a, b) => ({ userMs: a.userMs + b.userMs, systemMs: a.systemMs + b.systemMs }), { userMs: 0, systemMs: 0 }),
    rssBytes: () => instances.reduce((sum, i) => sum + i.rssBytes(), 0),
    async metrics() {
      const all = await Promise.all(instances.map((i) => i.metrics()));
      const out = new Map<string, number>();
      for (const m of all) {
        for (const [series, value] of m) {
          // Event-loop figures are per process: the worst instance, not a sum.
          const worst = series.startsWith('nodejs_eventloop');
          out.set(series, worst ? Math.max(out.get(series) ?? 0, value) : (out.get(series) ?? 0) + value);
        }
      }
      return out;
    },
    async health() {
      const all = await Promise.all(instances.map((i) => i.health()));
      return { activeCalls: all.reduce((sum, h) => sum + h.activeCalls, 0) };
    },
    async stop() {
      await Promise.all(instances.map((i) => i.stop()));
    },
  };
}

export async function runClusterBench(opts: ClusterBenchOptions): Promise<ClusterLevel[]> {
  const { log } = opts;
  log(`building the server in ${opts.cwd}`);
  const entry = buildServer(opts.cwd);
  const latencies = defaultLatencies;
  const out: ClusterLevel[] = [];
  for (const n of opts.instances) {
    const world = await startWorld(latencies);
    const redis = await startRedis();
    const admin = new Redis(redis.url);
    const db = await createScratchDatabase(POSTGRES_URL, 'vco_bench');
    const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
    const nginx = await startNginx(ports);
    const instances: ServerProcess[] = [];
    const tickers = await PhasedTickers.start();
    try {
      for (let i = 0; i < n; i++) {
        instances.push(
          await startServerProcess({
            cwd: opts.cwd,
            entry,
            port: ports[i],
            deepgramUrl: world.deepgram.url,
            openaiBaseUrl: world.tap.openaiBaseUrl,
            authToken: AUTH_TOKEN,
            endpointingMs: latencies.endpointingMs,
            env: {
              PUBLIC_URL: nginx.url,
              TRUST_PROXY: '1',
              REDIS_URL: redis.url,
              DATABASE_URL: db.url,
              INSTANCE_ID: `bench-${i + 1}`,
              // Admission control off the measured path: the sweep decides the load.
              MAX_CONCURRENT_CALLS: '100000',
            },
          }),
        );
      }
      log(`${n} instance(s) behind nginx on ${nginx.url}`);
      const server = asOne(nginx.url, instances);
      let nextCallId = 1;
      const warm = analyzeLevel(await runLevel(world, server, tickers, { concurrency: 4 * n, turns: 2, firstCallId: nextCallId, rampMs: 200, wordMs: 200, quietMs: 500 }));
      nextCallId += 4 * n;
      if (warm.failedCalls > 0) log(`warm-up had ${warm.failedCalls} failed calls: ${JSON.stringify(warm.failures)}`);
      await new Promise((r) => setTimeout(r, 500));
      const idleRss = server.rssBytes();
      for (const concurrency of opts.concurrency) {
        await new Promise((r) => setTimeout(r, 1500)); // the previous level's statistics reach the counters
        const [pgBefore, redisBefore] = await Promise.all([pgWrites(db.url), commandStats(admin)]);
        const rampMs = opts.rampMs ?? autoRampMs(concurrency);
        const raw = await runLevel(world, server, tickers, { concurrency, turns: opts.turns, firstCallId: nextCallId, rampMs, wordMs: 200, quietMs: 500 }, idleRss);
        nextCallId += concurrency;
        await new Promise((r) => setTimeout(r, 1500)); // the last records and webhooks, and the statistics
        const [pgAfter, redisAfter] = await Promise.all([pgWrites(db.url), commandStats(admin)]);
        const level = analyzeLevel(raw);
        const redisCommands: Record<string, number> = {};
        for (const [cmd, count] of redisAfter) {
          const d = count - (redisBefore.get(cmd) ?? 0);
          if (cmd !== 'info' && d > 0) redisCommands[cmd] = d;
        }
        const redisTotal = Object.values(redisCommands).reduce((a, b) => a + b, 0);
        const result: ClusterLevel = {
          instances: n,
          level,
          postgresWritesPerCall: (pgAfter.rows - pgBefore.rows) / concurrency,
          // pgWrites' own two reads commit too: not the instances'.
          postgresCommitsPerCall: (pgAfter.commits - pgBefore.commits - 2) / concurrency,
          redisCommandsPerCall: redisTotal / concurrency,
          redisCommands,
        };
        out.push(result);
        log(
          `${n} instance(s), level ${concurrency}: overhead p50 ${level.turnOverheadMs.p50} p99 ${level.turnOverheadMs.p99} ms, failed ${level.failedCalls}/${level.calls}, ` +
            `PostgreSQL ${result.postgresWritesPerCall.toFixed(1)} row writes/call, Redis ${result.redisCommandsPerCall.toFixed(1)} commands/call`,
        );
      }
    } finally {
      tickers.stop();
      await Promise.all(instances.map((i) => i.stop()));
      await nginx.stop();
      admin.disconnect();
      redis.process.kill('SIGKILL');
      await db.drop().catch(() => undefined);
      await world.close();
    }
  }
  return out;
}

/** The markdown report: one row per (instances, level), and the capacity figure asked for (p99 ≤ 100 ms). */
export function clusterReport(levels: ClusterLevel[]): string {
  const rows = levels.map((l) => {
    const o = l.level.turnOverheadMs;
    const top = Object.entries(l.redisCommands)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([cmd, n]) => `${cmd} ${(n / l.level.calls).toFixed(1)}`)
      .join(', ');
    return `| ${l.instances} | ${l.level.calls} | ${o.p50} | ${o.p99} | ${l.level.failedCalls} | ${l.postgresWritesPerCall.toFixed(1)} | ${l.postgresCommitsPerCall.toFixed(1)} | ${l.redisCommandsPerCall.toFixed(1)} (${top}) |`;
  });
  const held = [...new Set(levels.map((l) => l.instances))].map((n) => {
    const ok = levels.filter((l) => l.instances === n && l.level.failedCalls === 0 && (l.level.turnOverheadMs.p99 ?? Infinity) <= 100);
    const best = Math.max(0, ...ok.map((l) => l.level.calls));
    return `- ${n} instance(s): ${best === 0 ? 'no level' : `${best} calls`} held at turn-overhead p99 ≤ 100 ms (of the levels run)`;
  });
  return [
    '| instances | calls | overhead p50 ms | overhead p99 ms | failed | PostgreSQL row writes/call | PostgreSQL commits/call | Redis commands/call (top commands per call) |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...held,
  ].join('\n');
}
