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
});
