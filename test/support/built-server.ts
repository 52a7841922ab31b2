/**
 * One production build per test run, shared by every file that starts the built server (`node dist/…`): the process
 * and package tests, the cluster, the bench smoke and the voice bench. A tsc build of the runtime folders is ~25 s of
 * CPU on this machine; each of those files used to run its own (five compiles per `npm test`, and two compilers
 * writing one dist/ at once could tear files).
 *
 * The first file that asks builds (lazily: a run of unit tests alone builds nothing), the others wait for it. The
 * files run in separate worker processes, so "first" is decided by an atomic mkdir in a directory the global setup
 * made for this run (a fresh one each run: nothing stale from a crashed earlier run), and the outcome is a file there.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { stampBuild } from '../../scripts/build-stamp.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A directory for this run's shared build (lock and outcome). */
    buildRunDir: string;
  }
}

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
/** The production entry point, as `npm start` runs it. */
export const BUILT_ENTRY = path.join(REPO_ROOT, 'dist/src/cli/main.js');
const WAIT_LIMIT_MS = 300_000;

type Outcome = { ok: true } | { ok: false; output: string };

async function build(outcomeFile: string): Promise<void> {
  const tsc = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
  let outcome: Outcome = { ok: true };
  try {
    // Incremental (tsconfig.build.json): when dist/ is already current this is a few seconds of checking.
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
    stampBuild(REPO_ROOT); // as `npm run build` does: dist/ is current now, even where tsc had nothing to rewrite
  } catch (err) {
    const { stdout = '', message } = err as { stdout?: string; message: string };
    outcome = { ok: false, output: (stdout || message).split('\n').slice(0, 30).join('\n') };
  }
  writeFileSync(outcomeFile, JSON.stringify(outcome));
}

async function waitFor(outcomeFile: string): Promise<Outcome> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!existsSync(outcomeFile)) {
    if (Date.now() > deadline) throw new Error(`the shared build did not finish within ${WAIT_LIMIT_MS / 1000} s (${outcomeFile})`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return JSON.parse(readFileSync(outcomeFile, 'utf8')) as Outcome;
}

let built: Promise<string> | undefined;

/** Builds dist/ once per run (or waits for the file that does) and returns the built entry point. */
export function builtServer(): Promise<string> {
  built ??= (async () => {
    const dir = inject('buildRunDir');
    const outcomeFile = path.join(dir, 'build-outcome.json');
    try {
      mkdirSync(dir, { recursive: true });
      mkdirSync(path.join(dir, 'lock'));
      await build(outcomeFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const outcome = await waitFor(outcomeFile);
    if (!outcome.ok) throw new Error(`npm run build failed, so the built server cannot be tested:\n${outcome.output}`);
    return BUILT_ENTRY;
  })();
  return built;
}

/**
 * A command-line entry point of the run's build (`src/cli/call-cli.ts` → `dist/src/cli/call-cli.js`), for the tests
 * that start one as a process: ~1.5 s of CPU to start, where the same entry through tsx costs ~5 s (it compiles the
 * server's whole import graph first). Call after `await builtServer()` (in the file's beforeAll).
 */
export function builtCli(entry: string): string {
  const built = path.join(REPO_ROOT, 'dist', entry.replace(/\.ts$/, '.js'));
  if (!existsSync(built)) throw new Error(`${built} is missing: await builtServer() in the file's beforeAll first`);
  return built;
}
