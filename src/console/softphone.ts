/**
 * The console softphone's way into `/media`. A browser cannot sign its WebSocket handshake like Twilio, nor send
 * custom headers, so a logged-in page asks `POST /console/api/softphone` for a ticket and offers it as the
 * subprotocol `console-ticket.<ticket>`. A ticket is random, single use and lives 30 s, in this process's memory or
 * in Redis (REDIS_URL), so the WebSocket may land on another instance than the request that minted it. The response also names a fresh CallSid and that CallSid's stream token (minted like `/voice` does), so
 * the transport's `start` check applies to the browser exactly as to Twilio.
 */
import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { StreamTokens } from '../twilio/stream-token.js';
import { STREAM_TOKEN_PARAMETER } from '../twilio/stream-token.js';
import { MemorySlidingWindow, type SlidingWindow } from '../shared/sliding-window.js';
import { MemoryTicketStore, type TicketCheck, type TicketStore } from '../shared/ticket-store.js';

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

export type { TicketCheck, TicketRefusal } from '../shared/ticket-store.js';

export interface SoftphoneTicket {
  ticket: string;
  callSid: string;
  expiresAt: number;
}

/** Random single-use tickets, remembered in a ticket store (this process's memory, or Redis for every instance). */
export class SoftphoneTickets {
  constructor(
    private readonly store: TicketStore = new MemoryTicketStore(),
    private readonly ttlMs = TICKET_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Tickets minted here (the tests count them). */
  minted = 0;

  /** A ticket for the softphone call `callSid`; `ttlMs` only for tests (a ticket born expired). */
  async mint(callSid: string, ttlMs = this.ttlMs): Promise<SoftphoneTicket> {
    const ticket = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + ttlMs;
    await this.store.put(ticket, callSid, expiresAt);
    this.minted++;
    return { ticket, callSid, expiresAt };
  }

  /** Checks `ticket` and uses it up (rejects when the store cannot be asked). */
  redeem(ticket: string): Promise<TicketCheck> {
    if (!TICKET.test(ticket)) return Promise.resolve({ ok: false, reason: 'ticket-unknown' });
    return this.store.take(ticket);
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
  /** Grants per address per minute (default: this process's memory; the server passes the shared window). */
  grantWindow?: SlidingWindow;
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
  // Per address, on every instance together when the window is shared (Redis): spreading grants over instances gains nothing.
  const limit = deps.grantWindow ?? new MemorySlidingWindow(TICKETS_PER_MINUTE, 60_000);
  const now = deps.now ?? Date.now;
  router.post('/softphone', async (req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    if (deps.draining()) {
      res.status(503).json({ error: 'server is draining' });
      return;
    }
    let allowed: boolean;
    try {
      allowed = await limit.take(req.ip ?? req.socket.remoteAddress ?? '', now());
    } catch {
      res.status(503).json({ error: 'shared state (Redis) unreachable: try again in a moment' });
      return;
    }
    if (!allowed) {
      res.set('Retry-After', '60').status(429).json({ error: `at most ${TICKETS_PER_MINUTE} softphone calls a minute` });
      return;
    }
    const callSid = 'CA' + randomBytes(16).toString('hex');
    let minted: [{ ticket: string; expiresAt: number }, { token: string }];
    try {
      minted = await Promise.all([deps.tickets.mint(callSid), deps.streamTokens.mint(callSid)]);
    } catch {
      res.status(503).json({ error: 'shared state (Redis) unreachable: try again in a moment' });
      return;
    }
    const [{ ticket, expiresAt }, { token }] = minted;
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
