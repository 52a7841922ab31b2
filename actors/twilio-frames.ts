/**
 * Twilio Media Stream wire format, server side: parse what Twilio sends (connected/start/media/mark/dtmf/stop) into
 * a small typed union without ever throwing, and build what we send back (media/mark/clear) as JSON strings directly
 * — an outbound media frame is built by concatenation so its base64 payload is never re-serialised.
 */
import type { CustomParameters } from '../machines/events.js';

/** Kinds of bad input, each logged once per call by the transport. */
export type GarbageKind =
  | 'binary-frame'
  | 'oversized-frame'
  | 'invalid-json'
  | 'not-an-object'
  | 'unknown-event'
  | 'missing-fields'
  | 'bad-base64'
  | 'media-before-start'
  | 'duplicate-start'
  /** A frame after `start` whose streamSid is not this stream's own (or has none). */
  | 'foreign-stream-sid';

export type TwilioInbound =
  | { event: 'connected' }
  | {
      event: 'start';
      streamSid: string;
      callSid: string;
      accountSid: string;
      customParameters: CustomParameters;
      tracks: readonly string[];
    }
  | { event: 'media'; streamSid: string | undefined; track: string; payload: string }
  | { event: 'mark'; streamSid: string | undefined; name: string }
  | { event: 'dtmf'; streamSid: string | undefined; digit: string }
  | { event: 'stop'; streamSid: string | undefined };

export type ParseResult = { ok: true; frame: TwilioInbound } | { ok: false; kind: GarbageKind; detail: string };

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(obj: JsonObject, key: string): string | undefined {
  const v = obj[key];
  return typeof v === 'string' ? v : undefined;
}

function garbage(kind: GarbageKind, detail: string): ParseResult {
  return { ok: false, kind, detail };
}

/** Parse one text frame from Twilio. Never throws. */
export function parseTwilioFrame(text: string): ParseResult {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch (err) {
    return garbage('invalid-json', err instanceof Error ? err.message : 'unparsable');
  }
  if (!isObject(msg)) return garbage('not-an-object', typeof msg);
  const event = str(msg, 'event');
  const streamSid = str(msg, 'streamSid');
  switch (event) {
    case 'connected':
      return { ok: true, frame: { event: 'connected' } };
    case 'start':
      return parseStart(msg);
    case 'media': {
      const media = msg['media'];
      const payload = isObject(media) ? str(media, 'payload') : undefined;
      if (!isObject(media) || payload === undefined) return garbage('missing-fields', 'media.payload');
      return { ok: true, frame: { event: 'media', streamSid, track: str(media, 'track') ?? 'inbound', payload } };
    }
    case 'mark': {
      const mark = msg['mark'];
      const name = isObject(mark) ? str(mark, 'name') : undefined;
      if (name === undefined) return garbage('missing-fields', 'mark.name');
      return { ok: true, frame: { event: 'mark', streamSid, name } };
    }
    case 'dtmf': {
      const dtmf = msg['dtmf'];
      const digit = isObject(dtmf) ? str(dtmf, 'digit') : undefined;
      if (digit === undefined) return garbage('missing-fields', 'dtmf.digit');
      return { ok: true, frame: { event: 'dtmf', streamSid, digit } };
    }
    case 'stop':
      return { ok: true, frame: { event: 'stop', streamSid } };
    case undefined:
      return garbage('missing-fields', 'event');
    default:
      return garbage('unknown-event', event.slice(0, 40));
  }
}

function parseStart(msg: JsonObject): ParseResult {
  const start = msg['start'];
  if (!isObject(start)) return garbage('missing-fields', 'start');
  const streamSid = str(start, 'streamSid') ?? str(msg, 'streamSid');
  const callSid = str(start, 'callSid');
  if (!streamSid || !callSid) return garbage('missing-fields', 'start.streamSid/callSid');
  const customParameters: Record<string, string> = {};
  const params = start['customParameters'];
  if (isObject(params)) {
    for (const [key, value] of Object.entries(params)) {
      if (typeof value === 'string') customParameters[key] = value;
    }
  }
  const rawTracks = start['tracks'];
  const tracks = Array.isArray(rawTracks) ? rawTracks.filter((t): t is string => typeof t === 'string') : ['inbound'];
  return {
    ok: true,
    frame: { event: 'start', streamSid, callSid, accountSid: str(start, 'accountSid') ?? '', customParameters, tracks },
  };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Strict base64 → bytes; null for empty or malformed payloads (Buffer.from silently skips bad characters). */
export function decodeBase64Payload(payload: string): Buffer | null {
  if (payload.length === 0 || payload.length % 4 !== 0 || !BASE64.test(payload)) return null;
  return Buffer.from(payload, 'base64');
}

/** Pre-built pieces of this stream's outbound frames (the streamSid is JSON-escaped once, at start). */
export class OutboundFrames {
  private readonly mediaPrefix: string;
  private readonly markPrefix: string;
  readonly clear: string;

  constructor(streamSid: string) {
    const sid = JSON.stringify(streamSid);
    this.mediaPrefix = `{"event":"media","streamSid":${sid},"media":{"payload":"`;
    this.markPrefix = `{"event":"mark","streamSid":${sid},"mark":{"name":`;
    this.clear = `{"event":"clear","streamSid":${sid}}`;
  }

  media(audio: Buffer): string {
    return this.mediaPrefix + audio.toString('base64') + '"}}';
  }

  mark(name: string): string {
    return this.markPrefix + JSON.stringify(name) + '}}';
  }
}
