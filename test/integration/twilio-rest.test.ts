import { afterEach, describe, expect, it } from 'vitest';
import { createTwilioRestClient, placeOutboundCall, transferLiveCall } from '../../src/twilio/twilio-rest.js';
import { startTwilioRestFake, type TwilioRestFake } from '../../offline/twilio-rest.js';

const ACCOUNT = 'AC' + '0'.repeat(31) + '1';
const TOKEN = 'rest-test-token';

describe('Twilio REST (real twilio client against the local fake)', () => {
  let fake: TwilioRestFake | undefined;
  afterEach(async () => fake?.close());

  it('places an outbound call that fetches our /voice webhook', async () => {
    fake = await startTwilioRestFake({ accountSid: ACCOUNT, authToken: TOKEN });
    const client = createTwilioRestClient(ACCOUNT, TOKEN, fake.url);
    const call = await placeOutboundCall(client, { to: '+15551234567', from: '+15557654321', publicUrl: 'https://voice.example' });
    expect(call.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(call.status).toBe('queued');
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]).toMatchObject({ to: '+15551234567', from: '+15557654321', url: 'https://voice.example/voice' });
  });

  it('surfaces Twilio auth errors and refuses non-E.164 numbers before any request', async () => {
    fake = await startTwilioRestFake({ accountSid: ACCOUNT, authToken: TOKEN });
    const bad = createTwilioRestClient(ACCOUNT, 'wrong-token', fake.url);
    await expect(placeOutboundCall(bad, { to: '+15551234567', from: '+15557654321', publicUrl: 'https://x' })).rejects.toThrow(/Authenticate/);
    const good = createTwilioRestClient(ACCOUNT, TOKEN, fake.url);
    await expect(placeOutboundCall(good, { to: '555-1234', from: '+15557654321', publicUrl: 'https://x' })).rejects.toThrow(/E\.164/);
    expect(fake.calls).toHaveLength(0);
  });

  it('transfers a live call with <Dial>', async () => {
    fake = await startTwilioRestFake({ accountSid: ACCOUNT, authToken: TOKEN });
    const client = createTwilioRestClient(ACCOUNT, TOKEN, fake.url);
    const call = await placeOutboundCall(client, { to: '+15551234567', from: '+15557654321', publicUrl: 'https://x' });
    await transferLiveCall(client, call.sid, '+15550001111');
    expect(fake.calls[0]?.updates[0]?.Twiml).toMatch(/<Dial>\+15550001111<\/Dial>/);
  });
});
