/**
 * The server under test, as its own process running the built JavaScript (`node dist/src/cli/main.js`, built once per
 * checkout by `buildServer`), configured like production with real provider clients pointed at the bench's simulators. The bench reads its CPU time and RSS from /proc, scrapes its
 * /metrics, and keeps its log lines (level warn and above) as evidence of failures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { execFileSync } from 'node:child_process';

export interface ServerOptions {
  /** Checkout to run (a git worktree for --compare). */
  cwd: string;
  deepgramUrl: string;
  openaiBaseUrl: string;
  authToken: string;
  endpointingMs: number;
  /** Where the server keeps call records; default a temp file removed on stop (never into the checkout). */
  callDbPath?: string;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
  nodeFlags?: string[];
  /** Extra environment for the server (e.g. STT_ENGINE, FLUX_*). */
  env?: Record<string, string>;
  /** The built entry point (from `buildServer(cwd)`); default: build now. */
  entry?: string;
  /** Arguments after the entry point. */
  entryArgs?: string[];
  /** Listen here (behind a proxy that was configured first); default a free port. */
  port?: number;
}

export interface CpuTimes {
  userMs: number;
  systemMs: number;
}

export interface ServerLogLine {
  level: string;
  message: string;
}

export interface ServerProcess {
  readonly pid: number;
  readonly url: string;
  readonly port: number;
  /** Log lines at warn or above (and anything unparsable on stderr) since the last take. */
  takeLogs(): ServerLogLine[];
  /** CPU time used so far (utime, stime) in ms. */
  cpuTimes(): CpuTimes;
  rssBytes(): number;
  metrics(): Promise<Map<string, number>>;
  health(): Promise<{ activeCalls: number }>;
  /** SIGTERM (graceful drain, writes the CPU profile when one was asked for). */
  stop(): Promise<void>;
}

const CLOCK_TICKS = clockTicks();

function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startServerProcess(opts: ServerOptions): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const recordsDir = mkdtempSync(path.join(os.tmpdir(), 'bench-records-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: url,
    TWILIO_AUTH_TOKEN: opts.authToken,
    DEEPGRAM_API_KEY: 'bench-deepgram-key',
    DEEPGRAM_BASE_URL: opts.deepgramUrl,
    LLM_PROVIDER: 'openai',
    OPENAI_API_KEY: 'bench-openai-key',
    OPENAI_BASE_URL: opts.openaiBaseUrl,
    STT_ENDPOINTING_MS: String(opts.endpointingMs),
    DRAIN_TIMEOUT_MS: '3000',
    // Every bench call comes from one address, as Twilio's streams come from a few: raised to the burst, as the README
    // tells a deployment to (at 400 calls a starved server held more than the default 20 streams before their start).
    MAX_PENDING_STREAMS_PER_ADDRESS: '1000',
    CALL_DB_PATH: opts.callDbPath ?? path.join(recordsDir, 'calls.db'),
    // Tracing on for the server under test when the bench's own environment says so (OTEL_EXPORTER_OTLP_ENDPOINT, …).
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('OTEL_'))),
    // Experiments: BENCH_SERVER_<NAME>=value sets the server's NAME (e.g. BENCH_SERVER_CALL_RECORDS=false).
    ...Object.fromEntries(
      Object.entries(process.env)
        .filter(([name]) => name.startsWith('BENCH_SERVER_') && name.length > 'BENCH_SERVER_'.length)
        .map(([name, value]) => [name.slice('BENCH_SERVER_'.length), value]),
    ),
    ...opts.env,
  };
  const entry = opts.entry ?? buildServer(opts.cwd);
  const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), entry, ...(opts.entryArgs ?? [])], {
    cwd: opts.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the server process');

  let logs: ServerLogLine[] = [];
  const startupOutput: string[] = [];
  const onLine = (line: string, stream: 'stdout' | 'stderr'): void => {
    if (line.trim() === '') return;
    if (startupOutput.length < 50) startupOutput.push(line);
    const parsed = parseLogLine(line);
    if (parsed) {
      if (parsed.level === 'warn' || parsed.level === 'error') logs.push(parsed);
    } else if (stream === 'stderr') logs.push({ level: 'stderr', message: line.slice(0, 300) });
  };
  lineReader(child, 'stdout', onLine);
  lineReader(child, 'stderr', onLine);

  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitHealthy(url, exited, () => startupOutput.join('\n'));

  return {
    pid,
    url,
    port,
    takeLogs() {
      const taken = logs;
      logs = [];
      return taken;
    },
    cpuTimes() {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { userMs: (Number(fields[11]) * 1000) / CLOCK_TICKS, systemMs: (Number(fields[12]) * 1000) / CLOCK_TICKS };
    },
    rssBytes() {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
      return kb === undefined ? 0 : Number(kb) * 1024;
    },
    async metrics() {
      const res = await fetch(`${url}/metrics`);
      return parsePrometheus(await res.text());
    },
    async health() {
      const res = await fetch(`${url}/healthz`);
      const body = (await res.json()) as { activeCalls?: unknown };
      return { activeCalls: typeof body.activeCalls === 'number' ? body.activeCalls : -1 };
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(recordsDir, { recursive: true, force: true });
    },
  };
}

