/**
 * `GET /calls?limit=&before=&search=&status=`, `GET /calls/:callSid`, `GET /calls/:callSid/events`, behind the CALLS_API_TOKEN
 * bearer token (disabled without one: call data is never public), failed tokens throttled per address and for the
 * token (429). Only GET routes: `POST /calls` (outbound calls) stays with the server.
 */
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { errorMessage, type Logger } from '../../lib/logger.js';
import type { FailedAuthThrottle } from '../shared/failed-auth-throttle.js';
import { LogThrottle } from '../../lib/log-throttle.js';
import { bearerMatches } from './bearer.js';
import type { RecordMetrics } from './record-metrics.js';
import type { CallStore } from './store.js';

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 200;

export interface RecordsRouterOptions {
  token: string | undefined;
  /** Failed tokens, shared with every endpoint that checks the same secret (the console's login when it is that). */
  throttle: FailedAuthThrottle;
  now?: () => number;
  /** null: records are off or the database could not be opened; `offReason` says which. */
  store: () => CallStore | null;
  offReason: () => string;
  log: Logger;
  metrics: RecordMetrics;
}

export function callRecordsRouter(opts: RecordsRouterOptions): Router {
  const check = bearerCheck(opts.throttle, opts.log, opts.now);
  const authorize = (req: Request, res: Response, next: NextFunction): void => {
    const token = opts.token;
    if (token === undefined) {
      res.status(404).json({ error: 'GET /calls is disabled: set CALLS_API_TOKEN to enable it' });
      return;
    }
    check(req, res, token).then((ok) => ok && next(), next);
  };
  return callReadRoutes(opts, authorize);
}

/**
 * The bearer check of the calls API (`GET /calls…` here, `POST /calls` in the server): true when the token is right;
 * otherwise it has answered 401, or 429 while the caller's address (or the token, see FailedAuthThrottle) is throttled.
 */
export function bearerCheck(throttle: FailedAuthThrottle, log: Logger, now: () => number = Date.now): (req: Request, res: Response, token: string) => Promise<boolean> {
  const lines = new LogThrottle();
  return async (req, res, token) => {
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const verdict = await throttle.check(address, now());
    if (verdict.refused) {
      lines.warn(log, `bearer:throttled-${verdict.by}`, 'calls API refused: too many wrong bearer tokens', { remote: address, by: verdict.by });
      res.status(429).set('Retry-After', String(Math.ceil(verdict.retryAfterMs / 1000))).json({ error: 'too many wrong bearer tokens; try again in a minute' });
      return false;
    }
    if (!bearerMatches(req.header('Authorization'), token)) {
      await throttle.failed(address, now());
      lines.warn(log, 'bearer:wrong', 'calls API refused: missing or wrong bearer token', { remote: address });
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'missing or wrong bearer token' });
      return false;
    }
    await throttle.succeeded(address);
    return true;
  };
}

export type StoreReadOptions = Omit<RecordsRouterOptions, 'token' | 'throttle' | 'now'>;
export type StoreRead<T> = { ok: true; value: T } | { ok: false; status: 500 | 503; error: string };

/** A read against the store: 503 when there is none, 500 when it fails (logged with `context`, and counted). */
export async function readStore<T>(opts: StoreReadOptions, fn: (store: CallStore) => Promise<T>, context: Record<string, string> = {}): Promise<StoreRead<T>> {
  const store = opts.store();
  if (store === null) return { ok: false, status: 503, error: opts.offReason() };
  try {
    return { ok: true, value: await fn(store) };
  } catch (err) {
    opts.metrics.storeErrors.inc({ op: 'read' });
    opts.log.warn('call record read failed', { ...context, error: errorMessage(err) });
    return { ok: false, status: 500, error: 'call records could not be read' };
  }
}

/** The GET routes, each behind `guard` (the bearer token here; the console mounts them behind its session). */
export function callReadRoutes(opts: StoreReadOptions, guard: RequestHandler): Router {
  const router = Router();

  /** Runs a read against the store; answers 503 when there is none and 500 (counted) when it fails. */
  const read = async (res: Response, fn: (store: CallStore) => Promise<void>): Promise<void> => {
    const result = await readStore(opts, fn);
    if (!result.ok) res.status(result.status).json({ error: result.error });
  };

  router.get('/calls', guard, async (req, res) => {
    const limit = req.query.limit === undefined ? DEFAULT_LIMIT : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      res.status(400).json({ error: `limit must be an integer from 1 to ${MAX_LIMIT}` });
      return;
    }
    const before = parseBefore(req.query.before);
    if (before === null) {
      res.status(400).json({ error: 'before must be the `next` of the previous page, an ISO date or epoch milliseconds' });
      return;
    }
    const search = typeof req.query.search === 'string' ? req.query.search.slice(0, 200) : undefined;
    const status = req.query.status;
    if (status !== undefined && status !== 'ended' && status !== 'in-progress') {
      res.status(400).json({ error: 'status must be ended or in-progress' });
      return;
    }
    await read(res, async (store) => {
      const calls = await store.listCalls({ limit, before, search, ...(status === undefined ? {} : { status }) });
      const last = calls.at(-1);
      // Keyset cursor: start time and callSid of the last row (two calls can start in the same millisecond).
      res.json({ calls, next: calls.length === limit && last !== undefined ? `${Date.parse(last.startedAt)}:${last.callSid}` : null });
    });
  });

  router.get('/calls/:callSid', guard, async (req, res) => {
    await read(res, async (store) => {
      const call = await store.getCall(String(req.params.callSid));
      if (call === undefined) res.status(404).json({ error: 'no such call' });
      else res.json(call);
    });
  });

  router.get('/calls/:callSid/events', guard, async (req, res) => {
    await read(res, async (store) => {
      const events = await store.getEventLog(String(req.params.callSid));
      if (events === undefined) res.status(404).json({ error: 'no such call' });
      else res.json(events);
    });
  });

  return router;
}

/** `<epoch ms>[:<callSid>]` or an ISO date; undefined = no cursor; null = invalid. */
function parseBefore(value: unknown): { ms: number; callSid?: string } | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') return null;
  const cursor = /^(\d+(?:\.\d+)?)(?::(\w+))?$/.exec(value);
  const ms = cursor ? Number(cursor[1]) : Date.parse(value);
  if (!Number.isFinite(ms)) return null;
  return cursor?.[2] === undefined ? { ms } : { ms, callSid: cursor[2] };
}
