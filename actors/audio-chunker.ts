/**
 * Gathers the caller's 20 ms Twilio frames into bigger STT messages. Every WebSocket message is a socket write (a
 * syscall and, on loopback or TLS, the receiver's work too); forwarding frame by frame made the STT writes the largest
 * single cost of a call under load (issue 22's profile: 84 % of the server's socket-write time at 200 calls). Two
 * frames per message halve it for at most one frame (20 ms) of added delay on the audio's way to Deepgram; LiveKit's
 * Deepgram plugin sends 50 ms chunks for the same reason, Flux wants 80 ms.
 */
export class AudioChunker {
  private chunk: Buffer | null = null;
  private length = 0;

  constructor(
    private readonly chunkBytes: number,
    private readonly send: (chunk: Buffer) => void,
  ) {
    if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`chunk size must be a positive integer of bytes, got ${chunkBytes}`);
  }

  /** Bytes waiting for the rest of their chunk. */
  get pendingBytes(): number {
    return this.length;
  }

  push(frame: Buffer): void {
    // A frame of exactly one chunk with nothing waiting goes out as it is (chunk size = frame size: no copy).
    if (this.length === 0 && frame.length === this.chunkBytes) return this.send(frame);
    let offset = 0;
    while (offset < frame.length) {
      // A fresh buffer per chunk: the socket may still hold the previous one until it is written.
      this.chunk ??= Buffer.allocUnsafe(this.chunkBytes);
      const n = frame.copy(this.chunk, this.length, offset);
      this.length += n;
      offset += n;
      if (this.length === this.chunkBytes) this.flush();
    }
  }

  /** Sends what is waiting now (stop, a quiet period, before a control message that must follow the audio). */
  flush(): void {
    const chunk = this.chunk;
    if (chunk === null || this.length === 0) return;
    const out = this.length === chunk.length ? chunk : chunk.subarray(0, this.length);
    this.chunk = null;
    this.length = 0;
    this.send(out);
  }

  /** Drops what is waiting (the socket is gone for good). */
  discard(): void {
    this.chunk = null;
    this.length = 0;
  }
}
