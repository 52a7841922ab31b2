/**
 * `npm run bench` — what the orchestrator adds to latency and how many calls one process carries.
 *
 *   npm run bench                                  default sweep 1,50,100,200,400
 *   npm run bench -- --concurrency 10,100 --turns 4
 *   npm run bench -- --quick                       a few calls, for a quick check
 *   npm run bench -- --cpu-prof                    also write the server's V8 CPU profile (bench/profiles/)
 *   npm run bench -- --compare <revA> <revB>       both revisions back to back, ratios B/A
 *
 * Results: bench/results/<date>-<rev>.json and bench/results/latest.json, plus a markdown table on stdout.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBench, type BenchOptions } from './bench.js';
import { runCompare } from './compare.js';
import { summarizeProfiles } from './profile-summary.js';
import { markdownTable, notes, writeResult } from './report.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Args {
  concurrency: number[];
  turns: number;
  quick: boolean;
  cpuProf: boolean;
  compare: [string, string] | null;
  out: string;
  rampMs: number | undefined;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    concurrency: [1, 50, 100, 200, 400],
    turns: 3,
    quick: false,
    cpuProf: false,
    compare: null,
    out: path.join(repo, 'bench', 'results'),
    rampMs: undefined,
  };
  let concurrencyGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--concurrency' || a === '-c') {
      args.concurrency = value()
        .split(',')
        .map((s) => Number(s.trim()));
      if (args.concurrency.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--concurrency takes positive integers, e.g. 1,50,100');
      concurrencyGiven = true;
    } else if (a === '--turns') {
      args.turns = Number(value());
      if (!Number.isInteger(args.turns) || args.turns < 2) throw new Error('--turns must be an integer ≥ 2 (turn 2 is the barge-in)');
    } else if (a === '--quick') args.quick = true;
    else if (a === '--cpu-prof') args.cpuProf = true;
    else if (a === '--ramp-ms') args.rampMs = Number(value());
    else if (a === '--out') args.out = path.resolve(value());
    else if (a === '--compare') args.compare = [value(), value()];
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${usage()}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}\n${usage()}`);
  }
  if (args.quick) {
    if (!concurrencyGiven) args.concurrency = [4];
    args.turns = 2;
  }
  return args;
}

function usage(): string {
  return 'usage: npm run bench -- [--concurrency 1,50,100,200,400] [--turns 3] [--quick] [--cpu-prof] [--ramp-ms N] [--out dir] [--compare revA revB]';
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
  const base: Omit<BenchOptions, 'cwd'> = { concurrency: args.concurrency, turns: args.turns, rampMs: args.rampMs, log };

  if (args.compare) {
    process.stdout.write(`${await runCompare(repo, args.compare[0], args.compare[1], base, args.out)}\n`);
    return;
  }

  const profileDir = args.cpuProf ? path.join(repo, 'bench', 'profiles') : undefined;
  const result = await runBench({ ...base, cwd: repo, cpuProfileDir: profileDir });
  const file = writeResult(result, args.out);
  const lines = [
    '',
    `## Benchmark ${result.rev} — ${result.date} — ${result.machine.cpus} × ${result.machine.cpuModel}, node ${result.machine.node}`,
    '',
    markdownTable(result.levels),
    '',
    notes(result.levels),
    '',
    `Run took ${result.durationS.toFixed(0)} s. Results: ${path.relative(process.cwd(), file)}`,
  ];
  if (profileDir) lines.push('', summarizeProfiles(profileDir));
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
