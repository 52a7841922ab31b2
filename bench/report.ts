/** The benchmark's outputs: the JSON result file and the markdown table printed at the end. */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LevelResult } from './analyze.js';
import { fmt } from './stats.js';
import type { ProviderLatencies } from './world.js';

export interface BenchResult {
  rev: string;
  date: string;
  machine: { cpus: number; cpuModel: string; node: string; platform: string };
  config: {
    concurrency: number[];
    turns: number;
    /** null = automatic (20 ms per call, at most 8 s). */
    rampMs: number | null;
    wordMs: number;
    quietMs: number;
    latencies: ProviderLatencies;
    cpuProfile: boolean;
  };
  /** Wall time of the whole run, start-up included. */
  durationS: number;
  levels: LevelResult[];
  targets: typeof TARGETS;
}

export const TARGETS = {
  turnOverheadP50Ms: 2,
  turnOverheadP99Ms: 10,
  turnOverheadAtCalls: 200,
  bargeInClearP99Ms: 5,
  greetingMs: 20,
  minCalls: 400,
  eventLoopP99Ms: 20,
  cpuMsPerCallSecond: 1,
  rssKbPerCall: 512,
} as const;

export function machineInfo(): BenchResult['machine'] {
  const cpus = os.cpus();
  return { cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}` };
}

/** Writes `<dir>/<date>-<rev>.json` and `<dir>/latest.json`; returns the dated path. */
export function writeResult(result: BenchResult, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const stamp = result.date.replace(/:\d\d\.\d+Z$/, '').replace(/:/g, '').replace('T', '-');
  const file = path.join(dir, `${stamp}-${result.rev}.json`);
  const json = JSON.stringify(result, null, 1) + '\n';
  writeFileSync(file, json);
  writeFileSync(path.join(dir, 'latest.json'), json);
  return file;
}

const pair = (a: number | null, b: number | null, digits = 2): string => `${fmt(a, digits)} / ${fmt(b, digits)}`;
const triple = (a: number | null, b: number | null, c: number | null): string => `${fmt(a)} / ${fmt(b)} / ${fmt(c)}`;

/** Below this many calls the RSS difference is within GC noise (it can even be negative); the JSON keeps it. */
export const RSS_MIN_CALLS = 100;

export function markdownTable(levels: readonly LevelResult[]): string {
  const t = TARGETS;
  const head = [
    'calls',
    'turn overhead ms p50 / p95 / p99',
    'barge-in → clear ms p50 / p99',
    'barge-in → TTS Clear ms p50 / p99',
    'greeting ms p50 / p99',
    'CPU ms per call-s',
    'RSS KB per call',
    'event loop p99 ms',
    'failed calls',
  ];
  const rows = levels.map((l) => [
    String(l.concurrency),
    triple(l.turnOverheadMs.p50, l.turnOverheadMs.p95, l.turnOverheadMs.p99),
    pair(l.bargeInToClearMs.p50, l.bargeInToClearMs.p99),
    pair(l.bargeInToTtsClearMs.p50, l.bargeInToTtsClearMs.p99),
    pair(l.greetingMs.p50, l.greetingMs.p99, 1),
    fmt(l.serverCpuMsPerCallSecond, 3),
    l.concurrency >= RSS_MIN_CALLS ? fmt(l.rssKbPerCall, 0) : '—',
    fmt(l.serverEventLoopP99Ms, 1),
    `${l.failedCalls} / ${l.calls}`,
  ]);
  const target = [
    'target',
    `≤ ${t.turnOverheadP50Ms} / — / ≤ ${t.turnOverheadP99Ms} @${t.turnOverheadAtCalls}`,
    `— / ≤ ${t.bargeInClearP99Ms}`,
    '—',
    `≤ ${t.greetingMs}`,
    `≤ ${t.cpuMsPerCallSecond}`,
    `≤ ${t.rssKbPerCall}`,
    `< ${t.eventLoopP99Ms} @${t.minCalls}`,
    `0 @${t.minCalls}`,
  ];
  const lines = [head, head.map(() => '---'), ...rows, target].map((cells) => `| ${cells.join(' | ')} |`);
  return lines.join('\n');
}

/** Per level: the things that make the numbers above less trustworthy or explain a failure. */
export function notes(levels: readonly LevelResult[]): string {
  const out: string[] = [];
  for (const l of levels) {
    const parts: string[] = [];
    parts.push(
      `hops p50 stt→llm ${fmt(l.hopsMs.sttToLlm.p50)} · llm→tts ${fmt(l.hopsMs.llmToTts.p50)} · tts→caller ${fmt(l.hopsMs.ttsToCaller.p50)} ms`,
    );
    parts.push(`end-to-end p50 ${fmt(l.endToEndMs.p50, 0)} ms (providers included)`);
    parts.push(`cores used: server ${fmt(l.serverCores)}, bench ${fmt(l.benchCores)}, others ${fmt(l.otherCores)}`);
    parts.push(`bench loop p99 ${fmt(l.benchEventLoopP99Ms, 1)} ms`);
    if (l.records) {
      const r = l.records;
      parts.push(`call records: ${r.callsWritten} written, ${fmt(r.kbPerCallMinute)} KB per call-minute, ${fmt(r.writeMsPerCall, 3)} ms of writes per call${r.errors > 0 ? `, ⚠ ${r.errors} store errors` : ''}`);
    }
    if (l.otherCores > 0.1) parts.push(`⚠ other processes on the machine used ${fmt(l.otherCores)} cores meanwhile`);
    if (l.serverCores + l.benchCores + l.otherCores > 1.8) parts.push('⚠ machine CPU saturated: latencies include queueing');
    if (l.benchSkippedTicks > 0) parts.push(`bench skipped ${l.benchSkippedTicks} caller ticks`);
    if (l.unmeasuredTurns > 0) parts.push(`${l.unmeasuredTurns} turns unmeasured`);
    const failures = Object.entries(l.failures);
    if (failures.length > 0) parts.push(`failures: ${failures.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
    const warnings = Object.entries(l.serverWarnings);
    if (warnings.length > 0) parts.push(`server log: ${warnings.slice(0, 5).map(([k, v]) => `${k} ×${v}`).join('; ')}`);
    out.push(`- ${l.concurrency} calls (${fmt(l.durationS, 1)} s): ${parts.join('; ')}`);
  }
  return out.join('\n');
}
