/**
 * A transparent HTTP tap between the server and the LLM simulator. The simulator only reports its first token, but
 * the reply can start only once the first sentence is complete, so the benchmark needs to know when the token that
 * completed it went out. The tap forwards every byte unchanged and timestamps, per request:
 * - `receivedAt`: the server's request arrived (headers parsed);
 * - `flushTokenAt`: the SSE chunk was written to the server whose text makes the call machine's own reply planner
 *   (`addReplyText`, the same pure function the machine runs) emit its first TTS Flush.
 * Everything between those two is the simulated provider's time; everything around them is the server's.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { now } from '../lib/clock.js';
import { addReplyText, startReply } from '../machines/reply.js';
import type { AgentSpeech } from '../machines/context.js';

export interface TappedRequest {
  receivedAt: number;
  lastUserText: string;
  /** When the chunk that completed the first flushable sentence was written to the server. */
  flushTokenAt: number | null;
  endedAt: number | null;
  /** The server went away before the end (barge-in abort). */
  aborted: boolean;
}

export interface LlmTap {
  /** The `openai` SDK base URL to give the server (`…/v1`). */
  readonly openaiBaseUrl: string;
  readonly requests: TappedRequest[];
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

export async function startLlmTap(upstreamPort: number): Promise<LlmTap> {
  const requests: TappedRequest[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const tapped: TappedRequest = { receivedAt: now(), lastUserText: '', flushTokenAt: null, endedAt: null, aborted: false };
    requests.push(tapped);
    const body: Buffer[] = [];
    req.on('data', (chunk: Buffer) => body.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(body);
      tapped.lastUserText = lastUserText(raw);
      const headers = { ...req.headers, host: `127.0.0.1:${upstreamPort}`, 'content-length': String(raw.length) };
      const upstream = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers, agent }, (up) => {
        const outHeaders: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) outHeaders[k] = v;
        res.writeHead(up.statusCode ?? 502, outHeaders);
        const watcher = new FirstFlushWatcher();
        let lastChunkAt: number | null = null;
        up.on('data', (chunk: Buffer) => {
          res.write(chunk);
          const at = (lastChunkAt = now());
          if (tapped.flushTokenAt === null && watcher.push(chunk.toString('utf8'))) tapped.flushTokenAt = at;
        });
        up.on('end', () => {
          res.end();
          tapped.endedAt = now();
          // A reply with no sentence end is flushed on LLM.DONE, i.e. by the last chunk.
          tapped.flushTokenAt ??= lastChunkAt;
        });
        up.on('error', () => res.destroy());
      });
      upstream.on('error', () => res.destroy());
      res.on('close', () => {
        if (tapped.endedAt === null) {
          tapped.aborted = true;
          upstream.destroy();
        }
      });
      upstream.end(raw);
    });
  };

  const server = http.createServer(handle);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    openaiBaseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Parses the SSE text as it streams and feeds each content delta to the machine's reply planner. */
class FirstFlushWatcher {
  private pending = '';
  private speech: AgentSpeech = startReply();

  /** True once the text so far makes the planner flush its first segment. */
  push(text: string): boolean {
    this.pending += text;
    let flushed = false;
    let end: number;
    while ((end = this.pending.indexOf('\n\n')) >= 0) {
      const event = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
        const delta = contentDelta(line.slice(6));
        if (delta === '') continue;
        const plan = addReplyText(this.speech, delta, 1);
        this.speech = plan.speech;
        if (plan.commands.some((c) => c.type === 'TTS.FLUSH')) flushed = true;
      }
    }
    return flushed;
  }
}

function contentDelta(json: string): string {
  try {
    const chunk = JSON.parse(json) as { choices?: { delta?: { content?: unknown } }[] };
    const content = chunk.choices?.[0]?.delta?.content;
    return typeof content === 'string' ? content : '';
  } catch {
    return '';
  }
}

function lastUserText(raw: Buffer): string {
  try {
    const body = JSON.parse(raw.toString('utf8')) as { messages?: { role?: unknown; content?: unknown }[] };
    const users = (body.messages ?? []).filter((m) => m.role === 'user');
    const content = users[users.length - 1]?.content;
    return typeof content === 'string' ? content : '';
  } catch {
    return '';
  }
}
