/**
 * Twilio's first move on an incoming call: POST the form-encoded call parameters to the voice webhook with an
 * `X-Twilio-Signature`, then read the TwiML answer for `<Connect><Stream url>` and its `<Parameter>`s.
 */
import { randomBytes } from 'node:crypto';
import twilio from 'twilio';

/** A Twilio-style id: two-letter prefix + 32 hex digits (CA… calls, AC… accounts, MZ… streams). */
export function newSid(prefix: 'CA' | 'AC' | 'MZ'): string {
  return prefix + randomBytes(16).toString('hex');
}

export interface WebhookRequest {
  /** Where the POST really goes (e.g. http://127.0.0.1:PORT/voice). */
  postUrl: string;
  /** The URL Twilio signs: the public webhook URL the server validates against. */
  signedUrl: string;
  /** Token used to sign (the account's auth token, or a wrong one to test rejection). */
  signingToken: string;
  params: Record<string, string>;
  timeoutMs?: number;
}

export interface WebhookAnswer {
  status: number;
  body: string;
}

export async function postVoiceWebhook(req: WebhookRequest): Promise<WebhookAnswer> {
  const signature = twilio.getExpectedTwilioSignature(req.signingToken, req.signedUrl, req.params);
  const res = await fetch(req.postUrl, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Twilio-Signature': signature,
      'User-Agent': 'TwilioProxy/1.1',
    },
    body: new URLSearchParams(req.params).toString(),
    signal: AbortSignal.timeout(req.timeoutMs ?? 10_000),
  });
  return { status: res.status, body: await res.text() };
}

/** The call parameters Twilio posts for an inbound call. */
export function inboundCallParams(p: { callSid: string; accountSid: string; from: string; to: string }): Record<string, string> {
  return {
    AccountSid: p.accountSid,
    ApiVersion: '2010-04-01',
    CallSid: p.callSid,
    CallStatus: 'ringing',
    Called: p.to,
    Caller: p.from,
    Direction: 'inbound',
    From: p.from,
    To: p.to,
  };
}

/** The call parameters Twilio posts when the callee of an outbound (REST-created) call answers. */
export function outboundCallParams(p: { callSid: string; accountSid: string; from: string; to: string }): Record<string, string> {
  return { ...inboundCallParams(p), CallStatus: 'in-progress', Direction: 'outbound-api' };
}

/** A public URL (webhook or stream) of the server, reached on the server's real address when they differ. */
export function reachableUrl(url: string, serverUrl: string, publicUrl: string): string {
  const target = new URL(url);
  const server = new URL(serverUrl);
  if (target.host !== new URL(publicUrl).host || target.host === server.host) return url;
  target.protocol = target.protocol.startsWith('ws') ? (server.protocol === 'https:' ? 'wss:' : 'ws:') : server.protocol;
  target.host = server.host;
  return target.toString();
}

export interface StreamInstruction {
  url: string;
  parameters: Record<string, string>;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

function attributes(tagBody: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of tagBody.matchAll(/([A-Za-z_][\w.-]*)\s*=\s*("([^"]*)"|'([^']*)')/g)) {
    const name = m[1];
    if (name) attrs[name] = unescapeXml(m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/** Attributes inside a tag; quoted values may contain '>' (XML does not require escaping it). */
const TAG_BODY = `(?:[^>"']|"[^"]*"|'[^']*')*?`;

/** `<Connect><Stream url>` with its `<Parameter>`s from a TwiML document, or null when there is none. */
export function parseConnectStream(twiml: string): StreamInstruction | null {
  const connect = /<Connect\b[^>]*>([\s\S]*?)<\/Connect>/.exec(twiml)?.[1];
  if (connect === undefined) return null;
  const stream = new RegExp(`<Stream\\b(${TAG_BODY})(\\/>|>([\\s\\S]*?)<\\/Stream>)`).exec(connect);
  if (!stream) return null;
  const url = attributes(stream[1] ?? '')['url'];
  if (!url) return null;
  const parameters: Record<string, string> = {};
  for (const p of (stream[3] ?? '').matchAll(new RegExp(`<Parameter\\b(${TAG_BODY})\\/?>`, 'g'))) {
    const attrs = attributes(p[1] ?? '');
    if (attrs['name'] !== undefined) parameters[attrs['name']] = attrs['value'] ?? '';
  }
  return { url, parameters };
}

/**
 * The stream URL names the public host (e.g. wss://abc.ngrok.app/media); offline, reach the same path on the
 * server we actually talk to. URLs naming any other host are used unchanged.
 */
export function reachableStreamUrl(streamUrl: string, serverUrl: string, publicUrl: string): string {
  return reachableUrl(streamUrl, serverUrl, publicUrl);
}
