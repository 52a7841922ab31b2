/**
 * Twilio REST client for outbound calls. `TWILIO_API_BASE_URL` (tests, offline demo) points the real `twilio` client
 * at a local fake of the REST API through its documented `httpClient` hook; the request itself is untouched.
 */
import twilio from 'twilio';

export type TwilioRestClient = ReturnType<typeof twilio>;
type RequestOptions = Parameters<twilio.RequestClient['request']>[0];

const TWILIO_API_ORIGIN = /^https:\/\/api(\.[a-z0-9-]+)*\.twilio\.com/;

/** A RequestClient that sends Twilio API requests to another origin (a local fake). */
class RedirectingRequestClient extends twilio.RequestClient {
  constructor(private readonly baseUrl: string) {
    super();
  }

  override request<TData>(opts: RequestOptions & { data?: TData }) {
    return super.request<TData>({ ...opts, uri: opts.uri.replace(TWILIO_API_ORIGIN, this.baseUrl) });
  }
}

export function createTwilioRestClient(accountSid: string, authToken: string, apiBaseUrl?: string): TwilioRestClient {
  return twilio(accountSid, authToken, apiBaseUrl ? { httpClient: new RedirectingRequestClient(apiBaseUrl) } : {});
}

export interface OutboundCallRequest {
  to: string;
  from: string;
  /** Base URL Twilio reaches: the call fetches `${publicUrl}/voice` (signed) and then streams to `/media`. */
  publicUrl: string;
  /**
   * Answering-machine detection (async, DetectMessageEnd): the call runs at once and Twilio POSTs who answered to
   * `${publicUrl}/amd` when it knows (for a machine: after its greeting and beep).
   */
  amd?: boolean;
  /** With `amd`: the message to leave on a machine (else the agent's default). */
  voicemail?: string;
}

/** A voicemail text travels in the webhook URL (Twilio signs the full URL): keep it short. */
export const MAX_VOICEMAIL_CHARS = 500;

export interface OutboundCallResult {
  sid: string;
  status: string;
}

const E164 = /^\+[1-9]\d{6,14}$/;

export function isE164(number: string): boolean {
  return E164.test(number);
}

/** Places a call that runs the same flow as an inbound one: Twilio fetches our `/voice` TwiML when answered. */
export async function placeOutboundCall(client: TwilioRestClient, req: OutboundCallRequest): Promise<OutboundCallResult> {
  if (!isE164(req.to)) throw new Error(`"to" must be an E.164 number like +15551234567 (got "${req.to}")`);
  if (!isE164(req.from)) throw new Error(`"from" must be an E.164 number like +15551234567 (got "${req.from}")`);
  if (req.voicemail !== undefined && !req.amd) throw new Error('"voicemail" needs answering-machine detection (amd) on');
  if (req.voicemail !== undefined && (req.voicemail.trim() === '' || req.voicemail.length > MAX_VOICEMAIL_CHARS)) {
    throw new Error(`"voicemail" must be 1 to ${MAX_VOICEMAIL_CHARS} characters`);
  }
  const call = await client.calls.create({
    to: req.to,
    from: req.from,
    url: voiceUrlFor(req),
    method: 'POST',
    ...(req.amd
      ? {
          machineDetection: 'DetectMessageEnd',
          asyncAmd: 'true',
          asyncAmdStatusCallback: `${req.publicUrl}/amd`,
          asyncAmdStatusCallbackMethod: 'POST',
        }
      : {}),
  });
  return { sid: call.sid, status: call.status };
}

/**
 * The webhook URL of an outbound call. What the call's stream must know (AMD on, the voicemail text) rides in its
 * query string: Twilio signs the full URL, so `/voice` can trust it and pass it on as stream `<Parameter>`s.
 */
export function voiceUrlFor(req: Pick<OutboundCallRequest, 'publicUrl' | 'amd' | 'voicemail'>): string {
  if (!req.amd) return `${req.publicUrl}/voice`;
  // encodeURIComponent (%20, not URLSearchParams' "+"): the plainest form survives any re-encoding on the way.
  const voicemail = req.voicemail === undefined ? '' : `&Voicemail=${encodeURIComponent(req.voicemail.trim())}`;
  return `${req.publicUrl}/voice?Amd=1${voicemail}`;
}

/** Hands the live call to another number: Twilio leaves our stream and dials `to` (the stream then stops). */
export async function transferLiveCall(client: TwilioRestClient, callSid: string, to: string): Promise<void> {
  if (!isE164(to)) throw new Error(`transfer target must be an E.164 number (got "${to}")`);
  const response = new twilio.twiml.VoiceResponse();
  response.dial(to);
  await client.calls(callSid).update({ twiml: response.toString() });
}
