/**
 * What Twilio still has to play, as far as marks tell us. Each mark closes a segment of audio (bytes sent since the
 * previous mark; 8 bytes = 1 ms). Twilio echoes a mark when the audio before it has played — or at once after a
 * `clear`, which is why marks outstanding at a clear are flagged: their echo is not proof the caller heard anything.
 *
 * The line is idle when no un-cleared mark is outstanding and no audio went out since the last mark; the first audio
 * after that is the start of agent speech (TRANSPORT.AUDIO_STARTED).
 */
import { BYTES_PER_MS } from '../lib/mulaw.js';

export interface MarkEcho {
  name: string;
  /**
   * False when the mark was outstanding at a clear (the echo came from the clear, not from playback), or when it
   * closed a partial segment (the caller heard only its beginning).
   */
  played: boolean;
  /** Audio bytes of the segment the mark closed. */
  bytes: number;
  ms: number;
}

interface OutstandingMark {
  name: string;
  bytes: number;
  cleared: boolean;
  partial: boolean;
}

export class MarkTracker {
  private readonly outstanding: OutstandingMark[] = [];
  private unclearedCount = 0;
  private bytesSinceMark = 0;
  private totalBytes = 0;

  get idle(): boolean {
    return this.bytesSinceMark === 0 && this.unclearedCount === 0;
  }

  get outstandingMarks(): number {
    return this.outstanding.length;
  }

  get bytesSent(): number {
    return this.totalBytes;
  }

  /** Record outbound audio; true when it is the first audio after the line was idle. */
  audioSent(bytes: number): boolean {
    if (bytes <= 0) return false;
    const startsSpeech = this.idle;
    this.bytesSinceMark += bytes;
    this.totalBytes += bytes;
    return startsSpeech;
  }

  /** `partial`: the segment before this mark stopped short; its echo will say not played. */
  markSent(name: string, partial = false): void {
    this.outstanding.push({ name, bytes: this.bytesSinceMark, cleared: false, partial });
    this.unclearedCount++;
    this.bytesSinceMark = 0;
  }

  /** A clear was sent: Twilio drops its buffer and will echo every outstanding mark at once. Returns how many. */
  cleared(): number {
    for (const mark of this.outstanding) mark.cleared = true;
    this.unclearedCount = 0;
    this.bytesSinceMark = 0;
    return this.outstanding.length;
  }

  /** Twilio echoed `name`; null when we have no such mark outstanding. */
  echoed(name: string): MarkEcho | null {
    const index = this.outstanding.findIndex((m) => m.name === name);
    if (index < 0) return null;
    const [mark] = this.outstanding.splice(index, 1);
    if (!mark) return null;
    if (!mark.cleared) this.unclearedCount--;
    return { name, played: !mark.cleared && !mark.partial, bytes: mark.bytes, ms: mark.bytes / BYTES_PER_MS };
  }
}
