/**
 * The STT actor on the real @deepgram/sdk against the Deepgram simulator over loopback. The caller's words travel
 * only as simulated-speech audio through a real MediaPipe; the simulator recognises them from that audio.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MediaPipe } from '../../actors/media-pipe.js';
import { createDeepgramClient } from '../../actors/deepgram-client.js';
import { createDeepgramStt, type SttOptions } from '../../actors/deepgram-stt.js';
import { silentLogger } from '../../lib/logger.js';
import { silence } from '../../lib/mulaw.js';
import { startDeepgramSimulator, type DeepgramSimOptions, type DeepgramSimulator } from '../../offline/deepgram.js';
import { delay, feedFast, feedRealtime, frames, nextSimEvent, runChild, utterance, type ChildHarness } from './deepgram-harness.js';

const options: SttOptions = { model: 'nova-2', endpointingMs: 300, utteranceEndMs: 1000 };

let sim: DeepgramSimulator | null = null;
let harness: ChildHarness | null = null;

afterEach(async () => {
  harness?.stop();
  harness = null;
  await sim?.close();
  sim = null;
});

async function setup(simOpts: DeepgramSimOptions = {}, sttOpts: Partial<SttOptions> = {}, apiKey = 'test-key') {
  sim = await startDeepgramSimulator({ apiKey: 'test-key', ...simOpts });
  const client = createDeepgramClient({ apiKey, baseUrl: sim.url });
  const pipe = new MediaPipe();
  harness = runChild(createDeepgramStt({ client, pipe, log: silentLogger, options: { ...options, ...sttOpts } }));
  return { sim, pipe, harness, send: (f: Buffer) => pipe.sendInbound(f) };
}

/** The machine's rule: the utterance is every is_final text since the last end of turn, joined. */
function finalsText(h: ChildHarness, from = 0): string {
  return h.events
    .slice(from)
    .flatMap((e) => (e.type === 'STT.FINAL' ? [e.text] : []))
    .join(' ');
}

