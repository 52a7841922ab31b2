/**
 * Twilio's webhooks: `POST /voice` answers the TwiML that connects the call's media stream (with its single-use
 * stream token), or the polite "call again" TwiML when this instance will not take the call; `POST /amd` routes the
 * answering-machine result to the call, on whichever instance owns it. Both check Twilio's signature first.
 */
import { Router, type Request, type Response } from 'express';
import type { Logger } from '../../lib/logger.js';
import type { LogThrottle } from '../../lib/log-throttle.js';
import { now } from '../../lib/clock.js';
import { connectStreamTwiml, isValidTwilioSignature, unavailableTwiml } from '../twilio/twiml.js';
import { STREAM_TOKEN_PARAMETER } from '../twilio/stream-token.js';
import { amdStreamParameters, answeredByOf, isTwilioAnsweredBy } from '../twilio/amd.js';
import type { CommandResult } from './call-commands.js';
import type { Config } from './config.js';
import { formParams, queryOf } from './http-params.js';
import type { ServerToCallEvent } from './live-calls.js';
import type { Metrics } from './metrics.js';

export interface TwilioWebhookDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  throttle: LogThrottle;
  /** What Twilio signs against (PUBLIC_URL, or the server's own URL once it listens). */
  publicUrl: () => string;
  draining: () => boolean;
  /** One process without shared state: nobody else could take a refused call. */
  alone: boolean;
  sharedUp: () => boolean;
  atCapacity: () => boolean;
  mintToken: (callSid: string) => Promise<string>;
  deliver: (callSid: string, event: ServerToCallEvent) => Promise<CommandResult>;
}

export function twilioWebhooks(deps: TwilioWebhookDeps): Router {
  const { config, log, metrics, throttle } = deps;
  const router = Router();

  /** Twilio signs the full URL it calls (query string included) + the POST parameters. */
  const signedByTwilio = (req: Request, res: Response, path: string, params: Record<string, string>): boolean => {
    const signature = req.header('X-Twilio-Signature');
    if (isValidTwilioSignature(config.twilioAuthToken, signature, `${deps.publicUrl()}${path}${queryOf(req.originalUrl)}`, params)) return true;
    const reason = signature ? 'bad-signature' : 'no-signature';
    metrics.callsRejected.inc({ reason });
    throttle.warn(log, `webhook:${reason}`, 'webhook refused: bad or missing X-Twilio-Signature', { path, reason });
    res.status(403).type('text/plain').send('Forbidden');
    return false;
  };

  router.post('/voice', async (req: Request, res: Response) => {
    const params = formParams(req.body);
    if (!signedByTwilio(req, res, '/voice', params)) return;
    res.type('text/xml');
    // 503: this instance did nothing for the call, so a balancer (nginx proxy_next_upstream http_503) gives it to the
    // next instance, and answers the polite TwiML itself when every instance says no. One process alone (no shared
    // state: nobody else could take the call) answers the polite TwiML with 200 while it drains, so that Twilio says
    // it instead of its "application error"; at capacity it answers 503 all the same (Twilio's fallback URL applies).
    const alone = deps.alone;
    const refuse = (reason: string, message: string, status = alone ? 200 : 503): void => {
      metrics.callsRejected.inc({ reason });
      throttle.warn(log, `voice:${reason}`, message, { callSid: params.CallSid, reason });
      res.status(status).send(unavailableTwiml());
    };
    if (deps.draining()) return refuse('draining', 'call refused while draining');
    if (deps.atCapacity()) return refuse('at-capacity', 'call refused: at MAX_CONCURRENT_CALLS', 503);
    if (!deps.sharedUp()) return refuse('shared-state-down', 'call refused: shared state (Redis) unreachable');
    // An outbound call's signed URL says whether it runs answering-machine detection, and its voicemail text.
    const amd = amdStreamParameters(new URLSearchParams(queryOf(req.originalUrl)));
    let token: string;
    try {
      token = await deps.mintToken(params.CallSid ?? '');
    } catch {
      return refuse('shared-state-down', 'call refused: shared state (Redis) unreachable');
    }
    log.info('call webhook', { callSid: params.CallSid, direction: params.Direction, amd: amd.length > 0 });
    res.send(connectStreamTwiml(deps.publicUrl(), params, { name: STREAM_TOKEN_PARAMETER, value: token }, ...amd));
  });

  // Async AMD result of an outbound call: who answered, for the live call's machine.
  router.post('/amd', async (req: Request, res: Response) => {
    const params = formParams(req.body);
    if (!signedByTwilio(req, res, '/amd', params)) return;
    const callSid = params.CallSid ?? '';
    const raw = params.AnsweredBy ?? '';
    const answeredBy = isTwilioAnsweredBy(raw) ? answeredByOf(raw) : 'unknown';
    metrics.amdResults.inc({ answered_by: isTwilioAnsweredBy(raw) ? raw : 'other' });
    const delivery = await deps.deliver(callSid, { type: 'CALL.ANSWERED_BY', answeredBy, at: now() });
    log.info('answering machine detection', {
      callSid,
      answeredBy: raw,
      detectionMs: params.MachineDetectionDuration === undefined ? undefined : Number(params.MachineDetectionDuration),
      delivery,
    });
    res.status(204).end();
  });

  return router;
}
