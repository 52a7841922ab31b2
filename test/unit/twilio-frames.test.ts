import { describe, expect, it } from 'vitest';
import { decodeBase64Payload, OutboundFrames, parseTwilioFrame } from '../../actors/twilio-frames.js';
import { MarkTracker } from '../../actors/twilio-mark-tracker.js';

// Real payload shapes from protocols.md (Twilio Media Streams, bidirectional).
const PAYLOAD = Buffer.alloc(160, 0xff).toString('base64');
const real = {
  connected: '{"event":"connected","protocol":"Call","version":"1.0.0"}',
  start:
    '{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC123","streamSid":"MZ456","callSid":"CA789","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"From":"+15551234567"}},"streamSid":"MZ456"}',
  media: `{"event":"media","sequenceNumber":"2","media":{"track":"inbound","chunk":"1","timestamp":"52","payload":"${PAYLOAD}"},"streamSid":"MZ456"}`,
  mark: '{"event":"mark","sequenceNumber":"103","streamSid":"MZ456","mark":{"name":"seg-3"}}',
  dtmf: '{"event":"dtmf","streamSid":"MZ456","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}',
  stop: '{"event":"stop","sequenceNumber":"5","stop":{"accountSid":"AC123","callSid":"CA789"},"streamSid":"MZ456"}',
};

describe('parseTwilioFrame', () => {
  it('parses every Twilio event', () => {
    expect(parseTwilioFrame(real.connected)).toEqual({ ok: true, frame: { event: 'connected' } });
    expect(parseTwilioFrame(real.start)).toEqual({
      ok: true,
      frame: { event: 'start', streamSid: 'MZ456', callSid: 'CA789', accountSid: 'AC123', customParameters: { From: '+15551234567' }, tracks: ['inbound'] },
    });
    expect(parseTwilioFrame(real.media)).toEqual({ ok: true, frame: { event: 'media', streamSid: 'MZ456', track: 'inbound', payload: PAYLOAD } });
    expect(parseTwilioFrame(real.mark)).toEqual({ ok: true, frame: { event: 'mark', streamSid: 'MZ456', name: 'seg-3' } });
    expect(parseTwilioFrame(real.dtmf)).toEqual({ ok: true, frame: { event: 'dtmf', streamSid: 'MZ456', digit: '1' } });
    expect(parseTwilioFrame(real.stop)).toEqual({ ok: true, frame: { event: 'stop', streamSid: 'MZ456' } });
    // The transport compares it with its own streamSid: a frame without one is reported as such, not guessed.
    expect(parseTwilioFrame('{"event":"stop"}')).toEqual({ ok: true, frame: { event: 'stop', streamSid: undefined } });
  });

  it('classifies garbage without throwing', () => {
    const kind = (text: string) => {
      const r = parseTwilioFrame(text);
      return r.ok ? 'ok' : r.kind;
    };
    expect(kind('{not json')).toBe('invalid-json');
    expect(kind('')).toBe('invalid-json');
    expect(kind('null')).toBe('not-an-object');
    expect(kind('[1,2]')).toBe('not-an-object');
    expect(kind('"media"')).toBe('not-an-object');
    expect(kind('{"event":"party"}')).toBe('unknown-event');
    expect(kind('{"streamSid":"MZ1"}')).toBe('missing-fields');
    expect(kind('{"event":"media"}')).toBe('missing-fields');
    expect(kind('{"event":"media","media":{"payload":5}}')).toBe('missing-fields');
    expect(kind('{"event":"start","start":{"streamSid":"MZ1"}}')).toBe('missing-fields');
    expect(kind('{"event":"mark","mark":{}}')).toBe('missing-fields');
    expect(kind('{"event":"dtmf","dtmf":null}')).toBe('missing-fields');
  });

  it('keeps only string custom parameters and falls back to the top-level streamSid', () => {
    const r = parseTwilioFrame('{"event":"start","streamSid":"MZ9","start":{"callSid":"CA1","customParameters":{"a":"x","b":3,"c":null}}}');
    expect(r).toMatchObject({ ok: true, frame: { streamSid: 'MZ9', accountSid: '', customParameters: { a: 'x' } } });
  });
});

describe('decodeBase64Payload', () => {
  it('decodes strict base64 and rejects the rest', () => {
    expect(decodeBase64Payload(PAYLOAD)).toEqual(Buffer.alloc(160, 0xff));
    expect(decodeBase64Payload('AAE=')).toEqual(Buffer.from([0, 1]));
    expect(decodeBase64Payload('')).toBeNull();
    expect(decodeBase64Payload('!!!!')).toBeNull();
    expect(decodeBase64Payload('AAE')).toBeNull();
    expect(decodeBase64Payload('AA E')).toBeNull();
  });
});

describe('OutboundFrames', () => {
  it('builds media/mark/clear JSON carrying the streamSid', () => {
    const f = new OutboundFrames('MZ"odd');
    expect(JSON.parse(f.media(Buffer.from([1, 2, 3])))).toEqual({ event: 'media', streamSid: 'MZ"odd', media: { payload: 'AQID' } });
    expect(JSON.parse(f.mark('seg "1"'))).toEqual({ event: 'mark', streamSid: 'MZ"odd', mark: { name: 'seg "1"' } });
    expect(JSON.parse(f.clear)).toEqual({ event: 'clear', streamSid: 'MZ"odd' });
  });
});

describe('MarkTracker', () => {
  it('knows when outbound audio starts on an idle line', () => {
    const t = new MarkTracker();
    expect(t.idle).toBe(true);
    expect(t.audioSent(800)).toBe(true);
    expect(t.audioSent(800)).toBe(false);
    t.markSent('a');
    expect(t.idle).toBe(false); // mark a outstanding: audio still playing at Twilio
    expect(t.audioSent(160)).toBe(false);
    t.markSent('b');
    expect(t.echoed('a')).toEqual({ name: 'a', played: true, bytes: 1600, ms: 200 });
    expect(t.idle).toBe(false);
    expect(t.echoed('b')).toEqual({ name: 'b', played: true, bytes: 160, ms: 20 });
    expect(t.idle).toBe(true);
    expect(t.audioSent(160)).toBe(true);
  });

  it('flags marks outstanding at a clear as not played, and the line is idle right after', () => {
    const t = new MarkTracker();
    t.audioSent(8000);
    t.markSent('a');
    t.audioSent(4000);
    expect(t.cleared()).toBe(1);
    expect(t.idle).toBe(true);
    expect(t.audioSent(80)).toBe(true);
    t.markSent('c');
    expect(t.echoed('a')).toMatchObject({ played: false, bytes: 8000 });
    expect(t.echoed('c')).toMatchObject({ played: true, bytes: 80 });
    expect(t.echoed('nope')).toBeNull();
    expect(t.echoed('a')).toBeNull();
    expect(t.bytesSent).toBe(12080);
  });
});
