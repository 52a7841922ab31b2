/**
 * deploy/nginx.conf run by the real nginx in front of two small instances (express on node http, trusting one proxy
 * hop as TRUST_PROXY=1 makes the server do): round robin, /voice retried elsewhere on 503 (and the polite TwiML when
 * every instance says no), no retry of other POSTs, WebSocket upgrades passing through (and retried on a 503 refusal),
 * X-Forwarded-For/Proto reaching the instances and giving them the caller's address.
 */
import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { unavailableTwiml } from '../../src/twilio/twiml.js';
import { has } from '../support/externals.js';
import { startNginx, testNginxConf, type RunningNginx } from '../support/nginx.js';

interface Seen {
  method: string;
  path: string;
  body: string;
  ip: string;
  protocol: string;
  headers: http.IncomingHttpHeaders;
}

/** A stand-in instance: records what reaches it; answers 503 to the paths in `refuse` (as one at capacity would). */
class Instance {
  readonly seen: Seen[] = [];
  readonly refuse = new Set<string>();
  readonly upgrades: http.IncomingHttpHeaders[] = [];
  private server!: http.Server;
  port = 0;

  constructor(readonly name: string) {}

  async start(): Promise<void> {
    const app = express();
    app.set('trust proxy', 1);
    app.use(express.text({ type: '*/*' }));
    app.use((req, res) => {
      const body = typeof req.body === 'string' ? req.body : '';
      this.seen.push({ method: req.method, path: req.path, body, ip: req.ip ?? '', protocol: req.protocol, headers: req.headers });
      if (this.refuse.has(req.path)) res.status(503).send('busy');
      else res.json({ instance: this.name, ip: req.ip, body });
    });
    this.server = http.createServer(app);
    const wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      this.upgrades.push(req.headers);
      if (this.refuse.has('/media')) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data) => ws.send(`${this.name}:${String(data)}`));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  reset(): void {
    this.seen.length = 0;
    this.upgrades.length = 0;
    this.refuse.clear();
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  count(path: string): number {
    return this.seen.filter((s) => s.path === path).length;
  }
}

interface Answer {
  status: number;
  body: string;
}

/** One request on its own connection, from `localAddress` (another loopback address than nginx's own). */
function request(url: string, opts: { method?: string; body?: string; headers?: Record<string, string>; localAddress?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: { connection: 'close', ...opts.headers }, localAddress: opts.localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const instanceOf = (a: Answer): string => (JSON.parse(a.body) as { instance: string }).instance;

describe.skipIf(!has('nginx'))('deploy/nginx.conf with the real nginx', () => {
  const a = new Instance('A');
  const b = new Instance('B');
  let nginx: RunningNginx;

  beforeAll(async () => {
    await Promise.all([a.start(), b.start()]);
  });
  afterEach(async () => {
    await nginx?.stop();
    a.reset();
    b.reset();
  });
  afterAll(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  it('passes nginx -t', async () => {
    expect(await testNginxConf([a.port, b.port])).toMatch(/test is successful/);
  });

  it('spreads requests round robin, one instance after the other', async () => {
    nginx = await startNginx([a.port, b.port]);
    const order: string[] = [];
    for (let i = 0; i < 6; i++) order.push(instanceOf(await request(`${nginx.url}/healthz`)));
    expect(order.filter((n) => n === 'A')).toHaveLength(3);
    for (let i = 1; i < order.length; i++) expect(order[i]).not.toBe(order[i - 1]);
  });

  it('retries /voice on the next instance when one answers 503, with the same body and signature', async () => {
    a.refuse.add('/voice');
    nginx = await startNginx([a.port, b.port]);
    const body = 'CallSid=CA1&From=%2B15550001';
    for (let i = 0; i < 4; i++) {
      const answer = await request(`${nginx.url}/voice?amd=1`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'sig' },
      });
      expect(answer.status).toBe(200);
      expect(instanceOf(answer)).toBe('B');
    }
    expect(a.count('/voice')).toBeGreaterThan(0); // A was asked and said no
    const atB = b.seen.filter((s) => s.path === '/voice');
    expect(atB).toHaveLength(4);
    for (const s of atB) {
      expect(s.body).toBe(body);
      expect(s.headers['x-twilio-signature']).toBe('sig');
    }
  });

  it('answers the polite "call again" TwiML when every instance refuses /voice', async () => {
    a.refuse.add('/voice');
    b.refuse.add('/voice');
    nginx = await startNginx([a.port, b.port]);
    const answer = await request(`${nginx.url}/voice`, { method: 'POST', body: 'CallSid=CA2' });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(unavailableTwiml());
    expect(a.count('/voice') + b.count('/voice')).toBe(2);
  });

  it('does not retry other POSTs after sending them (POST /calls must not place a call twice)', async () => {
    a.refuse.add('/calls');
    b.refuse.add('/calls');
    nginx = await startNginx([a.port, b.port]);
    const answer = await request(`${nginx.url}/calls`, { method: 'POST', body: '{"to":"+15550002"}' });
    expect(answer.status).toBe(503);
    expect(a.count('/calls') + b.count('/calls')).toBe(1);
  });

  it('does not serve /metrics through the balancer (scrape each instance)', async () => {
    nginx = await startNginx([a.port, b.port]);
    expect((await request(`${nginx.url}/metrics`)).status).toBe(404);
    expect(a.seen.length + b.seen.length).toBe(0);
  });

  it('overwrites X-Forwarded-For with the client address and sets X-Forwarded-Proto: one trusted hop gives the caller', async () => {
    nginx = await startNginx([a.port, b.port]);
    // The client connects from 127.0.0.2, nginx reaches the instances from 127.0.0.1; the client tries to spoof.
    const answer = await request(`${nginx.url}/healthz`, { localAddress: '127.0.0.2', headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(answer.status).toBe(200);
    const [seen] = [...a.seen, ...b.seen];
    expect(seen?.headers['x-forwarded-for']).toBe('127.0.0.2');
    expect(seen?.headers['x-forwarded-proto']).toBe('http');
    expect(seen?.headers.host).toBe('127.0.0.1'); // nginx's $host: the name, without the port
    expect(seen?.ip).toBe('127.0.0.2');
    expect(seen?.protocol).toBe('http');
  });

  it('passes a WebSocket upgrade on /media through, with the forwarded headers', async () => {
    nginx = await startNginx([a.port, b.port]);
    const ws = new WebSocket(`ws://127.0.0.1:${nginx.port}/media`, { localAddress: '127.0.0.2' });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hello'));
      ws.once('message', (data) => resolve(String(data)));
      ws.once('error', reject);
    });
    ws.close();
    expect(reply).toMatch(/^[AB]:hello$/);
    const [upgrade] = [...a.upgrades, ...b.upgrades];
    expect(upgrade?.['x-forwarded-for']).toBe('127.0.0.2');
    expect(upgrade?.['x-forwarded-proto']).toBe('http');
  });

  it('places a /media stream on the next instance when one refuses the handshake with 503', async () => {
    a.refuse.add('/media');
    nginx = await startNginx([a.port, b.port]);
    for (let i = 0; i < 2; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${nginx.port}/media`);
      const reply = await new Promise<string>((resolve, reject) => {
        ws.once('open', () => ws.send(`call${i}`));
        ws.once('message', (data) => resolve(String(data)));
        ws.once('error', reject);
      });
      ws.close();
      expect(reply).toBe(`B:call${i}`);
    }
    expect(a.upgrades.length).toBeGreaterThan(0);
  });
});
