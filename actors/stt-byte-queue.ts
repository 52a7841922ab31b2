/**
 * A FIFO of audio chunks stored as bytes in one Buffer (plus their lengths), for audio that must be kept for seconds
 * at 50 chunks a second per call. Keeping the chunk objects themselves made every 20 ms frame survive several
 * young-generation GCs and get promoted, and pinned Node's shared 8 KB allocation slabs (a 160-byte frame decoded from
 * base64 is a slice of a slab shared with other calls' frames); copying 160 bytes into a per-call buffer leaves
 * nothing for the GC to trace. Chunk boundaries are kept, so replays are unchanged.
 *
 * Its capacity follows what it holds (per-call memory outside the JS heap, a budget in test/budget/budgets.ts):
 * whenever the end of the buffer is reached it is resized to about 1.5× the bytes held — grown, or shrunk after a
 * burst — instead of doubling and never giving back (which left most calls at 128 KB for an 80 KB worst case). No
 * buffer at all until the first chunk, and none after `drain()`.
 */
const INITIAL_BYTES = 8 * 1024;
/** Capacities are whole steps (fewer distinct allocation sizes). */
const STEP_BYTES = 4 * 1024;
const EMPTY = Buffer.alloc(0);

export class ByteChunkQueue {
  private data: Buffer = EMPTY;
  private head = 0;
  private tail = 0;
  private lengths: number[] = [];
  private first = 0;

  get byteLength(): number {
    return this.tail - this.head;
  }

  /** Bytes allocated (what the queue costs, whatever it holds). */
  get capacity(): number {
    return this.data.length;
  }

  get count(): number {
    return this.lengths.length - this.first;
  }

  /** Length of the oldest chunk (0 when empty). */
  get firstLength(): number {
    return this.lengths[this.first] ?? 0;
  }

  push(chunk: Uint8Array): void {
    this.reserve(chunk.length);
    this.data.set(chunk, this.tail);
    this.tail += chunk.length;
    this.lengths.push(chunk.length);
  }

  /** Drop the oldest chunk; returns its length. */
  shift(): number {
    const length = this.lengths[this.first];
    if (length === undefined) return 0;
    this.first++;
    this.head += length;
    this.settle();
    return length;
  }

  /** Drop `bytes` from the front of the oldest chunk (fewer than its length). */
  trimFirst(bytes: number): void {
    const length = this.lengths[this.first];
    if (length === undefined || bytes <= 0) return;
    this.lengths[this.first] = length - bytes;
    this.head += bytes;
  }

  /** Copies of every chunk, oldest first; the queue is emptied and lets its buffer go. */
  drain(): Buffer[] {
    const out: Buffer[] = [];
    let at = this.head;
    for (let i = this.first; i < this.lengths.length; i++) {
      const length = this.lengths[i] as number;
      out.push(Buffer.from(this.data.subarray(at, at + length)));
      at += length;
    }
    this.lengths = [];
    this.first = 0;
    this.head = this.tail = 0;
    this.data = EMPTY;
    return out;
  }

  private settle(): void {
    if (this.first === this.lengths.length) {
      this.lengths = [];
      this.first = 0;
      this.head = this.tail = 0;
    } else if (this.first > 1024 && this.first * 2 > this.lengths.length) {
      this.lengths = this.lengths.slice(this.first);
      this.first = 0;
    }
  }

  /** Room for `bytes` more at the tail: slide what is held to the front, or move it to a buffer of a fitting size. */
  private reserve(bytes: number): void {
    if (this.tail + bytes <= this.data.length) return;
    const used = this.tail - this.head;
    const wanted = Math.max(INITIAL_BYTES, Math.ceil((used + bytes) * 1.5 / STEP_BYTES) * STEP_BYTES);
    if (wanted <= this.data.length && wanted * 2 > this.data.length) {
      this.data.copyWithin(0, this.head, this.tail); // fits, and the buffer is not oversized: slide down
    } else {
      const resized = Buffer.allocUnsafe(wanted);
      this.data.copy(resized, 0, this.head, this.tail);
      this.data = resized;
    }
    this.head = 0;
    this.tail = used;
  }
}
