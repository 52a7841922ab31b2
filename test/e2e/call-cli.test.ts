/** `npm run call`: a real process placing an outbound call through the twilio client (against the local REST fake). */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { builtCli, builtServer } from '../support/built-server.js';
import { startTwilioRestFake, type TwilioRestFake } from '../../offline/twilio-rest.js';

// The CLI runs from the run's one production build (test/support/built-server.ts), as the package's bin does.
beforeAll(() => builtServer(), 300_000);

const ACCOUNT = 'AC' + 'b'.repeat(32);

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [builtCli('src/cli/call-cli.ts'), ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('npm run call', () => {
  let rest: TwilioRestFake | undefined;
  afterEach(async () => rest?.close());

  it('places the call with the configured caller ID and our /voice URL', async () => {
    rest = await startTwilioRestFake({ accountSid: ACCOUNT, authToken: 'tok' });
    const env = { TWILIO_ACCOUNT_SID: ACCOUNT, TWILIO_AUTH_TOKEN: 'tok', PUBLIC_URL: 'https://voice.example', TWILIO_API_BASE_URL: rest.url };
    const ok = await run(['+15551234567', '--from', '+15557654321', '--voicemail', 'Your order has shipped.'], env);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^call CA[0-9a-f]{32} queued: \+15557654321 → \+15551234567/);
    expect(rest.calls[0]).toMatchObject({
      to: '+15551234567',
      from: '+15557654321',
      url: 'https://voice.example/voice?Amd=1&Voicemail=Your%20order%20has%20shipped.',
      machineDetection: 'DetectMessageEnd',
      asyncAmd: 'true',
      amdCallback: 'https://voice.example/amd',
    });
    const plain = await run(['+15551234567', '--from', '+15557654321', '--no-amd'], env);
    expect(plain.code).toBe(0);
    expect(rest.calls[1]).toMatchObject({ url: 'https://voice.example/voice', asyncAmd: undefined });

    const noNumber = await run(['tomorrow'], env);
    expect(noNumber.code).toBe(1);
    expect(noNumber.err).toMatch(/^usage: npm run call/);
    const noCallerId = await run(['+15551234567'], env);
    expect(noCallerId.code).toBe(1);
    expect(noCallerId.err).toContain('TWILIO_PHONE_NUMBER');
    const badToken = await run(['+15551234567', '--from', '+15557654321'], { ...env, TWILIO_AUTH_TOKEN: 'wrong' });
    expect(badToken.code).toBe(1);
    expect(badToken.err).toContain('could not place the call');
    expect(rest.calls).toHaveLength(2);
  }, 60_000);
});
