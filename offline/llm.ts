/**
 * A local, wire-faithful stand-in for OpenAI chat completions (`POST /v1/chat/completions`) and Anthropic messages
 * (`POST /v1/messages`), streaming (SSE) or not, on one loopback HTTP server. Replies come from a script or a
 * deterministic echo, paced by a time to first token and a token rate. It notices when a client goes away
 * mid-reply (the socket closes before the end) and stops generating.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { now } from '../lib/clock.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import { anthropicError, anthropicErrorForStatus, anthropicMessage, anthropicStreamFrames, parseAnthropicRequest } from './llm-anthropic-wire.js';
import { openAiAuthError, openAiCompletion, openAiError, openAiStreamFrames, parseOpenAiRequest } from './llm-openai-wire.js';
import { planReply, type LlmScriptEntry, type PlannedReply } from './llm-script.js';
import { isWireError, type LlmSimProvider, type ParsedLlmRequest, type SseFrame, type WireError } from './llm-wire.js';

export type { LlmScriptEntry, LlmScriptToolCall, LlmSeen, LlmMidStreamFailure, LlmHang } from './llm-script.js';
export { defaultReplyText, defaultToolReplyText } from './llm-script.js';
export type { LlmSimProvider, ParsedLlmRequest, SeenToolResult } from './llm-wire.js';

export interface LlmSimOptions {
  /** Default 0 (any free port). Always bound to 127.0.0.1. */
  port?: number;
  /** Delay from request to the first token. Default 100 ms. */
  firstTokenMs?: number;
  /** Token rate after the first token (a token ≈ a word or punctuation piece). Default 50. */
  tokensPerSecond?: number;
  /** Scripted replies, first match wins. The simulator keeps its own copy (`sim.script`). */
  script?: LlmScriptEntry[];
  /** When set, only this key is accepted; otherwise any non-empty key is. */
  apiKey?: string;
  log?: Logger;
}

export interface RecordedLlmRequest extends ParsedLlmRequest {
  startedAt: number;
  /** How the key came: `Authorization: Bearer` or Anthropic's `x-api-key`. */
  auth: 'bearer' | 'x-api-key';
  /** Anthropic's `anthropic-version` header. */
  anthropicVersion: string | undefined;
}

export interface LlmSimStats {
  requests: number;
  aborts: number;
  completed: number;
  /** Scripted HTTP errors and mid-stream failures. */
  failed: number;
  /** 401/400/404 answers to bad requests. */
  rejected: number;
}

/**
 * Observer events: `'request' {provider, at}`, `'firstToken' {provider, at}`, `'done' {provider, at}`,
 * `'abort' {provider, at, tokensSent}` (the client went away before the end).
 */
export interface LlmSimulator {
  readonly port: number;
  /** `http://127.0.0.1:PORT/v1`: the `openai` SDK's baseURL. */
  readonly openaiBaseUrl: string;
  /** `http://127.0.0.1:PORT`: the `@anthropic-ai/sdk` baseURL. */
  readonly anthropicBaseUrl: string;
  readonly requests: RecordedLlmRequest[];
  readonly observer: EventEmitter;
  readonly stats: LlmSimStats;
  /** The live script: push entries at any time. */
  readonly script: LlmScriptEntry[];
  close(): Promise<void>;
}

const BODY_LIMIT_BYTES = 4 * 1024 * 1024;

/** The LLM's pace when not set: what src/harness/sim-speed.ts scales for the tests. */
export const LLM_PACE_DEFAULTS = { firstTokenMs: 100, tokensPerSecond: 50 } as const;

