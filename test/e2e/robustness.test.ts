/** Garbage on the media socket and many concurrent calls: the server and the other calls stay unharmed. */
import { afterEach, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { WebSocket } from 'ws';
import { agentTurns, call, eventually, startStack, type E2eStack } from './harness.js';

function signedSocket(stack: E2eStack): Promise<WebSocket> {
  const url = stack.server.publicUrl.replace('http', 'ws') + '/media';
  const signature = twilio.getExpectedTwilioSignature(stack.config.twilioAuthToken, url, {});
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { 'X-Twilio-Signature': signature } });
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

const closed = (ws: WebSocket) =>
  new Promise<number>((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve(-1) : ws.on('close', (code) => resolve(code))));

describe('robustness', () => {
  let stack: E2eStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('garbage on one media socket leaves the server and a concurrent call unharmed', async () => {
    stack = await startStack();
    const normal = call(stack, [{ waitForAgent: 'reply' }, { say: 'what are your opening hours' }, { waitForAgent: 'reply' }, { hangup: true }]);

    const garbage = await signedSocket(stack);
    const streamSid = 'MZ' + 'f'.repeat(32);
    const callSid = 'CA' + 'e'.repeat(32);
    // A stream that earns its call (a valid token for its CallSid), then misbehaves.
    const { token } = await stack.server.streamTokens.mint(callSid);
    garbage.send('{not json');
    garbage.send(Buffer.from([0, 1, 2, 3, 255]), { binary: true });
    garbage.send(JSON.stringify({ event: 'teleport', streamSid }));
    garbage.send(JSON.stringify({ event: 'media', streamSid, media: { payload: 'AAAA' } })); // media before start
    garbage.send(JSON.stringify({ event: 'start' })); // start without its fields
    garbage.send(JSON.stringify([1, 2, 3]));
    garbage.send('null');
    garbage.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
    garbage.send(
      JSON.stringify({
        event: 'start',
        sequenceNumber: '1',
        streamSid,
        start: { accountSid: 'AC1', streamSid, callSid, tracks: ['inbound'], mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 }, customParameters: { StreamToken: token } },
      }),
    );
    garbage.send(JSON.stringify({ event: 'media', streamSid, media: { track: 'inbound', chunk: '1', timestamp: '0', payload: '%%% not base64 %%%' } }));
    garbage.send(JSON.stringify({ event: 'mark', streamSid, mark: { name: 'never-sent' } }));
    garbage.send(JSON.stringify({ event: 'dtmf', streamSid, dtmf: {} }));
    // Another stream's frames on this socket are not this caller's: ignored, counted, never a stop.
    const foreign = 'MZ' + '0'.repeat(32);
    garbage.send(JSON.stringify({ event: 'media', streamSid: foreign, media: { track: 'inbound', chunk: '2', timestamp: '20', payload: 'AAAA' } }));
    garbage.send(JSON.stringify({ event: 'stop', sequenceNumber: '8', streamSid: foreign, stop: { accountSid: 'AC1', callSid } }));

    // A 1 MB frame is far beyond any Twilio frame: that socket alone is closed (1009), nothing else is touched.
    const huge = await signedSocket(stack);
    huge.send('x'.repeat(1024 * 1024));
    expect(await closed(huge)).toBe(1009);

    const record = await normal;
    expect(record.errors).toEqual([]);
    expect(agentTurns(record)[1]?.text).toContain('We are open every day');
    const health = await fetch(`${stack.server.localUrl}/healthz`);
    expect(health.status).toBe(200);
    // The garbage call is still a live call that can be ended normally.
    expect(garbage.readyState).toBe(WebSocket.OPEN);
    garbage.send(JSON.stringify({ event: 'stop', sequenceNumber: '9', streamSid, stop: { accountSid: 'AC1', callSid } }));
    await closed(garbage);
    await eventually(() => stack?.server.activeCalls() === 0, 'every call torn down');
    const metrics = await (await fetch(`${stack.server.localUrl}/metrics`)).text();
    expect(metrics).toMatch(/^voice_media_frames_ignored_total\{kind="foreign-stream-sid"\} 2$/m);
    expect(metrics).toMatch(/^voice_media_frames_ignored_total\{kind="media-before-start"\} 1$/m);
  });

  it('20 concurrent calls each hear their own answer on their own streamSid', async () => {
    stack = await startStack();
    const n = 20;
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'mike', 'november', 'oscar', 'papa', 'quebec', 'romeo', 'sierra', 'tango'];
    const records = await Promise.all(
      words.slice(0, n).map((word) => call(stack!, [{ waitForAgent: 'reply' }, { say: `my code word is ${word}` }, { waitForAgent: 'reply' }, { hangup: true }])),
    );
    const streamSids = new Set(records.map((r) => r.streamSid));
    expect(streamSids.size).toBe(n);
    records.forEach((record, i) => {
      expect(record.errors).toEqual([]);
      expect(record.wrongStreamSid).toBe(0);
      const answer = agentTurns(record)[1]?.text ?? '';
      expect(answer).toContain(`my code word is ${words[i]}`);
      for (const other of words) if (other !== words[i]) expect(answer).not.toContain(`is ${other}"`);
    });
  });
});
