/**
 * Cross-site request forgery guard for the console's POSTs (SameSite=Strict alone trusts sibling subdomains, and a
 * form can post without any script): a POST must come from the console's own origin and carry JSON.
 *
 * - The origin: PUBLIC_URL's when set; without PUBLIC_URL, the origin the request itself names (its Host, with
 *   X-Forwarded-Proto under TRUST_PROXY). With PUBLIC_URL set, the request's own origin is still accepted when its
 *   Host is loopback (`ssh -L` to the server, where no other site can be).
 * - A browser always sends `Origin` on a POST (or at least `Sec-Fetch-Site`); a request with neither is not from a
 *   browser, where no forgery is possible (it still needs the password or a session).
 * - JSON only: a cross-site page can send JSON only after a CORS preflight, which this server never grants.
 */
import net from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export function sameOriginJsonPosts(publicUrl: string | undefined): RequestHandler {
  const publicOrigin = publicUrl === undefined ? undefined : new URL(publicUrl).origin;
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'POST') return next();
    if (!fromOwnOrigin(req, publicOrigin)) {
      res.status(403).json({ error: 'cross-site request refused: post from the console page itself' });
      return;
    }
    // The header itself (req.is() says null for a bodiless POST, and the page's logout has nothing to say).
    const type = (req.header('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      res.status(415).json({ error: 'the console accepts JSON only (Content-Type: application/json)' });
      return;
    }
    next();
  };
}

function fromOwnOrigin(req: Request, publicOrigin: string | undefined): boolean {
  const origin = req.header('Origin');
  if (origin === undefined) {
    const site = req.header('Sec-Fetch-Site');
    return site === undefined || site === 'same-origin';
  }
  if (origin === publicOrigin) return true;
  const host = req.header('Host') ?? '';
  const own = `${req.protocol}://${host}`;
  return origin === own && (publicOrigin === undefined || isLoopbackHost(host));
}

function isLoopbackHost(host: string): boolean {
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  if (hostname === 'localhost') return true;
  if (net.isIPv4(hostname)) return hostname.startsWith('127.');
  return hostname === '::1';
}
