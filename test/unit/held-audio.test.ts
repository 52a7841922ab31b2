/** The TTS child's held audio: what a call synthesised in full, re-sent when the same text is said again. */
import { describe, expect, it } from 'vitest';
import { HeldAudio } from '../../actors/held-audio.js';

const audio = (bytes: number, fill = 1) => Buffer.alloc(bytes, fill);

describe('HeldAudio', () => {
  it('finds a segment by its text whatever its spacing, its chunks joined', () => {
    const held = new HeldAudio();
    held.keep('On weekends we open at ten. ', [audio(3, 1), audio(2, 2)]);
    expect(held.get('On weekends  we open at ten.')).toEqual(Buffer.from([1, 1, 1, 2, 2]));
    expect(held.get('On weekends we open at nine.')).toBeUndefined();
  });

  it('keeps nothing for an empty text or no audio, and a text said again replaces its audio', () => {
    const held = new HeldAudio();
    held.keep('  ', [audio(4)]);
    held.keep('Hi.', []);
    expect(held.get('')).toBeUndefined();
    expect(held.get('Hi.')).toBeUndefined();
    held.keep('Hi.', [audio(2, 7)]);
    held.keep('Hi.', [audio(3, 8)]);
    expect(held.get('Hi.')).toEqual(audio(3, 8));
  });

  it('beyond its segment and byte bounds keeps the earliest segments, not the newest (a resume needs those first)', () => {
    const held = new HeldAudio(2, 10);
    held.keep('one', [audio(4)], 't1-s1');
    held.keep('two', [audio(4)], 't1-s2');
    held.keep('three', [audio(1)], 't1-s3'); // a third segment: over the segment bound
    expect([held.get('one'), held.get('two'), held.get('three')].map((a) => a?.length)).toEqual([4, 4, undefined]);
    held.played('t1-s1');
    held.keep('four', [audio(8)], 't1-s4'); // 4 + 8 > 10 bytes: not kept, nothing evicted for it
    expect([held.get('two'), held.get('four')].map((a) => a?.length)).toEqual([4, undefined]);
    held.keep('five', [audio(6)], 't1-s5');
    expect(held.get('five')?.length).toBe(6);
    expect(held.heldBytes).toBe(10);
  });

  it('lets a segment go once the caller heard it in full, and a new turn lets the last turn go', () => {
    const held = new HeldAudio();
    held.keep('First.', [audio(5)], 't1-s1');
    held.keep('Second.', [audio(5)], 't1-s2');
    held.played('t1-s1');
    held.played('t9-s9'); // not held: nothing happens
    expect(held.get('First.')).toBeUndefined();
    expect(held.get('Second.')?.length).toBe(5);
    held.keep('Next turn.', [audio(3)], 't2-s1');
    expect(held.get('Second.')).toBeUndefined();
    expect(held.heldBytes).toBe(3);
  });

  it('holds a short segment in memory of its own, never a slice of a larger shared buffer (a per-call budget)', () => {
    const held = new HeldAudio();
    // Chunks as they come off a socket: slices of bigger buffers (Buffer.from of base64 slices the shared pool).
    const chunk = Buffer.from(Buffer.alloc(300, 5).toString('base64'), 'base64');
    held.keep('Sure.', [chunk, chunk.subarray(0, 100)]);
    const kept = held.get('Sure.');
    expect(kept).toEqual(Buffer.alloc(400, 5));
    expect(kept?.buffer.byteLength).toBe(400);
  });
});

