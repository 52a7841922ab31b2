import { describe, expect, it } from 'vitest';
import { AudioChunker } from '../../actors/audio-chunker.js';

const frame = (fill: number, bytes = 160): Buffer => Buffer.alloc(bytes, fill);

describe('AudioChunker: 20 ms frames gathered into bigger STT messages', () => {
  it('sends one message per two frames, bytes in order, and the rest on flush', () => {
    const sent: Buffer[] = [];
    const chunker = new AudioChunker(320, (c) => sent.push(Buffer.from(c)));
    for (let i = 1; i <= 5; i++) chunker.push(frame(i));
    expect(sent.map((c) => c.length)).toEqual([320, 320]);
    expect(chunker.pendingBytes).toBe(160);
    chunker.flush();
    expect(sent.map((c) => c.length)).toEqual([320, 320, 160]);
    expect(Buffer.concat(sent)).toEqual(Buffer.concat([1, 2, 3, 4, 5].map((i) => frame(i))));
    chunker.flush();
    expect(sent).toHaveLength(3); // nothing waiting: nothing sent
  });

  it('splits frames that do not fit a chunk, and never reuses a buffer it handed out', () => {
    const sent: Buffer[] = [];
    const chunker = new AudioChunker(400, (c) => sent.push(c)); // 50 ms: two and a half frames
    for (let i = 1; i <= 5; i++) chunker.push(frame(i));
    expect(sent.map((c) => c.length)).toEqual([400, 400]);
    const first = Buffer.from(sent[0] as Buffer);
    chunker.push(frame(9));
    chunker.flush();
    expect(sent[0]).toEqual(first); // the socket may still be writing it
    expect(Buffer.concat(sent)).toEqual(Buffer.concat([1, 2, 3, 4, 5, 9].map((i) => frame(i))));
  });

  it('passes a frame of exactly one chunk straight through (20 ms chunks: frame by frame)', () => {
    const sent: Buffer[] = [];
    const chunker = new AudioChunker(160, (c) => sent.push(c));
    const f = frame(7);
    chunker.push(f);
    expect(sent).toEqual([f]);
    expect(sent[0]).toBe(f);
  });

  it('drops what waits on discard, and refuses a chunk size that is not a positive integer', () => {
    const sent: Buffer[] = [];
    const chunker = new AudioChunker(320, (c) => sent.push(c));
    chunker.push(frame(1));
    chunker.discard();
    chunker.flush();
    expect(sent).toHaveLength(0);
    expect(() => new AudioChunker(0, () => undefined)).toThrow(RangeError);
    expect(() => new AudioChunker(1.5, () => undefined)).toThrow(/positive integer/);
  });
});
