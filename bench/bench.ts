/**
 * One benchmark run against one checkout: simulators in this process, the server as a child process, a sweep of
 * concurrency levels one after another (after a short warm-up), results analysed per level.
 */
import { execFileSync } from 'node:child_process';
import { analyzeLevel, type LevelResult } from './analyze.js';
import { AUTH_TOKEN, runLevel } from './level.js';
import { PhasedTickers } from './phases.js';
import { machineInfo, TARGETS, type BenchResult } from './report.js';
import { buildServer, startServerProcess } from './server-process.js';
import { defaultLatencies, startWorld, type ProviderLatencies } from './world.js';

export interface BenchOptions {
  /** Checkout whose server is measured. */
  cwd: string;
  concurrency: number[];
  /** Caller turns per call (≥ 2; the second is the barge-in turn). */
  turns: number;
  rampMs?: number;
  wordMs?: number;
  quietMs?: number;
  warmUpCalls?: number;
  latencies?: ProviderLatencies;
  /** Run this instead of the checkout's built server (the bare orchestrator floor); nothing is built. */
  server?: { entry: string; args: string[]; nodeFlags: string[]; label: string };
  /** The checkout's server, already built (its dist/src/cli/main.js); default: build it now. */
  builtEntry?: string;
  /** Directory for the server's V8 CPU profile (node --cpu-prof), written when the server exits. */
  cpuProfileDir?: string;
  log?: (line: string) => void;
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const startedAt = performance.now();
  const log = opts.log ?? (() => undefined);
  const latencies = opts.latencies ?? defaultLatencies;
  const wordMs = opts.wordMs ?? 200;
  const quietMs = opts.quietMs ?? 500;
  if (opts.server === undefined && opts.builtEntry === undefined) log(`building the server in ${opts.cwd} (the bench runs the built JavaScript, as production does)`);
  const entry = opts.server?.entry ?? opts.builtEntry ?? buildServer(opts.cwd);
  const world = await startWorld(latencies);
  const server = await startServerProcess({
    cwd: opts.cwd,
    entry,
    entryArgs: opts.server?.args,
    deepgramUrl: world.deepgram.url,
    openaiBaseUrl: world.tap.openaiBaseUrl,
    authToken: AUTH_TOKEN,
    endpointingMs: latencies.endpointingMs,
    nodeFlags: [...(opts.server?.nodeFlags ?? []), ...(opts.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfileDir] : [])],
  });
  log(`server pid ${server.pid} on ${server.url} (${opts.cwd})`);

  const tickers = await PhasedTickers.start();
  const levels: LevelResult[] = [];
  let nextCallId = 1;
  try {
    const warmUp = opts.warmUpCalls ?? 4;
    if (warmUp > 0) {
      log(`warm-up: ${warmUp} calls`);
      const raw = await runLevel(world, server, tickers, { concurrency: warmUp, turns: 2, firstCallId: nextCallId, rampMs: 200, wordMs, quietMs });
      nextCallId += warmUp;
      const w = analyzeLevel(raw);
      if (w.failedCalls > 0) log(`warm-up had ${w.failedCalls} failed calls: ${JSON.stringify(w.failures)}`);
    }
    // RSS per call is measured against the idle server after the warm-up (V8 does not give memory back between levels).
    await new Promise((r) => setTimeout(r, 500));
    const idleRssBytes = server.rssBytes();
    log(`idle server RSS after warm-up: ${(idleRssBytes / 1048576).toFixed(1)} MB`);
    for (const concurrency of opts.concurrency) {
      const rampMs = opts.rampMs ?? autoRampMs(concurrency);
      log(`level ${concurrency}: ramp ${rampMs} ms`);
      const cfg = { concurrency, turns: opts.turns, firstCallId: nextCallId, rampMs, wordMs, quietMs };
      const raw = await runLevel(world, server, tickers, cfg, idleRssBytes);
      nextCallId += concurrency;
      const result = analyzeLevel(raw);
      levels.push(result);
      log(
        `level ${concurrency}: ${result.durationS.toFixed(1)} s, overhead p50 ${result.turnOverheadMs.p50} p99 ${result.turnOverheadMs.p99} ms, ` +
          `failed ${result.failedCalls}/${result.calls}, RSS/call ${result.rssKbPerCall?.toFixed(0) ?? '?'} KB ` +
          `(heap total ${result.memoryKbPerCall?.heapTotal ?? '?'}, used ${result.memoryKbPerCall?.heapUsed ?? '?'}, external ${result.memoryKbPerCall?.external ?? '?'} KB)`,
      );
    }
  } finally {
    tickers.stop();
    await server.stop();
    await world.close();
  }

  return {
    rev: opts.server?.label ?? gitRev(opts.cwd),
    date: new Date().toISOString(),
    machine: machineInfo(),
    config: {
      concurrency: opts.concurrency,
      turns: opts.turns,
      rampMs: opts.rampMs ?? null,
      wordMs,
      quietMs,
      latencies,
      cpuProfile: opts.cpuProfileDir !== undefined,
    },
    durationS: (performance.now() - startedAt) / 1000,
    levels,
    targets: TARGETS,
  };
}

/** Setting up a call costs the server a webhook, a WebSocket and two provider sockets: 50 new calls per second. */
export function autoRampMs(concurrency: number): number {
  return Math.min(8000, concurrency * 20);
}

/** Short revision of the checkout, `-dirty` when files the server runs (not bench results) have local changes. */
export function gitRev(cwd: string): string {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src', 'actors', 'machines'], { cwd, encoding: 'utf8' }).trim();
    return status === '' ? rev : `${rev}-dirty`;
  } catch {
    return 'unknown';
  }
}
