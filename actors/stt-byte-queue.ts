/**
 * A FIFO of audio chunks stored as bytes in one growing Buffer (plus their lengths), for audio that must be kept
 * for seconds at 50 chunks a second per call. Keeping the chunk objects themselves made every 20 ms frame survive
 * several young-generation GCs and get promoted (and pinned Node's shared 8 KB allocation slabs); copying 160 bytes
 * into a per-call buffer leaves nothing for the GC to trace. Chunk boundaries are kept, so replays are unchanged.
 */
const INITIAL_BYTES = 16 * 1024;

export class ByteChunkQueue {
  private data = Buffer.allocUnsafe(INITIAL_BYTES);
  private head = 0;
  private tail = 0;
  private lengths: number[] = [];
  private first = 0;

  get byteLength(): number {
    return this.tail - this.head;
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

  /** Copies of every chunk, oldest first; the queue is emptied. */
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

  private reserve(bytes: number): void {
    if (this.tail + bytes <= this.data.length) return;
    const used = this.tail - this.head;
    if (used + bytes <= this.data.length / 2 || used + bytes <= this.data.length - INITIAL_BYTES) {
      this.data.copyWithin(0, this.head, this.tail); // room at the front: slide down
    } else {
      const grown = Buffer.allocUnsafe(Math.max(this.data.length * 2, used + bytes));
      this.data.copy(grown, 0, this.head, this.tail);
      this.data = grown;
    }
    this.head = 0;
    this.tail = used;
  }
}
