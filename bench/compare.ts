/**
 * `--compare <revA> <revB>`: the same benchmark (this checkout's bench and simulators) against the servers of two
 * git revisions, back to back. Each revision is checked out with `git worktree add` into a temp directory whose
 * node_modules is a symlink to this checkout's, so nothing is installed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LevelResult } from './analyze.js';
import { runBench, type BenchOptions } from './bench.js';
import { markdownTable, writeResult, type BenchResult } from './report.js';
import { fmt } from './stats.js';

export async function runCompare(repo: string, revA: string, revB: string, base: Omit<BenchOptions, 'cwd'>, outDir: string): Promise<string> {
  const a = await benchRevision(repo, revA, base);
  const b = await benchRevision(repo, revB, base);
  const files = [writeResult(a, outDir), writeResult(b, outDir)];
  return [
    '',
    `## A = ${revA} (${a.rev})`,
    '',
    markdownTable(a.levels),
    '',
    `## B = ${revB} (${b.rev})`,
    '',
    markdownTable(b.levels),
    '',
    '## Ratios B / A (every metric is lower-is-better: < 1 means B is better)',
    '',
    ratioTable(a.levels, b.levels),
    '',
    `Results: ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`,
  ].join('\n');
}

async function benchRevision(repo: string, rev: string, base: Omit<BenchOptions, 'cwd'>): Promise<BenchResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-worktree-'));
  base.log?.(`checking out ${rev} into ${dir}`);
  execFileSync('git', ['worktree', 'add', '--detach', dir, rev], { cwd: repo, stdio: 'ignore' });
  try {
    symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    return await runBench({ ...base, cwd: dir });
  } finally {
    try {
      execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: repo, stdio: 'ignore' });
    } catch {
      rmSync(dir, { recursive: true, force: true });
      execFileSync('git', ['worktree', 'prune'], { cwd: repo, stdio: 'ignore' });
    }
  }
}

type Metric = [label: string, pick: (l: LevelResult) => number | null];

const METRICS: Metric[] = [
  ['overhead p50', (l) => l.turnOverheadMs.p50],
  ['overhead p99', (l) => l.turnOverheadMs.p99],
  ['barge-in → clear p99', (l) => l.bargeInToClearMs.p99],
  ['greeting p50', (l) => l.greetingMs.p50],
  ['CPU ms / call-s', (l) => l.serverCpuMsPerCallSecond],
  ['RSS KB / call', (l) => l.rssKbPerCall],
  ['event loop p99', (l) => l.serverEventLoopP99Ms],
  ['failed calls', (l) => l.failedCalls],
];

export function ratioTable(a: readonly LevelResult[], b: readonly LevelResult[]): string {
  const head = ['calls', ...METRICS.map(([label]) => label)];
  const rows: string[][] = [];
  for (const la of a) {
    const lb = b.find((l) => l.concurrency === la.concurrency);
    if (!lb) continue;
    rows.push([
      String(la.concurrency),
      ...METRICS.map(([, pick]) => {
        const va = pick(la);
        const vb = pick(lb);
        if (va === null || vb === null) return '—';
        if (va === 0) return vb === 0 ? '1.00' : `${fmt(vb)} (A: 0)`;
        return `${fmt(vb / va)} (${fmt(va)} → ${fmt(vb)})`;
      }),
    ]);
  }
  return [head, head.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
