/**
 * The HTTP connection pool both LLM SDKs use (their documented `fetchOptions.dispatcher` hook, with undici's Agent).
 *
 * Why: Node's built-in fetch keeps an idle connection for only 4 s, and a call's turns are further apart than that,
 * so nearly every turn would open a new connection on the critical path of the reply (against the real APIs: TCP +
 * TLS handshakes). Pooled sockets here stay warm for 30 s between turns.
 */
import { Agent } from 'undici';

export const llmHttpAgent = new Agent({
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 10 * 60_000,
});

/** Spread into an SDK client's options. */
export const llmFetchOptions = { fetchOptions: { dispatcher: llmHttpAgent } } as const;
