/**
 * Console sessions: a signed cookie `<expiresAtMs>.<generation>.<nonce>.<mac>`, stateless apart from the server key
 * and the revocation generation (src/shared/console-state.ts: in memory, or in Redis so every instance accepts a
 * session and a logout on one ends it on all). The MAC key is HMAC(server key, hash of the password): the password
 * cannot be guessed offline from a cookie, changing it still logs every session out, and a logout (a new generation)
 * makes every earlier cookie worthless.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ConsoleSessionState } from '../shared/console-state.js';

/** What a session is signed with now: the shared random key and the revocation generation. */
interface SessionKeyState {
  key: Buffer;
  generation: number;
}

export const SESSION_COOKIE = 'console_session';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export interface ConsoleSession {
  expiresAt: number;
}

const COOKIE = /^(\d{1,15})\.(\d{1,15})\.([\w-]{1,64})\.([\w-]{43})$/;

export class SessionSigner {
  private readonly passwordHash: Buffer;

  constructor(
    private readonly keys: ConsoleSessionState,
    password: string,
    private readonly ttlMs = SESSION_TTL_MS,
  ) {
    this.passwordHash = createHash('sha256').update(password).digest();
  }

  /** A new session cookie value, valid `ttlMs` from `nowMs`. */
  async issue(nowMs: number): Promise<{ value: string; expiresAt: number }> {
    const state = await this.current();
    const expiresAt = nowMs + this.ttlMs;
    const payload = `${expiresAt}.${state.generation}.${randomBytes(12).toString('base64url')}`;
    return { value: `${payload}.${this.mac(state, payload)}`, expiresAt };
  }

  /** The session a cookie value stands for, or undefined (forged, malformed, expired or revoked). */
  async verify(value: string | undefined, nowMs: number): Promise<ConsoleSession | undefined> {
    const m = COOKIE.exec(value ?? '');
    if (!m) return undefined;
    const state = await this.current();
    const expected = Buffer.from(this.mac(state, `${m[1]}.${m[2]}.${m[3]}`));
    const given = Buffer.from(m[4] ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    if (Number(m[2]) !== state.generation) return undefined;
    const expiresAt = Number(m[1]);
    return expiresAt > nowMs ? { expiresAt } : undefined;
  }

  /** Ends every session (logout). */
  async revokeAll(): Promise<void> {
    await this.keys.revokeAll();
  }

  private async current(): Promise<SessionKeyState> {
    const [key, generation] = await Promise.all([this.keys.sessionSecret(), this.keys.revocation()]);
    return { key, generation };
  }

  private mac(state: SessionKeyState, payload: string): string {
    const key = createHmac('sha256', state.key).update('console-session-v2').update(this.passwordHash).digest();
    return createHmac('sha256', key).update(payload).digest('base64url');
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
