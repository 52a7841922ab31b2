/** `npm start` as a real process: runs offline with no keys, exits 0 on SIGTERM, refuses bad config in one line. */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';

const node = process.execPath;
const entry = ['--import', 'tsx', 'src/main.ts'];

function start(env: Record<string, string>) {
  const child = spawn(node, entry, { env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => out, errors: () => err };
}

async function waitFor(check: () => boolean, limitMs = 20000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('npm start', () => {
  it('runs offline with no keys, says so in one log line, and exits 0 on SIGTERM', async () => {
    const proc = start({ PORT: '0', HOST: '127.0.0.1' });
    await waitFor(() => proc.output().includes('server listening'));
    const lines = proc.output().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => String(l.message).includes('running offline'))).toHaveLength(1);
    expect(lines.every((l) => typeof l.timestamp === 'string' && typeof l.level === 'string')).toBe(true); // JSON lines
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(proc.output()).toContain('shutdown complete');
  });

  it('fails at start with one line naming a bad variable, and never echoes a secret', async () => {
    const proc = start({ PORT: 'eighty' });
    expect(await proc.exited).toBe(1);
    expect(proc.errors().trim().split('\n')).toHaveLength(1);
    expect(proc.errors()).toMatch(/^Invalid configuration: PORT /);
    const secret = start({ OPENAI_API_KEY: 'sk-very-secret' });
    expect(await secret.exited).toBe(1);
    expect(secret.errors()).toContain('DEEPGRAM_API_KEY');
    expect(secret.errors()).not.toContain('sk-very-secret');
  });
});
