/**
 * The Twilio Media Streams messages the page speaks on `/media`, as Twilio itself would (see shared protocols):
 * `connected`, `start` (the stream token in customParameters), `media` (base64 µ-law, 20 ms each), `mark` echoes,
 * `dtmf` (one per keypad press), `stop`; and what the server sends back: `media`, `mark`, `clear`. No DOM types: the unit tests run in Node.
 */

export interface StreamIds {
  streamSid: string;
  callSid: string;
  accountSid: string;
}

export type LineInbound = { event: 'media'; payload: Uint8Array } | { event: 'mark'; name: string } | { event: 'clear' };

/** The phone keypad, in its layout order. */
export const KEYPAD_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'] as const;
export type KeypadKey = (typeof KEYPAD_KEYS)[number];

export function isKeypadKey(key: string): key is KeypadKey {
  return (KEYPAD_KEYS as readonly string[]).includes(key);
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i] ?? 0);
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** A random SID like Twilio's: prefix + 32 hex digits. */
export function randomSid(prefix: string): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Builds one stream's outbound messages; numbers them as Twilio does (strings, from 1). */
export class LineMessages {
  private sequence = 0;
  private chunk = 0;

  constructor(private readonly ids: StreamIds) {}

  connected(): string {
    return JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' });
  }

  start(customParameters: Record<string, string>): string {
    const { streamSid, callSid, accountSid } = this.ids;
    return JSON.stringify({
      event: 'start',
      sequenceNumber: this.next(),
      start: { accountSid, streamSid, callSid, tracks: ['inbound'], mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 }, customParameters },
      streamSid,
    });
  }

  /** One 20 ms frame; `timestamp` is the stream's audio time in ms, as Twilio reports it. */
  media(payload: Uint8Array): string {
    this.chunk++;
    const timestamp = String((this.chunk - 1) * 20);
    return JSON.stringify({
      event: 'media',
      sequenceNumber: this.next(),
      media: { track: 'inbound', chunk: String(this.chunk), timestamp, payload: toBase64(payload) },
      streamSid: this.ids.streamSid,
    });
  }

  mark(name: string): string {
    return JSON.stringify({ event: 'mark', sequenceNumber: this.next(), streamSid: this.ids.streamSid, mark: { name } });
  }

  /** One key press, as Twilio reports a caller's DTMF tone on the media stream. */
  dtmf(digit: KeypadKey): string {
    return JSON.stringify({ event: 'dtmf', streamSid: this.ids.streamSid, sequenceNumber: this.next(), dtmf: { track: 'inbound_track', digit } });
  }

  stop(): string {
    const { streamSid, callSid, accountSid } = this.ids;
    return JSON.stringify({ event: 'stop', sequenceNumber: this.next(), stop: { accountSid, callSid }, streamSid });
  }

  private next(): string {
    return String(++this.sequence);
  }
}

/** Parses what the server sends; null for anything else (ignored, as Twilio ignores what it does not know). */
export function parseLineInbound(text: string): LineInbound | null {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof msg !== 'object' || msg === null) return null;
  const m = msg as { event?: unknown; media?: { payload?: unknown }; mark?: { name?: unknown } };
  if (m.event === 'media' && typeof m.media?.payload === 'string') {
    try {
      return { event: 'media', payload: fromBase64(m.media.payload) };
    } catch {
      return null;
    }
  }
  if (m.event === 'mark' && typeof m.mark?.name === 'string') return { event: 'mark', name: m.mark.name };
  if (m.event === 'clear') return { event: 'clear' };
  return null;
}
