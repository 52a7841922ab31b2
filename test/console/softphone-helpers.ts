/** The softphone's server side as the page uses it: log in, get a grant, open `/media` with the ticket subprotocol. */
import { WebSocket } from 'ws';
import type { SoftphoneGrant } from '../../src/console/softphone.js';

/** Logs in with the console password; returns the session cookie (`name=value`). */
export async function consoleCookie(serverUrl: string, password: string): Promise<string> {
  const res = await fetch(`${serverUrl}/console/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ password }),
  });
  if (!res.ok) throw new Error(`login failed: HTTP ${res.status}`);
  const cookie = res.headers.get('set-cookie') ?? '';
  return cookie.split(';')[0] ?? '';
}

export function requestGrant(serverUrl: string, cookie: string | undefined): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(cookie === undefined ? {} : { Cookie: cookie }) };
  return fetch(`${serverUrl}/console/api/softphone`, { method: 'POST', headers, body: '{}' });
}

export async function grant(serverUrl: string, cookie: string): Promise<SoftphoneGrant> {
  const res = await requestGrant(serverUrl, cookie);
  if (res.status !== 201) throw new Error(`no grant: HTTP ${res.status}`);
  return (await res.json()) as SoftphoneGrant;
}

export interface TicketSocket {
  ws: WebSocket;
  /** 101 with the echoed subprotocol once open, or the HTTP status of a refused handshake. */
  outcome: Promise<{ status: number; protocol: string }>;
  closed: Promise<number>;
}

/** Opens `/media` offering `protocols` (the page offers `console-ticket.<ticket>`), with no Twilio signature. */
export function ticketSocket(serverUrl: string, protocols: string[]): TicketSocket {
  const ws = new WebSocket(`${serverUrl.replace('http', 'ws')}/media`, protocols);
  const outcome = new Promise<{ status: number; protocol: string }>((resolve) => {
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, protocol: '' }));
    ws.on('open', () => resolve({ status: 101, protocol: ws.protocol }));
    ws.on('error', () => resolve({ status: -1, protocol: '' }));
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return { ws, outcome, closed };
}

/** The `start` the page sends: its CallSid, and the stream token in `customParameters` as Twilio would carry it. */
export function startFrame(callSid: string, customParameters: Record<string, string>): string {
  const streamSid = 'MZ' + 'd'.repeat(32);
  return JSON.stringify({
    event: 'start',
    sequenceNumber: '1',
    streamSid,
    start: { accountSid: 'AC' + '0'.repeat(32), streamSid, callSid, tracks: ['inbound'], mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 }, customParameters },
  });
}
