/**
 * The Stately inspector's bridge: a page that embeds stately.ai/inspect in an iframe and a WebSocket relay that feeds
 * it this process's inspection events. Ours instead of `@statelyai/inspect/server`, whose bridge listens on every
 * interface, takes any Origin and no credential, and relays every client's messages to all others: the events carry
 * live transcripts, so any web page in the operator's browser could read them.
 *
 * Here: it listens on INSPECT_HOST (loopback by default); the page and the socket both require a random token (in the
 * URL the server prints); a browser's socket must come from the bridge's own page (Origin = `http://<Host>`) and the
 * Host must be an IP literal, `localhost` or INSPECT_HOST (a DNS-rebound name is refused); only this process
 * publishes — viewers receive, and what they send is dropped.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/** What a viewer connecting late gets first (the package's bridge keeps as many). */
const BUFFERED_MESSAGES = 200;
/** Viewers never need to send anything; a large frame from one closes it. */
const MAX_VIEWER_FRAME_BYTES = 1024;
const STATELY_INSPECT_URL = 'https://stately.ai/inspect';

export interface InspectorBridgeOptions {
  host: string;
  port: number;
  /** Default: 32 random bytes, new at every start. */
  token?: string;
}

export interface InspectorBridge {
  /** The page to open, token included: `http://<host>:<port>/?token=…`. */
  readonly url: string;
  readonly port: number;
  publish(message: string): void;
  viewers(): number;
  close(): Promise<void>;
}

/** The page's script opens a socket to the URL it was loaded from (token included), so a tunnel's port works too. */
const BRIDGE_SCRIPT = `
const iframe = document.getElementById('inspector');
const buffer = [];
let connected = false;
window.addEventListener('message', (e) => {
  if (e.data && e.data.type === '@statelyai.connected') {
    connected = true;
    for (const event of buffer) iframe.contentWindow.postMessage(event, ${JSON.stringify(new URL(STATELY_INSPECT_URL).origin)});
    buffer.length = 0;
  }
});
const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + location.pathname + location.search);
ws.onmessage = (event) => {
  const data = JSON.parse(event.data);
  if (connected) iframe.contentWindow.postMessage(data, ${JSON.stringify(new URL(STATELY_INSPECT_URL).origin)});
  else buffer.push(data);
};
`;

const BRIDGE_HTML = `<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>Stately Inspector</title>
  <style>* { margin: 0; padding: 0; } html, body { height: 100%; } iframe { width: 100%; height: 100%; border: none; }</style>
</head>
<body>
  <iframe id="inspector" src="${STATELY_INSPECT_URL}"></iframe>
  <script>${BRIDGE_SCRIPT}</script>
</body>
</html>`;

const CSP = [
  "default-src 'none'",
  `script-src 'sha256-${createHash('sha256').update(BRIDGE_SCRIPT).digest('base64')}'`,
  "style-src 'unsafe-inline'",
  `frame-src ${new URL(STATELY_INSPECT_URL).origin}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export async function startInspectorBridge(opts: InspectorBridgeOptions): Promise<InspectorBridge> {
  const token = opts.token ?? randomBytes(32).toString('base64url');
  const tokenHash = createHash('sha256').update(token).digest();
  const buffered: string[] = [];

  /** Why a request is refused, or undefined when it may see call data. */
  const refusal = (req: http.IncomingMessage): string | undefined => {
    const host = req.headers.host ?? '';
    if (!hostAllowed(host, opts.host)) return 'host';
    const origin = req.headers.origin;
    // Node clients send no Origin; a browser always does, and only the bridge's own page may connect.
    if (origin !== undefined && origin !== `http://${host}`) return 'origin';
    const given = new URL(req.url ?? '/', 'http://bridge').searchParams.get('token') ?? '';
    if (!timingSafeEqual(createHash('sha256').update(given).digest(), tokenHash)) return 'token';
    return undefined;
  };

  const server = http.createServer((req, res) => {
    const refused = refusal(req);
    if (refused !== undefined || new URL(req.url ?? '/', 'http://bridge').pathname !== '/') {
      res.writeHead(refused === undefined ? 404 : 403, { 'Content-Type': 'text/plain' }).end(refused === undefined ? 'Not Found' : 'Forbidden');
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': CSP,
      // The URL holds the token: never send it on as a Referer (to stately.ai).
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(BRIDGE_HTML);
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_VIEWER_FRAME_BYTES });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => {});
    if (refusal(req) !== undefined) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      for (const message of buffered) ws.send(message);
      // Viewers only read: whatever they send is dropped (never relayed to the others).
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? 'localhost' : net.isIPv6(opts.host) ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    port,
    publish(message) {
      buffered.push(message);
      if (buffered.length > BUFFERED_MESSAGES) buffered.shift();
      for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(message);
    },
    viewers: () => wss.clients.size,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

/**
 * A Host the bridge answers to: `localhost`, an IP literal (names only matter for DNS rebinding: a page on
 * evil.example whose name now resolves to 127.0.0.1 sends `Host: evil.example`), or the name it was told to bind.
 */
function hostAllowed(hostHeader: string, bindHost: string): boolean {
  let hostname: string;
  try {
    hostname = new URL(`http://${hostHeader}`).hostname;
  } catch {
    return false;
  }
  if (hostname === '' || hostHeader.includes('@')) return false;
  const bare = hostname.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || net.isIP(bare) !== 0 || bare === bindHost;
}
