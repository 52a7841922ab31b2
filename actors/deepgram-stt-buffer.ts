/**
 * Caller audio the STT socket may still need, bounded (oldest dropped first):
 * - `pending`: audio that could not be sent (socket connecting or down);
 * - `unconfirmed`: audio sent on the current connection that Deepgram has not yet covered with an is_final result.
 *
 * After a drop both are replayed, in order, on the next connection: the words Deepgram had heard but not finalised
 * are heard again instead of being lost, and finalised audio is never sent twice (no duplicate finals).
 */
import { ByteChunkQueue } from './stt-byte-queue.js';

export class SttAudioBuffer {
  /** 50 chunks a second for seconds: stored as bytes, not as Buffer objects (see ByteChunkQueue). */
  private unconfirmed = new ByteChunkQueue();
  /** Byte offset (on the current connection) of the oldest unconfirmed chunk. */
  private unconfirmedStart = 0;
  /** Up to seconds of frames during an outage: as bytes too (a decoded frame pins a shared 8 KB slab). */
  private pending = new ByteChunkQueue();
  private heldBytes = 0;
  /** Audio never sent because the buffer overflowed during an outage. */
  lostBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Audio just sent on the open connection. */
  sent(chunk: Buffer): void {
    this.unconfirmed.push(chunk);
    this.heldBytes += chunk.length;
    this.trim();
  }

  /** Audio that could not be sent now. */
  hold(chunk: Buffer): void {
    this.pending.push(chunk);
    this.heldBytes += chunk.length;
    this.trim();
  }

  get pendingBytes(): number {
    return this.pending.byteLength;
  }

  /** Bytes this buffer has allocated (per-call memory outside the JS heap). */
  get capacity(): number {
    return this.unconfirmed.capacity + this.pending.capacity;
  }

  /** Deepgram finalised this connection's audio up to `byteOffset`. */
  confirm(byteOffset: number): void {
    while (this.unconfirmed.count > 0) {
      const headLength = this.unconfirmed.firstLength;
      const end = this.unconfirmedStart + headLength;
      if (end <= byteOffset) {
        this.unconfirmed.shift();
        this.unconfirmedStart = end;
        this.heldBytes -= headLength;
        continue;
      }
      if (byteOffset > this.unconfirmedStart) {
        const cut = byteOffset - this.unconfirmedStart;
        this.unconfirmed.trimFirst(cut);
        this.unconfirmedStart = byteOffset;
        this.heldBytes -= cut;
      }
      return;
    }
  }

  /** For a new connection: every chunk to (re)send, oldest first. Resets the connection's offsets. */
  takeReplay(): Buffer[] {
    const out = [...this.unconfirmed.drain(), ...this.pending.drain()];
    this.unconfirmedStart = 0;
    this.heldBytes = 0;
    return out;
  }

  private trim(): void {
    while (this.heldBytes > this.maxBytes) {
      if (this.unconfirmed.count > 0) {
        const dropped = this.unconfirmed.shift();
        this.heldBytes -= dropped;
        this.unconfirmedStart += dropped;
        continue;
      }
      if (this.pending.count === 0) return;
      const dropped = this.pending.shift();
      this.heldBytes -= dropped;
      this.lostBytes += dropped;
    }
  }
}
