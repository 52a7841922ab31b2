/**
 * `npm run call -- --offline …` against a real `npm start` child process with no keys: the command the server's
 * offline line suggests places a whole call with the simulated Twilio caller and prints both sides.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { builtCli, builtServer } from '../support/built-server.js';
import { freePort } from '../../bench/server-process.js';

// The CLI runs from the run's one production build (test/support/built-server.ts), as the package's bin does.
beforeAll(() => builtServer(), 300_000);

function spawnTs(entry: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [builtCli(entry), ...args], {
    env: { PATH: process.env.PATH ?? '', CALL_RECORDS: 'off', ...env }, // a test must not write ./data/calls.db
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => out, errors: () => err };
}

async function waitFor(check: () => boolean, what: string, limitMs = 30000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('npm run call -- --offline', () => {
  let server: ChildProcess | undefined;
  afterEach(() => {
    server?.kill('SIGTERM');
    server = undefined;
  });

  it('calls the running offline server as the simulated Twilio caller and prints both sides', async () => {
    const port = await freePort();
    const env = { PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production' };
    const start = spawnTs('src/cli/main.ts', [], env);
    server = start.child;
    await waitFor(() => start.output().includes('server listening'), 'npm start listening');
    // The offline line says how to call this server.
    const offlineLine = start.output().split('\n').find((l) => l.includes('running offline')) ?? '';
    expect(offlineLine).toContain(`PORT=${port} npm run call -- --offline \\"Hi, what are your hours?\\" \\"Thanks, bye\\"`);

    // …which is what we run: PORT from the environment, as the suggested command sets it.
    const call = spawnTs('src/cli/call-cli.ts', ['--offline', 'Hi, what are your hours?', 'Thanks, bye'], { PORT: String(port) });
    const code = await call.exited;
    expect(call.errors()).toBe('');
    expect(code).toBe(0);
    const lines = call.output().split('\n');
    const said = lines.filter((l) => /^(agent|caller) {2}/.test(l));
    expect(said).toEqual([
      'agent   Hello! Thanks for calling. How can I help you today?',
      'caller  Hi, what are your hours?',
      'agent   We are open every day from eight in the morning to eight in the evening. Anything else?',
      'caller  Thanks, bye',
      'agent   Thanks for calling, goodbye!',
    ]);
    expect(call.output()).toContain('the agent hung up');
  }, 90000);

  it("your agent offline: OFFLINE_SCRIPT scripts the server's model, --script says the scenario's caller lines", async () => {
    const port = await freePort();
    const scenario = 'test/e2e/agents/dentist-scenario.json';
    const env = { PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production', AGENT: 'test/e2e/agents/dentist-agent.ts', OFFLINE_SCRIPT: scenario };
    const start = spawnTs('src/cli/main.ts', [], env);
    server = start.child;
    await waitFor(() => start.output().includes('server listening'), 'npm start listening');
    const call = spawnTs('src/cli/call-cli.ts', ['--offline', '--script', scenario], { PORT: String(port) });
    const code = await call.exited;
    expect(call.errors()).toBe('');
    expect(code).toBe(0);
    expect(call.output().split('\n').filter((l) => /^(agent|caller) {2}/.test(l))).toEqual([
      'agent   Bright Smile Dental, how can I help?',
      'caller  I would like an appointment on Monday',
      'agent   Let me book that. You are booked for Monday.',
      'caller  Thanks, goodbye',
      'agent   Goodbye!',
    ]);
  }, 90000);

  it('says in one line when no server answers', async () => {
    const port = await freePort();
    const call = spawnTs('src/cli/call-cli.ts', ['--offline', '--url', `http://127.0.0.1:${port}`], {});
    expect(await call.exited).toBe(1);
    expect(call.errors().trim().split('\n')).toEqual([`no server answers at http://127.0.0.1:${port}: start one with \`npm start\` (no keys), or pass --url`]);
  });
});
