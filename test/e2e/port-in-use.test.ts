/** A port already taken stops `npm start` and the demo with one line naming the variable and the fix, exit 1. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { builtCli, builtServer } from '../support/built-server.js';
import net from 'node:net';

// The CLI runs from the run's one production build (test/support/built-server.ts), as the package's bin does.
beforeAll(() => builtServer(), 300_000);

function run(entry: string, env: Record<string, string>): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [builtCli(entry)], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', CALL_RECORDS: 'off', ...env }, // no ./data/calls.db
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, err }));
  });
}

function expectOneLine(err: string, variable: string, port: number): void {
  const lines = err.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^${variable}=${port} is already in use .*set ${variable} to a free port$`));
}

describe('a port already in use', () => {
  const busy = net.createServer();
  let port = 0;
  beforeAll(async () => {
    // All interfaces: whatever HOST the child binds, the port clashes.
    await new Promise<void>((resolve) => busy.listen(0, () => resolve()));
    port = (busy.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

  it('npm start: PORT, one line, exit 1', async () => {
    const { code, err } = await run('src/cli/main.ts', { PORT: String(port) });
    expect(code).toBe(1);
    expectOneLine(err, 'PORT', port);
  });

  it('npm start with the inspector: INSPECT_PORT, one line, exit 1', async () => {
    const { code, err } = await run('src/cli/main.ts', { PORT: '0', INSPECT: '1', INSPECT_PORT: String(port) });
    expect(code).toBe(1);
    expectOneLine(err, 'INSPECT_PORT', port);
  });

  it('npm run demo: PORT, one line, exit 1', async () => {
    const { code, err } = await run('src/cli/demo.ts', { PORT: String(port) });
    expect(code).toBe(1);
    expectOneLine(err, 'PORT', port);
  });
});
