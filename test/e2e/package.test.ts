/**
 * The package as a user gets it: built and packed (`npm pack`, the package.json `files`), installed from the tarball
 * into a fresh project, then used from there — a plain-JavaScript agent and a TypeScript agent each answer a
 * simulated call through the `voice-call-orchestrator` command, and `tsc` type-checks a user's file against the
 * shipped declarations. One pack, one install (dependencies from the local npm cache, `--prefer-offline`).
 *
 * The build is the run's one production build of the checkout (test/support/built-server.ts), copied into a staging
 * directory with the package's own files and packed from there, so nothing is written into the checkout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { builtServer } from '../support/built-server.js';
import { freePort } from '../../bench/server-process.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const node = process.execPath;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vco-package-'));
const stage = path.join(work, 'stage');
const project = path.join(work, 'project');

interface PackedFile {
  path: string;
  size: number;
}
let packed: { filename: string; size: number; unpackedSize: number; files: PackedFile[] };
let installMs = 0;

beforeAll(async () => {
  fs.mkdirSync(stage);
  for (const file of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE']) fs.copyFileSync(path.join(root, file), path.join(stage, file));
  // `npm run build` = tsc with tsconfig.build.json (the run's shared build) + the console page (globalSetup builds
  // dist/console when stale); package.json's `files` decides what of it is packed.
  await builtServer();
  fs.cpSync(path.join(root, 'dist'), path.join(stage, 'dist'), { recursive: true });
  const { stdout } = await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: stage });
  packed = (JSON.parse(stdout) as (typeof packed)[])[0]!;

  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'my-phone-agent', private: true, type: 'module' }));
  const started = performance.now();
  // --ignore-scripts: better-sqlite3's install script would compile it from source here (its prebuilt binaries are
  // on GitHub, out of reach), minutes for a module these calls do not open (CALL_RECORDS=off below).
  await run(npm, ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', path.join(work, packed.filename), '@types/node@20'], {
    cwd: project,
    maxBuffer: 16 << 20,
  });
  installMs = performance.now() - started;
  fs.writeFileSync(
    path.join(project, 'agent.js'),
    `import { defineAgent } from 'voice-call-orchestrator';
export default defineAgent({ name: 'js-agent', systemPrompt: 'Be brief.', greeting: 'Hello from the JavaScript agent.' });
`,
  );
  fs.writeFileSync(
    path.join(project, 'agent.ts'),
    `import { z } from 'zod';
import { defineAgent, tool } from 'voice-call-orchestrator';

export default defineAgent({
  name: 'ts-agent',
  systemPrompt: 'Be brief.',
  greeting: 'Hello from the TypeScript agent.',
  tools: {
    opening_hours: tool({
      description: 'The opening hours on a day of the week.',
      parameters: z.object({ day: z.string() }),
      async execute({ day }): Promise<string> {
        return \`open on \${day.toLowerCase()}\`;
      },
    }),
  },
});
`,
  );
}, 900_000);

afterAll(() => fs.promises.rm(work, { recursive: true, force: true }), 120_000);

describe('the npm package', () => {
  it('holds the built JS, its declarations, the console page, the simulators and the default agent — nothing else', () => {
    const paths = packed.files.map((f) => f.path).sort();
    console.log(`package: ${(packed.size / 1024).toFixed(1)} kB packed, ${(packed.unpackedSize / 1024).toFixed(1)} kB unpacked, ${paths.length} files; install ${(installMs / 1000).toFixed(1)} s`);
    for (const needed of [
      'package.json',
      'README.md',
      'CHANGELOG.md',
      'LICENSE',
      'dist/src/api/index.js',
      'dist/src/api/index.d.ts',
      'dist/src/api/testing.js',
      'dist/src/api/testing.d.ts',
      'dist/src/cli/bin.js',
      'dist/src/cli/main.js',
      'dist/console/index.html',
      'dist/agents/front-desk.js',
      'dist/offline/llm.js',
      'dist/offline/deepgram.js',
      'dist/offline/twilio-caller.js',
      'dist/machines/call.machine.js',
    ]) {
      expect(paths).toContain(needed);
    }
    const top = new Set(['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE']);
    const dirs = ['dist/src/', 'dist/machines/', 'dist/actors/', 'dist/lib/', 'dist/offline/', 'dist/agents/', 'dist/console/'];
    const stray = paths.filter((p) => !top.has(p) && !dirs.some((d) => p.startsWith(d)));
    expect(stray).toEqual([]);
    // No tests, bench, fixtures, source maps, TypeScript sources or screenshots.
    expect(paths.filter((p) => /(^|\/)(test|bench|docs)\/|\.test\.|\.map$|(?<!\.d)\.ts$|\.png$|tsbuildinfo|record-fixtures/.test(p))).toEqual([]);
    // Console assets: the page, its script, its style and the softphone's audio worklet.
    expect(paths.filter((p) => p.startsWith('dist/console/')).length).toBeGreaterThanOrEqual(3);
    // A ceiling against packing something by mistake (a fixture, a bundle), not a diet: 415 KB on 2026-12-07 once
    // conversation flows landed (the README, packed, is a sixth of it).
    expect(packed.size).toBeLessThan(448 * 1024);
    expect(packed.unpackedSize).toBeLessThan(1.5 * 1024 * 1024);
  });

  it('prints its commands', async () => {
    const { stdout } = await run(path.join(project, 'node_modules/.bin/voice-call-orchestrator'), ['--help'], { cwd: project });
    for (const command of ['start', 'demo', 'call', 'replay']) expect(stdout).toMatch(new RegExp(`^  ${command}`, 'm'));
    const version = await run(path.join(project, 'node_modules/.bin/voice-call-orchestrator'), ['--version'], { cwd: project });
    expect(version.stdout.trim()).toBe((JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version);
    const unknown = await run(path.join(project, 'node_modules/.bin/voice-call-orchestrator'), ['strat'], { cwd: project }).catch((e: { code: number; stderr: string }) => e);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "strat"') });
  }, 60_000);

  it.each([
    ['agent.js', 'Hello from the JavaScript agent.'],
    ['agent.ts', 'Hello from the TypeScript agent.'],
  ])('`voice-call-orchestrator start --agent ./%s` answers a simulated call', async (file, greeting) => {
    const port = await freePort();
    const bin = path.join(project, 'node_modules/.bin/voice-call-orchestrator');
    // No provider keys: the server runs offline on the built-in simulators.
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), HOST: '127.0.0.1', CALL_RECORDS: 'off', NODE_ENV: 'production' };
    const server = spawn(bin, ['start', '--agent', `./${file}`], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    server.stdout.on('data', (d: Buffer) => (log += d.toString()));
    server.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => server.on('exit', resolve));
    try {
      await waitFor(() => log.includes('"agent ready"'), () => `server not ready:\n${log}`, 60_000);
      expect(log).toContain(`"agent":"${file === 'agent.js' ? 'js-agent' : 'ts-agent'}"`);
      const { stdout } = await run(bin, ['call', '--offline', 'What are your hours?', '--url', `http://127.0.0.1:${port}`], { cwd: project, env });
      expect(stdout).toContain(`agent   ${greeting}`);
      expect(stdout).toMatch(/caller {2}What are your hours\?\nagent {3}\S.+/);
      expect(stdout).toContain('Call over');
    } finally {
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  }, 180_000);

  it('type-checks a user file against the shipped declarations', async () => {
    fs.writeFileSync(
      path.join(project, 'user.ts'),
      `import { z } from 'zod';
import { defineAgent, tool, createPhoneServer, type Agent, type CallSummary } from 'voice-call-orchestrator';
import { simulateCall } from 'voice-call-orchestrator/testing';

export const agent: Agent = defineAgent({
  name: 'typed',
  systemPrompt: 'Be brief.',
  greeting: 'Hi.',
  tools: {
    lookup: tool({
      description: 'Doubles a number.',
      parameters: z.object({ n: z.number() }),
      async execute({ n }, { signal, call }) {
        // @ts-expect-error n is a number: the parameters' zod type reaches execute
        n.toUpperCase();
        return { twice: n * 2, aborted: signal.aborted, from: call.from };
      },
    }),
  },
  onCallEnd(summary: CallSummary) {
    const reason: string | null = summary.endReason;
    void reason;
  },
});
// @ts-expect-error systemPrompt and greeting are required
defineAgent({ name: 'incomplete' });

export async function main(): Promise<string> {
  const phone = await createPhoneServer({ agent, env: { PORT: '0' } });
  const port: number = phone.config.PORT;
  await phone.shutdown();
  const call = await simulateCall({ agent, caller: ['hi', { bargeIn: 'stop', afterMs: 100 }] });
  // @ts-expect-error not a field of the result
  void call.nope;
  return call.heardText + port;
}
`,
    );
    fs.writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
        files: ['user.ts', 'agent.ts'],
      }),
    );
    const result = await run(node, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: project }).catch((e: { stdout: string }) => e);
    expect(result.stdout).toBe('');
  }, 180_000);
});

async function waitFor(check: () => boolean, what: () => string, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(what());
    await new Promise((r) => setTimeout(r, 50));
  }
}
