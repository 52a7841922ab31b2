/**
 * An LlmClient over an ordered list of LlmClients (provider + model each). A request goes to the first one that is
 * not cooling down; when it fails before its first output — connection refused, an HTTP error (429, 5xx, any
 * other), a stream that ends early, or nothing within `firstTokenTimeoutMs` — the same request goes to the next,
 * and the one that failed is skipped for `cooldownMs` by every call of the process. A failure after output was
 * streamed is thrown as before (the machine keeps what was heard and apologises): retrying then would speak twice.
 *
 * The first-output timeout applies to every candidate but the last one, whose wait the call machine's own LLM
 * timeout bounds: with the defaults (2 s here, 8 s there) a fallback still has ≥ 4 s for its first token.
 * Providers in cool-down are still tried, after the others, rather than not at all.
 *
 * The wrapper works on `LlmClient.stream(request, signal)` and never looks inside the request, so it composes
 * with whatever the request carries (tools, tool results).
 */
import type { Logger } from '../lib/logger.js';
import type { LlmClient, LlmStreamEvent } from './llm-types.js';
import { describeLlmError } from './llm.js';

/** Why a provider failed before its first output (`mid_stream`: after it, no retry). */
export type LlmFailureKind = 'rate_limit' | 'server' | 'client' | 'connection' | 'timeout' | 'mid_stream';

/** Counters for metrics (src/ wires them to Prometheus; actors never import src/). */
export interface LlmFallbackObserver {
  request(provider: string): void;
  failure(provider: string, kind: LlmFailureKind): void;
  fallback(from: string, to: string): void;
}

export interface LlmFallbackOptions {
  /** In order of preference; at least one. */
  clients: readonly LlmClient[];
  /** Request → first output before the next provider is tried. Default 2000. */
  firstTokenTimeoutMs?: number;
  /** How long a provider that failed is skipped. Default 30 000. */
  cooldownMs?: number;
  /** Process-wide lines (use `forCall` for lines with the call's id). */
  log: Logger;
  observer?: LlmFallbackObserver;
  /** Milliseconds clock for cool-downs (tests). Default Date.now. */
  clock?: () => number;
}

export interface FallbackLlmClient extends LlmClient {
  /** The same client, logging with a call's logger; `provider`/`model` name the provider of that call's last request. */
  forCall(log: Logger): LlmClient;
  /** `provider:model` of each client, in order. */
  readonly labels: readonly string[];
  /** Labels currently cooling down. */
  cooling(): string[];
}

export const DEFAULT_FIRST_TOKEN_TIMEOUT_MS = 2000;
export const DEFAULT_LLM_COOLDOWN_MS = 30_000;

export function llmLabel(client: Pick<LlmClient, 'provider' | 'model'>): string {
  return `${client.provider}:${client.model}`;
}

type StreamRequest = Parameters<LlmClient['stream']>[0];

