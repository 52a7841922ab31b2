/**
 * How busy the machine was with processes other than the server and the bench during a level (other people's
 * builds and tests share this 2-core machine): total busy CPU time from /proc/stat minus what the two of us used.
 * A level run next to a noisy neighbour is flagged in the report instead of silently reporting worse numbers.
 */
import { readFileSync } from 'node:fs';
import type { CpuTimes } from './server-process.js';

const TICK_MS = 10; // USER_HZ is 100 on Linux

export interface LoadSample {
  busyMs: number;
  benchMs: number;
}

export function sampleLoad(): LoadSample {
  let busyMs = 0;
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal …
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    busyMs = ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * TICK_MS;
  } catch {
    busyMs = NaN;
  }
  const own = process.cpuUsage();
  return { busyMs, benchMs: (own.user + own.system) / 1000 };
}

/** Average cores used by everything else between two samples. */
export function otherCores(before: LoadSample, after: LoadSample, server: CpuTimes, wallMs: number): number {
  const others = after.busyMs - before.busyMs - (after.benchMs - before.benchMs) - server.userMs - server.systemMs;
  return Math.max(0, others) / wallMs;
}

/** Average cores the bench process itself used. */
export function benchCores(before: LoadSample, after: LoadSample, wallMs: number): number {
  return (after.benchMs - before.benchMs) / wallMs;
}
