import { describe, expect, it } from 'vitest';
import { PlaybackBuffer } from '../../offline/twilio-playback.js';
import { encodeSpeech, SpeechDecoder } from '../../offline/speech-codec.js';

function harness(startAt = 0) {
  const echoes: { name: string; at: number }[] = [];
  const heard = new SpeechDecoder();
  let playedBytes = 0;
  const buffer = new PlaybackBuffer(
    {
      played: (audio) => {
        playedBytes += audio.length;
        heard.push(audio);
      },
      echo: (name, at) => echoes.push({ name, at }),
    },
    startAt,
  );
  return { buffer, echoes, heard, played: () => playedBytes };
}

describe('PlaybackBuffer (Twilio playback model, driven by explicit times)', () => {
  it('plays 8 bytes per ms of wall time, across chunk boundaries', () => {
    const h = harness();
    expect(h.buffer.append(Buffer.alloc(1000, 0xff), 100)).toBe(true);
    expect(h.buffer.append(Buffer.alloc(1000, 0xff), 110)).toBe(false);
    h.buffer.advance(150); // 50 ms since playback began at 100
    expect(h.played()).toBe(400);
    h.buffer.advance(200.0625); // fractions carry over instead of being lost
    h.buffer.advance(200.125);
    expect(h.played()).toBe(801);
    h.buffer.advance(1000);
    expect(h.played()).toBe(2000);
    expect(h.buffer.playing).toBe(false);
    expect(h.buffer.idleSince).toBe(350); // 2000 bytes = 250 ms after 100
  });

  it('echoes a mark only when playback passes it, and at once when nothing is buffered', () => {
    const h = harness();
    h.buffer.mark('early', 5);
    expect(h.echoes).toEqual([{ name: 'early', at: 5 }]);
    h.buffer.append(Buffer.alloc(800, 0xff), 10); // 100 ms of audio
    h.buffer.mark('m1', 10);
    h.buffer.append(Buffer.alloc(800, 0xff), 20);
    h.buffer.mark('m2', 20);
    h.buffer.advance(109);
    expect(h.echoes.map((e) => e.name)).toEqual(['early']);
    h.buffer.advance(110);
    expect(h.echoes.map((e) => e.name)).toEqual(['early', 'm1']);
    h.buffer.advance(400);
    expect(h.echoes.map((e) => e.name)).toEqual(['early', 'm1', 'm2']);
    expect(h.buffer.pendingMarks).toBe(0);
  });

  it('restarts playback from the moment audio arrives after the line went idle', () => {
    const h = harness();
    h.buffer.append(Buffer.alloc(80, 0xff), 0);
    h.buffer.append(Buffer.alloc(80, 0xff), 500); // idle from 10 to 500: no "credit" for the gap
    h.buffer.advance(505);
    expect(h.played()).toBe(120);
  });

  it('clear drops the unplayed audio, returns it, and echoes every pending mark immediately', () => {
    const h = harness();
    const text = 'one two three four five six seven eight';
    const audio = encodeSpeech(text, 1000);
    h.buffer.append(audio, 0);
    h.buffer.mark('seg-1', 0);
    h.buffer.append(encodeSpeech(' nine', 200), 0);
    h.buffer.mark('seg-2', 0);
    const dropped = h.buffer.clear(400);
    expect(h.echoes).toEqual([
      { name: 'seg-1', at: 400 },
      { name: 'seg-2', at: 400 },
    ]);
    expect(h.played()).toBe(3200);
    const cut = new SpeechDecoder();
    for (const d of dropped) cut.push(d);
    const heard = h.heard.take();
    expect(heard.length).toBeGreaterThan(0);
    expect(text.startsWith(heard)).toBe(true);
    expect(heard + cut.take()).toBe(text + ' nine');
    expect(h.buffer.playing).toBe(false);
    expect(h.buffer.idleSince).toBe(400);
  });
});
