import { describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { inboundCallParams, newSid, parseConnectStream, reachableStreamUrl } from '../../offline/twilio-webhook.js';
import { StreamFrameWriter } from '../../offline/twilio-stream-frames.js';
import { encodeSpeech, SpeechDecoder } from '../../offline/speech-codec.js';

describe('simulated Twilio webhook pieces', () => {
  it('makes Twilio-shaped sids', () => {
    expect(newSid('CA')).toMatch(/^CA[0-9a-f]{32}$/);
    expect(newSid('MZ')).not.toBe(newSid('MZ'));
  });

  it('reads <Connect><Stream> and its Parameters from TwiML built by twilio VoiceResponse', () => {
    const response = new twilio.twiml.VoiceResponse();
    const stream = response.connect().stream({ url: 'wss://voice.example.com/media' });
    stream.parameter({ name: 'CallSid', value: 'CA1' });
    stream.parameter({ name: 'Note', value: `a "quoted" <b> & 'c'` });
    expect(parseConnectStream(response.toString())).toEqual({
      url: 'wss://voice.example.com/media',
      parameters: { CallSid: 'CA1', Note: `a "quoted" <b> & 'c'` },
    });
  });

  it('returns null for TwiML without a connected stream', () => {
    const response = new twilio.twiml.VoiceResponse();
    response.say('We are closed.');
    response.hangup();
    expect(parseConnectStream(response.toString())).toBeNull();
    expect(parseConnectStream('<Response><Connect><Stream/></Connect></Response>')).toBeNull();
  });

  it('maps the public stream URL onto the server actually reached', () => {
    expect(reachableStreamUrl('wss://abc.ngrok.app/media', 'http://127.0.0.1:4000', 'https://abc.ngrok.app')).toBe('ws://127.0.0.1:4000/media');
    expect(reachableStreamUrl('ws://127.0.0.1:4000/media', 'http://127.0.0.1:4000', 'http://127.0.0.1:4000')).toBe('ws://127.0.0.1:4000/media');
    expect(reachableStreamUrl('wss://other.example/media', 'http://127.0.0.1:4000', 'https://abc.ngrok.app')).toBe('wss://other.example/media');
  });

  it('signs params so that twilio.validateRequest accepts them', () => {
    const params = inboundCallParams({ callSid: newSid('CA'), accountSid: newSid('AC'), from: '+15551110000', to: '+15552220000' });
    const url = 'https://voice.example.com/voice';
    const signature = twilio.getExpectedTwilioSignature('secret', url, params);
    expect(twilio.validateRequest('secret', signature, url, params)).toBe(true);
    expect(twilio.validateRequest('other', signature, url, params)).toBe(false);
    expect(params).toMatchObject({ Direction: 'inbound', CallStatus: 'ringing', From: '+15551110000', To: '+15552220000' });
  });
});

describe('StreamFrameWriter (Twilio → server frames)', () => {
  it('builds connected/start/media/mark/dtmf/stop with string counters and the streamSid', () => {
    const w = new StreamFrameWriter('MZ1');
    expect(JSON.parse(w.connected())).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(JSON.parse(w.start('CA1', 'AC1', { From: '+1' }))).toEqual({
      event: 'start',
      sequenceNumber: '1',
      start: {
        accountSid: 'AC1',
        streamSid: 'MZ1',
        callSid: 'CA1',
        tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        customParameters: { From: '+1' },
      },
      streamSid: 'MZ1',
    });
    const silent = JSON.parse(w.silence());
    expect(silent).toMatchObject({ event: 'media', sequenceNumber: '2', streamSid: 'MZ1', media: { track: 'inbound', chunk: '1', timestamp: '0' } });
    expect(Buffer.from(silent.media.payload, 'base64')).toEqual(Buffer.alloc(160, 0xff));
    const speech = encodeSpeech('hi', 10); // 80 bytes: padded with silence to a full frame
    const frame = JSON.parse(w.media(speech));
    expect(frame.media).toMatchObject({ chunk: '2', timestamp: '20' });
    const bytes = Buffer.from(frame.media.payload, 'base64');
    expect(bytes).toHaveLength(160);
    expect(new SpeechDecoder().push(bytes)).toBe('hi');
    expect(JSON.parse(w.markEcho('seg-1'))).toEqual({ event: 'mark', sequenceNumber: '4', streamSid: 'MZ1', mark: { name: 'seg-1' } });
    expect(JSON.parse(w.dtmf('7'))).toEqual({ event: 'dtmf', streamSid: 'MZ1', sequenceNumber: '5', dtmf: { track: 'inbound_track', digit: '7' } });
    expect(JSON.parse(w.stop('AC1', 'CA1'))).toEqual({ event: 'stop', sequenceNumber: '6', stop: { accountSid: 'AC1', callSid: 'CA1' }, streamSid: 'MZ1' });
    expect(w.framesSent).toBe(2);
  });
});
