/**
 * The console under `/console`: the built page (static, no CDN), `POST /console/login` (a signed session cookie),
 * `POST /console/logout`, and `/console/api/*` — every API route behind the session check (401 without one). Off
 * entirely (404) when no secret is configured: call data is never exposed unauthenticated.
 */
import fs from 'node:fs';
import express, { Router, type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../../lib/logger.js';
import { LogThrottle } from '../../lib/log-throttle.js';
import { consoleAssetsDir } from './assets.js';
import { cookieValue, passwordMatches, SESSION_COOKIE, SessionSigner, type ConsoleSession } from './auth.js';
import { MemoryConsoleSessionState, type ConsoleSessionState } from '../shared/console-state.js';
import type { ConsoleSessionInfo } from './session-types.js';
import { sameOriginJsonPosts } from './same-origin.js';
import type { FailedAuthThrottle } from '../shared/failed-auth-throttle.js';

/** Everything the page loads comes from this server; nothing is sent to a third party. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "media-src 'self' blob:",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface ConsoleOptions {
  /** CONSOLE_PASSWORD, else CALLS_API_TOKEN; undefined = the console is off. */
  password: string | undefined;
  /** Failed logins (shared with the calls API's bearer check when CALLS_API_TOKEN is the password). */
  loginThrottle: FailedAuthThrottle;
  /** Mounted under `/console/api`, after the session check (`res.locals.consoleSession` is set). */
  apiRoutes: readonly Router[];
  log: Logger;
  /** The cookie gets `Secure` (PUBLIC_URL is https). */
  secureCookie: boolean;
  /** PUBLIC_URL: the origin the console's POSTs must come from (undefined: the request's own, see same-origin.ts). */
  publicUrl?: string;
  /** The built page (default: dist/console). */
  assetsDir?: string;
  now?: () => number;
  sessionTtlMs?: number;
  /** Every session was just ended (logout): streams opened with them end too (the live feed's). */
  onSessionsRevoked?: () => void;
  /** The server runs a Stately inspector (INSPECT=1): the page offers replays in it only then. */
  inspector?: boolean;
  /** The sessions' server key and revocation generation (default: this process's memory). */
  sessionKeys?: ConsoleSessionState;
}

export interface ConsoleMount {
  readonly signer: SessionSigner;
}

/** The session the request's cookie proves, set by the API's session check. */
export function sessionOf(res: Response): ConsoleSession {
  return res.locals.consoleSession as ConsoleSession;
}

export function mountConsole(app: Express, opts: ConsoleOptions): ConsoleMount | undefined {
  if (opts.password === undefined) return undefined;
  const password = opts.password;
  const now = opts.now ?? Date.now;
  const signer = new SessionSigner(opts.sessionKeys ?? new MemoryConsoleSessionState(), password, opts.sessionTtlMs);
  // 5 failed logins a minute per address, then 429 until the oldest leaves the minute (and see FailedAuthThrottle).
  const throttle = opts.loginThrottle;
  const logThrottle = new LogThrottle();
  const router = Router();

  router.use((_req, res, next) => {
    res.set({ 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' });
    next();
  });
  router.use(sameOriginJsonPosts(opts.publicUrl));

  router.post('/login', async (req: Request, res: Response) => {
    // The client's address: behind a proxy only with TRUST_PROXY (else every client is the proxy).
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const verdict = await throttle.check(address, now());
    if (verdict.refused) {
      logThrottle.warn(opts.log, `console:login-throttled-${verdict.by}`, 'console login refused: too many failed attempts', { remote: address, by: verdict.by });
      res.status(429).set('Retry-After', String(Math.ceil(verdict.retryAfterMs / 1000))).json({ error: 'too many failed logins; try again in a minute' });
      return;
    }
    const body: unknown = req.body;
    const given = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).password : undefined;
    if (!passwordMatches(given, password)) {
      await throttle.failed(address, now());
      logThrottle.warn(opts.log, 'console:login-failed', 'console login failed: wrong password', { remote: address });
      res.status(401).json({ error: 'wrong password' });
      return;
    }
    await throttle.succeeded(address); // a correct password clears the address's failures
    const session = await signer.issue(now());
    res.cookie(SESSION_COOKIE, session.value, {
      httpOnly: true,
      sameSite: 'strict',
      path: '/console',
      secure: opts.secureCookie,
      expires: new Date(session.expiresAt),
    });
    opts.log.info('console login', { remote: address });
    res.json({ expiresAt: session.expiresAt });
  });

  // Logout ends every session issued so far (one password, one account): a copied cookie stops working too. Only a
  // valid session may do it, or anyone could log everyone out.
  router.post('/logout', async (req, res) => {
    if ((await signer.verify(cookieValue(req.header('Cookie'), SESSION_COOKIE), now())) !== undefined) {
      await signer.revokeAll();
      opts.onSessionsRevoked?.();
      opts.log.info('console logout: every session ended', { remote: req.ip });
    }
    res.clearCookie(SESSION_COOKIE, { path: '/console', httpOnly: true, sameSite: 'strict', secure: opts.secureCookie });
    res.status(204).end();
  });

  const requireSession = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const session = await signer.verify(cookieValue(req.header('Cookie'), SESSION_COOKIE), now());
    if (session === undefined) {
      res.status(401).json({ error: 'log in to the console first' });
      return;
    }
    res.locals.consoleSession = session;
    res.set('Cache-Control', 'no-store');
    next();
  };
  const api = Router();
  api.use(requireSession);
  api.get('/session', (_req, res) => {
    const info: ConsoleSessionInfo = { expiresAt: sessionOf(res).expiresAt, inspector: opts.inspector ?? false };
    res.json(info);
  });
  for (const routes of opts.apiRoutes) api.use(routes);
  api.use((_req, res) => res.status(404).json({ error: 'no such console endpoint' }));
  router.use('/api', api);

  const assets = opts.assetsDir ?? consoleAssetsDir();
  if (!fs.existsSync(assets)) opts.log.warn('console page not built: run `npm run build:console`', { assets });
  router.use(express.static(assets, { index: 'index.html', redirect: true, fallthrough: true }));
  router.use((_req, res) => res.status(404).type('text/plain').send('Not Found'));

  app.use('/console', router);
  return { signer };
}
