/**
 * Who may open `/media` from a browser: only a logged-in console page, with a ticket it got seconds ago and uses
 * once. Bad tickets are refused at the handshake (403, counted, one log line per reason); a good ticket still needs
 * its call's stream token at `start`, as Twilio's streams do.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger, eventually, startStack, type E2eStack, type LogLine as Line } from '../e2e/harness.js';
import { SOFTPHONE_CALL_PARAMETERS, TICKET_PROTOCOL_PREFIX, TICKETS_PER_MINUTE } from '../../src/console/softphone.js';
import { consoleCookie, grant, requestGrant, startFrame, ticketSocket } from './softphone-helpers.js';

const PASSWORD = 'softphone-access-password-32-chars';

async function metric(stack: E2eStack, name: string, reason: string): Promise<number> {
  const text = await (await fetch(`${stack.server.localUrl}/metrics`)).text();
  const m = new RegExp(`^${name}\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
  return Number(m?.[1] ?? 0);
}

describe('softphone access to /media', () => {
  let stack: E2eStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('no session → 401; a ticket opens /media once (subprotocol echoed) and its call runs; reused, expired and forged → 403, counted, one line per reason', async () => {
    const lines: Line[] = [];
    stack = await startStack({ env: { CONSOLE_PASSWORD: PASSWORD }, log: captureLogger(lines) });
    const url = stack.server.localUrl;
    expect((await requestGrant(url, undefined)).status).toBe(401);
    expect((await requestGrant(url, 'voice_console=forged.value')).status).toBe(401);

    const cookie = await consoleCookie(url, PASSWORD);
    const g = await grant(url, cookie);
    expect(g.protocol).toBe(TICKET_PROTOCOL_PREFIX + g.ticket);
    expect(g.callSid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(g.expiresAt - Date.now()).toBeLessThanOrEqual(30_000);

    const good = ticketSocket(url, [g.protocol]);
    expect(await good.outcome).toEqual({ status: 101, protocol: g.protocol });
    good.ws.send(startFrame(g.callSid, { [g.tokenParameter]: g.streamToken, From: 'console' }));
    await eventually(() => stack?.events.some((e) => e.type === 'call.started') === true, 'the softphone call started');

    const reused = ticketSocket(url, [g.protocol]);
    expect((await reused.outcome).status).toBe(403);
    const expired = await stack.server.softphoneTickets.mint('CA' + 'e'.repeat(32), 0);
    expect((await ticketSocket(url, [TICKET_PROTOCOL_PREFIX + expired.ticket]).outcome).status).toBe(403);
    const forged = g.ticket.slice(0, -4) + (g.ticket.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    for (const protocol of [TICKET_PROTOCOL_PREFIX + forged, TICKET_PROTOCOL_PREFIX + 'let-me-in', TICKET_PROTOCOL_PREFIX]) {
      expect((await ticketSocket(url, [protocol]).outcome).status).toBe(403);
    }
    // Neither a ticket nor a signature: refused as before.
    expect((await ticketSocket(url, ['something-else']).outcome).status).toBe(403);

    good.ws.close(1000);
    await good.closed;
    await eventually(() => stack?.server.activeCalls() === 0, 'the call ended');
    const refused = 'voice_stream_upgrades_refused_total';
    expect(await metric(stack, refused, 'ticket-reused')).toBe(1);
    expect(await metric(stack, refused, 'ticket-expired')).toBe(1);
    expect(await metric(stack, refused, 'ticket-unknown')).toBe(3);
    expect(await metric(stack, refused, 'no-signature')).toBe(1);
    const logged = lines.filter((l) => l.message === 'media stream refused: bad softphone ticket').map((l) => l.reason);
    expect(logged).toEqual(['ticket-reused', 'ticket-expired', 'ticket-unknown']);
    expect(JSON.stringify(lines)).not.toContain(g.ticket);
  });

  it('a softphone start cannot choose who calls: From, To, Direction and custom parameters are the server\'s', async () => {
    stack = await startStack({ env: { CONSOLE_PASSWORD: PASSWORD } });
    const url = stack.server.localUrl;
    const g = await grant(url, await consoleCookie(url, PASSWORD));
    const s = ticketSocket(url, [g.protocol]);
    expect((await s.outcome).status).toBe(101);
    const claimed = { From: '+15559990000', To: '+15550001111', Direction: 'outbound-api', Amd: '1', Voicemail: 'pay now', Vip: 'yes' };
    s.ws.send(startFrame(g.callSid, { [g.tokenParameter]: g.streamToken, ...claimed }));
    await eventually(() => stack?.events.some((e) => e.type === 'call.started') === true, 'the softphone call started');
    const started = stack.events.find((e) => e.type === 'call.started');
    expect(started).toMatchObject({ callSid: g.callSid, from: 'softphone', to: 'agent', direction: 'inbound', customParameters: SOFTPHONE_CALL_PARAMETERS });
    s.ws.close(1000);
    await s.closed;
    await eventually(() => stack?.server.activeCalls() === 0, 'the call ended');
  });

  it('a ticket with a start for another CallSid, without the stream token, or with another call\'s token → closed 1008, no call', async () => {
    stack = await startStack({ env: { CONSOLE_PASSWORD: PASSWORD } });
    const url = stack.server.localUrl;
    const cookie = await consoleCookie(url, PASSWORD);
    const other = await grant(url, cookie);
    const cases: Array<[string, (g: Awaited<ReturnType<typeof grant>>) => string]> = [
      ['ticket-other-call', (g) => startFrame(other.callSid, { [g.tokenParameter]: other.streamToken })],
      ['token-missing', (g) => startFrame(g.callSid, { From: 'console' })],
      ['token-bad-signature', (g) => startFrame(g.callSid, { [g.tokenParameter]: other.streamToken })],
    ];
    for (const [, frame] of cases) {
      const g = await grant(url, cookie);
      const s = ticketSocket(url, [g.protocol]);
      expect((await s.outcome).status).toBe(101);
      s.ws.send(frame(g));
      expect(await s.closed).toBe(1008);
    }
    await eventually(() => stack?.server.activeCalls() === 0, 'every stream torn down');
    expect(stack.events.filter((e) => e.type === 'call.started')).toHaveLength(0);
    for (const [reason] of cases) expect(await metric(stack, 'voice_streams_rejected_total', reason)).toBe(1);
  });

  it(`at most ${TICKETS_PER_MINUTE} grants a minute per address (429), and 503 while draining; a grant from before the drain still connects`, async () => {
    // Short-lived stream tokens: the drain waits for the grants' unused ones to expire, as for Twilio's.
    stack = await startStack({ env: { CONSOLE_PASSWORD: PASSWORD, STREAM_TOKEN_TTL_MS: '2000' } });
    const url = stack.server.localUrl;
    const cookie = await consoleCookie(url, PASSWORD);
    const statuses: number[] = [];
    for (let i = 0; i <= TICKETS_PER_MINUTE; i++) statuses.push((await requestGrant(url, cookie)).status);
    expect(statuses).toEqual([...Array<number>(TICKETS_PER_MINUTE).fill(201), 429]);
    const early = await stack.server.softphoneTickets.mint('CA' + 'f'.repeat(32));
    const token = (await stack.server.streamTokens.mint(early.callSid)).token;

    const drained = stack.server.drain(10_000, { goodbyeMs: 0 });
    const during = await requestGrant(url, cookie);
    expect(during.status).toBe(503);
    const s = ticketSocket(url, [TICKET_PROTOCOL_PREFIX + early.ticket]);
    expect((await s.outcome).status).toBe(101);
    s.ws.send(startFrame(early.callSid, { StreamToken: token }));
    await eventually(() => stack?.events.some((e) => e.type === 'call.started') === true, 'the call started during the drain');
    s.ws.close(1000);
    const result = await drained;
    expect(result.finished).toBe(1);
    await stack.providers.close(); // the drain closed the server
    stack = undefined;
  });
});
