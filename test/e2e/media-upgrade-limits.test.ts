/**
 * Limits of the media upgrade and the HTTP server: a captured handshake signature opens streams at will (Twilio signs
 * the URL, so it is the same for every stream), so one address may hold only so many streams awaiting `start`;
 * connections that send their headers slowly are cut; the number of connections is bounded.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { WebSocket } from 'ws';
import { eventually, startStack, type E2eStack } from './harness.js';

function openSigned(stack: E2eStack): Promise<{ ws?: WebSocket; status?: number }> {
  const url = stack.server.publicUrl.replace('http', 'ws') + '/media';
  const signature = twilio.getExpectedTwilioSignature(stack.config.twilioAuthToken, url, {});
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { 'X-Twilio-Signature': signature } });
    ws.on('open', () => resolve({ ws }));
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
    ws.on('error', () => resolve({}));
  });
}

/** A raw TCP connection that sends `text` and reports when the server closes it. */
function rawConnection(port: number, text: string): { closed: () => boolean; socket: net.Socket } {
  let closed = false;
  const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
  socket.on('data', () => {});
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  return { closed: () => closed, socket };
}

describe('media upgrade and HTTP limits', () => {
  let stack: E2eStack | undefined;
  const sockets: Array<WebSocket | net.Socket> = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) (s instanceof WebSocket ? s.terminate() : s.destroy());
    await stack?.close();
    stack = undefined;
  });

  it('one address holds at most MAX_PENDING_STREAMS_PER_ADDRESS streams awaiting start; a closed one frees its place', async () => {
    stack = await startStack({ env: { MAX_PENDING_STREAMS_PER_ADDRESS: '3', STREAM_START_TIMEOUT_MS: '60000' } });
    const opened: WebSocket[] = [];
    for (let i = 0; i < 3; i++) {
      const { ws } = await openSigned(stack);
      expect(ws).toBeDefined();
      if (ws) opened.push(ws);
    }
    sockets.push(...opened);
    expect(await openSigned(stack)).toEqual({ status: 429 });
    const text = await (await fetch(`${stack.server.localUrl}/metrics`)).text();
    expect(text).toMatch(/voice_stream_upgrades_refused_total\{reason="too-many-pending"\} 1/);
    opened[0]?.close();
    const s = stack;
    await eventually(() => s.server.activeCalls() === 2, 'the closed stream to end');
    const again = await openSigned(stack);
    expect(again.ws).toBeDefined();
    if (again.ws) sockets.push(again.ws);
  });

  it('cuts a connection whose headers do not arrive within HTTP_HEADERS_TIMEOUT_MS', async () => {
    stack = await startStack({ env: { HTTP_HEADERS_TIMEOUT_MS: '1000' } });
    const slow = rawConnection(stack.server.port, 'GET /media HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
    sockets.push(slow.socket);
    // Node's defaults held such connections 60 s and more; the limit here only bounds a failure.
    await eventually(slow.closed, 'the slow-header connection to be cut', 8000);
  });

  it('accepts at most MAX_CONNECTIONS connections', async () => {
    stack = await startStack({ env: { MAX_CONNECTIONS: '2' } });
    const held = [rawConnection(stack.server.port, ''), rawConnection(stack.server.port, '')];
    sockets.push(...held.map((c) => c.socket));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const extra = rawConnection(stack.server.port, '');
    sockets.push(extra.socket);
    await eventually(extra.closed, 'the connection over the limit to be dropped');
    expect(held.map((c) => c.closed())).toEqual([false, false]);
  });
});
