/**
 * The README's first command: `npm run demo` completes a scripted offline call and exits 0.
 *
 * The demo plays in real time (it is made for a person to watch, ~40 s), so this file plays it ONCE, with every
 * option the README's claims need at the same time (--flux, --wait-inspector, the environment `npm start` reads,
 * records on), and checks each claim on that one run. The only other spawn stops at the first webhook: it proves
 * that --inspect without a terminal does not hold the call back, which needs no whole call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../bench/server-process.js';

async function waitFor(check: () => boolean, what: string, limitMs = 40000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function demo(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/demo.ts', ...args], {
    // No keys, whatever the developer's shell has: the demo is offline by construction.
    // Records off unless a test asks: the demo keeps them like `npm start`, and a test must not write into ./data.
    env: { PATH: process.env.PATH ?? '', CALL_RECORDS: 'off', ...env },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, exited, output: () => out };
}

describe('npm run demo', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-'));
  const db = path.join(dir, 'calls.db');
  let inspectPort = 0;
  let out = '';
  let code: number | null = null;
  /** What the demo had printed before Enter was pressed, and whether the inspector page answered meanwhile. */
  let beforeEnter = '';
  let pageStatusBeforeEnter = 0;
  let pageStatusWithoutToken = 0;
  const inspectorUrl = (port: number) => new RegExp(`Stately inspector: (http://127\\.0\\.0\\.1:${port}/\\?token=[\\w-]{43})`);

  beforeAll(async () => {
    inspectPort = await freePort();
    const run = demo(
      {
        INSPECT_PORT: String(inspectPort),
        GREETING: 'Ahoy! Harbour office, how can I help?',
        LLM_PROVIDER: 'anthropic',
        OPENAI_API_KEY: 'must-be-ignored',
        // Signatures are then checked against it: the simulated Twilio must sign for it too.
        PUBLIC_URL: 'https://voice.example.com',
        CALL_RECORDS: 'on',
        CALL_DB_PATH: db,
      },
      ['--flux', '--wait-inspector', '--verbose'],
    );
    await waitFor(() => run.output().includes('press Enter'), 'the prompt');
    // The inspector page is up while the demo waits, with the printed token (without it, refused).
    pageStatusBeforeEnter = (await fetch(inspectorUrl(inspectPort).exec(run.output())?.[1] ?? 'http://127.0.0.1:1/')).status;
    pageStatusWithoutToken = (await fetch(`http://127.0.0.1:${inspectPort}/`)).status;
    // No call is placed while the demo waits (the server logs each webhook at info with --verbose).
    await new Promise((r) => setTimeout(r, 1500));
    beforeEnter = run.output();
    run.child.stdin.write('\n');
    code = await run.exited;
    out = run.output();
  }, 90000);

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('completes the scripted call offline and exits 0', () => {
    expect(out).toContain('Call completed as scripted');
    expect(code).toBe(0);
    expect(out).toMatch(/✂ \[cut off, never heard: "/);
    expect(out).toContain('(talked over the agent)');
    // The example agent's tool round trip: the status only the orders API knows reached the caller.
    expect(out).toContain('Your order 4271, a pasta maker, is on its way.');
    expect(out).toMatch(/tool lookup_order\(\{"order_number":"4271"\}\) → ok/);
    expect(out.match(/goodbye/gi)?.length).toBeGreaterThanOrEqual(2); // said by the caller and by the agent
    expect(out).toMatch(new RegExp(`replay it with  npm run replay -- CA[0-9a-f]{32} --db ${db}`));
    expect(fs.existsSync(db)).toBe(true);
  });

  it('reads the same environment as npm start (GREETING, LLM_PROVIDER, PUBLIC_URL, …), provider keys ignored', () => {
    expect(out).toContain('agent   Ahoy! Harbour office, how can I help?');
    expect(out).not.toContain('Hello! Thanks for calling.');
    expect(out).toContain('Deepgram and anthropic are local simulators');
    expect(out).toMatch(inspectorUrl(inspectPort));
  });

  it('--wait-inspector: prints the inspector URL and dials only after Enter', () => {
    expect(beforeEnter).toMatch(inspectorUrl(inspectPort));
    expect(pageStatusBeforeEnter).toBe(200); // the inspector page is up while the demo waits …
    expect(pageStatusWithoutToken).toBe(403);
    expect(beforeEnter).not.toContain('call webhook'); // … and no call has been placed
    expect(out).toContain('call webhook');
  });

  it('--flux: the same call on Deepgram Flux, the hesitation giving an eager end of turn, then a resumed turn', () => {
    expect(out).toContain('Deepgram Flux end of turn 400 ms of silence after the last word (eager end of turn at 150 ms)');
    expect(out).toContain('caller  Thanks. What are your opening hours?');
    expect(out).toMatch(/Flux turn events: 5 StartOfTurn, [5-9] EagerEndOfTurn, [1-9] TurnResumed, 5 EndOfTurn/);
  });

  it('--inspect without a terminal (stdin a pipe, as in CI): the URL is printed and the call is not held back', async () => {
    const port = await freePort();
    const run = demo({ INSPECT_PORT: String(port) }, ['--inspect', '--verbose']);
    try {
      await waitFor(() => run.output().includes('call webhook'), 'the call, placed without Enter');
      expect(run.output()).toMatch(inspectorUrl(port));
      expect(run.output()).not.toContain('press Enter');
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  }, 60000);
});
