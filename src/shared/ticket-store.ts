/**
 * Single-use tickets (the console softphone's way into `/media`, see src/console/softphone.ts): minted on the
 * instance that served the page's request, redeemed on whichever instance the WebSocket lands on.
 */
import type { RedisLink } from './redis-link.js';
import { RedisScript } from './redis-link.js';
import { throwOnFailure } from './token-ledger.js';

export type TicketRefusal = 'ticket-unknown' | 'ticket-expired' | 'ticket-reused';
export type TicketCheck = { ok: true; callSid: string } | { ok: false; reason: TicketRefusal };

export interface TicketStore {
  /** Remembers `ticket` for `callSid` until `expiresAt`. */
  put(ticket: string, callSid: string, expiresAt: number): Promise<void>;
  /** Checks `ticket` and uses it up. Rejects when it cannot be told (fail closed). */
  take(ticket: string): Promise<TicketCheck>;
}

/** Redeemed and expired tickets are remembered this long past expiry, so a late try says why it failed. */
export const FORGET_TICKET_AFTER_MS = 5 * 60_000;
/** Hard cap on remembered tickets in memory (the mint route is rate-limited per address and behind the login). */
const MAX_TICKETS = 10_000;

interface Entry {
  callSid: string;
  expiresAt: number;
  used: boolean;
}

/** Insertion order is expiry order (one TTL). */
export class MemoryTicketStore implements TicketStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.entries.size;
  }

  async put(ticket: string, callSid: string, expiresAt: number): Promise<void> {
    this.prune();
    if (this.entries.size >= MAX_TICKETS) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(ticket, { callSid, expiresAt, used: false });
  }

  async take(ticket: string): Promise<TicketCheck> {
    this.prune();
    const entry = this.entries.get(ticket);
    if (entry === undefined) return { ok: false, reason: 'ticket-unknown' };
    if (entry.used) return { ok: false, reason: 'ticket-reused' };
    if (entry.expiresAt <= this.now()) return { ok: false, reason: 'ticket-expired' };
    entry.used = true;
    return { ok: true, callSid: entry.callSid };
  }

  private prune(): void {
    const forgetBefore = this.now() - FORGET_TICKET_AFTER_MS;
    for (const [ticket, entry] of this.entries) {
      if (entry.expiresAt > forgetBefore) break;
      this.entries.delete(ticket);
    }
  }
}

/** A hash per ticket {callSid, expiresAt, used}; taking it is one atomic script. */
const TAKE = new RedisScript(`
local entry = redis.call('HMGET', KEYS[1], 'callSid', 'expiresAt', 'used')
if not entry[1] then return {'ticket-unknown'} end
if entry[3] == '1' then return {'ticket-reused'} end
if tonumber(entry[2]) <= tonumber(ARGV[1]) then return {'ticket-expired'} end
redis.call('HSET', KEYS[1], 'used', '1')
return {'ok', entry[1]}
`);

export class RedisTicketStore implements TicketStore {
  constructor(
    private readonly link: RedisLink,
    private readonly now: () => number = Date.now,
  ) {}

  async put(ticket: string, callSid: string, expiresAt: number): Promise<void> {
    const key = this.key(ticket);
    await this.link.client
      .multi()
      .hset(key, { callSid, expiresAt: String(expiresAt), used: '0' })
      .pexpire(key, Math.max(1, Math.ceil(expiresAt - this.now())) + FORGET_TICKET_AFTER_MS)
      .exec()
      .then(throwOnFailure);
  }

  async take(ticket: string): Promise<TicketCheck> {
    const [status, callSid] = (await TAKE.run(this.link.client, [this.key(ticket)], [this.now()])) as [string, string | undefined];
    if (status === 'ok' && callSid !== undefined) return { ok: true, callSid };
    return { ok: false, reason: status as TicketRefusal };
  }

  private key(ticket: string): string {
    return this.link.key(`ticket:${ticket}`);
  }
}
