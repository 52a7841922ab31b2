/**
 * A store failure never touches a call: `npm start` with a read-only database file completes its calls, logs the
 * failure once per call and counts it in /metrics. Root ignores file modes only through its capabilities, so as root
 * the server runs as root without any (setpriv): a checkout only root may read (a `mktemp -d` clone) still works,
 * which running it as `nobody` did not.
 */
import { spawn } from 'node:child_process';
import { builtCli, builtServer } from '../support/built-server.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFLINE_TWILIO_AUTH_TOKEN } from '../../src/server/config.js';
import { openSqliteStore } from '../../src/records/sqlite-store.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';

// The CLI runs from the run's one production build (test/support/built-server.ts), as the package's bin does.
beforeAll(() => builtServer(), 300_000);

const SETPRIV = '/usr/bin/setpriv'; // util-linux, essential on Debian
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'records-ro-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a read-only call database', () => {
  it('calls still complete; the write failure is logged once per call and counted', async () => {
    const db = path.join(dir, 'calls.db');
    await openSqliteStore(db).close(); // created by an earlier run
    fs.chmodSync(db, 0o444);
    const asRoot = process.getuid?.() === 0;
    if (asRoot && !fs.existsSync(SETPRIV)) throw new Error(`${SETPRIV} is missing (apt-get install util-linux): root needs it to drop its capabilities`);

    const server = [process.execPath, builtCli('src/cli/main.ts')];
    const [command = '', ...args] = asRoot ? [SETPRIV, '--bounding-set=-all', '--inh-caps=-all', '--', ...server] : server;
    const child = spawn(command, args, {
      env: { PATH: process.env.PATH ?? '', HOME: dir, NODE_ENV: 'production', PORT: '0', HOST: '127.0.0.1', CALL_DB_PATH: db, CALLS_API_TOKEN: 'records-readonly-test-token-0123456789' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const until = Date.now() + 20_000;
    while (!out.includes('server listening') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const port = /"port":(\d+)/.exec(out)?.[1];
    if (port === undefined) throw new Error(`the server never said it was listening:\n${out}`);
    const url = `http://127.0.0.1:${port}`;
    // It serves on that port (the calls below would only say "refused").
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    const calls = await Promise.all(
      ['what are your opening hours', 'do you deliver'].map(
        (q) =>
          placeSimulatedCall({
            serverUrl: url,
            authToken: OFFLINE_TWILIO_AUTH_TOKEN,
            script: [{ waitForAgent: 'reply' }, { say: q }, { waitForAgent: 'reply' }, { hangup: true }],
            maxDurationMs: 30_000,
          }).done,
      ),
    );
    for (const record of calls) {
      expect(record.errors).toEqual([]);
      expect(record.transcript.filter((t) => t.role === 'agent').length).toBe(2); // greeting + the reply
    }
    await new Promise((r) => setTimeout(r, 200)); // the final writes run as each call ends
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const failures = Number(/voice_call_record_errors_total\{op="write"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    expect(failures).toBeGreaterThanOrEqual(2);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const warnings = out.split('\n').filter((line) => line.includes('call record write failed'));
    expect(warnings).toHaveLength(2);
    expect(warnings.every((line) => /readonly|read-only/i.test(line))).toBe(true);
    // Still read-only for its owner; group and others lost their read bit (the records hold transcripts).
    expect(fs.statSync(db).mode & 0o777).toBe(0o400);
  }, 60_000);
});
