/**
 * The silent-socket watchdogs of the STT and TTS actors, on the real @deepgram/sdk against the Deepgram simulator
 * whose sockets can go quiet while staying open. Short watchdog periods keep the tests fast; what counts is that
 * silence alone never trips them, unanswered speech / an unanswered Flush does, and nothing the caller said or the
 * agent was to say is lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TtsCommand } from '../../machines/events.js';
import { MediaPipe } from '../../actors/media-pipe.js';
import { createDeepgramClient } from '../../actors/deepgram-client.js';
import { createDeepgramStt } from '../../actors/deepgram-stt.js';
import { createDeepgramTts } from '../../actors/deepgram-tts.js';
import { silentLogger } from '../../lib/logger.js';
import { silence } from '../../lib/mulaw.js';
import { startDeepgramSimulator, type DeepgramSimulator } from '../../offline/deepgram.js';
import { delay, feedFast, feedRealtime, RecordingSink, runChild, utterance, type ChildHarness } from './deepgram-harness.js';

/** Longer than the STT's own quiet spells during speech (endpointing 300 ms before the speech_final). */
const STT_WATCHDOG_MS = 1000;
const TTS_WATCHDOG_MS = 300;

let sim: DeepgramSimulator | null = null;
let harness: ChildHarness<TtsCommand> | null = null;

afterEach(async () => {
  harness?.stop();
  harness = null;
  await sim?.close();
  sim = null;
});

describe('STT watchdog', () => {
  it('reconnects a socket that stays open but answers no speech, and the replay recovers the words', async () => {
    sim = await startDeepgramSimulator({ apiKey: 'k' });
    const pipe = new MediaPipe();
    let watchdogs = 0;
    const stt = createDeepgramStt({
      client: createDeepgramClient({ apiKey: 'k', baseUrl: sim.url }),
      pipe,
      log: silentLogger,
      options: { model: 'nova-3', endpointingMs: 300, utteranceEndMs: 1000, silenceWatchdogMs: STT_WATCHDOG_MS },
      onWatchdog: () => watchdogs++,
    });
    const h = (harness = runChild(stt));
    const send = (frame: Buffer): void => pipe.sendInbound(frame);
    await feedFast(send, utterance('first sentence here', 1200));
    await h.waitFor('STT.FINAL', (e) => e.speechFinal);

    expect(sim.silenceConnections('listen')).toBe(1);
    // Silence from the caller is not owed an answer: twice the watchdog period passes without a reconnect.
    await feedRealtime(send, silence(2 * STT_WATCHDOG_MS));
    expect(h.of('STT.ERROR')).toEqual([]);

    const from = h.events.length;
    await feedRealtime(send, utterance('the words nobody answered', 800));
    const err = await h.waitFor('STT.ERROR', undefined, { from });
    expect(err).toMatchObject({ recoverable: true, message: expect.stringMatching(/^watchdog: no STT message for \d+ ms/) });
    const reconnected = await h.waitFor('STT.CONNECTED', undefined, { from });
    expect(reconnected.resentBytes).toBeGreaterThan(0);
    await h.waitFor('STT.FINAL', (e) => e.speechFinal, { from });
    // The turn is every final since, joined (as the machine does): nothing the caller said was lost.
    const finals = h.events.slice(from).flatMap((e) => (e.type === 'STT.FINAL' ? [e.text] : []));
    expect(finals.join(' ')).toBe('the words nobody answered');
    expect(watchdogs).toBe(1);
    expect(sim.stats.listenConnections).toBe(2);
  });
});

describe('TTS watchdog', () => {
  it('reconnects a socket that took a Flush and sent nothing back, and the segment is spoken on the new one', async () => {
    sim = await startDeepgramSimulator({ apiKey: 'k', ttsFirstByteMs: 10 });
    const pipe = new MediaPipe();
    const sink = new RecordingSink();
    pipe.onOutbound(sink);
    let watchdogs = 0;
    const h = (harness = runChild<TtsCommand>(
      createDeepgramTts({
        client: createDeepgramClient({ apiKey: 'k', baseUrl: sim.url }),
        pipe,
        log: silentLogger,
        model: 'aura-2-thalia-en',
        silenceWatchdogMs: TTS_WATCHDOG_MS,
        onWatchdog: () => watchdogs++,
      }),
    ));
    h.send({ type: 'TTS.SPEAK', text: 'First answer.' });
    h.send({ type: 'TTS.FLUSH', segment: 'seg-1' });
    await sink.waitForMark('seg-1');

    expect(sim.silenceConnections('speak')).toBe(1);
    // An idle socket owes nothing: no reconnect while no Flush is outstanding.
    await delay(2 * TTS_WATCHDOG_MS);
    expect(h.of('TTS.ERROR')).toEqual([]);

    h.send({ type: 'TTS.SPEAK', text: 'Second answer after the stall.' });
    h.send({ type: 'TTS.FLUSH', segment: 'seg-2' });
    const err = await h.waitFor('TTS.ERROR');
    expect(err).toMatchObject({ recoverable: true, message: expect.stringMatching(/^watchdog: no TTS answer for \d+ ms after Flush/) });
    await sink.waitForMark('seg-2');
    expect(sink.textBeforeMark.get('seg-2')).toBe('Second answer after the stall.');
    expect(sink.marks).toEqual(['seg-1', 'seg-2']);
    expect(watchdogs).toBe(1);
    expect(sim.stats.speakConnections).toBe(2);
  });
});
