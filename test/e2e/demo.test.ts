/** The README's first command: `npm run demo` completes a scripted offline call and exits 0. */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

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
  it('completes the scripted call offline and exits 0', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-'));
    const db = path.join(dir, 'calls.db');
    const run = demo({ OPENAI_API_KEY: 'must-be-ignored', CALL_RECORDS: 'on', CALL_DB_PATH: db });
    const code = await run.exited;
    const out = run.output();
    expect(out).toContain('Call completed as scripted');
    expect(code).toBe(0);
    expect(out).toContain('agent   Hello! Thanks for calling.');
    expect(out).toMatch(/✂ \[cut off, never heard: "/);
    expect(out).toContain('(talked over the agent)');
    // The example agent's tool round trip: the status only the orders API knows reached the caller.
    expect(out).toContain('Your order 4271, a pasta maker, is on its way.');
    expect(out).toMatch(/tool lookup_order\(\{"order_number":"4271"\}\) → ok/);
    expect(out.match(/goodbye/gi)?.length).toBeGreaterThanOrEqual(2); // said by the caller and by the agent
    expect(out).toMatch(new RegExp(`replay it with  npm run replay -- CA[0-9a-f]{32} --db ${db}`));
    expect(fs.existsSync(db)).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60000);

  it('reads the same environment as npm start (GREETING, LLM_PROVIDER, PUBLIC_URL, …), provider keys ignored', async () => {
    // --inspect without a terminal (stdin is a pipe here, as in CI): the URL is printed, the call is not held back.
    const inspectPort = await freePort();
    const run = demo({
      INSPECT_PORT: String(inspectPort),
      GREETING: 'Ahoy! Harbour office, how can I help?',
      LLM_PROVIDER: 'anthropic',
      OPENAI_API_KEY: 'must-be-ignored',
      // Signatures are then checked against it: the simulated Twilio must sign for it too.
      PUBLIC_URL: 'https://voice.example.com',
    }, ['--inspect']);
    const code = await run.exited;
    const out = run.output();
    expect(out).toContain('agent   Ahoy! Harbour office, how can I help?');
    expect(out).not.toContain('Hello! Thanks for calling.');
    expect(out).toContain('Deepgram and anthropic are local simulators');
    expect(out).toMatch(new RegExp(`Stately inspector: http://127\\.0\\.0\\.1:${inspectPort}/\\?token=[\\w-]{43}`));
    expect(out).not.toContain('press Enter');
    expect(out).toContain('Call completed as scripted');
    expect(code).toBe(0);
  }, 60000);

  it('--wait-inspector: prints the inspector URL and dials only after Enter', async () => {
    const inspectPort = await freePort();
    const run = demo({ INSPECT_PORT: String(inspectPort) }, ['--wait-inspector', '--verbose']);
    await waitFor(() => run.output().includes('press Enter'), 'the prompt');
    const url = new RegExp(`Stately inspector: (http://127\\.0\\.0\\.1:${inspectPort}/\\?token=[\\w-]{43})`).exec(run.output())?.[1];
    expect(url).toBeDefined();
    // The inspector page is up while the demo waits (with the printed token; without it, refused) …
    expect((await fetch(url ?? '')).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${inspectPort}/`)).status).toBe(403);
    // … and no call has been placed (the server logs each webhook at info with --verbose).
    await new Promise((r) => setTimeout(r, 1500));
    expect(run.output()).not.toContain('call webhook');
    run.child.stdin.write('\n');
    await waitFor(() => run.output().includes('call webhook'), 'the call after Enter');
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('Call completed as scripted');
  }, 90000);

  it('--flux: the same call on Deepgram Flux, the hesitation giving an eager end of turn, then a resumed turn', async () => {
    const run = demo({}, ['--flux']);
    const code = await run.exited;
    const out = run.output();
    expect(out).toContain('Call completed as scripted');
    expect(code).toBe(0);
    expect(out).toContain('Deepgram Flux end of turn 400 ms of silence after the last word (eager end of turn at 150 ms)');
    expect(out).toContain('caller  Thanks. What are your opening hours?');
    expect(out).toMatch(/Flux turn events: 5 StartOfTurn, [5-9] EagerEndOfTurn, [1-9] TurnResumed, 5 EndOfTurn/);
  }, 90000);
});
