/**
 * Console sessions: an HMAC-signed cookie `<expiresAtMs>.<nonce>.<mac>`. Stateless (nothing to store or clean up),
 * and keyed from the login secret, so changing the secret logs every session out.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'console_session';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export interface ConsoleSession {
  expiresAt: number;
}

export class SessionSigner {
  private readonly key: Buffer;

  constructor(secret: string, private readonly ttlMs = SESSION_TTL_MS) {
    this.key = createHmac('sha256', secret).update('console-session-v1').digest();
  }

  /** A new session cookie value, valid `ttlMs` from `nowMs`. */
  issue(nowMs: number): { value: string; expiresAt: number } {
    const expiresAt = nowMs + this.ttlMs;
    const payload = `${expiresAt}.${randomBytes(12).toString('base64url')}`;
    return { value: `${payload}.${this.mac(payload)}`, expiresAt };
  }

  /** The session a cookie value stands for, or undefined (forged, malformed or expired). */
  verify(value: string | undefined, nowMs: number): ConsoleSession | undefined {
    const m = /^(\d{1,15})\.([\w-]{1,64})\.([\w-]{43})$/.exec(value ?? '');
    if (!m) return undefined;
    const expected = Buffer.from(this.mac(`${m[1]}.${m[2]}`));
    const given = Buffer.from(m[3] ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const expiresAt = Number(m[1]);
    return expiresAt > nowMs ? { expiresAt } : undefined;
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}

/** Constant-time password check: hashing first makes the lengths equal, so neither content nor length leaks. */
export function passwordMatches(given: unknown, secret: string): boolean {
  if (typeof given !== 'string' || given === '') return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

/** The value of one cookie from a `Cookie` header (no cookie-parser dependency for one cookie). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}
