/**
 * One concurrency level: place `concurrency` simulated calls, ramped over a few seconds, through the real signed
 * webhook and media stream of the server process; sample the server's RSS while every call is up; wait until all
 * calls are over and the server has released them; then hand everything to the analysis.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { now } from '../lib/clock.js';
import { placeSimulatedCall, type CallRecord } from '../offline/twilio-caller.js';
import { planCall, type CallPlan } from './scenario.js';
import { metricTotal, type CpuTimes, type ServerLogLine, type ServerProcess } from './server-process.js';
import type { PhasedTickers } from './phases.js';
import { benchCores, otherCores, sampleLoad } from './machine-load.js';
import type { Recordings, World } from './world.js';

export interface LevelConfig {
  concurrency: number;
  turns: number;
  /** First call id of this level (ids are unique over the run). */
  firstCallId: number;
  /** Spread call starts over this long. */
  rampMs: number;
  wordMs: number;
  quietMs: number;
}

export interface CallOutcome {
  plan: CallPlan;
  record: CallRecord;
}

/** What one level measured before analysis. */
export interface LevelRaw {
  config: LevelConfig;
  calls: CallOutcome[];
  recordings: Recordings;
  windowMs: number;
  serverCpu: CpuTimes;
  /** Average cores used by the bench process, and by every other process on the machine. */
  benchCores: number;
  otherCores: number;
  /** Server RSS when idle after the warm-up (the baseline for RSS per call), measured once per run. */
  idleRssBytes: number;
  /** Highest RSS sampled while every call of the level was connected (null if that never happened). */
  fullRssBytes: number | null;
  /** The server's heap and external memory before the level, and when that highest RSS was sampled (null: unknown). */
  memoryBefore: MemoryGauges | null;
  memoryAtFull: MemoryGauges | null;
  /** Most calls the server reported active at once (sampled). */
  peakActive: number;
  serverEventLoop: { p99Ms: number; maxMs: number; resolutionMs: number };
  benchEventLoop: { p99Ms: number; maxMs: number };
  benchSkippedTicks: number;
  serverProviderErrors: number;
  /** Call-record writes during the level (null: the server keeps no records, e.g. an older revision). */
  records: RecordWrites | null;
  serverLogs: ServerLogLine[];
  /** Calls still active in the server after every caller had hung up (and a grace period). */
  serverLeftoverCalls: number;
}

/** The server's own view of its memory (prom-client's default gauges), to split RSS per call into heap and the rest. */
export interface MemoryGauges {
  heapTotalBytes: number;
  heapUsedBytes: number;
  /** Outside the JS heap: C++ objects and ArrayBuffers' backing stores (Buffers, audio). */
  externalBytes: number;
}

function memoryGauges(metrics: Map<string, number>): MemoryGauges | null {
  const heapTotalBytes = metrics.get('nodejs_heap_size_total_bytes');
  const heapUsedBytes = metrics.get('nodejs_heap_size_used_bytes');
  const externalBytes = metrics.get('nodejs_external_memory_bytes');
  if (heapTotalBytes === undefined || heapUsedBytes === undefined || externalBytes === undefined) return null;
  return { heapTotalBytes, heapUsedBytes, externalBytes };
}

/** prom-client's monitorEventLoopDelay resolution (its default): every sample includes this interval. */
const PROM_EVENT_LOOP_RESOLUTION_MS = 10;

