/**
 * A media stream must belong to a call we answered: the signed handshake is not enough, `start` must present the
 * stream token of the TwiML for its own CallSid, within STREAM_START_TIMEOUT_MS. Hostile streams open nothing
 * upstream, are closed with 1008, and cannot flood the log.
 */
import { afterEach, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { WebSocket } from 'ws';
import { call, captureLogger, eventually, sims, startStack, type E2eStack, type LogLine as Line } from './harness.js';
import { STREAM_TOKEN_PARAMETER } from '../../src/twilio/stream-token.js';


const wsUrl = (stack: E2eStack) => stack.server.publicUrl.replace('http', 'ws') + '/media';

function signedSocket(stack: E2eStack, signature = twilio.getExpectedTwilioSignature(stack.config.twilioAuthToken, wsUrl(stack), {})) {
  const ws = new WebSocket(wsUrl(stack), { headers: { 'X-Twilio-Signature': signature } });
  const opened = new Promise<number>((resolve, reject) => {
    ws.on('open', () => resolve(performance.now()));
    ws.on('error', reject);
  });
  const closed = new Promise<{ code: number; at: number }>((resolve) => ws.on('close', (code) => resolve({ code, at: performance.now() })));
  return { ws, opened, closed };
}

function startFrame(callSid: string, params: Record<string, string>, streamSid = 'MZ' + 'c'.repeat(32)): string {
  return JSON.stringify({
    event: 'start',
    sequenceNumber: '1',
    streamSid,
    start: { accountSid: 'AC1', streamSid, callSid, tracks: ['inbound'], mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 }, customParameters: params },
  });
}

async function metricsText(stack: E2eStack): Promise<string> {
  return (await fetch(`${stack.server.localUrl}/metrics`)).text();
}

