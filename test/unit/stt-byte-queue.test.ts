import { describe, expect, it } from 'vitest';
import { ByteChunkQueue } from '../../actors/stt-byte-queue.js';

/** A tiny deterministic PRNG so a failure replays. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

describe('ByteChunkQueue (STT replay buffer)', () => {
  it('behaves like an array of chunks through growth, slides and trims', () => {
    const random = rng(42);
    const queue = new ByteChunkQueue();
    let model: Buffer[] = [];
    let next = 0;
    for (let step = 0; step < 20000; step++) {
      const r = random();
      if (r < 0.55) {
        const chunk = Buffer.alloc(1 + Math.floor(random() * 400), next++ & 0xff);
        queue.push(chunk);
        model.push(chunk);
      } else if (r < 0.85) {
        expect(queue.shift()).toBe(model.shift()?.length ?? 0);
      } else if (r < 0.97) {
        const first = model[0];
        if (first && first.length > 1) {
          const bytes = Math.floor(random() * (first.length - 1)) + 1;
          queue.trimFirst(bytes);
          model[0] = first.subarray(bytes);
        }
      } else {
        expect(queue.drain()).toEqual(model);
        model = [];
      }
      expect(queue.count).toBe(model.length);
      expect(queue.byteLength).toBe(model.reduce((n, c) => n + c.length, 0));
      expect(queue.firstLength).toBe(model[0]?.length ?? 0);
    }
    expect(queue.drain()).toEqual(model);
    expect(queue.byteLength).toBe(0);
  });

  it('allocates nothing until the first chunk, and lets its buffer go when drained', () => {
    const queue = new ByteChunkQueue();
    expect(queue.capacity).toBe(0);
    queue.push(Buffer.alloc(160));
    expect(queue.capacity).toBeGreaterThan(0);
    queue.drain();
    expect(queue.capacity).toBe(0);
  });

  it('keeps its capacity near what it holds: grown for a burst, shrunk after it, never 2× a steady load', () => {
    const frame = Buffer.alloc(160, 1);
    const queue = new ByteChunkQueue();
    // Steady: 3 s of frames kept (a final every 3 s), pushed and confirmed for a minute.
    for (let i = 0; i < 50 * 60; i++) {
      queue.push(frame);
      if (queue.byteLength > 3 * 8000) queue.shift();
    }
    expect(queue.capacity).toBeLessThanOrEqual(1.5 * 3 * 8000 + 4096 + 160);
    // A burst: 10 s unconfirmed (the 80 KB worst case of SttAudioBuffer), then back to half a second.
    for (let i = 0; i < 50 * 10; i++) queue.push(frame);
    expect(queue.capacity).toBeLessThanOrEqual(1.5 * 10 * 8000 + 4096 + 160 * 2 + 3 * 8000);
    for (let i = 0; i < 50 * 60; i++) {
      queue.push(frame);
      while (queue.byteLength > 4000) queue.shift();
    }
    expect(queue.capacity).toBeLessThanOrEqual(8 * 1024);
  });
});