export async function runLevel(
  world: World,
  server: ServerProcess,
  tickers: PhasedTickers,
  cfg: LevelConfig,
  idleRssBytes = server.rssBytes(),
): Promise<LevelRaw> {
  world.take(); // drop anything recorded between levels
  server.takeLogs();
  const metricsBefore = await server.metrics(); // also resets prom-client's event-loop histogram
  const memoryBefore = memoryGauges(metricsBefore);
  const benchLoop = monitorEventLoopDelay({ resolution: 10 });
  benchLoop.enable();
  const skippedBefore = tickers.skippedTicks;
  const cpuBefore = server.cpuTimes();
  const loadBefore = sampleLoad();
  const startedAt = now();

  const plans = Array.from({ length: cfg.concurrency }, (_, i) => planCall(cfg.firstCallId + i, cfg.turns));
  const stagger = cfg.concurrency > 1 ? cfg.rampMs / (cfg.concurrency - 1) : 0;
  let connected = 0;
  let fullRssBytes: number | null = null;
  let memoryAtFull: MemoryGauges | null = null;
  let scraping = false;
  let peakActive = 0;
  const calls = plans.map(
    (plan, i) =>
      new Promise<CallOutcome>((resolve) => {
        setTimeout(() => {
          let counted = false;
          const call = placeSimulatedCall({
            serverUrl: server.url,
            authToken: AUTH_TOKEN,
            script: plan.script,
            wordMs: cfg.wordMs,
            quietMs: cfg.quietMs,
            maxDurationMs: 90_000,
            ticker: tickers.for(plan.callId),
            onEvent: (entry) => {
              if (entry.kind === 'start' && !counted) {
                counted = true;
                connected++;
              } else if (entry.kind === 'closed' && counted) {
                connected--;
              }
            },
          });
          void call.done.then((record) => resolve({ plan, record }));
        }, i * stagger);
      }),
  );

  // RSS and active calls while the level runs; "full" = every call of the level connected at once.
  const sampler = setInterval(() => {
    const rss = server.rssBytes();
    if (connected === cfg.concurrency && rss > (fullRssBytes ?? 0)) {
      fullRssBytes = rss;
      // One scrape at a time, only at a new peak: what the heap and external memory were when RSS was highest.
      if (!scraping) {
        scraping = true;
        void server
          .metrics()
          .then((m) => (memoryAtFull = memoryGauges(m) ?? memoryAtFull))
          .catch(() => undefined)
          .finally(() => (scraping = false));
      }
    }
    peakActive = Math.max(peakActive, connected);
  }, 200);

  const outcomes = await Promise.all(calls);
  clearInterval(sampler);
  const serverLeftoverCalls = await waitServerIdle(server);
  const cpuAfter = server.cpuTimes();
  const loadAfter = sampleLoad();
  const endedAt = now();
  benchLoop.disable();
  const metricsAfter = await server.metrics();

  const serverCpu = { userMs: cpuAfter.userMs - cpuBefore.userMs, systemMs: cpuAfter.systemMs - cpuBefore.systemMs };
  const windowMs = endedAt - startedAt;
  const p99 = metricsAfter.get('nodejs_eventloop_lag_p99_seconds') ?? NaN;
  const max = metricsAfter.get('nodejs_eventloop_lag_max_seconds') ?? NaN;
  return {
    config: cfg,
    calls: outcomes,
    recordings: world.take(),
    windowMs,
    serverCpu,
    benchCores: benchCores(loadBefore, loadAfter, windowMs),
    otherCores: otherCores(loadBefore, loadAfter, serverCpu, windowMs),
    idleRssBytes,
    fullRssBytes,
    memoryBefore,
    memoryAtFull,
    peakActive,
    serverEventLoop: {
      p99Ms: Math.max(0, p99 * 1000 - PROM_EVENT_LOOP_RESOLUTION_MS),
      maxMs: Math.max(0, max * 1000 - PROM_EVENT_LOOP_RESOLUTION_MS),
      resolutionMs: PROM_EVENT_LOOP_RESOLUTION_MS,
    },
    benchEventLoop: {
      p99Ms: Math.max(0, benchLoop.percentile(99) / 1e6 - 10),
      maxMs: Math.max(0, benchLoop.max / 1e6 - 10),
    },
    benchSkippedTicks: tickers.skippedTicks - skippedBefore,
    serverProviderErrors:
      metricTotal(metricsAfter, 'voice_provider_errors_total') - metricTotal(metricsBefore, 'voice_provider_errors_total'),
    records: recordWrites(metricsBefore, metricsAfter),
    serverLogs: server.takeLogs(),
    serverLeftoverCalls,
  };
}

export interface RecordWrites {
  calls: number;
  writeMsSum: number;
  bytesSum: number;
  errors: number;
}

function recordWrites(before: Map<string, number>, after: Map<string, number>): RecordWrites | null {
  const count = 'voice_call_record_write_ms_per_call_count';
  if (!after.has(count)) return null;
  const delta = (name: string) => metricTotal(after, name) - metricTotal(before, name);
  return {
    calls: delta(count),
    writeMsSum: delta('voice_call_record_write_ms_per_call_sum'),
    bytesSum: delta('voice_call_record_bytes_per_call_sum'),
    errors: delta('voice_call_record_errors_total'),
  };
}

export const AUTH_TOKEN = 'bench-twilio-auth-token';

/** Every caller hung up: the server should release each call within moments. Returns the calls it still holds. */
async function waitServerIdle(server: ServerProcess): Promise<number> {
  const deadline = Date.now() + 5000;
  let active = -1;
  while (Date.now() < deadline) {
    active = (await server.health()).activeCalls;
    if (active === 0) return 0;
    await new Promise((r) => setTimeout(r, 100));
  }
  return active;
}
