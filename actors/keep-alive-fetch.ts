/**
 * The `fetch` the LLM SDKs use (both take a `fetch` option): node:http/https with keep-alive agents instead of
 * Node's built-in fetch (undici).
 *
 * Why: undici closes an idle connection after 4 s and a call's turns are further apart than that, so nearly every
 * turn opened a new connection on the critical path of the reply (against the real APIs: TCP + TLS handshakes).
 * It also costs more CPU per request and per streamed chunk, and aborting a finished undici response (every turn
 * ends with its actor stopped) is expensive. Here an idle socket stays pooled for `idleTimeoutMs`, an abort after
 * the response has ended is a no-op, and a request that meets a pooled socket the server had just closed is sent
 * once more on a fresh one (nothing was received for it).
 *
 * Only what the SDKs send is handled here (string or empty bodies, http/https URLs); anything else goes to the
 * built-in fetch unchanged.
 */
import http from 'node:http';
import https from 'node:https';

export interface KeepAliveFetchOptions {
  /** Pooled idle sockets are closed after this long. Default 30 s. */
  idleTimeoutMs?: number;
}

type Agents = { 'http:': http.Agent; 'https:': https.Agent };

export function createKeepAliveFetch(opts: KeepAliveFetchOptions = {}): typeof fetch {
  const idle = opts.idleTimeoutMs ?? 30_000;
  const agents: Agents = {
    'http:': new http.Agent({ keepAlive: true, timeout: idle, scheduling: 'lifo' }),
    'https:': new https.Agent({ keepAlive: true, timeout: idle, scheduling: 'lifo' }),
  };
  return function keepAliveFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const body = init.body;
    if (input instanceof Request || (body !== undefined && body !== null && typeof body !== 'string')) return fetch(input, init);
    const url = new URL(String(input));
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return fetch(input, init);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    const request: OutgoingRequest = { url, method: (init.method ?? 'GET').toUpperCase(), headers, body: body ?? undefined, signal: init.signal ?? undefined };
    return send(request, agents, true);
  };
}

interface OutgoingRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal | undefined;
}

function send(r: OutgoingRequest, agents: Agents, mayRetry: boolean): Promise<Response> {
  return new Promise((resolve, reject) => {
    if (r.signal?.aborted) return reject(abortError(r.signal));
    const lib = r.url.protocol === 'https:' ? https : http;
    const req = lib.request(r.url, { method: r.method, headers: r.headers, agent: agents[r.url.protocol as keyof Agents] });
    let res: http.IncomingMessage | null = null;
    const onAbort = (): void => {
      const err = abortError(r.signal);
      req.destroy(err);
      res?.destroy(err);
    };
    r.signal?.addEventListener('abort', onAbort, { once: true });
    const release = (): void => r.signal?.removeEventListener('abort', onAbort);

    req.on('response', (incoming) => {
      res = incoming;
      incoming.once('close', release);
      resolve(toResponse(incoming, r.method));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (res) return; // after the headers, errors surface through the body stream
      release();
      // A pooled socket the server closed while idle: nothing reached it, so the request is safe to send again.
      if (mayRetry && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') && !r.signal?.aborted) {
        resolve(send(r, agents, false));
        return;
      }
      reject(err);
    });
    req.end(r.body);
  });
}

function toResponse(res: http.IncomingMessage, method: string): Response {
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  const status = res.statusCode ?? 502;
  const noBody = method === 'HEAD' || status === 204 || status === 205 || status === 304;
  if (noBody) res.resume();
  return new Response(noBody ? null : bodyStream(res), { status, statusText: res.statusMessage ?? '', headers });
}

/** The response body as a web stream, paused while the reader is behind; errors worded as the built-in fetch's. */
function bodyStream(res: http.IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      res.on('data', (chunk: Buffer) => {
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
        if ((controller.desiredSize ?? 0) <= 0) res.pause();
      });
      res.once('end', () => controller.close());
      res.once('error', (err: Error) => {
        // undici reports a server that hangs up mid-body as "terminated (other side closed)"; say the same.
        const dropped = err.name !== 'AbortError' && (err as NodeJS.ErrnoException).code === 'ECONNRESET';
        controller.error(dropped ? new TypeError('terminated', { cause: new Error('other side closed') }) : err);
      });
    },
    pull() {
      res.resume();
    },
    cancel() {
      res.destroy();
    },
  });
}

/** What the built-in fetch rejects with on abort (the SDKs recognise it by name). */
function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error && reason.name === 'AbortError' ? reason : new DOMException('This operation was aborted', 'AbortError');
}
