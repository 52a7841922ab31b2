/**
 * Twilio's side of outbound audio, modelled: received media is queued and "played" at 8 bytes per ms of wall time,
 * computed from elapsed time whenever the caller looks (no per-byte or per-chunk timers). A mark is echoed once
 * playback passes the byte position it was queued at — at once when nothing is buffered. `clear` drops what has not
 * played yet and echoes every pending mark immediately.
 *
 * Positions are absolute byte counts since the call began: `received` = bytes ever queued, `played` = bytes ever
 * played or dropped. Times are epoch ms; the caller passes them in, so tests drive this with plain numbers.
 */
import { BYTES_PER_MS } from '../lib/mulaw.js';

export interface PlaybackSinks {
  /** Audio that has just been played, in order (a view into the received buffer; do not keep it). */
  played(audio: Buffer): void;
  /** A mark whose audio has played (or was cleared): echo it now. */
  echo(name: string, at: number): void;
}

interface PendingMark {
  name: string;
  position: number;
}

export class PlaybackBuffer {
  private chunks: Buffer[] = [];
  private headOffset = 0;
  private received = 0;
  private played = 0;
  /** Fraction of a byte owed from the previous advance, so rounding never slows playback down. */
  private carry = 0;
  private lastAt = 0;
  private marks: PendingMark[] = [];
  /** When the buffer last ran dry (epoch ms), null while playing. */
  private idleAt: number | null;

  constructor(
    private readonly sinks: PlaybackSinks,
    startAt: number,
  ) {
    this.idleAt = startAt;
  }

  get bufferedBytes(): number {
    return this.received - this.played;
  }

  get playing(): boolean {
    return this.received > this.played;
  }

  get playedBytes(): number {
    return this.played;
  }

  get pendingMarks(): number {
    return this.marks.length;
  }

  /** Epoch ms since which nothing has been playing, or null while audio plays. */
  get idleSince(): number | null {
    return this.idleAt;
  }

  /** Queue received audio; returns true when it starts playback on an idle line. */
  append(audio: Buffer, at: number): boolean {
    this.advance(at);
    if (audio.length === 0) return false;
    const startsPlayback = !this.playing;
    if (startsPlayback) {
      this.lastAt = at;
      this.carry = 0;
      this.idleAt = null;
    }
    this.chunks.push(audio);
    this.received += audio.length;
    return startsPlayback;
  }

  /** Queue a mark after all audio received so far. */
  mark(name: string, at: number): void {
    this.advance(at);
    if (!this.playing) this.sinks.echo(name, at);
    else this.marks.push({ name, position: this.received });
  }

  /** Play what wall time `at` allows. */
  advance(at: number): void {
    if (!this.playing) return;
    const budget = Math.max(0, at - this.lastAt) * BYTES_PER_MS + this.carry;
    const buffered = this.bufferedBytes;
    let bytes = Math.floor(budget);
    if (bytes >= buffered) {
      // Ran dry somewhere inside this interval: idle from the moment the last byte played.
      this.idleAt = at - (budget - buffered) / BYTES_PER_MS;
      bytes = buffered;
      this.carry = 0;
    } else {
      this.carry = budget - bytes;
    }
    this.lastAt = at;
    if (bytes > 0) this.consume(bytes, this.sinks.played);
    this.echoPassedMarks(at);
  }

  /** Drop everything unplayed (returned, in order) and echo every pending mark at once. */
  clear(at: number): Buffer[] {
    this.advance(at);
    const dropped: Buffer[] = [];
    if (this.playing) this.consume(this.bufferedBytes, (b) => dropped.push(b));
    this.carry = 0;
    if (this.idleAt === null) this.idleAt = at;
    const marks = this.marks;
    this.marks = [];
    for (const m of marks) this.sinks.echo(m.name, at);
    return dropped;
  }

  private echoPassedMarks(at: number): void {
    while (this.marks.length > 0 && (this.marks[0] as PendingMark).position <= this.played) {
      const mark = this.marks.shift() as PendingMark;
      this.sinks.echo(mark.name, at);
    }
  }

  /** Take `bytes` from the head of the queue, handing each piece to `sink`. */
  private consume(bytes: number, sink: (audio: Buffer) => void): void {
    let left = bytes;
    while (left > 0) {
      const head = this.chunks[0];
      if (!head) break;
      const available = head.length - this.headOffset;
      const take = Math.min(available, left);
      sink(head.subarray(this.headOffset, this.headOffset + take));
      left -= take;
      this.played += take;
      if (take === available) {
        this.chunks.shift();
        this.headOffset = 0;
      } else {
        this.headOffset += take;
      }
    }
  }
}
