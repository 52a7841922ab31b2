/**
 * A local fake of the slice of Twilio's REST API we call: `POST /2010-04-01/Accounts/{sid}/Calls.json` (create a call)
 * and `POST …/Calls/{CallSid}.json` (update, used for transfers). Basic auth is checked like Twilio does.
 *
 * When a call is created, `answer` may pick it up as Twilio would: the callee's leg (a simulated caller) fetches the
 * call's `Url` exactly as given (signed, query string included) and streams; for a call created with async AMD the
 * fake then POSTs `AnsweredBy` to its `AsyncAmdStatusCallback`, signed. `onCallCreated` sees every created call.
 *
 * The fake also knows the inbound calls the offline world simulates (`placeInboundCall`, or `knowCall` for a call
 * whose media stream another process holds), so a transfer (`update` with `<Dial>` TwiML) works offline: as Twilio
 * does, the fake leaves the call's media stream (`stop`, then the socket closes) and notes whom it dialled.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { DEFAULT_FROM, DEFAULT_TO, placeSimulatedCall } from './twilio-caller.js';
import type { CallRecord, ScriptStep, SimulatedCall, SimulatedCallOptions } from './twilio-caller-types.js';
import { postVoiceWebhook, reachableUrl } from './twilio-webhook.js';

/** Twilio's AnsweredBy values as they appear on the wire (the simulator speaks the wire; it does not import the server). */
type TwilioAnsweredBy = 'human' | 'machine_start' | 'machine_end_beep' | 'machine_end_silence' | 'machine_end_other' | 'fax' | 'unknown';

/** How long after answering an update Twilio stops the media stream for the new TwiML (it fetches and starts it). */
const TWIML_SWITCH_MS = 100;

/** What the fake does to a call's media stream when new TwiML replaces it (Twilio stops the stream). */
export interface CallLeg {
  endStream(): void;
}

export interface FakeCall {
  sid: string;
  accountSid: string;
  /** `inbound` (the offline world's callers) or `outbound-api` (created through the API). */
  direction: 'inbound' | 'outbound-api';
  to: string;
  from: string;
  url?: string;
  twiml?: string;
  status: string;
  updates: Array<Record<string, string>>;
  /** `MachineDetection`, `AsyncAmd`, `AsyncAmdStatusCallback` as sent. */
  machineDetection?: string;
  asyncAmd?: string;
  amdCallback?: string;
  /** When answered: the callee's leg. */
  record?: Promise<CallRecord>;
  /** The media stream's end, when the fake knows how to stop it. */
  leg?: CallLeg;
  /** The number of the last `<Dial>` an update sent the call to (a transfer). */
  dialled?: string;
  /** The AMD callback once posted: what was sent and the HTTP status our server answered. */
  amd?: { answeredBy: TwilioAnsweredBy; status: number };
}

/** How the callee picks up a created call. */
export interface FakeAnswer {
  /** The callee's side: a person talking, or a voicemail greeting followed by silence while it records. */
  script: readonly ScriptStep[];
  /** What AMD concludes (calls created with AsyncAmd only). Default `human`. */
  answeredBy?: TwilioAnsweredBy;
  /** When the AMD result is posted, in ms after the stream started. Default 1500. */
  amdAfterMs?: number;
  /** More simulated-caller options (timeouts, word pace, onEvent). */
  caller?: Partial<SimulatedCallOptions>;
}

export interface TwilioRestFakeOptions {
  accountSid: string;
  authToken: string;
  onCallCreated?: (call: FakeCall) => void;
  answer?: (call: FakeCall) => FakeAnswer | undefined;
  /** Where our server really listens, when its public URL (in `Url` and callbacks) is not reachable as such. */
  serverUrl?: string;
}

export interface TwilioRestFake {
  readonly url: string;
  readonly accountSid: string;
  readonly calls: FakeCall[];
  /** Twilio connects an inbound call: the simulated caller, in this account, known to the REST API. */
  placeInboundCall(opts: SimulatedCallOptions): SimulatedCall;
  /**
   * An inbound call placed elsewhere (another process holds the caller's side): the fake knows it from now on, and
   * `leg` ends its media stream on a transfer. A call already known keeps its own leg.
   */
  knowCall(call: { sid: string; from?: string; to?: string; leg: CallLeg }): void;
  close(): Promise<void>;
}

