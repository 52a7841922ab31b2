/**
 * Caller audio on its way to an STT socket that may be connecting, open or down: sent when the socket is open, kept
 * otherwise, and everything the service had not settled replayed in order on the next open (see `SttAudioBuffer`).
 * The Flux actor uses it; it is the same logic as the Nova actor's onAudio/onOpen, written once for any socket.
 */
import { errorMessage, type Logger } from '../lib/logger.js';
import {} from './deepgram-reconnect.js';
import type { SttAudioBuffer } from './deepgram-stt-buffer.js';

export interface AudioSocket {
  sendMedia(chunk: Buffer): void;
}

export class SttAudioLink {
  constructor(
    private readonly buffer: SttAudioBuffer,
    private readonly log: Logger,
    private readonly name: string,
  ) {}

  /** Sends on `socket` (null = not open) or keeps the chunk for the next connection. True when it went out. */
  send(socket: AudioSocket | null, chunk: Buffer): boolean {
    if (!socket) {
      this.buffer.hold(chunk);
      return false;
    }
    try {
      socket.sendMedia(chunk);
      this.buffer.sent(chunk);
      return true;
    } catch (err) {
      // Closed between our check and the send: keep it for the next connection.
      this.buffer.hold(chunk);
      this.log.debug(`${this.name}: audio held (socket not writable)`, { error: errorMessage(err) });
      return false;
    }
  }

  /** On (re)open: every kept chunk, oldest first. Returns the bytes resent. */
  replay(socket: AudioSocket): number {
    const replay = this.buffer.takeReplay();
    let resentBytes = 0;
    for (let i = 0; i < replay.length; i++) {
      const chunk = replay[i] as Buffer;
      try {
        socket.sendMedia(chunk);
      } catch (err) {
        // Closed mid-replay: keep the rest for the next connection (the close handler follows).
        for (const rest of replay.slice(i)) this.buffer.hold(rest);
        this.log.warn(`${this.name}: replay interrupted`, { error: errorMessage(err) });
        break;
      }
      this.buffer.sent(chunk);
      resentBytes += chunk.length;
    }
    if (this.buffer.lostBytes > 0) {
      this.log.warn(`${this.name}: caller audio lost while disconnected (buffer full)`, { lostBytes: this.buffer.lostBytes });
      this.buffer.lostBytes = 0;
    }
    return resentBytes;
  }

  /** The service settled this connection's audio up to `byteOffset`: it will not be replayed. */
  settle(byteOffset: number): void {
    this.buffer.confirm(byteOffset);
  }

  /** Nothing will ever be sent again (the reconnector gave up). */
  discard(): void {
    this.buffer.takeReplay();
  }
}