describe('streams bound to their call', () => {
  let stack: E2eStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('the TwiML carries a stream token that the simulated Twilio passes back in start; the call runs, the token stays out of the call', async () => {
    stack = await startStack();
    const record = await call(stack, [{ waitForAgent: 'reply' }, { say: 'what are your hours' }, { waitForAgent: 'reply' }, { hangup: true }]);
    expect(record.errors).toEqual([]);
    expect(record.twiml).toMatch(new RegExp(`<Parameter name="${STREAM_TOKEN_PARAMETER}" value="v1\\.[^"]+"/>`));
    expect(record.customParameters[STREAM_TOKEN_PARAMETER]).toMatch(/^v1\./);
    expect(record.transcript.filter((t) => t.role === 'agent')[1]?.text).toContain('We are open every day');
    expect(await metricsText(stack)).toMatch(/^voice_calls_total 1$/m);
  });

  it('a start without a token, with another call\'s token, a forged or a used one is closed with 1008 and starts nothing', async () => {
    const lines: Line[] = [];
    stack = await startStack({ log: captureLogger(lines) });
    const callSid = 'CA' + 'a'.repeat(32);
    const { token } = await stack.server.streamTokens.mint(callSid);
    const forOther = (await stack.server.streamTokens.mint('CA' + 'b'.repeat(32))).token;
    const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const attempts: [string, Record<string, string>][] = [
      ['token-missing', { From: '+15550001' }],
      ['token-bad-signature', { [STREAM_TOKEN_PARAMETER]: forOther }],
      ['token-bad-signature', { [STREAM_TOKEN_PARAMETER]: forged }],
      ['token-malformed', { [STREAM_TOKEN_PARAMETER]: 'let me in' }],
    ];
    for (const [, params] of attempts) {
      const s = signedSocket(stack);
      await s.opened;
      s.ws.send(startFrame(callSid, params));
      expect((await s.closed).code).toBe(1008);
    }
    // The real token works once…
    const good = signedSocket(stack);
    await good.opened;
    good.ws.send(startFrame(callSid, { [STREAM_TOKEN_PARAMETER]: token }));
    await eventually(() => stack?.events.some((e) => e.type === 'call.started') === true, 'the call started');
    good.ws.close(1000);
    await good.closed;
    // …and never again.
    const replay = signedSocket(stack);
    await replay.opened;
    replay.ws.send(startFrame(callSid, { [STREAM_TOKEN_PARAMETER]: token }));
    expect((await replay.closed).code).toBe(1008);

    await eventually(() => stack?.server.activeCalls() === 0, 'every stream torn down');
    expect(stack.events.filter((e) => e.type === 'call.started')).toHaveLength(1);
    const text = await metricsText(stack);
    expect(text).toMatch(/^voice_streams_rejected_total\{reason="token-missing"\} 1$/m);
    expect(text).toMatch(/^voice_streams_rejected_total\{reason="token-bad-signature"\} 2$/m);
    expect(text).toMatch(/^voice_streams_rejected_total\{reason="token-malformed"\} 1$/m);
    expect(text).toMatch(/^voice_streams_rejected_total\{reason="token-reused"\} 1$/m);
    expect(text).toMatch(/^voice_calls_total 1$/m);
    // One line per kind of rejection (rate-limited), none with the token in it.
    const rejected = lines.filter((l) => l.message === 'media stream rejected: no valid start');
    expect(rejected.map((l) => l.reason)).toEqual(['token-missing', 'token-bad-signature', 'token-malformed', 'token-reused']);
    expect(JSON.stringify(lines)).not.toContain(token);
  });

  it('20 signed streams that never send start: no Deepgram sockets opened, all closed after STREAM_START_TIMEOUT_MS, activeCalls back to 0', async () => {
    const lines: Line[] = [];
    const timeoutMs = 500;
    stack = await startStack({ env: { STREAM_START_TIMEOUT_MS: String(timeoutMs) }, log: captureLogger(lines) });
    const dg = sims(stack).deepgram.stats;
    const before = { listen: dg.listenConnections, speak: dg.speakConnections }; // the phrase cache warmed up at start
    const streams = Array.from({ length: 20 }, () => signedSocket(stack as E2eStack));
    const opened = await Promise.all(streams.map((s) => s.opened));
    for (const s of streams) s.ws.send('{"event":"connected","protocol":"Call","version":"1.0.0"}');
    expect(stack.server.activeCalls()).toBe(20);
    const closed = await Promise.all(streams.map((s) => s.closed));
    closed.forEach((c, i) => {
      expect(c.code).toBe(1008);
      // The server's timer starts before the client sees the handshake complete: allow for that, never less.
      expect(c.at - (opened[i] ?? 0)).toBeGreaterThanOrEqual(timeoutMs - 20);
    });
    await eventually(() => stack?.server.activeCalls() === 0, 'activeCalls back to 0');
    expect(await metricsText(stack)).toMatch(/^voice_streams_rejected_total\{reason="start-timeout"\} 20$/m);
    expect(lines.filter((l) => l.message === 'media stream rejected: no valid start')).toHaveLength(1);
    // Provider sockets open only after a valid start (the machine invokes STT/TTS after TRANSPORT.START).
    expect({ listen: dg.listenConnections, speak: dg.speakConnections }).toEqual(before);
  });

  it('500 refused upgrades write one log line per reason and are counted in /metrics', async () => {
    const lines: Line[] = [];
    stack = await startStack({ log: captureLogger(lines) });
    const wrong = twilio.getExpectedTwilioSignature('not-the-auth-token', wsUrl(stack), {});
    const statuses = await Promise.all(
      Array.from({ length: 500 }, (_, i) => {
        const ws = new WebSocket(wsUrl(stack as E2eStack), { headers: i % 2 === 0 ? {} : { 'X-Twilio-Signature': wrong } });
        return new Promise<number>((resolve) => {
          ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          ws.on('error', () => resolve(-1));
          ws.on('open', () => resolve(101));
        });
      }),
    );
    expect(new Set(statuses)).toEqual(new Set([403]));
    const text = await metricsText(stack);
    expect(text).toMatch(/^voice_stream_upgrades_refused_total\{reason="no-signature"\} 250$/m);
    expect(text).toMatch(/^voice_stream_upgrades_refused_total\{reason="bad-signature"\} 250$/m);
    const refused = lines.filter((l) => String(l.message).startsWith('media stream refused'));
    expect(refused.map((l) => l.reason).sort()).toEqual(['bad-signature', 'no-signature']);
    expect(stack.server.activeCalls()).toBe(0);
  });
});
