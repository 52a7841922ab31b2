/**
 * The one Deepgram client of the process (`@deepgram/sdk` v5). `baseUrl` (e.g. `ws://127.0.0.1:PORT` of the local
 * simulator) redirects the STT (`/v1/listen`, Flux `/v2/listen`) and TTS (`/v1/speak`) sockets.
 */
import { DeepgramClient } from '@deepgram/sdk';

export type { DeepgramClient } from '@deepgram/sdk';

export interface DeepgramClientOptions {
  apiKey: string;
  baseUrl?: string;
}

export function createDeepgramClient(opts: DeepgramClientOptions): DeepgramClient {
  return new DeepgramClient({ apiKey: opts.apiKey, ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}) });
}

/** The socket types the SDK hands out (not exported by name from the SDK's entry point). */
export type ListenSocket = Awaited<ReturnType<DeepgramClient['listen']['v1']['connect']>>;
/** Deepgram Flux, `/v2/listen`. */
export type FluxSocket = Awaited<ReturnType<DeepgramClient['listen']['v2']['connect']>>;
export type SpeakSocket = Awaited<ReturnType<DeepgramClient['speak']['v1']['connect']>>;
