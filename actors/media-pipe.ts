/**
 * The per-call audio path between sibling actors. Audio never goes through the call machine, and not through
 * XState `send` either: every `send` is an inspection event, so 50 frames/s per call would flood the inspector
 * and cost throughput. The pipe is a pair of plain synchronous hand-offs created by the server for each call.
 *
 * - inbound: caller audio, transport → stt.
 * - outbound: agent audio and marks, tts → transport, in one ordered channel so a mark can never overtake the
 *   audio it must follow.
 * - played: transport → tts, a segment the caller heard in full (its mark came back played), so the TTS child can let
 *   go of audio it held for a resume.
 */
export interface MarkOptions {
  /**
   * The segment this mark closes stopped short (its TTS socket dropped mid-segment): the caller heard only part of
   * it, so the echo is reported as not played and the segment does not count as heard.
   */
  partial?: boolean;
}

export interface OutboundSink {
  audio(chunk: Buffer): void;
  /** Send a Twilio mark after all audio handed over so far. */
  mark(name: string, opts?: MarkOptions): void;
}

export class MediaPipe {
  private inboundSink: ((chunk: Buffer) => void) | null = null;
  private outboundSink: OutboundSink | null = null;
  private playedSink: ((segment: string) => void) | null = null;
  /** Inbound audio that arrived before the STT actor attached (kept, never silently lost). */
  private early: Buffer[] = [];

  onInbound(sink: ((chunk: Buffer) => void) | null): void {
    this.inboundSink = sink;
    if (sink && this.early.length > 0) {
      const early = this.early;
      this.early = [];
      for (const chunk of early) sink(chunk);
    }
  }

  sendInbound(chunk: Buffer): void {
    if (this.inboundSink) this.inboundSink(chunk);
    else if (this.early.length < 500) this.early.push(chunk); // ≤ 10 s of 20 ms frames
  }

  onOutbound(sink: OutboundSink | null): void {
    this.outboundSink = sink;
  }

  sendOutbound(chunk: Buffer): void {
    this.outboundSink?.audio(chunk);
  }

  sendMark(name: string, opts?: MarkOptions): void {
    this.outboundSink?.mark(name, opts);
  }

  onPlayed(sink: ((segment: string) => void) | null): void {
    this.playedSink = sink;
  }

  sendPlayed(segment: string): void {
    this.playedSink?.(segment);
  }
}
