/**
 * The TTS actor and the phrase cache on the real @deepgram/sdk against the Deepgram simulator over loopback.
 * A recording pipe sink stands in for the transport: it decodes the simulated-speech audio back to text, so each
 * test knows exactly which words went out before which mark.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TtsCommand } from '../../machines/events.js';
import { MediaPipe } from '../../actors/media-pipe.js';
import { createDeepgramClient, type DeepgramClient } from '../../actors/deepgram-client.js';
import { createDeepgramTts } from '../../actors/deepgram-tts.js';
import { PhraseCache, synthesizePhrase } from '../../actors/phrase-cache.js';
import { silentLogger } from '../../lib/logger.js';
import { SpeechDecoder } from '../../offline/speech-codec.js';
import { startDeepgramSimulator, type DeepgramSimOptions, type DeepgramSimulator } from '../../offline/deepgram.js';
import { delay, nextSimEvent, RecordingSink, runChild, type ChildHarness } from './deepgram-harness.js';

let sim: DeepgramSimulator | null = null;
let harness: ChildHarness<TtsCommand> | null = null;

afterEach(async () => {
  harness?.stop();
  harness = null;
  await sim?.close();
  sim = null;
});

async function setup(simOpts: DeepgramSimOptions = {}, opts: { cache?: PhraseCache; warm?: string[]; apiKey?: string } = {}) {
  sim = await startDeepgramSimulator({ apiKey: 'test-key', ttsFirstByteMs: 10, ...simOpts });
  const client = createDeepgramClient({ apiKey: opts.apiKey ?? 'test-key', baseUrl: sim.url });
  if (opts.cache && opts.warm) await opts.cache.warm(client, 'aura-2-thalia-en', opts.warm);
  const pipe = new MediaPipe();
  const sink = new RecordingSink();
  pipe.onOutbound(sink);
  harness = runChild<TtsCommand>(createDeepgramTts({ client, pipe, log: silentLogger, model: 'aura-2-thalia-en', ...(opts.cache ? { cache: opts.cache } : {}) }));
  return { sim, client, sink, harness };
}

const LONG =
  'This is a rather long answer that keeps going for quite a while so that there is plenty of audio still to come ' +
  'when the caller decides to interrupt the agent in the middle of it, which callers often do.';

describe('deepgram TTS actor ⇄ simulator', () => {
  it('forwards the audio of a flushed segment, then its mark', async () => {
    const { harness: h, sink, sim: s } = await setup({ ttsChunkBytes: 400 });
    const opened = nextSimEvent(s, 'speak.open');
    // Sent before the socket is open: queued.
    h.send({ type: 'TTS.SPEAK', text: 'Hello, how can I help ' });
    h.send({ type: 'TTS.SPEAK', text: 'you today?' });
    h.send({ type: 'TTS.FLUSH', segment: 'seg-1' });
    await sink.waitForMark('seg-1');
    expect(sink.textBeforeMark.get('seg-1')).toBe('Hello, how can I help you today?');
    expect(sink.items[0]?.kind).toBe('audio');
    expect(sink.items.at(-1)).toEqual({ kind: 'mark', name: 'seg-1' });
    expect(h.of('TTS.FIRST_AUDIO')).toHaveLength(1);
    expect(s.stats.speakConnections).toBe(1);
    expect((await opened).params).toMatchObject({ model: 'aura-2-thalia-en', encoding: 'mulaw', sample_rate: '8000', container: 'none' });
  });

  it('keeps every mark right after its own audio across segments', async () => {
    const { harness: h, sink } = await setup({ ttsChunkBytes: 300, ttsChunkIntervalMs: 0 });
    h.send({ type: 'TTS.SPEAK', text: 'First sentence.' });
    h.send({ type: 'TTS.FLUSH', segment: 's1' });
    h.send({ type: 'TTS.SPEAK', text: 'Second one.' });
    h.send({ type: 'TTS.FLUSH', segment: 's2' });
    h.send({ type: 'TTS.SAY', text: 'Third, said directly.', segment: 's3' });
    await sink.waitForMark('s3');
    expect(sink.marks).toEqual(['s1', 's2', 's3']);
    expect(sink.textBeforeMark.get('s1')).toBe('First sentence.');
    expect(sink.textBeforeMark.get('s2')).toBe('Second one.');
    expect(sink.textBeforeMark.get('s3')).toBe('Third, said directly.');
    expect(sink.tail).toBe('');
  });

  it('Clear stops the audio, forgets the pending segment, reports TTS.CLEARED, and speech resumes after', async () => {
    // Deepgram takes 100 ms to act on the Clear: audio keeps arriving meanwhile and must be dropped.
    const { harness: h, sink, sim: s } = await setup({ ttsChunkBytes: 800, ttsChunkIntervalMs: 20, ttsClearDelayMs: 100 });
    h.send({ type: 'TTS.SPEAK', text: LONG });
    h.send({ type: 'TTS.FLUSH', segment: 'long' });
    await h.waitFor('TTS.FIRST_AUDIO');
    const clearAtSim = nextSimEvent(s, 'speak.clear');
    const clearedAtSim = nextSimEvent(s, 'speak.cleared');
    h.send({ type: 'TTS.CLEAR' });
    const bytesAtClear = sink.audioBytes;
    await clearAtSim;
    const simBytesAtClear = s.stats.speakAudioBytes;
    await clearedAtSim;
    expect(s.stats.speakAudioBytes).toBeGreaterThan(simBytesAtClear); // audio was in flight after the Clear
    await h.waitFor('TTS.CLEARED');
    await delay(100);
    expect(sink.audioBytes).toBe(bytesAtClear);
    expect(sink.marks).toEqual([]);
    const heard = sink.tail;
    expect(heard.length).toBeGreaterThan(0);
    expect(heard.length).toBeLessThan(LONG.length);
    expect(LONG.startsWith(heard)).toBe(true);

    const from = h.events.length;
    h.send({ type: 'TTS.SPEAK', text: 'Sure, go ahead.' });
    h.send({ type: 'TTS.FLUSH', segment: 'after' });
    await sink.waitForMark('after');
    expect(sink.textBeforeMark.get('after')).toBe(heard + 'Sure, go ahead.');
    expect(sink.marks).toEqual(['after']);
    // A new response after a clear reports its first audio again.
    await h.waitFor('TTS.FIRST_AUDIO', undefined, { from });
  });

  it('plays a cached phrase without Deepgram, after audio still pending from Deepgram', async () => {
    const cache = new PhraseCache();
    const bye = 'Thanks for calling, goodbye.';
    const { harness: h, sink, sim: s } = await setup({ ttsChunkBytes: 400, ttsChunkIntervalMs: 5 }, { cache, warm: [bye] });
    expect(cache.has(bye)).toBe(true);
    const speaksBefore = s.stats.speakMessages;
    h.send({ type: 'TTS.SPEAK', text: 'Let me check that for you.' });
    h.send({ type: 'TTS.FLUSH', segment: 'answer' });
    h.send({ type: 'TTS.SAY', text: bye, segment: 'bye' });
    await sink.waitForMark('bye');
    expect(sink.marks).toEqual(['answer', 'bye']);
    expect(sink.textBeforeMark.get('answer')).toBe('Let me check that for you.');
    expect(sink.textBeforeMark.get('bye')).toBe('Thanks for calling, goodbye.');
    expect(s.stats.speakMessages - speaksBefore).toBe(1); // only the answer went to Deepgram

    // Idle: the cached phrase goes out at once, still without Deepgram.
    const flushes = s.stats.flushes;
    h.send({ type: 'TTS.SAY', text: bye, segment: 'bye-2' });
    await sink.waitForMark('bye-2');
    expect(sink.textBeforeMark.get('bye-2')).toBe('Thanks for calling, goodbye.');
    expect(s.stats.flushes).toBe(flushes);
  });

  it('synthesizePhrase returns the audio of the text; warm reports failures', async () => {
    const { client } = await setup();
    const audio = await synthesizePhrase(client, 'aura-2-thalia-en', 'Please hold.');
    expect(new SpeechDecoder().push(audio)).toBe('Please hold.');
    const bad: DeepgramClient = createDeepgramClient({ apiKey: 'wrong', baseUrl: sim?.url ?? '' });
    const cache = new PhraseCache();
    await expect(cache.warm(bad, 'aura-2-thalia-en', ['Hello.'], 2000)).rejects.toThrow(/Hello\./);
    expect(cache.size).toBe(0);
    const warmed = await PhraseCache.warm(client, 'aura-2-thalia-en', ['One.', 'Two.']);
    expect(warmed.size).toBe(2);
  });

  it('recovers from a socket dropped mid-segment: the started segment is marked partial, the next one is re-sent', async () => {
    const { harness: h, sink, sim: s } = await setup({ ttsChunkBytes: 800, ttsChunkIntervalMs: 20 });
    h.send({ type: 'TTS.SPEAK', text: 'A warm-up sentence.' });
    h.send({ type: 'TTS.FLUSH', segment: 'warm' });
    await sink.waitForMark('warm');

    h.send({ type: 'TTS.SPEAK', text: LONG });
    h.send({ type: 'TTS.FLUSH', segment: 'cut' });
    h.send({ type: 'TTS.SPEAK', text: 'And this sentence must arrive whole.' });
    h.send({ type: 'TTS.FLUSH', segment: 'whole' });
    await nextSimEvent(s, 'speak.audioStart');
    await delay(30);
    expect(s.dropConnections('speak')).toBe(1);
    const err = await h.waitFor('TTS.ERROR');
    expect(err.recoverable).toBe(true);
    await sink.waitForMark('whole');
    expect(sink.marks).toEqual(['warm', 'cut', 'whole']);
    expect(sink.partialMarks).toEqual(['cut']); // its echo will not count as heard
    const cut = sink.textBeforeMark.get('cut') ?? '';
    expect(cut.length).toBeLessThan(LONG.length);
    expect(LONG.startsWith(cut)).toBe(true);
    expect(sink.textBeforeMark.get('whole')).toBe('And this sentence must arrive whole.');
    expect(s.stats.speakConnections).toBe(2);

    // The new socket keeps serving.
    h.send({ type: 'TTS.SPEAK', text: 'Still talking.' });
    h.send({ type: 'TTS.FLUSH', segment: 'later' });
    await sink.waitForMark('later');
    expect(sink.textBeforeMark.get('later')).toBe('Still talking.');
  });

  it('a rejected key ends in an unrecoverable error, and segments are still marked so playback completes', async () => {
    const { harness: h, sink } = await setup({}, { apiKey: 'nope' });
    h.send({ type: 'TTS.SPEAK', text: 'Nobody will hear this.' });
    h.send({ type: 'TTS.FLUSH', segment: 'lost' });
    const err = await h.waitFor('TTS.ERROR');
    expect(err.recoverable).toBe(false);
    await sink.waitForMark('lost');
    h.send({ type: 'TTS.SAY', text: 'Nor this.', segment: 'lost-2' });
    await sink.waitForMark('lost-2');
    expect(sink.audioBytes).toBe(0);
  });

  it('sends Close on stop and the simulator closes 1000', async () => {
    const { harness: h, sink, sim: s } = await setup();
    h.send({ type: 'TTS.SAY', text: 'Bye.', segment: 'b' });
    await sink.waitForMark('b');
    const closed = nextSimEvent(s, 'speak.close');
    h.stop();
    expect((await closed).code).toBe(1000);
  });
});
