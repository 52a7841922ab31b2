/**
 * Stream tokens: a media stream must belong to a call we answered. The handshake signature covers only the fixed
 * stream URL, so one captured signature could open any number of streams; the token binds a stream to one CallSid.
 *
 * `POST /voice` (signed by Twilio) mints `v1.<expiry ms, base36>.<nonce>.<HMAC-SHA256(secret, body|CallSid)>` and
 * puts it in the TwiML as a `<Parameter>`; Twilio hands it back in `start.customParameters`. Checking it needs only
 * the secret (any instance with the same secret accepts it); single use is enforced by a ledger that remembers used
 * tokens until they expire — this process's memory, or Redis shared by every instance (src/shared/token-ledger.ts).
 * The ledger also holds the tokens this instance issued that no stream has redeemed yet: those are calls on their
 * way, which a drain waits for.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { StartDecision, StartRequest } from '../../actors/twilio-transport.js';
import { MemoryTokenLedger, type PendingStreams, type TokenLedger } from '../shared/token-ledger.js';

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
  /** Where used and issued tokens are remembered: this process (default) or Redis, shared by every instance. */
  ledger?: TokenLedger;
  now?: () => number;
}

/** One per server: mints, redeems once (across instances with a shared ledger), and knows its tokens on their way. */
export class StreamTokens {
  private readonly now: () => number;
  private readonly ledger: TokenLedger;

  constructor(private readonly opts: StreamTokensOptions) {
    this.now = opts.now ?? Date.now;
    this.ledger = opts.ledger ?? new MemoryTokenLedger(this.now);
  }

  get ttlMs(): number {
    return this.opts.ttlMs;
  }

  /**
   * A token for `callSid`; `track` (default) remembers it as a stream on its way until it is redeemed or expires.
   * Rejects when the ledger cannot remember it (Redis down): the caller refuses the call rather than issue a token
   * whose single use could not be checked.
   */
  async mint(callSid: string, opts: { track?: boolean } = {}): Promise<MintedToken> {
    const minted = mintStreamToken(this.opts.secret, callSid, this.opts.ttlMs, this.now());
    if (opts.track ?? true) await this.ledger.issue(ledgerId(minted.token), minted.expiresAt);
    return minted;
  }

  /** Checks `token` for `callSid` and uses it up. Rejects when single use cannot be checked (fail closed). */
  async redeem(token: string | undefined, callSid: string): Promise<TokenCheck> {
    const check = checkStreamToken(this.opts.secret, token, callSid, this.now());
    if (!check.ok || token === undefined) return check;
    const use = await this.ledger.redeem(ledgerId(token), check.expiresAt);
    return use === 'first' ? check : { ok: false, reason: 'reused' };
  }

  /** Streams whose TwiML this instance issued that have not started yet (their token is still valid). */
  pending(): Promise<PendingStreams> {
    return this.ledger.pending();
  }
}

/** The token's MAC: unique per token, and what the ledger keys on (the whole token never leaves the process). */
function ledgerId(token: string): string {
  return token.slice(token.lastIndexOf('.') + 1);
}

/**
 * The transport's `authorizeStart`: Twilio's `start` must carry a valid, unused token for its own CallSid. The token
 * is removed from the parameters the call sees (it would otherwise reach logs, records and agent hooks).
 */
export async function authorizeStreamStart(tokens: StreamTokens, start: StartRequest): Promise<StartDecision> {
  const { [STREAM_TOKEN_PARAMETER]: token, ...customParameters } = start.customParameters;
  let check: TokenCheck;
  try {
    check = await tokens.redeem(token, start.callSid);
  } catch {
    // Whether the token was used before cannot be told: refused, as a replay would be.
    return { ok: false, reason: 'token-unverifiable' };
  }
  return check.ok ? { ok: true, customParameters } : { ok: false, reason: `token-${check.reason}` };
}