export async function startLlmSimulator(opts: LlmSimOptions = {}): Promise<LlmSimulator> {
  const log = opts.log ?? silentLogger;
  const firstTokenMs = opts.firstTokenMs ?? LLM_PACE_DEFAULTS.firstTokenMs;
  const tokensPerSecond = opts.tokensPerSecond ?? LLM_PACE_DEFAULTS.tokensPerSecond;
  const script: LlmScriptEntry[] = [...(opts.script ?? [])];
  const requests: RecordedLlmRequest[] = [];
  const observer = new EventEmitter();
  const stats: LlmSimStats = { requests: 0, aborts: 0, completed: 0, failed: 0, rejected: 0 };
  /** Cancels each reply in flight (clears its timers) when the simulator closes. */
  const inFlight = new Set<() => void>();
  let closing = false;

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const reject = (res: ServerResponse, error: WireError): void => {
    stats.rejected += 1;
    sendJson(res, error.status, error.body, error.headers);
  };

  /** Runs one reply: paced SSE frames or a delayed JSON body, abort-aware. */
  const serveReply = (res: ServerResponse, req: ParsedLlmRequest, reply: PlannedReply): void => {
    const provider = req.provider;
    const built = provider === 'openai' ? openAiStreamFrames(req, reply) : anthropicStreamFrames(req, reply);
    const batches = toBatches(built.frames);
    const firstDelay = reply.firstTokenMs ?? firstTokenMs;
    const intervalMs = 1000 / Math.max(0.001, reply.tokensPerSecond ?? tokensPerSecond);
    const pacedTotal = batches.length - 1;
    const failAfter = reply.failMidStream ? Math.max(1, Math.floor(pacedTotal / 2)) : Number.POSITIVE_INFINITY;
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    let tokensSent = 0;

    const finish = (): void => {
      finished = true;
      if (timer) clearTimeout(timer);
      inFlight.delete(finish);
    };
    inFlight.add(finish);
    res.on('close', () => {
      if (finished) return;
      finish();
      if (closing) return;
      stats.aborts += 1;
      log.debug('llm simulator: client went away', { provider, tokensSent });
      observer.emit('abort', { provider, at: now(), tokensSent });
    });

    const fail = (): void => {
      finish();
      stats.failed += 1;
      log.debug('llm simulator: failing mid-reply', { provider, mode: reply.failMidStream, tokensSent });
      if (!req.stream || reply.failMidStream === 'disconnect') res.destroy();
      else res.end(reply.failMidStream === 'error-event' ? built.errorFrame : undefined);
    };
    const complete = (): void => {
      finish();
      stats.completed += 1;
      observer.emit('done', { provider, at: now() });
    };

    // A hung provider: nothing more comes until the client gives up (the close handler above counts it).
    if (reply.hang === 'headers' || (reply.hang && !req.stream)) return;
    if (!req.stream) {
      timer = setTimeout(() => {
        if (reply.failMidStream) return fail();
        sendJson(res, 200, provider === 'openai' ? openAiCompletion(req, reply) : anthropicMessage(req, reply), idHeader(provider));
        observer.emit('firstToken', { provider, at: now() });
        complete();
      }, firstDelay + pacedTotal * intervalMs);
      return;
    }

    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      ...idHeader(provider),
    });
    res.write(batches[0] ?? '');
    if (reply.hang === 'first-token') return;
    let next = 1;
    const sendNext = (): void => {
      timer = undefined;
      if (finished) return;
      if (tokensSent >= failAfter) return fail();
      res.write(batches[next] ?? '');
      next += 1;
      tokensSent += 1;
      if (tokensSent === 1) observer.emit('firstToken', { provider, at: now() });
      if (next >= batches.length) {
        res.end();
        complete();
        return;
      }
      timer = setTimeout(sendNext, intervalMs);
    };
    if (batches.length === 1) {
      res.end();
      complete();
    } else {
      timer = setTimeout(sendNext, firstDelay);
    }
  };

  const handle = async (httpReq: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (httpReq.url ?? '').split('?')[0];
    const provider: LlmSimProvider | undefined =
      httpReq.method === 'POST' && path === '/v1/chat/completions' ? 'openai' : httpReq.method === 'POST' && path === '/v1/messages' ? 'anthropic' : undefined;
    if (!provider) {
      return reject(res, { status: 404, headers: {}, body: { error: { message: `Unknown request URL: ${httpReq.method ?? ''} ${path ?? ''}`, type: 'invalid_request_error' } } });
    }
    stats.requests += 1;
    observer.emit('request', { provider, at: now() });

    const auth = checkAuth(provider, httpReq, opts.apiKey);
    if (auth.error) return reject(res, auth.error);
    let body: unknown;
    try {
      body = JSON.parse(await readBody(httpReq));
    } catch {
      return reject(res, provider === 'openai' ? openAiError(400, 'We could not parse the JSON body of your request.') : anthropicError(400, 'invalid_request_error', 'The request body is not valid JSON.'));
    }
    const parsed = provider === 'openai' ? parseOpenAiRequest(body) : parseAnthropicRequest(body);
    if (isWireError(parsed)) return reject(res, parsed);
    const version = httpReq.headers['anthropic-version'];
    requests.push({ ...parsed, startedAt: now(), auth: auth.style, anthropicVersion: typeof version === 'string' ? version : undefined });

    const seen = { lastUserText: parsed.lastUserText, toolResults: parsed.toolResults, toolNames: parsed.toolNames };
    const reply = planReply(script, seen, { provider, model: parsed.model });
    log.debug('llm simulator: request', {
      provider,
      model: parsed.model,
      stream: parsed.stream,
      messages: parsed.messages.length,
      toolResults: parsed.toolResults.length,
    });
    if (reply.error) {
      stats.failed += 1;
      const error = provider === 'openai' ? openAiError(reply.error.status, reply.error.message) : anthropicErrorForStatus(reply.error.status, reply.error.message);
      return sendJson(res, error.status, error.body, error.headers);
    }
    serveReply(res, parsed, reply);
  };

  const server = createServer((httpReq, res) => {
    handle(httpReq, res).catch((err: unknown) => {
      log.warn('llm simulator: request failed', { error: String(err) });
      if (!res.headersSent) sendJson(res, 500, { error: { message: 'simulator error', type: 'server_error' } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info('llm simulator listening', { port });

  return {
    port,
    openaiBaseUrl: `http://127.0.0.1:${port}/v1`,
    anthropicBaseUrl: `http://127.0.0.1:${port}`,
    requests,
    observer,
    stats,
    script,
    async close() {
      closing = true;
      for (const cancel of [...inFlight]) cancel();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Groups frames so each paced frame starts a batch; batch 0 holds what precedes the first token. */
function toBatches(frames: readonly SseFrame[]): string[] {
  const batches: string[] = [''];
  for (const frame of frames) {
    if (frame.paced) batches.push(frame.text);
    else batches[batches.length - 1] += frame.text;
  }
  return batches;
}

function idHeader(provider: LlmSimProvider): Record<string, string> {
  const id = `req_${Math.random().toString(36).slice(2, 14)}`;
  return provider === 'openai' ? { 'x-request-id': id } : { 'request-id': id };
}

function checkAuth(
  provider: LlmSimProvider,
  req: IncomingMessage,
  expectedKey: string | undefined,
): { style: 'bearer' | 'x-api-key'; error?: WireError } {
  const authorization = req.headers['authorization'];
  const bearer = typeof authorization === 'string' && authorization.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
  const valid = (key: string | undefined): boolean => key !== undefined && key !== '' && (expectedKey === undefined || key === expectedKey);
  if (provider === 'openai') {
    return valid(bearer) ? { style: 'bearer' } : { style: 'bearer', error: openAiAuthError(typeof authorization === 'string' ? authorization : undefined) };
  }
  // Anthropic takes `x-api-key`; the installed SDK sends its key as `Authorization: Bearer`, which the API accepts too.
  const headerKey = req.headers['x-api-key'];
  const apiKey = typeof headerKey === 'string' ? headerKey : undefined;
  const style = apiKey !== undefined ? 'x-api-key' : 'bearer';
  const key = apiKey ?? bearer;
  if (key === undefined || key === '') return { style, error: anthropicError(401, 'authentication_error', 'x-api-key header is required') };
  if (!valid(key)) return { style, error: anthropicError(401, 'authentication_error', 'invalid x-api-key') };
  if (typeof req.headers['anthropic-version'] !== 'string') {
    return { style, error: anthropicError(400, 'invalid_request_error', 'anthropic-version: header is required') };
  }
  return { style };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