describe('deepgram STT actor ⇄ simulator', () => {
  it('reports speech start, interims and a speech_final final for one utterance', async () => {
    const { harness: h, send, sim: s } = await setup();
    const opened = nextSimEvent(s, 'listen.open');
    const text = 'hello there I would like to book a table';
    await feedFast(send, utterance(text, 1500));
    await h.waitFor('STT.FINAL', (e) => e.speechFinal);
    await h.waitFor('STT.UTTERANCE_END');

    const types = h.events.map((e) => e.type);
    expect(types[0]).toBe('STT.CONNECTED');
    expect(types.indexOf('STT.SPEECH_STARTED')).toBeLessThan(types.indexOf('STT.INTERIM'));
    expect(types.indexOf('STT.INTERIM')).toBeLessThan(types.indexOf('STT.FINAL'));
    expect(types.indexOf('STT.FINAL')).toBeLessThan(types.indexOf('STT.UTTERANCE_END'));
    const interims = h.of('STT.INTERIM');
    expect(interims.length).toBeGreaterThan(1);
    for (const i of interims) expect(i.text.length).toBeGreaterThan(0);
    expect(text.startsWith(interims[0]?.text ?? 'x')).toBe(true);
    expect(finalsText(h)).toBe(text);
    expect(s.stats.emptyFrames).toBe(0);
    expect((await opened).params).toMatchObject({
      model: 'nova-2',
      encoding: 'mulaw',
      sample_rate: '8000',
      channels: '1',
      interim_results: 'true',
      endpointing: '300',
      utterance_end_ms: '1000',
      vad_events: 'true',
      smart_format: 'true',
      no_delay: 'true',
    });
  });

  it('splits a long utterance into several finals that join to the whole text', async () => {
    const { harness: h, send } = await setup({ maxFinalSpanMs: 2000 });
    const text = 'I have been trying to reach somebody about my order for the last three days and nobody answers the phone';
    await feedFast(send, utterance(text, 1200));
    await h.waitFor('STT.FINAL', (e) => e.speechFinal);
    const finals = h.of('STT.FINAL');
    expect(finals.length).toBeGreaterThan(2);
    expect(finals.slice(0, -1).every((f) => !f.speechFinal)).toBe(true);
    expect(finalsText(h)).toBe(text);
  });

  it('falls back to UtteranceEnd when speech_final is withheld', async () => {
    const { harness: h, send } = await setup({ withholdSpeechFinal: (t) => t.includes('number') });
    await feedFast(send, utterance('my number is five five five', 1500));
    await h.waitFor('STT.UTTERANCE_END');
    const finals = h.of('STT.FINAL');
    expect(finals.length).toBeGreaterThan(0);
    expect(finals.every((f) => !f.speechFinal)).toBe(true);
    expect(finalsText(h)).toBe('my number is five five five');
    // A later utterance not matched by the switch ends normally.
    const from = h.events.length;
    await feedFast(send, utterance('thank you', 800));
    const last = await h.waitFor('STT.FINAL', (e) => e.speechFinal, { from });
    expect(last.text).toBe('thank you');
  });

  it('transcribes audio fed at real-time pace', async () => {
    const { harness: h, send } = await setup();
    await feedRealtime(send, utterance('good morning', 500));
    const final = await h.waitFor('STT.FINAL', (e) => e.speechFinal);
    expect(final.text).toBe('good morning');
  });

  it('buffers audio that arrives before the socket opens and sends it in order', async () => {
    const { harness: h, send } = await setup();
    // Synchronously, before any socket can be open.
    for (const f of [utterance('early bird words', 600)]) send(f);
    const connected = await h.waitFor('STT.CONNECTED');
    expect(connected.resentBytes).toBeGreaterThan(0);
    const final = await h.waitFor('STT.FINAL', (e) => e.speechFinal);
    expect(final.text).toBe('early bird words');
  });

  it('keeps an idle socket open with KeepAlive past the idle timeout', async () => {
    const { harness: h, send, sim: s } = await setup({ idleTimeoutMs: 400 }, { keepAliveMs: 100 });
    let closes = 0;
    s.observer.on('listen.close', () => closes++);
    await h.waitFor('STT.CONNECTED');
    await delay(1200); // three idle timeouts without audio
    expect(closes).toBe(0);
    expect(s.stats.keepAlives).toBeGreaterThan(3);
    await feedFast(send, utterance('still here', 600));
    const final = await h.waitFor('STT.FINAL', (e) => e.speechFinal);
    expect(final.text).toBe('still here');
    expect(h.of('STT.ERROR')).toHaveLength(0);
    expect(s.stats.listenConnections).toBe(1);
  });

  it('without KeepAlive the simulator closes the idle socket (1011 NET-0001) and the actor reconnects', async () => {
    const { harness: h, sim: s, send } = await setup({ idleTimeoutMs: 300 }, { keepAliveMs: 60_000 });
    const closed = nextSimEvent(s, 'listen.close');
    const close = await closed;
    expect(close.code).toBe(1011);
    expect(close.reason).toContain('NET-0001');
    const err = await h.waitFor('STT.ERROR');
    expect(err.recoverable).toBe(true);
    await h.waitFor('STT.CONNECTED', undefined, { from: h.events.indexOf(err) });
    await feedFast(send, utterance('back again', 600));
    expect((await h.waitFor('STT.FINAL', (e) => e.speechFinal)).text).toBe('back again');
  });

  it('sends CloseStream on stop and the simulator closes 1000', async () => {
    const { harness: h, sim: s, send } = await setup();
    await h.waitFor('STT.CONNECTED');
    await feedFast(send, utterance('goodbye now', 600));
    await h.waitFor('STT.FINAL', (e) => e.speechFinal);
    const closeStream = nextSimEvent(s, 'listen.closeStream');
    const closed = nextSimEvent(s, 'listen.close');
    h.stop();
    await closeStream;
    expect((await closed).code).toBe(1000);
    expect(s.stats.emptyFrames).toBe(0);
  });

  it('gathers two 20 ms frames per message (half the writes) and sends the last odd frame before CloseStream', async () => {
    const { harness: h, sim: s, send } = await setup();
    await h.waitFor('STT.CONNECTED');
    const count = 81; // frames (1.62 s), an odd number: the last one waits for its pair until stop
    await feedFast(send, Buffer.concat([utterance('two by two', 500), silence(1000)]).subarray(0, count * 160));
    await h.waitFor('STT.FINAL', (e) => e.speechFinal);
    const closeStream = nextSimEvent(s, 'listen.closeStream');
    h.stop();
    await closeStream;
    expect(s.stats.listenAudioBytes).toBe(count * 160);
    expect(s.stats.listenAudioMessages).toBe((count + 1) / 2);
  });

  it('sends frame by frame with chunkMs 20', async () => {
    const { harness: h, sim: s, send } = await setup({}, { chunkMs: 20 });
    await h.waitFor('STT.CONNECTED');
    const audio = utterance('one by one', 500);
    await feedFast(send, audio);
    await h.waitFor('STT.FINAL', (e) => e.speechFinal);
    expect(s.stats.listenAudioMessages).toBe(frames(audio).length);
  });

  it('reports an unrecoverable error when the key is rejected', async () => {
    const { harness: h, sim: s } = await setup({}, {}, 'wrong-key');
    const err = await h.waitFor('STT.ERROR');
    expect(err.recoverable).toBe(false);
    expect(err.message).toContain('401');
    expect(s.stats.authRejected).toBe(1);
    expect(h.of('STT.CONNECTED')).toHaveLength(0);
  });

  it('recovers from a dropped socket mid-utterance without losing words', async () => {
    const { harness: h, sim: s, send } = await setup();
    await feedFast(send, utterance('first sentence here', 1200));
    await h.waitFor('STT.FINAL', (e) => e.speechFinal);

    const second = utterance('the second sentence survives the network drop', 1200);
    const half = Math.floor(second.length / 2 / 160) * 160;
    const from = h.events.length;
    await feedFast(send, second.subarray(0, half));
    await h.waitFor('STT.INTERIM', undefined, { from });
    expect(s.dropConnections('listen')).toBe(1);
    const err = await h.waitFor('STT.ERROR', undefined, { from });
    expect(err.recoverable).toBe(true);
    // The caller keeps talking while the socket is down.
    await feedFast(send, second.subarray(half));
    const reconnected = await h.waitFor('STT.CONNECTED', undefined, { from });
    expect(reconnected.resentBytes).toBeGreaterThan(0);
    await h.waitFor('STT.FINAL', (e) => e.speechFinal, { from });
    expect(finalsText(h, from)).toBe('the second sentence survives the network drop');
    expect(s.stats.listenConnections).toBe(2);
    // Transcripts keep coming afterwards.
    const later = h.events.length;
    await feedFast(send, Buffer.concat([utterance('and a third one', 800), silence(100)]));
    expect((await h.waitFor('STT.FINAL', (e) => e.speechFinal, { from: later })).text).toBe('and a third one');
  });
});
