/**
 * Fixed phrases (greeting, re-prompt, apology, goodbye) synthesised once per process and replayed from memory, so a
 * `TTS.SAY` of a known phrase costs no Deepgram round trip. Audio is µ-law 8 kHz, ready for Twilio.
 */
import type { DeepgramClient } from './deepgram-client.js';
import { isRecord, speakConnectArgs } from './deepgram-messages.js';
import {} from './deepgram-reconnect.js';
import { errorMessage } from '../lib/logger.js';

export class PhraseCache {
  private readonly audio = new Map<string, Buffer>();

  /** A new cache holding `texts` (rejects if any phrase could not be synthesised). */
  static async warm(client: DeepgramClient, model: string, texts: readonly string[]): Promise<PhraseCache> {
    const cache = new PhraseCache();
    await cache.warm(client, model, texts);
    return cache;
  }

  get(text: string): Buffer | undefined {
    return this.audio.get(text);
  }

  has(text: string): boolean {
    return this.audio.has(text);
  }

  set(text: string, audio: Buffer): void {
    this.audio.set(text, audio);
  }

  get size(): number {
    return this.audio.size;
  }

  /**
   * Synthesise the phrases not cached yet (in parallel, one socket each). The ones that succeed are cached even when
   * others fail; the promise then rejects naming the failures, so the caller can log them and carry on.
   */
  async warm(client: DeepgramClient, model: string, texts: readonly string[], timeoutMs?: number): Promise<void> {
    const missing = [...new Set(texts)].filter((t) => t.trim().length > 0 && !this.audio.has(t));
    const results = await Promise.allSettled(missing.map((t) => synthesizePhrase(client, model, t, timeoutMs)));
    const failures: string[] = [];
    results.forEach((r, i) => {
      const text = missing[i] as string;
      if (r.status === 'fulfilled') this.audio.set(text, r.value);
      else failures.push(`"${text}": ${errorMessage(r.reason)}`);
    });
    if (failures.length > 0) throw new Error(`phrase synthesis failed for ${failures.join('; ')}`);
  }
}

/** One socket: Speak + Flush, collect the audio until Flushed, then Close. */
export async function synthesizePhrase(client: DeepgramClient, model: string, text: string, timeoutMs = 10_000): Promise<Buffer> {
  const socket = await client.speak.v1.connect(speakConnectArgs(model));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    // Blob bytes are read asynchronously: one chain keeps audio before the Flushed that follows it.
    let chain: Promise<void> = Promise.resolve();
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        if (socket.readyState === 1) socket.sendClose({ type: 'Close' });
        socket.close();
      } catch {
        // already closed
      }
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(() => finish(new Error(`TTS synthesis timed out after ${timeoutMs} ms`)), timeoutMs);
    const inOrder = (task: () => Promise<void> | void): void => {
      chain = chain.then(task).catch((err: unknown) => finish(new Error(errorMessage(err))));
    };
    socket.on('open', () => {
      try {
        socket.sendText({ type: 'Speak', text });
        socket.sendFlush({ type: 'Flush' });
      } catch (err) {
        finish(new Error(errorMessage(err)));
      }
    });
    socket.on('message', (msg: unknown) =>
      inOrder(async () => {
        if (done) return;
        if (msg instanceof Blob) chunks.push(Buffer.from(await msg.arrayBuffer()));
        else if (isRecord(msg) && msg.type === 'Flushed') finish();
      }),
    );
    socket.on('close', (e) => inOrder(() => finish(new Error(`TTS socket closed (${e.code}) before Flushed`))));
    socket.on('error', (err) => finish(err));
    socket.connect();
  });
}
