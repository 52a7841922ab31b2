/**
 * Outbound calls with answering-machine detection, through the running server and the Twilio REST fake: the call is
 * created with async AMD, its signed webhook URL carries AMD and the voicemail text into the stream's parameters,
 * and the fake's signed AMD callback reaches the live call's machine as CALL.ANSWERED_BY (seen by an inspector on
 * the call actors). Every callback is signature-checked like /voice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { eventually, recordingInspector, startStack, type E2eStack } from './harness.js';
import { startTwilioRestFake, type FakeAnswer, type TwilioRestFake } from '../../offline/twilio-rest.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';

const ACCOUNT = 'AC' + 'c'.repeat(32);
const TOKEN = 'offline-simulator-auth-token';
const VOICEMAIL = 'Hi, this is Bella Cucina: your table for four tonight is confirmed. Call us on 555 0100 to change it. 100% sure & <ok>?';

const answeredBy = (i: ReturnType<typeof recordingInspector>) => i.received.filter((e) => e.type === 'CALL.ANSWERED_BY');

describe('outbound calls with answering-machine detection', () => {
  let stack: E2eStack | undefined;
  let rest: TwilioRestFake | undefined;
  afterEach(async () => {
    await stack?.close();
    await rest?.close();
    stack = undefined;
    rest = undefined;
  });

  async function setUp(answer: (sid: string) => FakeAnswer | undefined) {
    const inspector = recordingInspector();
    rest = await startTwilioRestFake({ accountSid: ACCOUNT, authToken: TOKEN, answer: (c) => answer(c.sid) });
    stack = await startStack({
      inspector,
      env: { TWILIO_ACCOUNT_SID: ACCOUNT, TWILIO_API_BASE_URL: rest.url, CALLS_API_TOKEN: 'amd-test-calls-token-of-32-characters', TWILIO_PHONE_NUMBER: '+15550009999' },
    });
    const place = (body: Record<string, unknown>) =>
      fetch(`${stack?.server.localUrl}/calls`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer amd-test-calls-token-of-32-characters' },
        body: JSON.stringify(body),
      });
    return { inspector, place, rest, stack };
  }

  it('a machine answers: the call carries AMD, the signed result reaches the live call, the message is left and the server hangs up', async () => {
    // A voicemail greeting, then the beep and silence while it records (longer than the message takes); AMD says so
    // once the greeting is over.
    const { inspector, place, rest: fake, stack: s } = await setUp(() => ({
      script: [{ say: 'hi you have reached sam please leave a message' }, { pause: 15000 }, { hangup: true }],
      answeredBy: 'machine_end_beep',
      amdAfterMs: 2400,
    }));
    const res = await place({ to: '+15551234567', voicemail: VOICEMAIL });
    expect(res.status).toBe(201);
    const created = fake.calls[0];
    expect(created).toMatchObject({
      to: '+15551234567',
      from: '+15550009999',
      machineDetection: 'DetectMessageEnd',
      asyncAmd: 'true',
      amdCallback: `${s.server.publicUrl}/amd`,
      url: `${s.server.publicUrl}/voice?Amd=1&Voicemail=${encodeURIComponent(VOICEMAIL)}`,
    });
    const record = await created?.record;
    expect(record?.webhookStatus).toBe(200);
    // What the call machine reads from `start`: AMD on and the message, intact.
    expect(record?.customParameters).toMatchObject({ Amd: '1', Voicemail: VOICEMAIL, Direction: 'outbound-api', CallSid: created?.sid });
    expect(created?.amd).toEqual({ answeredBy: 'machine_end_beep', status: 204 });
    expect(answeredBy(inspector)).toEqual([expect.objectContaining({ answeredBy: 'machine', external: true })]);
    const metrics = await (await fetch(`${s.server.localUrl}/metrics`)).text();
    expect(metrics).toMatch(/^voice_amd_results_total\{answered_by="machine_end_beep"\} 1$/m);
    // The machine heard the voicemail message (not the conversation's greeting), then the server hung up.
    const heard = record?.transcript.filter((t) => t.role === 'agent').map((t) => t.text).join(' ') ?? '';
    expect(heard).toContain('your table for four tonight is confirmed');
    expect(heard).not.toContain('How can I help');
    expect(record?.endedBy).toBe('server');
    expect(s.events).toContainEqual(expect.objectContaining({ type: 'call.answeredBy', answeredBy: 'machine' }));
    expect(s.events).toContainEqual({ type: 'call.ended', reason: 'voicemail' });
  });

  it('a human answers: CALL.ANSWERED_BY human, and the conversation runs', async () => {
    const { inspector, place, rest: fake } = await setUp(() => ({
      script: [{ waitForAgent: 'reply' }, { say: 'what are your opening hours' }, { waitForAgent: 'reply' }, { hangup: true }],
      answeredBy: 'human',
      amdAfterMs: 1200,
    }));
    expect((await place({ to: '+15551234567' })).status).toBe(201);
    const created = fake.calls[0];
    expect(created?.url).toMatch(/\/voice\?Amd=1$/);
    const record = await created?.record;
    expect(record?.customParameters).toMatchObject({ Amd: '1' });
    expect(record?.customParameters).not.toHaveProperty('Voicemail');
    expect(created?.amd?.status).toBe(204);
    expect(answeredBy(inspector)).toEqual([expect.objectContaining({ answeredBy: 'human', external: true })]);
    expect(record?.transcript.filter((t) => t.role === 'agent').map((t) => t.text).join(' ')).toContain('We are open every day');
    expect(record?.transcript.find((t) => t.role === 'agent')?.text).toContain('How can I help');
  });

  it('without AMD: a plain call; voicemail without AMD, or too long, is refused', async () => {
    const { place, rest: fake, stack: s } = await setUp(() => undefined);
    expect((await place({ to: '+15551234567', amd: false })).status).toBe(201);
    expect(fake.calls[0]).toMatchObject({ url: `${s.server.publicUrl}/voice`, machineDetection: undefined, asyncAmd: undefined });
    const noAmd = await place({ to: '+15551234567', amd: false, voicemail: 'hello' });
    expect(noAmd.status).toBe(400);
    expect(((await noAmd.json()) as { error: string }).error).toContain('"voicemail" needs answering-machine detection');
    expect((await place({ to: '+15551234567', voicemail: 'x'.repeat(501) })).status).toBe(400);
    expect(fake.calls).toHaveLength(1);
  });

  it('refuses unsigned or tampered callbacks and URLs; holds a result that comes before the stream starts', async () => {
    const { inspector, stack: s } = await setUp(() => undefined);
    const post = (path: string, params: Record<string, string>, signedUrl: string, token = TOKEN) =>
      fetch(`${s.server.localUrl}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(token, signedUrl, params) },
        body: new URLSearchParams(params).toString(),
      });
    const callSid = 'CA' + 'd'.repeat(32);
    const amdParams = { AccountSid: ACCOUNT, CallSid: callSid, AnsweredBy: 'human', MachineDetectionDuration: '1800' };
    expect((await post('/amd', amdParams, `${s.server.publicUrl}/amd`, 'wrong-token')).status).toBe(403);
    expect((await post('/amd', { ...amdParams, AnsweredBy: 'machine_end_beep' }, `${s.server.publicUrl}/amd`)).status).toBe(204);
    // The voicemail text is part of what Twilio signed: changing it in transit is refused.
    const signed = `${s.server.publicUrl}/voice?Amd=1&Voicemail=${encodeURIComponent('call us back')}`;
    const tampered = await fetch(`${s.server.localUrl}/voice?Amd=1&Voicemail=${encodeURIComponent('send money')}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(TOKEN, signed, { CallSid: callSid }) },
      body: new URLSearchParams({ CallSid: callSid }).toString(),
    });
    expect(tampered.status).toBe(403);

    // The result came first (above); the stream starts afterwards: the held result follows its start.
    // The caller stays on the line until the held result has reached the call, then hangs up (nothing else is
    // asked of this call, so it does not wait out a reply).
    const held = placeSimulatedCall({
      serverUrl: s.server.localUrl,
      authToken: TOKEN,
      callSid,
      voiceUrl: signed,
      script: [{ pause: 20_000 }, { hangup: true }],
    });
    await eventually(() => inspector.received.some((e) => e.type === 'CALL.ANSWERED_BY'), 'the held result delivered');
    held.hangup();
    const record = await held.done;
    expect(record.customParameters).toMatchObject({ Amd: '1', Voicemail: 'call us back' });
    const types = inspector.received.map((e) => e.type);
    expect(types.indexOf('TRANSPORT.START')).toBeGreaterThanOrEqual(0);
    expect(types.indexOf('CALL.ANSWERED_BY')).toBeGreaterThan(types.indexOf('TRANSPORT.START'));
    expect(answeredBy(inspector)).toEqual([expect.objectContaining({ answeredBy: 'machine' })]);
    // A late result for a call that has ended is accepted (204) and dropped.
    await eventually(() => s.server.activeCalls() === 0, 'call over');
    expect((await post('/amd', amdParams, `${s.server.publicUrl}/amd`)).status).toBe(204);
    expect(answeredBy(inspector)).toHaveLength(1);
  });
});
