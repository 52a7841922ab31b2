/**
 * `npm run bench` — what the orchestrator adds to latency and how many calls one process carries.
 *
 *   npm run bench                                  default sweep 1,50,100,200,400
 *   npm run bench -- --concurrency 10,100 --turns 4
 *   npm run bench -- --quick                       a few calls, for a quick check
 *   npm run bench -- --cpu-prof                    also write the server's V8 CPU profile (bench/profiles/)
 *   npm run bench -- --compare <revA> <revB>       both revisions back to back, ratios B/A
 *   npm run bench -- --floor --concurrency 100      also the bare orchestrator floor (bench/floor-orchestrator.ts),
 *                                                   same run, ratios server / floor
 *   npm run bench -- --instances 1,2 -c 50,100   through nginx (deploy/nginx.conf) in front of N instances sharing a
 *                    private redis-server and a fresh PostgreSQL database: the levels per instance count, PostgreSQL
 *                    row writes and Redis commands per call (bench/cluster.ts)
 *   npm run bench -- --stt nova,flux               voice-to-voice latency per STT engine (flux = eager off and on)
 *                    [--calls 12] [--turns 6] [--hesitation-ms 250]
 *
 * Results: bench/results/<date>-<rev>.json and bench/results/latest.json, plus a markdown table on stdout.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { gitRev, runBench, type BenchOptions } from './bench.js';
import { clusterReport, runClusterBench } from './cluster.js';
import { ratioTable, runCompare } from './compare.js';
import { summarizeProfiles } from './profile-summary.js';
import { markdownTable, notes, writeResult } from './report.js';
import { runVoiceBench, type SttVariant } from './voice.js';
import { voiceNotes, voiceTable, writeVoiceResult } from './voice-report.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Args {
  concurrency: number[];
  turns: number;
  quick: boolean;
  cpuProf: boolean;
  compare: [string, string] | null;
  floor: boolean;
  out: string;
  rampMs: number | undefined;
  /** Voice-to-voice mode: the STT variants to measure (null = the load sweep). */
  stt: SttVariant[] | null;
  calls: number;
  hesitationMs: number;
  /** Cluster mode: instance counts behind nginx (null = one server, no nginx). */
  instances: number[] | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    concurrency: [1, 50, 100, 200, 400],
    turns: 3,
    quick: false,
    cpuProf: false,
    compare: null,
    floor: false,
    out: path.join(repo, 'bench', 'results'),
    rampMs: undefined,
    stt: null,
    calls: 12,
    hesitationMs: 250,
    instances: null,
  };
  let concurrencyGiven = false;
  let turnsGiven = false;
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
      turnsGiven = true;
    } else if (a === '--stt') args.stt = parseStt(value());
    else if (a === '--calls') {
      args.calls = Number(value());
      if (!Number.isInteger(args.calls) || args.calls < 1) throw new Error('--calls takes a positive integer');
    } else if (a === '--hesitation-ms') {
      args.hesitationMs = Number(value());
      if (!Number.isFinite(args.hesitationMs) || args.hesitationMs < 0) throw new Error('--hesitation-ms takes a non-negative number');
    } else if (a === '--instances') {
      args.instances = value()
        .split(',')
        .map((s) => Number(s.trim()));
      if (args.instances.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--instances takes positive integers, e.g. 1,2');
    } else if (a === '--quick') args.quick = true;
    else if (a === '--cpu-prof') args.cpuProf = true;
    else if (a === '--floor') args.floor = true;
    else if (a === '--ramp-ms') args.rampMs = Number(value());
    else if (a === '--out') args.out = path.resolve(value());
    else if (a === '--compare') args.compare = [value(), value()];
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${usage()}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}\n${usage()}`);
  }
  if (args.stt && !turnsGiven) args.turns = 6;
  if (args.quick) {
    if (!concurrencyGiven) args.concurrency = [4];
    if (args.stt) args.calls = 4;
    else args.turns = 2;
  }
  return args;
}

/** `nova`, `flux` (= eager off and on) or both, comma-separated. */
function parseStt(value: string): SttVariant[] {
  const out: SttVariant[] = [];
  for (const name of value.split(',').map((v) => v.trim())) {
    if (name === 'nova') out.push('nova');
    else if (name === 'flux') out.push('flux', 'flux-eager');
    else throw new Error(`--stt takes nova, flux or nova,flux (got "${name}")`);
  }
  return [...new Set(out)];
}

function usage(): string {
  return (
    'usage: npm run bench -- [--concurrency 1,50,100,200,400] [--turns 3] [--quick] [--cpu-prof] [--ramp-ms N] [--out dir] [--compare revA revB] [--floor]\n' +
    '       npm run bench -- --instances 1,2 [--concurrency 50,100] [--turns 3] [--ramp-ms N]  (needs nginx, redis-server, PostgreSQL)\n' +
    '       npm run bench -- --stt nova|flux|nova,flux [--calls 12] [--turns 6] [--hesitation-ms 250] [--quick] [--out dir]'
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
  const base: Omit<BenchOptions, 'cwd'> = { concurrency: args.concurrency, turns: args.turns, rampMs: args.rampMs, log };

  if (args.stt) {
    const result = await runVoiceBench({ cwd: repo, variants: args.stt, calls: args.calls, turns: args.turns, hesitationMs: args.hesitationMs, rampMs: args.rampMs, log });
    const file = writeVoiceResult(result, args.out);
    const lines = [
      '',
      `## Voice-to-voice latency ${result.rev} — ${result.date} — ${result.machine.cpus} × ${result.machine.cpuModel}, node ${result.machine.node}`,
      '',
      voiceTable(result),
      '',
      voiceNotes(result),
      '',
      `Run took ${result.durationS.toFixed(0)} s. Results: ${path.relative(process.cwd(), file)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return;
  }

  if (args.instances) {
    const levels = await runClusterBench({ cwd: repo, instances: args.instances, concurrency: args.concurrency, turns: args.turns, rampMs: args.rampMs, log });
    const rev = gitRev(repo);
    const lines = [
      '',
      `## Cluster benchmark ${rev} — ${new Date().toISOString()} — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
      '',
      'Through nginx (deploy/nginx.conf); Redis (private redis-server) and PostgreSQL (fresh database) shared by the instances;',
      'the load generator and simulators share the cores.',
      '',
      clusterReport(levels),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return;
  }

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
  if (args.floor) {
    const floorServer = { entry: path.join(repo, 'bench', 'floor.ts'), args: ['--serve'], nodeFlags: ['--import', 'tsx'], label: 'floor' };
    const floor = await runBench({ ...base, cwd: repo, server: floorServer });
    lines.push(
      '',
      '## Bare orchestrator floor (bench/floor-orchestrator.ts: the same turn, no framework), same run',
      '',
      markdownTable(floor.levels),
      '',
      '## Ratios server / floor (lower-is-better metrics: 1.00 = as cheap as no framework at all)',
      '',
      ratioTable(floor.levels, result.levels),
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
