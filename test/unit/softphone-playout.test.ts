/**
 * The page's playout buffer, driven quantum by quantum as the AudioWorklet drives it (128 samples at 48 kHz): marks
 * are reached only once their audio has been played, `clear` silences at the next quantum and hands back every
 * pending mark, a short prebuffer absorbs jitter, and starving mid-segment counts as an underrun.
 */
import { describe, expect, it } from 'vitest';
import { PlayoutBuffer } from '../../console/src/softphone/playout.js';

const RATE = 48000;
const QUANTUM = 128;
const ms = (n: number) => Math.round((RATE * n) / 1000);
const tone = (samples: number) => new Float32Array(samples).fill(0.25);

/** Renders `quanta` quanta; returns the marks reached with the quantum they were reached in. */
function render(buffer: PlayoutBuffer, quanta: number): Array<{ name: string; quantum: number }> {
  const reached: Array<{ name: string; quantum: number }> = [];
  const out = new Float32Array(QUANTUM);
  for (let q = 0; q < quanta; q++) for (const name of buffer.readInto(out).marks) reached.push({ name, quantum: q });
  return reached;
}

describe('playout buffer', () => {
  it('a mark is reached when its audio has been played, not before; a mark with nothing queued at once', () => {
    const b = new PlayoutBuffer(RATE, 80);
    expect(b.mark('nothing-queued')).toEqual(['nothing-queued']);
    b.enqueue(tone(ms(1000)));
    expect(b.mark('greeting')).toEqual([]);
    const reached = render(b, 400);
    // 1 s of audio = 375 quanta of 128: reached in the quantum that plays its last sample, never earlier.
    expect(reached).toEqual([{ name: 'greeting', quantum: 374 }]);
    expect(b.stats).toEqual({ underruns: 0, playedSamples: ms(1000), bufferedSamples: 0 });
  });

  it('holds playout until the target is buffered, or until the segment is known to be complete', () => {
    const b = new PlayoutBuffer(RATE, 80);
    const out = new Float32Array(QUANTUM);
    b.enqueue(tone(ms(40)));
    expect(b.readInto(out).samples).toBe(0); // 40 ms < 80 ms target: wait for more (jitter)
    expect(out.every((v) => v === 0)).toBe(true);
    b.enqueue(tone(ms(40)));
    expect(b.readInto(out).samples).toBe(QUANTUM);
    const short = new PlayoutBuffer(RATE, 80);
    short.enqueue(tone(ms(30)));
    short.mark('short');
    expect(short.readInto(out).samples).toBe(QUANTUM); // a whole 30 ms segment: nothing more will come
  });

  it('clear drops everything queued at once: the next quantum is silent and the pending marks come back, unplayed', () => {
    const b = new PlayoutBuffer(RATE, 80);
    b.enqueue(tone(ms(500)));
    b.mark('a');
    b.enqueue(tone(ms(500)));
    b.mark('b');
    expect(render(b, 10)).toEqual([]);
    expect(b.clear()).toEqual(['a', 'b']);
    const out = new Float32Array(QUANTUM).fill(1);
    expect(b.readInto(out)).toEqual({ marks: [], samples: 0 });
    expect(out.every((v) => v === 0)).toBe(true);
    expect(b.stats.bufferedSamples).toBe(0);
    expect(b.stats.underruns).toBe(0);
    // After a clear the next reply plays normally.
    b.enqueue(tone(ms(100)));
    b.mark('c');
    expect(render(b, 40).map((r) => r.name)).toEqual(['c']);
  });

  it('running dry mid-segment is an underrun; running dry at a mark is the end of a segment', () => {
    const b = new PlayoutBuffer(RATE, 20);
    b.enqueue(tone(ms(100)));
    render(b, 60); // played it all with no mark after it: starved
    expect(b.underruns).toBe(1);
    b.enqueue(tone(ms(100)));
    b.mark('end');
    expect(render(b, 60).map((r) => r.name)).toEqual(['end']);
    expect(b.underruns).toBe(1);
    expect(b.playedSamples).toBe(ms(200));
  });
});
