/**
 * Stream tokens: a media stream must belong to a call we answered. The handshake signature covers only the fixed
 * stream URL, so one captured signature could open any number of streams; the token binds a stream to one CallSid.
 *
 * `POST /voice` (signed by Twilio) mints `v1.<expiry ms, base36>.<nonce>.<HMAC-SHA256(secret, body|CallSid)>` and
 * puts it in the TwiML as a `<Parameter>`; Twilio hands it back in `start.customParameters`. Checking it needs only
 * the secret (any instance with the same secret accepts it); single use is enforced per process by remembering
 * redeemed tokens until they expire. The server also remembers the tokens it issued and that no stream has redeemed
 * yet: those are calls on their way, which a drain waits for.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { StartDecision, StartRequest } from '../../actors/twilio-transport.js';

/** The `<Parameter name>` that carries the token (it never reaches the machine: the transport strips it). */
export const STREAM_TOKEN_PARAMETER = 'StreamToken';

const VERSION = 'v1';
const TOKEN = /^v1\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{12})\.([A-Za-z0-9_-]{43})$/;

export interface MintedToken {
  token: string;
  /** Epoch ms after which the token is refused. */
  expiresAt: number;
}

export type TokenRefusal = 'missing' | 'malformed' | 'bad-signature' | 'expired' | 'reused';
export type TokenCheck = { ok: true; expiresAt: number } | { ok: false; reason: TokenRefusal };

/** The default secret when STREAM_TOKEN_SECRET is not set: derived from the auth token, so every instance agrees. */
export function deriveStreamTokenSecret(twilioAuthToken: string): Buffer {
  return createHmac('sha256', twilioAuthToken).update('voice-call-orchestrator/stream-token/v1').digest();
}

function mac(secret: string | Buffer, body: string, callSid: string): string {
  // The body has no '|', so body|callSid is unambiguous.
  return createHmac('sha256', secret).update(`${body}|${callSid}`).digest('base64url');
}

/** A token for `callSid` valid for `ttlMs`. Pure apart from the random nonce (two tokens are never equal). */
export function mintStreamToken(secret: string | Buffer, callSid: string, ttlMs: number, now: number = Date.now()): MintedToken {
  const expiresAt = Math.floor(now + ttlMs);
  const body = `${VERSION}.${expiresAt.toString(36)}.${randomBytes(9).toString('base64url')}`;
  return { token: `${body}.${mac(secret, body, callSid)}`, expiresAt };
}

/** Signature and expiry only (single use needs memory: see `StreamTokens.redeem`). */
export function checkStreamToken(
  secret: string | Buffer,
  token: string | undefined,
  callSid: string,
  now: number = Date.now(),
): TokenCheck {
  if (token === undefined || token === '') return { ok: false, reason: 'missing' };
  const m = TOKEN.exec(token);
  if (!m) return { ok: false, reason: 'malformed' };
  const expiresAt = parseInt(m[1] ?? '', 36);
  const body = token.slice(0, token.lastIndexOf('.'));
  const expected = Buffer.from(mac(secret, body, callSid));
  const given = Buffer.from(m[3] ?? '');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  if (!(expiresAt > now)) return { ok: false, reason: 'expired' };
  return { ok: true, expiresAt };
}

export interface StreamTokensOptions {
  secret: string | Buffer;
  ttlMs: number;
  now?: () => number;
}

/** One per server: mints, redeems once, and knows which of its tokens are still on their way. */
export class StreamTokens {
  private readonly now: () => number;
  /** Redeemed tokens → expiry; a token is refused as `reused` while it is here. */
  private readonly redeemed = new Map<string, number>();
  /** Tokens this process issued that no stream has redeemed yet → expiry (insertion order = expiry order). */
  private readonly issued = new Map<string, number>();

  constructor(private readonly opts: StreamTokensOptions) {
    this.now = opts.now ?? Date.now;
  }

  get ttlMs(): number {
    return this.opts.ttlMs;
  }

  /** A token for `callSid`; `track` (default) remembers it as a stream on its way until it is redeemed or expires. */
  mint(callSid: string, opts: { track?: boolean } = {}): MintedToken {
    const minted = mintStreamToken(this.opts.secret, callSid, this.opts.ttlMs, this.now());
    if (opts.track ?? true) {
      this.prune();
      this.issued.set(minted.token, minted.expiresAt);
    }
    return minted;
  }

  /** Checks `token` for `callSid` and uses it up. */
  redeem(token: string | undefined, callSid: string): TokenCheck {
    const now = this.now();
    const check = checkStreamToken(this.opts.secret, token, callSid, now);
    if (!check.ok || token === undefined) return check;
    this.prune();
    if (this.redeemed.has(token)) return { ok: false, reason: 'reused' };
    this.redeemed.set(token, check.expiresAt);
    this.issued.delete(token);
    return check;
  }

  /** Streams whose TwiML this process issued that have not started yet (their token is still valid). */
  pending(): { count: number; nextExpiry: number | null } {
    this.prune();
    // Insertion order is expiry order (one TTL): the first entry expires first.
    const next = this.issued.values().next();
    return { count: this.issued.size, nextExpiry: next.done === true ? null : next.value };
  }

  private prune(): void {
    const now = this.now();
    for (const map of [this.issued, this.redeemed]) {
      // Oldest first; redeemed entries are nearly in expiry order too, and a stale entry only costs a few bytes.
      for (const [token, expiresAt] of map) {
        if (expiresAt > now) break;
        map.delete(token);
      }
    }
  }
}

/**
 * The transport's `authorizeStart`: Twilio's `start` must carry a valid, unused token for its own CallSid. The token
 * is removed from the parameters the call sees (it would otherwise reach logs, records and agent hooks).
 */
export function authorizeStreamStart(tokens: StreamTokens, start: StartRequest): StartDecision {
  const { [STREAM_TOKEN_PARAMETER]: token, ...customParameters } = start.customParameters;
  const check = tokens.redeem(token, start.callSid);
  return check.ok ? { ok: true, customParameters } : { ok: false, reason: `token-${check.reason}` };
}
