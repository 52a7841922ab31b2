/**
 * The JSON frames Twilio sends on a Media Stream, built the way Twilio shapes them (sequenceNumber, chunk and
 * timestamp are strings). Media frames are built by concatenating pre-built parts; the silence payload is encoded
 * once per process, so a silent frame costs one string concatenation.
 */
import type { CustomParameters } from '../machines/events.js';
import { FRAME_BYTES, FRAME_MS, MULAW_SILENCE } from '../lib/mulaw.js';

const SILENCE_PAYLOAD = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE).toString('base64');

export class StreamFrameWriter {
  private sequence = 0;
  private chunk = 0;
  private readonly sid: string;
  private readonly mediaTail: string;
  private readonly silenceTail: string;
  /** Reused for the last, partly filled frame of an utterance (toString copies, so reuse is safe). */
  private readonly scratch = Buffer.alloc(FRAME_BYTES);

  constructor(readonly streamSid: string) {
    this.sid = JSON.stringify(streamSid);
    this.mediaTail = `"},"streamSid":${this.sid}}`;
    this.silenceTail = `","payload":"${SILENCE_PAYLOAD}"},"streamSid":${this.sid}}`;
  }

  get framesSent(): number {
    return this.chunk;
  }

  connected(): string {
    return '{"event":"connected","protocol":"Call","version":"1.0.0"}';
  }

  start(callSid: string, accountSid: string, customParameters: CustomParameters): string {
    return JSON.stringify({
      event: 'start',
      sequenceNumber: String(++this.sequence),
      start: {
        accountSid,
        streamSid: this.streamSid,
        callSid,
        tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        customParameters,
      },
      streamSid: this.streamSid,
    });
  }

  private mediaHead(): string {
    const chunk = ++this.chunk;
    return `{"event":"media","sequenceNumber":"${++this.sequence}","media":{"track":"inbound","chunk":"${chunk}","timestamp":"${(chunk - 1) * FRAME_MS}`;
  }

  /** A 20 ms frame of silence. */
  silence(): string {
    return this.mediaHead() + this.silenceTail;
  }

  /** A 20 ms frame of audio; shorter audio is padded with silence. */
  media(audio: Buffer): string {
    let frame = audio;
    if (audio.length < FRAME_BYTES) {
      this.scratch.fill(MULAW_SILENCE);
      audio.copy(this.scratch);
      frame = this.scratch;
    }
    return this.mediaHead() + '","payload":"' + frame.toString('base64') + this.mediaTail;
  }

  markEcho(name: string): string {
    return `{"event":"mark","sequenceNumber":"${++this.sequence}","streamSid":${this.sid},"mark":{"name":${JSON.stringify(name)}}}`;
  }

  dtmf(digit: string): string {
    return `{"event":"dtmf","streamSid":${this.sid},"sequenceNumber":"${++this.sequence}","dtmf":{"track":"inbound_track","digit":${JSON.stringify(digit)}}}`;
  }

  stop(accountSid: string, callSid: string): string {
    return JSON.stringify({
      event: 'stop',
      sequenceNumber: String(++this.sequence),
      stop: { accountSid, callSid },
      streamSid: this.streamSid,
    });
  }
}
