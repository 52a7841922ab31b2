/**
 * The softphone's audio path, pure parts (they run in the page and its AudioWorklet): µ-law like the server's codec,
 * resampling between the AudioContext rate and 8 kHz, 20 ms line framing, and the Twilio messages it speaks.
 */
import { describe, expect, it } from 'vitest';
import alawmulaw from 'alawmulaw';
import { decodeMulaw, encodeMulaw, encodeMulawSample, MULAW_TO_LINEAR } from '../../console/src/softphone/mulaw.js';
import { StreamResampler } from '../../console/src/softphone/resample.js';
import { FRAME_SAMPLES, LineFramer } from '../../console/src/softphone/framer.js';
import { isKeypadKey, KEYPAD_KEYS, LineMessages, parseLineInbound, toBase64 } from '../../console/src/softphone/line-protocol.js';
import { parseTwilioFrame } from '../../actors/twilio-frames.js';
import { StreamFrameWriter } from '../../offline/twilio-stream-frames.js';

function sine(rate: number, hz: number, ms: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round((rate * ms) / 1000) }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
}

/** Amplitude of `hz` in `x` (one DFT bin), ignoring the first `skip` samples (filter settling). */
function amplitudeAt(x: Float32Array, rate: number, hz: number, skip = 400): number {
  let re = 0;
  let im = 0;
  const n = x.length - skip;
  for (let i = skip; i < x.length; i++) {
    re += (x[i] ?? 0) * Math.cos((2 * Math.PI * hz * i) / rate);
    im += (x[i] ?? 0) * Math.sin((2 * Math.PI * hz * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / n;
}

/** Runs `input` through `r` in chunks of `size` (the page's render quanta are 128). */
function inChunks(r: StreamResampler, input: Float32Array, size: number): Float32Array {
  const parts: Float32Array[] = [];
  for (let at = 0; at < input.length; at += size) parts.push(r.process(input.subarray(at, at + size)));
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('µ-law', () => {
  it('encodes every 16-bit sample and decodes every byte exactly like alawmulaw (the server\'s codec)', () => {
    for (let s = -32768; s <= 32767; s++) if (encodeMulawSample(s) !== (alawmulaw.mulaw.encodeSample(s) & 0xff)) throw new Error(`sample ${s}`);
    for (let b = 0; b < 256; b++) if (MULAW_TO_LINEAR[b] !== alawmulaw.mulaw.decodeSample(b)) throw new Error(`byte ${b}`);
  });

  it('round-trips float audio within µ-law\'s step size, silence to 0xff', () => {
    const x = sine(8000, 440, 100);
    const back = decodeMulaw(encodeMulaw(x));
    for (let i = 0; i < x.length; i++) expect(Math.abs((back[i] ?? 0) - (x[i] ?? 0))).toBeLessThan(0.02);
    expect([...encodeMulaw(new Float32Array(4))]).toEqual([0xff, 0xff, 0xff, 0xff]);
  });
});

describe('resampling', () => {
  for (const rate of [48000, 44100]) {
    it(`${rate / 1000} kHz → 8 kHz keeps a 1 kHz tone and its length, removes a 6 kHz one (no alias at 2 kHz), whatever the chunking`, () => {
      const tone = inChunks(new StreamResampler(rate, 8000), sine(rate, 1000, 1000), 128);
      expect(Math.abs(tone.length - 8000)).toBeLessThanOrEqual(2);
      expect(amplitudeAt(tone, 8000, 1000)).toBeCloseTo(0.5, 1);
      const high = inChunks(new StreamResampler(rate, 8000), sine(rate, 6000, 1000), 128);
      expect(amplitudeAt(high, 8000, 2000)).toBeLessThan(0.01); // 6 kHz folds to 2 kHz at 8 kHz
      const other = inChunks(new StreamResampler(rate, 8000), sine(rate, 1000, 1000), 77);
      expect(other.length).toBe(tone.length);
      for (let i = 0; i < tone.length; i++) expect(other[i]).toBeCloseTo(tone[i] ?? 0, 6);
    });

    it(`8 kHz → ${rate / 1000} kHz keeps a 1 kHz tone and its length`, () => {
      const up = inChunks(new StreamResampler(8000, rate), sine(8000, 1000, 1000), 160);
      expect(Math.abs(up.length - rate)).toBeLessThanOrEqual(rate / 8000 + 1);
      expect(amplitudeAt(up, rate, 1000, 2000)).toBeCloseTo(0.5, 1);
    });
  }
});

describe('line framing', () => {
  it('cuts uneven pieces into 160-byte (20 ms) µ-law frames and carries the rest over', () => {
    const framer = new LineFramer();
    const x = sine(8000, 300, 70);
    const frames = [...framer.push(x.subarray(0, 21)), ...framer.push(x.subarray(21, 350)), ...framer.push(x.subarray(350, 560))];
    expect(frames.map((f) => f.payload.length)).toEqual([FRAME_SAMPLES, FRAME_SAMPLES, FRAME_SAMPLES]);
    expect([...(frames[1]?.payload ?? [])]).toEqual([...encodeMulaw(x.subarray(160, 320))]);
    expect(frames[0]?.level).toBeCloseTo(0.5 / Math.SQRT2, 1);
    expect(framer.push(new Float32Array(79))).toHaveLength(0); // 80 left over + 79
    expect(framer.push(new Float32Array(1))).toHaveLength(1);
  });
});

describe('Twilio Media Streams messages', () => {
  it('the page\'s messages parse as Twilio\'s on the server; what the server sends parses on the page', () => {
    const ids = { streamSid: 'MZ' + 'a'.repeat(32), callSid: 'CA' + 'b'.repeat(32), accountSid: 'AC' + 'c'.repeat(32) };
    const line = new LineMessages(ids);
    const start = parseTwilioFrame(line.start({ StreamToken: 'v1.x', From: 'console' }));
    expect(start).toMatchObject({ ok: true, frame: { event: 'start', ...ids, customParameters: { StreamToken: 'v1.x', From: 'console' } } });
    const payload = Uint8Array.from({ length: 160 }, (_, i) => i);
    expect(parseTwilioFrame(line.media(payload))).toMatchObject({ ok: true, frame: { event: 'media', track: 'inbound', payload: Buffer.from(payload).toString('base64') } });
    expect(JSON.parse(line.media(payload)).media).toMatchObject({ chunk: '2', timestamp: '20' });
    expect(parseTwilioFrame(line.mark('seg-1'))).toMatchObject({ ok: true, frame: { event: 'mark', name: 'seg-1', streamSid: ids.streamSid } });
    expect(parseTwilioFrame(line.stop())).toMatchObject({ ok: true, frame: { event: 'stop' } });

    expect(parseLineInbound(JSON.stringify({ event: 'media', streamSid: 'MZ', media: { payload: toBase64(payload) } }))).toEqual({ event: 'media', payload });
    expect(parseLineInbound('{"event":"mark","streamSid":"MZ","mark":{"name":"seg-2"}}')).toEqual({ event: 'mark', name: 'seg-2' });
    expect(parseLineInbound('{"event":"clear","streamSid":"MZ"}')).toEqual({ event: 'clear' });
    for (const junk of ['nope', '[]', '{"event":"media","media":{"payload":"%%%"}}', '{"event":"dance"}']) expect(parseLineInbound(junk)).toBeNull();
  });

  it('a key press is one `dtmf` message, the same as the simulated caller\'s (Twilio\'s shape), numbered in the stream', () => {
    const ids = { streamSid: 'MZ' + 'a'.repeat(32), callSid: 'CA' + 'b'.repeat(32), accountSid: 'AC' + 'c'.repeat(32) };
    const line = new LineMessages(ids);
    const twilio = new StreamFrameWriter(ids.streamSid);
    line.connected(); // not numbered, as Twilio's
    for (const key of KEYPAD_KEYS) {
      const sent = line.dtmf(key);
      expect(JSON.parse(sent)).toEqual(JSON.parse(twilio.dtmf(key)));
      expect(parseTwilioFrame(sent)).toEqual({ ok: true, frame: { event: 'dtmf', streamSid: ids.streamSid, digit: key } });
    }
    expect(KEYPAD_KEYS.join('')).toBe('123456789*0#');
    expect(['5', '*', '#'].every(isKeypadKey)).toBe(true);
    expect(['A', 'a', '10', '', ' '].some(isKeypadKey)).toBe(false);
  });
});
