/** The HTTP surface of the server: signatures, health, metrics, drain, outbound calls and transfers. */
import { afterEach, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { WebSocket } from 'ws';
import { call, eventually, sims, startStack, type E2eStack } from './harness.js';
import { defineAgent } from '../../src/agent/agent.js';
import { startTwilioRestFake, type TwilioRestFake } from '../../offline/twilio-rest.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';
import { fastCaller } from '../support/sim-speed.js';

const ACCOUNT = 'AC' + 'a'.repeat(32);

async function postVoice(stack: E2eStack, params: Record<string, string>, signature?: string): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (signature !== undefined) headers['X-Twilio-Signature'] = signature;
  return fetch(`${stack.server.localUrl}/voice`, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
}

function openStream(stack: E2eStack, signature?: string): Promise<{ opened: boolean; status?: number }> {
  const url = stack.server.localUrl.replace('http', 'ws') + '/media';
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: signature ? { 'X-Twilio-Signature': signature } : {} });
    ws.on('open', () => {
      ws.close();
      resolve({ opened: true });
    });
    ws.on('unexpected-response', (_req, res) => resolve({ opened: false, status: res.statusCode }));
    ws.on('error', () => resolve({ opened: false }));
  });
}

describe('server HTTP surface', () => {
  let stack: E2eStack | undefined;
  let rest: TwilioRestFake | undefined;
  afterEach(async () => {
    await stack?.close();
    await rest?.close();
    stack = undefined;
    rest = undefined;
  });

  it('refuses unsigned and badly signed webhooks and streams, and starts nothing', async () => {
    stack = await startStack();
    const params = { CallSid: 'CA' + '1'.repeat(32), From: '+15550001', To: '+15550002' };
    expect((await postVoice(stack, params)).status).toBe(403);
    const wrong = twilio.getExpectedTwilioSignature('not-the-token', `${stack.server.publicUrl}/voice`, params);
    expect((await postVoice(stack, params, wrong)).status).toBe(403);
    // Signed for other parameters than were sent (tampered body).
    const tampered = twilio.getExpectedTwilioSignature(stack.config.twilioAuthToken, `${stack.server.publicUrl}/voice`, { ...params, To: '+1999' });
    expect((await postVoice(stack, params, tampered)).status).toBe(403);
    const good = twilio.getExpectedTwilioSignature(stack.config.twilioAuthToken, `${stack.server.publicUrl}/voice`, params);
    const ok = await postVoice(stack, params, good);
    expect(ok.status).toBe(200);
    const twiml = await ok.text();
    expect(twiml).toContain(`<Stream url="${stack.server.publicUrl.replace('http', 'ws')}/media">`);
    expect(twiml).toContain('<Parameter name="CallSid" value="CA11111111111111111111111111111111"/>');
    expect(twiml).toContain('<Parameter name="From" value="+15550001"/>');

    const wsUrl = stack.server.publicUrl.replace('http', 'ws') + '/media';
    expect(await openStream(stack)).toEqual({ opened: false, status: 403 });
    expect(await openStream(stack, twilio.getExpectedTwilioSignature('nope', wsUrl, {}))).toEqual({ opened: false, status: 403 });

    const rejected = placeSimulatedCall({ serverUrl: stack.server.localUrl, authToken: stack.config.twilioAuthToken, signWith: 'bad', script: [] });
    const record = await rejected.done;
    expect(record.webhookStatus).toBe(403);
    expect(record.startedAt).toBeNull();
    // Nothing was started for any refused attempt: no call, no provider socket.
    expect(stack.server.activeCalls()).toBe(0);
    expect(sims(stack).deepgram.stats.listenConnections).toBe(0);
    expect((await openStream(stack, twilio.getExpectedTwilioSignature(stack.config.twilioAuthToken, wsUrl, {}))).opened).toBe(true);

  });

  it('serves health and Prometheus metrics with call and latency series', async () => {
    stack = await startStack();
    const health = (await (await fetch(`${stack.server.localUrl}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toEqual({ status: 'ok', activeCalls: 0, offline: true });
    await call(stack, [{ waitForAgent: 'reply' }, { say: 'what are your hours' }, { waitForAgent: 'reply' }, { hangup: true }]);
    await eventually(() => stack?.server.activeCalls() === 0, 'call torn down');
    const res = await fetch(`${stack.server.localUrl}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/^voice_calls_total 1$/m);
    expect(text).toMatch(/^voice_active_calls 0$/m);
    expect(text).toMatch(/^voice_turn_latency_ms_count [1-9]\d*$/m);
    expect(text).toMatch(/^voice_turn_part_latency_ms_count\{part="llm"\} [1-9]/m);
  });

  it('drain: refuses new calls politely, lets the active call finish, then closes', async () => {
    stack = await startStack();
    const active = placeSimulatedCall({
      serverUrl: stack.server.localUrl,
      authToken: stack.config.twilioAuthToken,
      script: [{ waitForAgent: 'reply' }, { say: 'what are your hours' }, { waitForAgent: 'reply' }, { hangup: true }],
      ...fastCaller(),
    });
    await eventually(() => stack?.server.activeCalls() === 1, 'call connected');
    const drained = stack.server.drain(30000);
    const params = { CallSid: 'CA' + '2'.repeat(32) };
    const sig = twilio.getExpectedTwilioSignature(stack.config.twilioAuthToken, `${stack.server.publicUrl}/voice`, params);
    const refused = await postVoice(stack, params, sig);
    expect(refused.status).toBe(200);
    const body = await refused.text();
    expect(body).toContain('<Say>');
    expect(body).toContain('<Hangup/>');
    expect(body).not.toContain('<Stream');
    const record = await active.done;
    expect(record.errors).toEqual([]);
    expect(record.endedBy).toBe('caller'); // the caller finished its script: the drain did not cut the call
    expect(await drained).toEqual({ finished: 1, saidGoodbye: 0, cut: 0, neverConnected: 0, timedOut: false });
  });

  it('POST /calls places an outbound call that runs the same flow, and transfer_call uses the REST API', async () => {
    let answered: Promise<unknown> | undefined;
    let serverUrl = '';
    let token = '';
    rest = await startTwilioRestFake({
      accountSid: ACCOUNT,
      authToken: 'offline-simulator-auth-token',
      // Twilio answers: the callee's leg fetches the Url we gave (our signed /voice) and streams.
      onCallCreated: (created) => {
        answered = placeSimulatedCall({
          serverUrl,
          authToken: token,
          callSid: created.sid,
          accountSid: ACCOUNT,
          script: [{ waitForAgent: 'reply' }, { say: 'please transfer me to a human' }, { waitForAgent: 'reply' }, { pause: 500 }, { hangup: true }],
          ...fastCaller(),
        }).done;
      },
    });
    stack = await startStack({
      env: { TWILIO_ACCOUNT_SID: ACCOUNT, TWILIO_API_BASE_URL: rest.url, CALLS_API_TOKEN: 'calls-secret-of-at-least-32-characters', TWILIO_PHONE_NUMBER: '+15550009999' },
      // transfer_call is offered only with targets; the model names one, the number comes from here.
      agent: defineAgent({ systemPrompt: 'Help.', greeting: 'Hello!', transferTargets: { manager: '+15550100200' } }),
    });
    serverUrl = stack.server.localUrl;
    token = stack.config.twilioAuthToken;

    const unauthorised = await fetch(`${serverUrl}/calls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ to: '+15551234567' }) });
    expect(unauthorised.status).toBe(401);
    const badNumber = await fetch(`${serverUrl}/calls`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer calls-secret-of-at-least-32-characters' },
      body: JSON.stringify({ to: 'tomorrow' }),
    });
    expect(badNumber.status).toBe(400);
    expect(rest.calls).toHaveLength(0);

    const res = await fetch(`${serverUrl}/calls`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer calls-secret-of-at-least-32-characters' },
      body: JSON.stringify({ to: '+15551234567' }),
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { sid: string };
    expect(created.sid).toMatch(/^CA/);
    // Answering-machine detection is on by default for outbound calls (see amd.test.ts).
    expect(rest.calls[0]).toMatchObject({ to: '+15551234567', from: '+15550009999', url: `${stack.server.publicUrl}/voice?Amd=1` });
    await answered;
    // The offline LLM answers "transfer … human" with transfer_call {target: 'manager'}: once the announcement had
    // played, the server updated the live call with <Dial> to the manager's number.
    const fake = rest;
    await eventually(() => (fake.calls[0]?.updates.length ?? 0) > 0, 'transfer update');
    expect(fake.calls[0]?.updates[0]?.Twiml).toMatch(/<Dial>\+15550100200<\/Dial>/);
  });
});
