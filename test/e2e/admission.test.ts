/**
 * Admission control on one instance: at MAX_CONCURRENT_CALLS `/voice` answers 503 (a balancer tries the next
 * instance), a stream upgrade is refused and `/readyz` says why; `/healthz` stays liveness only. A call that reaches
 * MAX_CALL_DURATION_MS hears the goodbye phrase and is hung up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, mediaUpgradeStatus, signedVoice, startStack, type E2eStack } from './harness.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';

const AUTH = 'offline-simulator-auth-token';



const readyz = async (s: E2eStack) => {
  const res = await fetch(`${s.server.localUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('admission control', () => {
  let stack: E2eStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('at MAX_CONCURRENT_CALLS: /voice 503 with the polite TwiML, upgrades refused 503, /readyz 503 at-capacity; ready again when a call ends', async () => {
    stack = await startStack({ env: { MAX_CONCURRENT_CALLS: '1', INSTANCE_ID: 'inst-1' } });
    const s = stack;
    expect(await readyz(s)).toEqual({ status: 200, body: { ready: true, reasons: [], activeCalls: 0, maxCalls: 1, instance: 'inst-1' } });
    const up = placeSimulatedCall({ serverUrl: s.server.localUrl, authToken: AUTH, script: [{ waitForAgent: 'reply' }, { pause: 1000 }, { hangup: true }] }).done;
    await eventually(() => s.events.some((e) => e.type === 'call.started'), 'one call up');

    const refused = await signedVoice(s);
    expect(refused.status).toBe(503);
    expect(refused.body).toContain('<Say>');
    expect(refused.body).not.toContain('<Stream');
    expect(await mediaUpgradeStatus(s)).toBe(503);
    expect(await readyz(s)).toMatchObject({ status: 503, body: { ready: false, reasons: ['at-capacity'], activeCalls: 1 } });
    expect((await fetch(`${s.server.localUrl}/healthz`)).status).toBe(200); // alive all the same
    const text = await (await fetch(`${s.server.localUrl}/metrics`)).text();
    expect(text).toMatch(/^voice_webhooks_rejected_total\{reason="at-capacity"\} 1$/m);
    expect(text).toMatch(/^voice_stream_upgrades_refused_total\{reason="at-capacity"\} 1$/m);

    await up;
    await eventually(() => s.server.activeCalls() === 0, 'the call is over');
    expect((await readyz(s)).status).toBe(200);
    expect((await signedVoice(s)).body).toContain('<Stream');
  });

  it('/readyz says 503 while draining', async () => {
    stack = await startStack({ env: { DRAIN_TIMEOUT_MS: '1000' } });
    const s = stack;
    const up = placeSimulatedCall({ serverUrl: s.server.localUrl, authToken: AUTH, script: [{ waitForAgent: 'reply' }, { pause: 800 }, { hangup: true }] }).done;
    await eventually(() => s.events.some((e) => e.type === 'call.started'), 'one call up');
    const drained = s.server.drain(5000, { goodbyeMs: 0 });
    expect(await readyz(s)).toMatchObject({ status: 503, body: { reasons: ['draining'] } });
    await up;
    await drained;
  });

  it('a call that reaches MAX_CALL_DURATION_MS hears the goodbye phrase, then the server hangs up', async () => {
    stack = await startStack({ env: { MAX_CALL_DURATION_MS: '2500' } });
    const s = stack;
    const record = await placeSimulatedCall({ serverUrl: s.server.localUrl, authToken: AUTH, script: [{ waitForAgent: 'reply' }, { pause: 20_000 }, { hangup: true }] }).done;
    expect(record.endedBy).toBe('server');
    expect(record.transcript.filter((t) => t.role === 'agent').map((t) => t.text).join(' ')).toContain('Goodbye');
    expect(await (await fetch(`${s.server.localUrl}/metrics`)).text()).toMatch(/^voice_calls_ended_at_max_duration_total 1$/m);
  });
});