export function createFallbackLlmClient(opts: LlmFallbackOptions): FallbackLlmClient {
  const primary = opts.clients[0];
  if (primary === undefined) throw new Error('an LLM fallback list needs at least one client');
  const clients = opts.clients;
  const labels = clients.map(llmLabel);
  const timeoutMs = opts.firstTokenTimeoutMs ?? DEFAULT_FIRST_TOKEN_TIMEOUT_MS;
  const cooldownMs = opts.cooldownMs ?? DEFAULT_LLM_COOLDOWN_MS;
  const clock = opts.clock ?? Date.now;
  /** label → time its cool-down ends. */
  const coolingUntil = new Map<string, number>();

  /** Healthy clients in order, then cooling ones by the end of their cool-down. */
  const candidates = (): LlmClient[] => {
    const at = clock();
    const healthy: LlmClient[] = [];
    const cooling: { client: LlmClient; until: number }[] = [];
    clients.forEach((client, i) => {
      const until = coolingUntil.get(labels[i] as string);
      if (until !== undefined && until > at) cooling.push({ client, until });
      else healthy.push(client);
    });
    cooling.sort((a, b) => a.until - b.until);
    return [...healthy, ...cooling.map((c) => c.client)];
  };

  const view = (log: Logger): LlmClient => {
    let current: LlmClient = primary;
    return {
      get provider() {
        return current.provider;
      },
      get model() {
        return current.model;
      },
      stream(request: StreamRequest, signal: AbortSignal): AsyncIterable<LlmStreamEvent> {
        return run(request, signal, log, (c) => (current = c));
      },
    };
  };

  async function* run(
    request: StreamRequest,
    signal: AbortSignal,
    log: Logger,
    using: (client: LlmClient) => void,
  ): AsyncGenerator<LlmStreamEvent> {
    const order = candidates();
    if (order[0] !== primary) log.debug('llm: primary provider cooling down', { provider: labels[0], using: llmLabel(order[0] as LlmClient) });
    let lastError: unknown;
    for (let i = 0; i < order.length; i++) {
      const client = order[i] as LlmClient;
      const label = llmLabel(client);
      const isLast = i === order.length - 1;
      using(client);
      opts.observer?.request(label);
      const outcome = yield* attempt(client, request, signal, isLast ? undefined : timeoutMs);
      if (outcome.status !== 'failed') {
        if (outcome.status === 'served') coolingUntil.delete(label);
        return;
      }
      lastError = outcome.error;
      opts.observer?.failure(label, outcome.kind);
      coolingUntil.set(label, clock() + cooldownMs);
      const next = order[i + 1];
      log.warn(next ? 'llm provider failed before its first output; trying the next' : 'llm provider failed before its first output; none left', {
        provider: label,
        kind: outcome.kind,
        error: describeLlmError(label, outcome.error),
        next: next ? llmLabel(next) : undefined,
        cooldownMs,
      });
      if (next) opts.observer?.fallback(label, llmLabel(next));
    }
    throw lastError;
  }

  type Outcome = { status: 'served' | 'aborted' } | { status: 'failed'; kind: LlmFailureKind; error: unknown };

  /** One provider: yields its events; reports a failure before the first output instead of throwing it. */
  async function* attempt(
    client: LlmClient,
    request: StreamRequest,
    signal: AbortSignal,
    firstOutputTimeoutMs: number | undefined,
  ): AsyncGenerator<LlmStreamEvent, Outcome> {
    if (signal.aborted) return { status: 'aborted' };
    const controller = new AbortController();
    const forward = (): void => controller.abort();
    signal.addEventListener('abort', forward, { once: true });
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined =
      firstOutputTimeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            controller.abort();
          }, firstOutputTimeoutMs);
    let started = false;
    try {
      for await (const event of client.stream(request, controller.signal)) {
        if (!started) {
          started = true;
          clearTimeout(timer);
          timer = undefined;
        }
        yield event;
      }
      if (signal.aborted) return { status: 'aborted' };
      if (timedOut) return { status: 'failed', kind: 'timeout', error: new Error(`no output within ${firstOutputTimeoutMs} ms`) };
      return { status: 'served' };
    } catch (err) {
      if (signal.aborted) return { status: 'aborted' };
      if (timedOut) return { status: 'failed', kind: 'timeout', error: new Error(`no output within ${firstOutputTimeoutMs} ms`) };
      if (started) {
        opts.observer?.failure(llmLabel(client), 'mid_stream');
        throw err;
      }
      return { status: 'failed', kind: classifyLlmFailure(err), error: err };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', forward);
    }
  }

  const processView = view(opts.log);
  return {
    get provider() {
      return processView.provider;
    },
    get model() {
      return processView.model;
    },
    stream: (request, signal) => processView.stream(request, signal),
    forCall: view,
    labels,
    cooling: () => {
      const at = clock();
      return labels.filter((l) => (coolingUntil.get(l) ?? 0) > at);
    },
  };
}

/** Both SDKs' APIError carry `status` (undefined for connection errors); anything without one is a connection problem. */
export function classifyLlmFailure(err: unknown): Exclude<LlmFailureKind, 'timeout' | 'mid_stream'> {
  const status = typeof err === 'object' && err !== null ? (err as { status?: unknown }).status : undefined;
  if (typeof status !== 'number') return 'connection';
  if (status === 429) return 'rate_limit';
  if (status >= 500) return 'server';
  return 'client';
}

