/**
 * The production process, as documented: `npm run build`, then `node dist/src/cli/main.js` as the process that receives
 * signals (what a Dockerfile CMD in exec form or a systemd unit runs). Built once per test run, shared with the other
 * files that run the build.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import twilio from 'twilio';
import { OFFLINE_TWILIO_AUTH_TOKEN } from '../../src/server/config.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';
import { builtServer } from '../support/built-server.js';
import type { ScriptStep } from '../../offline/twilio-caller-types.js';

const root = path.resolve(import.meta.dirname, '../..');
const node = process.execPath;
const entry = ['dist/src/cli/main.js'];

beforeAll(async () => {
  await builtServer(); // `npm run build`'s tsc, once per test run (test/support/built-server.ts)
}, 300_000);

function start(env: Record<string, string>) {
  // CALL_RECORDS off: a test must not create ./data/calls.db in the checkout.
  const child = spawn(node, entry, { cwd: root, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', CALL_RECORDS: 'off', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = () =>
    out
      .trim()
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { child, exited, output: () => out, errors: () => err, lines };
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, limitMs = 20000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('production process: node dist/src/cli/main.js', () => {
  it('runs offline with no keys, says so in one log line, and exits 0 on SIGTERM', async () => {
    const proc = start({ PORT: '0', HOST: '127.0.0.1' });
    await waitFor(() => proc.output().includes('server listening'), 'server listening');
    const lines = proc.lines();
    expect(lines.filter((l) => String(l.message).includes('running offline'))).toHaveLength(1);
    expect(lines.every((l) => typeof l.timestamp === 'string' && typeof l.level === 'string')).toBe(true); // JSON lines
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(proc.output()).toContain('shutdown complete');
  });

  it('npm start (scripts/start.mjs) runs the build as it is when nothing changed since, and says so', async () => {
    // The console page is built by the global setup and the server by beforeAll: both are current.
    const child = spawn(node, ['scripts/start.mjs'], { cwd: root, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', CALL_RECORDS: 'off', PORT: '0', HOST: '127.0.0.1' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor(() => out.includes('server listening'), 'server listening');
    expect(out.split('\n')[0]).toBe('npm start: the build in dist/ is up to date (npm run build forces one)');
    expect(out).not.toContain('building');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
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
    const short = start({ STREAM_TOKEN_SECRET: 'too-short-secret' });
    expect(await short.exited).toBe(1);
    expect(short.errors()).toMatch(/^Invalid configuration: STREAM_TOKEN_SECRET must be at least 32 characters\n$/);
  });

  it('SIGTERM during calls: active calls and a call on its way finish, new webhooks get the polite TwiML, exit code 0', async () => {
    const proc = start({ PORT: '0', HOST: '127.0.0.1' });
    await waitFor(() => proc.output().includes('server listening'), 'server listening');
    const listening = proc.lines().find((l) => l.message === 'server listening');
    const serverUrl = `http://127.0.0.1:${String(listening?.port)}`;
    const health = async () => (await (await fetch(`${serverUrl}/healthz`)).json()) as { status: string; activeCalls: number };
    const script: ScriptStep[] = [{ waitForAgent: 'reply' }, { say: 'what are your hours' }, { waitForAgent: 'reply' }, { hangup: true }];
    const place = (extra: { beforeStream?: () => Promise<void> } = {}) =>
      placeSimulatedCall({ serverUrl, authToken: OFFLINE_TWILIO_AUTH_TOKEN, script, maxDurationMs: 45000, ...extra });

    const active = [place(), place()];
    await waitFor(async () => (await health()).activeCalls === 2, 'two calls connected');
    // A third call got its TwiML before the signal; its stream connects only once the drain has begun.
    const onItsWay = place({
      beforeStream: async () => {
        proc.child.kill('SIGTERM');
        await waitFor(async () => (await health()).status === 'draining', 'draining');
      },
    });

    await waitFor(() => proc.output().includes('shutdown requested'), 'shutdown requested');
    const params = { CallSid: 'CA' + '9'.repeat(32), From: '+15550001', To: '+15550002' };
    const refused = await fetch(`${serverUrl}/voice`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Twilio-Signature': twilio.getExpectedTwilioSignature(OFFLINE_TWILIO_AUTH_TOKEN, `${serverUrl}/voice`, params),
      },
      body: new URLSearchParams(params).toString(),
    });
    expect(refused.status).toBe(200);
    const twiml = await refused.text();
    expect(twiml).toContain('<Say>Sorry, we cannot take your call right now.');
    expect(twiml).toContain('<Hangup/>');
    expect(twiml).not.toContain('<Stream');

    const records = await Promise.all([...active, onItsWay].map((c) => c.done));
    for (const record of records) {
      expect(record.errors).toEqual([]);
      expect(record.endedBy).toBe('caller'); // each caller finished its script: nothing was cut
      expect(record.transcript.filter((t) => t.role === 'agent')[1]?.text).toContain('We are open every day');
    }
    expect(await proc.exited).toBe(0);
    const done = proc.lines().find((l) => l.message === 'drain complete');
    expect(done).toMatchObject({ finished: 3, saidGoodbye: 0, cut: 0, neverConnected: 0, timedOut: false });
    expect(proc.lines().some((l) => String(l.message).includes('drain timeout'))).toBe(false);
    expect(proc.errors()).toBe('');
  });
});
