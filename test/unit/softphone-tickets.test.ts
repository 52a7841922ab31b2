/** The softphone's tickets and its per-address rate limit, on a fake clock. */
import { describe, expect, it } from 'vitest';
import { SlidingWindowLimit } from '../../lib/sliding-window.js';
import { MemoryTicketStore } from '../../src/shared/ticket-store.js';
import { SoftphoneTickets, ticketFromProtocolHeader, TICKET_TTL_MS } from '../../src/console/softphone.js';

describe('softphone tickets', () => {
  it('redeem once within 30 s; then reused; expired after; unknown when never minted or long forgotten', async () => {
    let now = 1_000_000;
    const store = new MemoryTicketStore(() => now);
    const tickets = new SoftphoneTickets(store, TICKET_TTL_MS, () => now);
    const a = await tickets.mint('CA1');
    const b = await tickets.mint('CA2');
    expect(a.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await tickets.redeem(a.ticket)).toEqual({ ok: true, callSid: 'CA1' });
    expect(await tickets.redeem(a.ticket)).toEqual({ ok: false, reason: 'ticket-reused' });
    now += TICKET_TTL_MS;
    expect(await tickets.redeem(b.ticket)).toEqual({ ok: false, reason: 'ticket-expired' });
    expect(await tickets.redeem('x'.repeat(43))).toEqual({ ok: false, reason: 'ticket-unknown' });
    now += 10 * 60_000; // long after: forgotten, and the memory with them
    expect(await tickets.redeem(b.ticket)).toEqual({ ok: false, reason: 'ticket-unknown' });
    expect(store.size).toBe(0);
  });

  it('finds the ticket among the offered subprotocols', () => {
    expect(ticketFromProtocolHeader('chat, console-ticket.abc')).toBe('abc');
    expect(ticketFromProtocolHeader('chat')).toBeUndefined();
    expect(ticketFromProtocolHeader(undefined)).toBeUndefined();
  });
});

describe('per-address rate limit', () => {
  it('allows 10 in any minute per key, again as the minute slides', () => {
    let now = 0;
    const limit = new SlidingWindowLimit(10, 60_000);
    const take = (key: string, n: number) => Array.from({ length: n }, () => limit.take(key, now)).filter(Boolean).length;
    expect(take('a', 12)).toBe(10);
    expect(take('b', 1)).toBe(1); // another address has its own allowance
    now += 59_999;
    expect(take('a', 1)).toBe(0);
    now += 1;
    expect(take('a', 11)).toBe(10);
  });
});
