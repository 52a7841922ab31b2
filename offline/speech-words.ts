/**
 * Words "recognised" in simulated speech audio, frame by frame: the speech decoder yields characters; a word is
 * complete at a space, or when speech stops (a pause ends the word being said). Times are audio ms.
 */
import { SpeechDecoder } from './speech-codec.js';

export interface TimedWord {
  token: string;
  startMs: number;
  endMs: number;
}

export class SpeechWords {
  private readonly decoder = new SpeechDecoder();
  private partial = '';
  private partialStartMs = 0;
  private inSpeech = false;
  private lastSpeechEndMs = 0;

  /** One frame [startMs, endMs): returns the words it completed, oldest first. */
  push(frame: Uint8Array, startMs: number, endMs: number, speech: boolean): TimedWord[] {
    const done: TimedWord[] = [];
    this.decoder.push(frame);
    for (const ch of this.decoder.take()) {
      if (/\s/.test(ch)) this.complete(endMs, done);
      else {
        if (this.partial.length === 0) this.partialStartMs = startMs;
        this.partial += ch;
      }
    }
    if (speech) {
      this.inSpeech = true;
      this.lastSpeechEndMs = endMs;
    } else if (this.inSpeech) {
      this.inSpeech = false;
      this.complete(this.lastSpeechEndMs, done);
    }
    return done;
  }

  /** The word being said, if any, as a completed word (CloseStream, Finalize). */
  flush(endMs: number): TimedWord[] {
    const done: TimedWord[] = [];
    this.complete(endMs, done);
    return done;
  }

  private complete(endMs: number, into: TimedWord[]): void {
    if (this.partial.length === 0) return;
    into.push({ token: this.partial, startMs: this.partialStartMs, endMs: Math.max(endMs, this.partialStartMs) });
    this.partial = '';
  }
}
