/** What `POST /calls` may cost with a valid token: a rate limit, and an optional allowlist of destination prefixes. */
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type E2eStack } from './harness.js';
import { startTwilioRestFake, type TwilioRestFake } from '../../offline/twilio-rest.js';

const ACCOUNT = 'AC' + 'b'.repeat(32);
const TOKEN = 'outbound-token-0123456789abcdef0123456789';

describe('outbound call limits', () => {
  let stack: E2eStack | undefined;
  let rest: TwilioRestFake | undefined;
  afterEach(async () => {
    await stack?.close();
    await rest?.close();
    stack = undefined;
    rest = undefined;
  });

  async function start(env: NodeJS.ProcessEnv) {
    rest = await startTwilioRestFake({ accountSid: ACCOUNT, authToken: 'offline-simulator-auth-token' });
    stack = await startStack({
      env: { TWILIO_ACCOUNT_SID: ACCOUNT, TWILIO_API_BASE_URL: rest.url, CALLS_API_TOKEN: TOKEN, TWILIO_PHONE_NUMBER: '+15550009999', OUTBOUND_AMD: 'false', ...env },
    });
    const server = stack.server;
    return (to: string) =>
      fetch(`${server.localUrl}/calls`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ to }),
      });
  }

  it('places at most OUTBOUND_CALLS_PER_MINUTE calls a minute, then answers 429 with Retry-After', async () => {
    const place = await start({ OUTBOUND_CALLS_PER_MINUTE: '3' });
    for (let i = 0; i < 3; i++) expect((await place(`+1555123456${i}`)).status).toBe(201);
    const refused = await place('+15551234569');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toEqual({ error: expect.stringContaining('OUTBOUND_CALLS_PER_MINUTE') });
    expect(rest?.calls).toHaveLength(3);
  });

  it('with OUTBOUND_ALLOWED_PREFIXES, dials only numbers that start with one of them', async () => {
    const place = await start({ OUTBOUND_ALLOWED_PREFIXES: '+1, +44' });
    const premium = await place('+882123456789');
    expect(premium.status).toBe(403);
    expect(await premium.json()).toEqual({ error: expect.stringContaining('destination not allowed') });
    expect((await place('+4930123456')).status).toBe(403);
    expect(rest?.calls).toHaveLength(0);
    expect((await place('+442071234567')).status).toBe(201);
    expect((await place('+15551234567')).status).toBe(201);
    expect(rest?.calls.map((c) => c.to)).toEqual(['+442071234567', '+15551234567']);
  });
});
