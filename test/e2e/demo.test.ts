/** The README's first command: `npm run demo` completes a scripted offline call and exits 0. */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';

function demo(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/demo.ts', ...args], {
    // No keys, whatever the developer's shell has: the demo is offline by construction.
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, exited, output: () => out };
}

describe('npm run demo', () => {
  it('completes the scripted call offline and exits 0', async () => {
    const run = demo({ OPENAI_API_KEY: 'must-be-ignored' });
    const code = await run.exited;
    const out = run.output();
    expect(out).toContain('Call completed as scripted');
    expect(code).toBe(0);
    expect(out).toContain('agent   Hello! Thanks for calling.');
    expect(out).toMatch(/✂ \[cut off, never heard: "/);
    expect(out).toContain('(talked over the agent)');
    expect(out.match(/goodbye/gi)?.length).toBeGreaterThanOrEqual(2); // said by the caller and by the agent
  }, 60000);

  it('reads the same environment as npm start (GREETING, LLM_PROVIDER, PUBLIC_URL, …), provider keys ignored', async () => {
    const run = demo({
      GREETING: 'Ahoy! Harbour office, how can I help?',
      LLM_PROVIDER: 'anthropic',
      OPENAI_API_KEY: 'must-be-ignored',
      // Signatures are then checked against it: the simulated Twilio must sign for it too.
      PUBLIC_URL: 'https://voice.example.com',
    });
    const code = await run.exited;
    const out = run.output();
    expect(out).toContain('agent   Ahoy! Harbour office, how can I help?');
    expect(out).not.toContain('Hello! Thanks for calling.');
    expect(out).toContain('Deepgram and anthropic are local simulators');
    expect(out).toContain('Call completed as scripted');
    expect(code).toBe(0);
  }, 60000);
});
