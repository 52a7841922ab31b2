import { describe, expect, it } from 'vitest';
import { encodeSpeech, SpeechDecoder } from '../../offline/speech-codec.js';
import { rms, silence, SPEECH_RMS_THRESHOLD, FRAME_BYTES } from '../../lib/mulaw.js';

describe('simulated speech codec', () => {
  it('round-trips text through any chunking, including UTF-8', () => {
    const text = 'Hello there, café ☕ 42';
    const audio = encodeSpeech(text, 2000);
    expect(audio.length).toBe(16000);
    const dec = new SpeechDecoder();
    for (let i = 0; i < audio.length; i += 37) dec.push(audio.subarray(i, i + 37));
    expect(dec.take()).toBe(text);
    expect(dec.peek()).toBe('');
  });

  it('is loud (speech) and silence is quiet', () => {
    const audio = encodeSpeech('some words', 400);
    for (let i = 0; i < audio.length; i += FRAME_BYTES) {
      expect(rms(audio.subarray(i, i + FRAME_BYTES))).toBeGreaterThan(SPEECH_RMS_THRESHOLD);
    }
    expect(rms(silence(20))).toBeLessThan(SPEECH_RMS_THRESHOLD);
  });

  it('spreads text over the audio so a prefix of audio is a prefix of text', () => {
    const audio = encodeSpeech('abcdefghij', 1000);
    const dec = new SpeechDecoder();
    expect(dec.push(audio.subarray(0, audio.length / 2))).toBe('abcde');
  });

  it('stretches to fit the text when the duration is too short', () => {
    expect(encodeSpeech('abc', 0).length).toBe(6);
  });

  it('ignores silence and noise between data', () => {
    const dec = new SpeechDecoder();
    dec.push(Buffer.concat([encodeSpeech('hi', 10), silence(20), Buffer.from([0x03, 0x55, 0x20]), encodeSpeech(' you', 10)]));
    expect(dec.take()).toBe('hi you');
  });
});
