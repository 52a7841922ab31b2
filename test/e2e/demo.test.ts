/** The README's first command: `npm run demo` completes a scripted offline call and exits 0. */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';

describe('npm run demo', () => {
  it('completes the scripted call offline and exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/demo.ts'], {
      // No keys, whatever the developer's shell has: the demo is offline by construction.
      env: { PATH: process.env.PATH ?? '', OPENAI_API_KEY: 'must-be-ignored' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(out).toContain('Call completed as scripted');
    expect(code).toBe(0);
    expect(out).toContain('agent   Hello! Thanks for calling.');
    expect(out).toMatch(/✂ \[cut off, never heard: "/);
    expect(out).toContain('(talked over the agent)');
    expect(out.match(/goodbye/gi)?.length).toBeGreaterThanOrEqual(2); // said by the caller and by the agent
  }, 60000);
});
