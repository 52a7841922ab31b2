/** TwiML answers and the webhook signature check (Twilio's own helpers, never hand-rolled). */
import twilio from 'twilio';

const { VoiceResponse } = twilio.twiml;

/** The ws/wss twin of an http/https base URL. */
export function streamUrlFor(publicUrl: string): string {
  return publicUrl.replace(/^http/, 'ws') + '/media';
}

/**
 * `<Connect><Stream url=…/media>` with the call's identity as `<Parameter>`s (the stream URL takes no query string),
 * the stream token that binds the stream to this call (see stream-token.ts), and any `extra` parameters the server
 * adds (e.g. AMD and the voicemail text of an outbound call).
 */
export function connectStreamTwiml(
  publicUrl: string,
  params: Readonly<Record<string, string | undefined>>,
  streamToken: { name: string; value: string },
  ...extra: ReadonlyArray<{ name: string; value: string }>
): string {
  const response = new VoiceResponse();
  const stream = response.connect().stream({ url: streamUrlFor(publicUrl) });
  for (const name of ['CallSid', 'From', 'To', 'Direction'] as const) {
    const value = params[name];
    if (value !== undefined && value !== '') stream.parameter({ name, value });
  }
  stream.parameter(streamToken);
  for (const p of extra) stream.parameter(p);
  return response.toString();
}

/** Polite refusal while the server drains for shutdown. */
export function unavailableTwiml(): string {
  const response = new VoiceResponse();
  response.say('Sorry, we cannot take your call right now. Please call again in a minute.');
  response.hangup();
  return response.toString();
}

/**
 * Twilio signs `fullUrl + sorted(key+value)` with the auth token. We check against the configured PUBLIC_URL (what
 * Twilio called), not the Host header, which a proxy may have rewritten.
 */
export function isValidTwilioSignature(
  authToken: string,
  signature: string | undefined,
  url: string,
  params: Readonly<Record<string, unknown>>,
): boolean {
  if (signature === undefined || signature === '') return false;
  return twilio.validateRequest(authToken, signature, url, params);
}
