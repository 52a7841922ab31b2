/**
 * The calls API's actions (bearer CALLS_API_TOKEN): `POST /calls` places an outbound call; `POST
 * /calls/:callSid/hangup` and `POST /calls/:callSid/transfer` act on a live call — on whichever instance owns it
 * (see call-commands.ts), so any instance behind the balancer can take the request.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import { errorMessage, type Logger } from '../../lib/logger.js';
import type { LogThrottle } from '../../lib/log-throttle.js';
import { isE164, placeOutboundCall, type TwilioRestClient } from '../twilio/twilio-rest.js';
import type { CallCommands, CommandResult } from './call-commands.js';
import type { Config } from './config.js';
import type { OutboundGuard } from './outbound-guard.js';

export interface CallsApiDeps {
  config: Config;
  log: Logger;
  twilioRest: TwilioRestClient | undefined;
  commands: CallCommands;
  /** The agent's named transfer targets (a transfer may name one instead of a number). */
  transferTargets: Readonly<Record<string, string>>;
  publicUrl: () => string;
  draining: () => boolean;
  /** The bearer check with its failed-attempt throttle (shared with the records API and the console login). */
  checkBearer: (req: Request, res: Response, token: string) => Promise<boolean>;
  /** Rate and destination limits of outbound calls (a leaked token cannot run up a bill). */
  outboundGuard: OutboundGuard;
  throttle: LogThrottle;
}

const CALL_SID = /^CA[0-9a-f]{32}$/i;

export function callsApi(deps: CallsApiDeps): Router {
  const { config, log } = deps;
  const router = Router();

  const authorized = (req: Request, res: Response, next: NextFunction): void => {
    const token = config.CALLS_API_TOKEN;
    if (token === undefined) {
      res.status(404).json({ error: `${req.path} is disabled: set CALLS_API_TOKEN to enable it` });
      return;
    }
    deps.checkBearer(req, res, token).then((ok) => ok && next(), next);
  };

  router.post('/calls', authorized, async (req: Request, res: Response) => {
    const body: unknown = req.body;
    const to = isRecord(body) && typeof body.to === 'string' ? body.to : '';
    const from = isRecord(body) && typeof body.from === 'string' ? body.from : config.TWILIO_PHONE_NUMBER ?? '';
    const amd = isRecord(body) && typeof body.amd === 'boolean' ? body.amd : config.OUTBOUND_AMD;
    const voicemail = isRecord(body) && typeof body.voicemail === 'string' ? body.voicemail : undefined;
    if (deps.twilioRest === undefined) {
      res.status(503).json({ error: 'TWILIO_ACCOUNT_SID is not configured' });
      return;
    }
    if (deps.draining()) {
      res.status(503).json({ error: 'server is draining' });
      return;
    }
    const allowed = deps.outboundGuard.check(to, Date.now());
    if (!allowed.ok) {
      if (allowed.retryAfterS !== undefined) res.set('Retry-After', String(allowed.retryAfterS));
      deps.throttle.warn(log, `outbound:${allowed.status}`, 'outbound call refused', { status: allowed.status, error: allowed.error });
      res.status(allowed.status).json({ error: allowed.error });
      return;
    }
    try {
      const call = await placeOutboundCall(deps.twilioRest, { to, from, publicUrl: deps.publicUrl(), amd, ...(voicemail === undefined ? {} : { voicemail }) });
      log.info('outbound call placed', { callSid: call.sid, to, amd, voicemail: voicemail !== undefined });
      res.status(201).json(call);
    } catch (err) {
      const message = errorMessage(err);
      const status = /must be an E\.164|"voicemail"/.test(message) ? 400 : 502;
      log.warn('outbound call failed', { to, error: message });
      res.status(status).json({ error: message });
    }
  });

  router.post('/calls/:callSid/hangup', authorized, async (req: Request, res: Response) => {
    const callSid = String(req.params.callSid);
    if (!CALL_SID.test(callSid)) return void res.status(400).json({ error: 'not a CallSid' });
    const body: unknown = req.body;
    // Polite by default: the caller hears the goodbye phrase.
    const polite = !(isRecord(body) && body.polite === false);
    const result = await deps.commands.deliver(callSid, { type: 'CALL.HANGUP', reason: 'api', polite });
    log.info('hangup requested through the API', { callSid, polite, result });
    answer(res, result);
  });

  router.post('/calls/:callSid/transfer', authorized, async (req: Request, res: Response) => {
    const callSid = String(req.params.callSid);
    if (!CALL_SID.test(callSid)) return void res.status(400).json({ error: 'not a CallSid' });
    const body: unknown = req.body;
    const given = isRecord(body) && typeof body.to === 'string' ? body.to.trim() : '';
    const to = deps.transferTargets[given] ?? given;
    if (!isE164(to)) {
      res.status(400).json({ error: `"to" must be an E.164 number or one of the agent's transfer targets (${Object.keys(deps.transferTargets).join(', ') || 'none'})` });
      return;
    }
    if (deps.twilioRest === undefined) return void res.status(503).json({ error: 'TWILIO_ACCOUNT_SID is not configured' });
    const result = await deps.commands.deliver(callSid, { type: 'CALL.TRANSFER', to });
    log.info('transfer requested through the API', { callSid, to, result });
    answer(res, result);
  });

  return router;
}

/** 202 when the command reached the call (or waits for it to start), 409 when it is over, 503 when it cannot be told. */
function answer(res: Response, result: CommandResult): void {
  if (result === 'delivered' || result === 'sent' || result === 'held') res.status(202).json({ result });
  else if (result === 'ended') res.status(409).json({ result, error: 'the call is over' });
  else res.status(503).json({ result, error: 'the instance that owns the call could not be reached' });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