/** Folders that hold what the server runs, in any revision (the ones a revision lacks are skipped). */
const RUNTIME_DIRS = ['machines', 'actors', 'lib', 'src', 'offline', 'agents'];
/** Entry points across revisions: today's, then the flat layout of November 2026. */
const ENTRIES = ['src/cli/main.ts', 'src/main.ts'];

/**
 * Compiles a checkout's server to JavaScript (what production runs: no tsx transpiling on the call path) and returns
 * the built entry point. Uses the checkout's own `tsconfig.build.json`; a revision from before it existed gets an
 * equivalent one (its tsconfig.json, emitting the runtime folders into dist/). The console page is not built: the
 * bench does not open a console.
 */
export function buildServer(cwd: string): string {
  const source = ENTRIES.find((e) => existsSync(path.join(cwd, e)));
  if (source === undefined) throw new Error(`no server entry point (${ENTRIES.join(', ')}) in ${cwd}`);
  let project = path.join(cwd, 'tsconfig.build.json');
  if (!existsSync(project)) {
    project = path.join(cwd, 'tsconfig.bench-build.json');
    const include = RUNTIME_DIRS.filter((d) => existsSync(path.join(cwd, d)));
    const config = {
      extends: './tsconfig.json',
      compilerOptions: { noEmit: false, outDir: 'dist', rootDir: '.' },
      include,
      exclude: ['node_modules', 'dist', 'test', 'bench', '**/*.test.ts'],
    };
    writeFileSync(project, JSON.stringify(config, null, 2));
  }
  const tsc = path.join(cwd, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', project], { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    const out = (err as { stdout?: string }).stdout ?? '';
    throw new Error(`building the server in ${cwd} failed:\n${out.split('\n').slice(0, 20).join('\n')}`);
  }
  const entry = path.join(cwd, 'dist', source.replace(/\.ts$/, '.js'));
  if (!existsSync(entry)) throw new Error(`the build did not produce ${entry}`);
  return entry;
}

function lineReader(child: ChildProcess, stream: 'stdout' | 'stderr', onLine: (line: string, stream: 'stdout' | 'stderr') => void): void {
  let rest = '';
  child[stream]?.setEncoding('utf8');
  child[stream]?.on('data', (chunk: string) => {
    rest += chunk;
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      onLine(rest.slice(0, nl), stream);
      rest = rest.slice(nl + 1);
    }
  });
}

function parseLogLine(line: string): ServerLogLine | null {
  if (!line.startsWith('{')) return null;
  try {
    const v = JSON.parse(line) as { level?: unknown; message?: unknown };
    if (typeof v.level !== 'string') return null;
    return { level: v.level, message: typeof v.message === 'string' ? v.message : '' };
  } catch {
    return null;
  }
}

async function waitHealthy(url: string, exited: Promise<number | null>, output: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`server exited during start-up:\n${output()}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become healthy within 30 s:\n${output()}`);
}

/** `name{labels} value` lines → map keyed by the whole series (`name` or `name{labels}`). */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space < 0) continue;
    const value = Number(line.slice(space + 1));
    if (Number.isFinite(value)) out.set(line.slice(0, space), value);
  }
  return out;
}

/** Sum of every series of a metric (all label sets). */
export function metricTotal(metrics: Map<string, number>, name: string): number {
  let total = 0;
  for (const [series, value] of metrics) if (series === name || series.startsWith(`${name}{`)) total += value;
  return total;
}
