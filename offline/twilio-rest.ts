/**
 * A local fake of the slice of Twilio's REST API we call: `POST /2010-04-01/Accounts/{sid}/Calls.json` (create a call)
 * and `POST …/Calls/{CallSid}.json` (update, used for transfers). Basic auth is checked like Twilio does. When a call
 * is created, `onCallCreated` may "answer" it, e.g. by starting a simulated caller against the `Url` it was given.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import express, { type Request, type Response } from 'express';

export interface FakeCall {
  sid: string;
  accountSid: string;
  to: string;
  from: string;
  url?: string;
  twiml?: string;
  status: string;
  updates: Array<Record<string, string>>;
}

export interface TwilioRestFakeOptions {
  accountSid: string;
  authToken: string;
  onCallCreated?: (call: FakeCall) => void;
}

export interface TwilioRestFake {
  readonly url: string;
  readonly calls: FakeCall[];
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
      url: body.Url,
      twiml: body.Twiml,
      status: 'queued',
      updates: [],
    };
    calls.push(call);
    res.status(201).json(callJson(call));
    opts.onCallCreated?.(call);
  });

  app.post('/2010-04-01/Accounts/:accountSid/Calls/:callSid.json', (req, res) => {
    if (!authorised(req, res)) return;
    const call = calls.find((c) => c.sid === req.params.callSid);
    if (!call) {
      res.status(404).json({ code: 20404, message: 'The requested resource was not found', status: 404 });
      return;
    }
    call.updates.push(req.body as Record<string, string>);
    res.json(callJson(call));
  });

  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Twilio's JSON shape (snake_case) for the fields the SDK maps. */
function callJson(call: FakeCall) {
  return {
    sid: call.sid,
    account_sid: call.accountSid,
    to: call.to,
    from: call.from,
    status: call.status,
    direction: 'outbound-api',
    api_version: '2010-04-01',
    uri: `/2010-04-01/Accounts/${call.accountSid}/Calls/${call.sid}.json`,
    date_created: new Date().toUTCString(),
  };
}