export async function startTwilioRestFake(opts: TwilioRestFakeOptions): Promise<TwilioRestFake> {
  const calls: FakeCall[] = [];
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  const expectedAuth = 'Basic ' + Buffer.from(`${opts.accountSid}:${opts.authToken}`).toString('base64');

  const authorised = (req: Request, res: Response): boolean => {
    if (req.header('Authorization') !== expectedAuth || req.params.accountSid !== opts.accountSid) {
      res.status(401).json({ code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
      return false;
    }
    return true;
  };

  app.post('/2010-04-01/Accounts/:accountSid/Calls.json', (req, res) => {
    if (!authorised(req, res)) return;
    const body = req.body as Record<string, string>;
    if (!body.To || !body.From || (!body.Url && !body.Twiml)) {
      res.status(400).json({ code: 21205, message: 'To, From and Url (or Twiml) are required', status: 400 });
      return;
    }
    const call: FakeCall = {
      sid: 'CA' + randomBytes(16).toString('hex'),
      accountSid: opts.accountSid,
      to: body.To,
      from: body.From,
      direction: 'outbound-api',
      url: body.Url,
      twiml: body.Twiml,
      status: 'queued',
      updates: [],
      machineDetection: body.MachineDetection,
      asyncAmd: body.AsyncAmd,
      amdCallback: body.AsyncAmdStatusCallback,
    };
    calls.push(call);
    res.status(201).json(callJson(call));
    opts.onCallCreated?.(call);
    const answer = opts.answer?.(call);
    if (answer) pickUp(call, answer);
  });

  /** The callee answers: Twilio fetches the call's Url and streams; async AMD reports who answered, signed. */
  const pickUp = (call: FakeCall, answer: FakeAnswer): void => {
    if (call.url === undefined) return;
    const publicBase = new URL(call.url).origin;
    const serverUrl = opts.serverUrl ?? publicBase;
    call.status = 'in-progress';
    let amdTimer: NodeJS.Timeout | undefined;
    const amdCallback = call.asyncAmd === 'true' ? call.amdCallback : undefined;
    const callerOnEvent = answer.caller?.onEvent;
    const placed = placeSimulatedCall({
      serverUrl,
      publicUrl: publicBase,
      authToken: opts.authToken,
      callSid: call.sid,
      accountSid: call.accountSid,
      from: call.from,
      to: call.to,
      voiceUrl: call.url,
      script: answer.script,
      ...answer.caller,
      onEvent: (entry) => {
        callerOnEvent?.(entry);
        if (entry.kind === 'start' && amdCallback !== undefined) {
          const answeredBy = answer.answeredBy ?? 'human';
          const afterMs = answer.amdAfterMs ?? 1500;
          amdTimer = setTimeout(() => void postAmd(call, amdCallback, answeredBy, afterMs, serverUrl, publicBase), afterMs);
        }
      },
    });
    call.leg = { endStream: () => placed.redirected() };
    call.record = placed.done.then((record) => {
      clearTimeout(amdTimer);
      call.status = 'completed';
      return record;
    });
  };

  const postAmd = async (call: FakeCall, url: string, answeredBy: TwilioAnsweredBy, ms: number, serverUrl: string, publicBase: string) => {
    const params = { AccountSid: call.accountSid, CallSid: call.sid, AnsweredBy: answeredBy, MachineDetectionDuration: String(Math.round(ms)) };
    try {
      const res = await postVoiceWebhook({ postUrl: reachableUrl(url, serverUrl, publicBase), signedUrl: url, signingToken: opts.authToken, params });
      call.amd = { answeredBy, status: res.status };
    } catch {
      call.amd = { answeredBy, status: 0 };
    }
  };

  app.post('/2010-04-01/Accounts/:accountSid/Calls/:callSid.json', (req, res) => {
    if (!authorised(req, res)) return;
    const call = calls.find((c) => c.sid === req.params.callSid);
    if (!call) {
      res.status(404).json({ code: 20404, message: 'The requested resource was not found', status: 404 });
      return;
    }
    const body = req.body as Record<string, string>;
    call.updates.push(body);
    // New instructions replace the running ones: Twilio leaves <Connect><Stream> (the stream stops) and follows them —
    // after it has answered the update and fetched the new TwiML, not before the requester has its answer.
    if (body.Twiml !== undefined || body.Url !== undefined) {
      call.dialled = body.Twiml === undefined ? call.dialled : (dialledNumber(body.Twiml) ?? call.dialled);
      const leg = call.leg;
      res.once('finish', () => setTimeout(() => leg?.endStream(), TWIML_SWITCH_MS));
    }
    res.json(callJson(call));
  });

  const inbound = (sid: string, from: string, to: string, leg: CallLeg): FakeCall => {
    const call: FakeCall = { sid, accountSid: opts.accountSid, direction: 'inbound', to, from, status: 'in-progress', updates: [], leg };
    calls.push(call);
    return call;
  };

  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    accountSid: opts.accountSid,
    calls,
    placeInboundCall(callerOpts) {
      const placed = placeSimulatedCall({ ...callerOpts, accountSid: opts.accountSid });
      const call = inbound(placed.record.callSid, callerOpts.from ?? DEFAULT_FROM, callerOpts.to ?? DEFAULT_TO, { endStream: () => placed.redirected() });
      call.record = placed.done.then((record) => {
        call.status = 'completed';
        return record;
      });
      return placed;
    },
    knowCall({ sid, from = '', to = '', leg }) {
      if (!calls.some((c) => c.sid === sid)) inbound(sid, from, to, leg);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The number a `<Dial>` verb dials (`<Dial>+1555…</Dial>` or `<Dial><Number>+1555…</Number></Dial>`). */
export function dialledNumber(twiml: string): string | undefined {
  const dial = /<Dial\b[^>]*>([\s\S]*?)<\/Dial>/.exec(twiml)?.[1];
  const number = dial?.replace(/<[^>]*>/g, '').trim();
  return number === undefined || number === '' ? undefined : number;
}

/** Twilio's JSON shape (snake_case) for the fields the SDK maps. */
function callJson(call: FakeCall) {
  return {
    sid: call.sid,
    account_sid: call.accountSid,
    to: call.to,
    from: call.from,
    status: call.status,
    direction: call.direction,
    api_version: '2010-04-01',
    uri: `/2010-04-01/Accounts/${call.accountSid}/Calls/${call.sid}.json`,
    date_created: new Date().toUTCString(),
  };
}
