/**
 * The console softphone's way into `/media`. A browser cannot sign its WebSocket handshake like Twilio, nor send
 * custom headers, so a logged-in page asks `POST /console/api/softphone` for a ticket and offers it as the
 * subprotocol `console-ticket.<ticket>`. A ticket is random, single use, lives 30 s and exists only in this process's
 * memory. The response also names a fresh CallSid and that CallSid's stream token (minted like `/voice` does), so
 * the transport's `start` check applies to the browser exactly as to Twilio.
 */
import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { StreamTokens } from '../twilio/stream-token.js';
import { STREAM_TOKEN_PARAMETER } from '../twilio/stream-token.js';
import { SlidingWindowLimit } from '../../lib/sliding-window.js';

/** The WebSocket subprotocol prefix that carries a ticket (the server echoes the whole subprotocol). */
export const TICKET_PROTOCOL_PREFIX = 'console-ticket.';
export const TICKET_TTL_MS = 30_000;
/** Tickets minted per client address per minute. */
export const TICKETS_PER_MINUTE = 10;

/**
 * Who a softphone call is from and to, as the agent sees it (`call.from`, `call.direction`…): the server's word. The
 * page's own `start` parameters are dropped, or a console user could pose as any number, an outbound call, or a
 * call with an answering-machine message (Amd, Voicemail).
 */
export const SOFTPHONE_CALL_PARAMETERS: Readonly<Record<string, string>> = Object.freeze({ From: 'softphone', To: 'agent', Direction: 'inbound' });

const TICKET = /^[A-Za-z0-9_-]{43}$/;
/** Redeemed and expired tickets are remembered this long past expiry, so a late try says why it failed. */
const FORGET_AFTER_MS = 5 * 60_000;
/** Hard cap on remembered tickets (the mint route is rate-limited per address and behind the login anyway). */
const MAX_TICKETS = 10_000;

export type TicketRefusal = 'ticket-unknown' | 'ticket-expired' | 'ticket-reused';
export type TicketCheck = { ok: true; callSid: string } | { ok: false; reason: TicketRefusal };

export interface SoftphoneTicket {
  ticket: string;
  callSid: string;
  expiresAt: number;
}

interface Entry {
  callSid: string;
  expiresAt: number;
  used: boolean;
}

/** Single-use tickets in memory; insertion order is expiry order (one TTL). */
export class SoftphoneTickets {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = TICKET_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** A ticket for the softphone call `callSid`; `ttlMs` only for tests (a ticket born expired). */
  mint(callSid: string, ttlMs = this.ttlMs): SoftphoneTicket {
    this.prune();
    if (this.entries.size >= MAX_TICKETS) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    const ticket = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + ttlMs;
    this.entries.set(ticket, { callSid, expiresAt, used: false });
    return { ticket, callSid, expiresAt };
  }

  /** Checks `ticket` and uses it up. */
  redeem(ticket: string): TicketCheck {
    this.prune();
    const entry = TICKET.test(ticket) ? this.entries.get(ticket) : undefined;
    if (entry === undefined) return { ok: false, reason: 'ticket-unknown' };
    if (entry.used) return { ok: false, reason: 'ticket-reused' };
    if (entry.expiresAt <= this.now()) return { ok: false, reason: 'ticket-expired' };
    entry.used = true;
    return { ok: true, callSid: entry.callSid };
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(): void {
    const forgetBefore = this.now() - FORGET_AFTER_MS;
    for (const [ticket, entry] of this.entries) {
      if (entry.expiresAt > forgetBefore) break;
      this.entries.delete(ticket);
    }
  }
}

/** The ticket offered in a `Sec-WebSocket-Protocol` header, if any (the first `console-ticket.` entry). */
export function ticketFromProtocolHeader(header: string | undefined): string | undefined {
  for (const raw of (header ?? '').split(',')) {
    const protocol = raw.trim();
    if (protocol.startsWith(TICKET_PROTOCOL_PREFIX)) return protocol.slice(TICKET_PROTOCOL_PREFIX.length);
  }
  return undefined;
}

export interface SoftphoneRouteDeps {
  tickets: SoftphoneTickets;
  streamTokens: StreamTokens;
  draining: () => boolean;
  now?: () => number;
}

/** What `POST /softphone` returns: everything the page needs to open `/media` and send its `start`. */
export interface SoftphoneGrant {
  ticket: string;
  protocol: string;
  callSid: string;
  streamToken: string;
  /** The `customParameters` key the stream token goes under. */
  tokenParameter: string;
  expiresAt: number;
}

/** `POST /softphone` (mounted under `/console/api`, behind the console's session check). */
export function softphoneRouter(deps: SoftphoneRouteDeps): Router {
  const router = Router();
  const limit = new SlidingWindowLimit(TICKETS_PER_MINUTE, 60_000);
  const now = deps.now ?? Date.now;
  router.post('/softphone', (req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    if (deps.draining()) {
      res.status(503).json({ error: 'server is draining' });
      return;
    }
    if (!limit.take(req.ip ?? req.socket.remoteAddress ?? '', now())) {
      res.set('Retry-After', '60').status(429).json({ error: `at most ${TICKETS_PER_MINUTE} softphone calls a minute` });
      return;
    }
    const callSid = 'CA' + randomBytes(16).toString('hex');
    const { ticket, expiresAt } = deps.tickets.mint(callSid);
    const { token } = deps.streamTokens.mint(callSid);
    const grant: SoftphoneGrant = {
      ticket,
      protocol: TICKET_PROTOCOL_PREFIX + ticket,
      callSid,
      streamToken: token,
      tokenParameter: STREAM_TOKEN_PARAMETER,
      expiresAt,
    };
    res.status(201).json(grant);
  });
  return router;
}
