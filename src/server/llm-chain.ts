/**
 * The LLM providers a call may use, in order: `LLM_PROVIDER` with its model first, then each `LLM_FALLBACK` entry
 * (`provider:model`, comma-separated) not already listed. Also what the agent API calls to build a chain in code.
 */
import type { Logger } from '../../lib/logger.js';
import { createLlmClient } from '../../actors/llm-client.js';
import type { LlmProvider } from '../../actors/llm-types.js';
import { createFallbackLlmClient, type FallbackLlmClient, type LlmFallbackObserver } from '../../actors/llm-fallback.js';

export interface LlmTarget {
  provider: LlmProvider;
  model: string;
}

/** Where each provider's requests go and with which key. */
export type LlmCredentials = Readonly<Record<LlmProvider, { apiKey: string | undefined; baseURL: string | undefined }>>;

export interface LlmChainOptions {
  firstTokenTimeoutMs: number;
  cooldownMs: number;
  log: Logger;
  observer?: LlmFallbackObserver;
}

const PROVIDERS: readonly LlmProvider[] = ['openai', 'anthropic'];

/** `"anthropic:claude-haiku-4-5, openai:gpt-4o-mini"` → targets; throws an Error naming the bad entry. */
export function parseLlmTargets(spec: string): LlmTarget[] {
  const targets: LlmTarget[] = [];
  for (const raw of spec.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    const provider = entry.slice(0, colon).trim();
    const model = entry.slice(colon + 1).trim();
    if (colon < 0 || model === '' || !PROVIDERS.includes(provider as LlmProvider)) {
      throw new Error(`entry "${entry}" must be provider:model with provider openai or anthropic`);
    }
    targets.push({ provider: provider as LlmProvider, model });
  }
  return targets;
}

/** The primary first, then the fallbacks, without repeats. */
export function llmChain(primary: LlmTarget, fallbacks: readonly LlmTarget[]): LlmTarget[] {
  const chain: LlmTarget[] = [];
  for (const t of [primary, ...fallbacks]) {
    if (!chain.some((c) => c.provider === t.provider && c.model === t.model)) chain.push(t);
  }
  return chain;
}

/** One SDK client per target behind the fallback client. */
export function createLlmChain(targets: readonly LlmTarget[], credentials: LlmCredentials, opts: LlmChainOptions): FallbackLlmClient {
  const clients = targets.map((t) =>
    createLlmClient({
      provider: t.provider,
      model: t.model,
      apiKey: credentials[t.provider].apiKey ?? '',
      baseURL: credentials[t.provider].baseURL,
    }),
  );
  return createFallbackLlmClient({
    clients,
    firstTokenTimeoutMs: opts.firstTokenTimeoutMs,
    cooldownMs: opts.cooldownMs,
    log: opts.log,
    observer: opts.observer,
  });
}
