/** Small shared pieces of the Deepgram actors: message narrowing and the TTS connect arguments. */
import type { DeepgramClient } from './deepgram-client.js';

/** A parsed JSON control message (binary audio arrives as a Blob and is not one). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !(value instanceof Blob) && !Array.isArray(value);
}

type SpeakConnectArgs = Parameters<DeepgramClient['speak']['v1']['connect']>[0];

/** µ-law 8 kHz without a container: bytes Twilio can play as they are. */
export function speakConnectArgs(model: string): SpeakConnectArgs {
  return {
    model,
    encoding: 'mulaw',
    sample_rate: '8000',
    queryParams: { container: 'none' },
    // We reconnect ourselves (see deepgram-reconnect.ts).
    shouldReconnect: () => false,
    connectionTimeoutInSeconds: 5,
  };
}
