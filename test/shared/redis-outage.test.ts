/**
 * Redis stopped and started again under a running instance (a private redis-server on a free port, so the machine's
 * service is not disturbed): while it is down new calls are refused politely and streams are refused (a token's
 * single use cannot be checked), /readyz says 503, a call already up goes on; one log line each way, a metric; after
 * it is back the instance takes calls again without a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { has } from '../support/externals.js';
import { call, captureLogger, eventually, mediaUpgradeStatus, signedVoice, startStack, type E2eStack, type LogLine } from '../e2e/harness.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';
import { freePort } from '../../bench/server-process.js';

const AUTH = 'offline-simulator-auth-token';

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const until = Date.now() + 5000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (open) return child;
    if (Date.now() > until) throw new Error('private redis-server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}



const readyz = async (s: E2eStack) => {
  const res = await fetch(`${s.server.localUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as { reasons: string[] } };
};

describe.skipIf(!has('redis'))('Redis down and back', () => {
  let redis: ChildProcess | undefined;
  let stack: E2eStack | undefined;
  afterEach(async () => {
    await stack?.close();
    if (redis) await stopRedis(redis);
    stack = undefined;
    redis = undefined;
  });

  it('refuses new calls and streams while down, keeps the call that is up, says so once each way, recovers without a restart', async () => {
    const port = await freePort();
    redis = await startRedis(port);
    const lines: LogLine[] = [];
    stack = await startStack({ log: captureLogger(lines), env: { REDIS_URL: `redis://127.0.0.1:${port}`, INSTANCE_ID: 'solo' } });
    const s = stack;
    expect((await readyz(s)).status).toBe(200);
    expect(await s.server.streamTokens.pending()).toEqual({ count: 0, nextExpiry: null });

    // A call that is up when Redis goes: it answers the caller's question after the outage began.
    const up = placeSimulatedCall({
      serverUrl: s.server.localUrl,
      authToken: AUTH,
      script: [{ waitForAgent: 'reply' }, { pause: 1500 }, { say: 'what are your hours' }, { waitForAgent: 'reply' }, { hangup: true }],
    }).done;
    await eventually(() => s.events.some((e) => e.type === 'call.started'), 'the call is up');
    await stopRedis(redis);
    await eventually(() => lines.some((l) => /unreachable/.test(l.message)), 'the down line', 5000);

    const refused = await signedVoice(s);
    expect(refused.status).toBe(503); // a balancer tries the next instance; the body is the polite TwiML all the same
    expect(refused.body).toContain('<Say>');
    expect(refused.body).not.toContain('<Stream');
    expect(await mediaUpgradeStatus(s)).toBe(503);
    expect(await readyz(s)).toEqual({ status: 503, body: expect.objectContaining({ reasons: ['shared-state-down'] }) });
    const during = await (await fetch(`${s.server.localUrl}/metrics`)).text();
    expect(during).toMatch(/^voice_shared_state_up 0$/m);
    expect(during).toMatch(/^voice_shared_state_outages_total 1$/m);
    expect(during).toMatch(/^voice_webhooks_rejected_total\{reason="shared-state-down"\} 1$/m);

    const record = await up;
    expect(record.errors).toEqual([]);
    expect(record.transcript.filter((t) => t.role === 'agent').map((t) => t.text).join(' ')).toContain('We are open every day');

    redis = await startRedis(port);
    await eventually(() => lines.filter((l) => /reachable: taking new calls/.test(l.message)).length === 2, 'the back line', 10_000);
    expect((await readyz(s)).status).toBe(200);
    const after = await call(s, [{ waitForAgent: 'reply' }, { say: 'what are your hours' }, { waitForAgent: 'reply' }, { hangup: true }]);
    expect(after.errors).toEqual([]);
    expect(after.transcript.filter((t) => t.role === 'agent')[1]?.text).toContain('We are open every day');
    // Exactly one line each way for this outage (reconnect attempts are not logged one by one).
    expect(lines.filter((l) => /^shared state \(Redis\) unreachable/.test(l.message))).toHaveLength(1);
    expect(lines.filter((l) => /^shared state \(Redis\) reachable/.test(l.message))).toHaveLength(2); // at start, and back
    expect(await (await fetch(`${s.server.localUrl}/metrics`)).text()).toMatch(/^voice_shared_state_up 1$/m);
  });
});
