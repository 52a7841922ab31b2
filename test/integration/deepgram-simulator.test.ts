/**
 * The Deepgram simulator at the wire level, with a raw `ws` client: auth on upgrade, message shapes from
 * protocols.md, close codes, and the TTS flush rate-limit Warning.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startDeepgramSimulator, type DeepgramSimOptions, type DeepgramSimulator } from '../../offline/deepgram.js';
import { SpeechDecoder } from '../../offline/speech-codec.js';
import { delay, utterance } from './deepgram-harness.js';

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await delay(5);
  }
}

let sim: DeepgramSimulator | null = null;
afterEach(async () => {
  await sim?.close();
  sim = null;
});

interface Session {
  ws: WebSocket;
  messages: Record<string, unknown>[];
  binary: Buffer[];
  closed: Promise<{ code: number; reason: string }>;
}

async function open(path: string, opts: DeepgramSimOptions = {}, auth = 'Token k'): Promise<Session> {
  sim ??= await startDeepgramSimulator({ apiKey: 'k', ...opts });
  const ws = new WebSocket(`${sim.url}${path}`, { headers: { Authorization: auth } });
  const messages: Record<string, unknown>[] = [];
  const binary: Buffer[] = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) binary.push(data as Buffer);
    else messages.push(JSON.parse(String(data)) as Record<string, unknown>);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages, binary, closed };
}

const LISTEN = '/v1/listen?model=nova-2&encoding=mulaw&sample_rate=8000&channels=1&interim_results=true&endpointing=300&utterance_end_ms=1000&vad_events=true&smart_format=true';

describe('deepgram simulator wire protocol', () => {
  it('rejects a missing or wrong key with HTTP 401 on upgrade', async () => {
    sim = await startDeepgramSimulator({ apiKey: 'k' });
    for (const headers of [{}, { Authorization: 'Token nope' }]) {
      const ws = new WebSocket(`${sim.url}/v1/listen`, { headers });
      ws.on('error', () => {});
      const status = await new Promise<number>((resolve) =>
        ws.on('unexpected-response', (req, res) => {
          resolve(res.statusCode ?? 0);
          req.destroy();
        }),
      );
      expect(status).toBe(401);
    }
    expect(sim.stats.authRejected).toBe(2);
  });

  it('listen: Results, SpeechStarted and UtteranceEnd have the documented shapes; CloseStream ends with Metadata and 1000', async () => {
    const s = await open(LISTEN);
    s.ws.send(utterance('hello world', 1300));
    s.ws.send(JSON.stringify({ type: 'KeepAlive' }));
    s.ws.send(JSON.stringify({ type: 'CloseStream' }));
    const { code } = await s.closed;
    expect(code).toBe(1000);
    const types = s.messages.map((m) => m.type);
    expect(types[0]).toBe('SpeechStarted');
    expect(types).toContain('UtteranceEnd');
    expect(types.at(-1)).toBe('Metadata');
    const speechFinal = s.messages.find((m) => m.type === 'Results' && m.speech_final === true);
    expect(speechFinal).toMatchObject({
      type: 'Results',
      channel_index: [0, 1],
      is_final: true,
      speech_final: true,
      channel: { alternatives: [{ transcript: 'hello world', words: [{ word: 'hello', punctuated_word: 'hello' }, { word: 'world' }] }] },
      metadata: { request_id: expect.any(String), model_info: expect.any(Object), model_uuid: expect.any(String) },
    });
    expect(typeof speechFinal?.start).toBe('number');
    expect(typeof speechFinal?.duration).toBe('number');
    expect(s.messages.find((m) => m.type === 'SpeechStarted')).toMatchObject({ channel: [0, 1], timestamp: expect.any(Number) });
    expect(s.messages.find((m) => m.type === 'UtteranceEnd')).toMatchObject({ channel: [0, 1], last_word_end: expect.any(Number) });
    expect(s.messages.at(-1)).toMatchObject({ type: 'Metadata', transaction_key: 'deprecated', channels: 1 });
    expect(sim?.stats.keepAlives).toBe(1);
  });

  it('listen: no interim results or UtteranceEnd unless interim_results=true', async () => {
    const s = await open('/v1/listen?encoding=mulaw&sample_rate=8000&endpointing=300&utterance_end_ms=1000');
    s.ws.send(utterance('quiet please', 1500));
    s.ws.send(JSON.stringify({ type: 'CloseStream' }));
    await s.closed;
    expect(s.messages.some((m) => m.type === 'Results' && m.is_final === false)).toBe(false);
    expect(s.messages.some((m) => m.type === 'UtteranceEnd' || m.type === 'SpeechStarted')).toBe(false);
    expect(s.messages.some((m) => m.type === 'Results' && m.speech_final === true)).toBe(true);
  });

  it('listen: closes 1011 NET-0001 when idle, 1008 on an unknown type; an empty binary frame is counted', async () => {
    const idle = await open(LISTEN, { idleTimeoutMs: 200 });
    const c1 = await idle.closed;
    expect(c1.code).toBe(1011);
    expect(c1.reason).toContain('NET-0001');
    const bad = await open(LISTEN);
    bad.ws.send(JSON.stringify({ type: 'Nonsense' }));
    expect((await bad.closed).code).toBe(1008);
    const empty = await open(LISTEN);
    empty.ws.send(Buffer.alloc(0));
    expect((await empty.closed).code).toBe(1000);
    expect(sim?.stats.emptyFrames).toBe(1);
  });

  it('speak: Metadata on open, audio then Flushed, Cleared, Close → 1000, Warning past the flush limit', async () => {
    const s = await open('/v1/speak?model=aura-2-thalia-en&encoding=mulaw&sample_rate=8000&container=none', {
      ttsFirstByteMs: 0,
      flushLimit: { count: 2, windowMs: 60_000 },
    });
    s.ws.send(JSON.stringify({ type: 'Speak', text: 'Hi.' }));
    for (let i = 0; i < 3; i++) s.ws.send(JSON.stringify({ type: 'Flush' }));
    await until(() => s.messages.filter((m) => m.type === 'Flushed').length === 3);
    expect(s.messages[0]).toMatchObject({ type: 'Metadata', model_name: 'aura-2-thalia-en', request_id: expect.any(String) });
    expect(s.messages.filter((m) => m.type === 'Flushed')).toEqual([0, 1, 2].map((n) => ({ type: 'Flushed', sequence_id: n })));
    expect(s.messages.some((m) => m.type === 'Warning' && typeof m.description === 'string' && typeof m.code === 'string')).toBe(true);
    // Only the first flush had text: all audio precedes the first Flushed.
    expect(s.binary.length).toBeGreaterThan(0);
    expect(new SpeechDecoder().push(Buffer.concat(s.binary))).toBe('Hi.');

    s.ws.send(JSON.stringify({ type: 'Speak', text: 'A much longer text that will be cleared.' }));
    s.ws.send(JSON.stringify({ type: 'Flush' }));
    s.ws.send(JSON.stringify({ type: 'Clear' }));
    await until(() => s.messages.some((m) => m.type === 'Cleared'));
    expect(s.messages.at(-1)).toMatchObject({ type: 'Cleared', sequence_id: expect.any(Number) });
    s.ws.send(JSON.stringify({ type: 'Close' }));
    expect((await s.closed).code).toBe(1000);
    expect(s.messages.filter((m) => m.type === 'Flushed')).toHaveLength(3);

    const bad = await open('/v1/speak');
    bad.ws.send(JSON.stringify({ type: 'Sing' }));
    expect((await bad.closed).code).toBe(1008);
  });

  it('dropConnections destroys sockets without a close frame (1006 at the client)', async () => {
    const s = await open(LISTEN);
    expect(sim?.dropConnections('speak')).toBe(0);
    expect(sim?.dropConnections()).toBe(1);
    expect((await s.closed).code).toBe(1006);
  });
});
