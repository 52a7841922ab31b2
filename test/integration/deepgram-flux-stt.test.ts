/**
 * The Flux STT actor on the real @deepgram/sdk (`listen.v2.connect`) against the simulated /v2/listen over loopback.
 * The caller's words travel only as simulated-speech audio through a real MediaPipe.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MediaPipe } from '../../actors/media-pipe.js';
import { createDeepgramClient } from '../../actors/deepgram-client.js';
import { createDeepgramFluxStt, type FluxSttOptions } from '../../actors/deepgram-flux-stt.js';
import { silentLogger } from '../../lib/logger.js';
import { silence } from '../../lib/mulaw.js';
import { encodeSpeech } from '../../offline/speech-codec.js';
import { startDeepgramSimulator, type DeepgramSimOptions, type DeepgramSimulator } from '../../offline/deepgram.js';
import { delay, feedFast, nextSimEvent, recordSim, runChild, utterance, type ChildHarness } from './deepgram-harness.js';

const options: FluxSttOptions = { model: 'flux-general-en' };
const EAGER = { eagerEotThreshold: 0.5 };

let sim: DeepgramSimulator | null = null;
let harness: ChildHarness | null = null;

afterEach(async () => {
  harness?.stop();
  harness = null;
  await sim?.close();
  sim = null;
});

async function setup(simOpts: DeepgramSimOptions = {}, fluxOpts: Partial<FluxSttOptions> = {}) {
  sim = await startDeepgramSimulator({ apiKey: 'test-key', ...simOpts });
  const client = createDeepgramClient({ apiKey: 'test-key', baseUrl: sim.url });
  const pipe = new MediaPipe();
  harness = runChild(createDeepgramFluxStt({ client, pipe, log: silentLogger, options: { ...options, ...fluxOpts } }));
  const turns = recordSim(sim, ['flux.turnInfo']);
  return { sim, pipe, harness, turns, send: (f: Buffer) => pipe.sendInbound(f) };
}

/** Speech with a pause inside: `parts` spoken with `pauseMs` of silence between them, then `tailMs` of silence. */
function hesitant(parts: string[], pauseMs: number, tailMs: number): Buffer {
  const audio: Buffer[] = [];
  parts.forEach((part, i) => {
    const text = i === 0 ? part : ` ${part}`;
    audio.push(encodeSpeech(text, text.length * 70));
    audio.push(silence(i === parts.length - 1 ? tailMs : pauseMs));
  });
  return Buffer.concat(audio);
}

/** The call events without timestamps, Flux's part only. */
function turnEvents(h: ChildHarness, from = 0): string[] {
  return h.events.slice(from).flatMap((e) => {
    switch (e.type) {
      case 'STT.TURN_STARTED':
      case 'STT.TURN_RESUMED':
        return [e.type];
      case 'STT.EAGER_END':
      case 'STT.FINAL':
        return [`${e.type} ${e.text}`];
      default:
        return [];
    }
  });
}

/**
 * The simulator's TurnInfo events other than Update, as `event turn_index transcript` (StartOfTurn without its
 * transcript: whether a short first word is already complete then depends on its length).
 */
function wireTurns(turns: { payload: unknown }[]): string[] {
  return turns.flatMap(({ payload }) => {
    const p = payload as { event: string; turnIndex: number; transcript: string };
    if (p.event === 'Update') return [];
    return [p.event === 'StartOfTurn' ? `${p.event} ${p.turnIndex}` : `${p.event} ${p.turnIndex} ${p.transcript}`];
  });
}

describe('Flux STT actor ⇄ simulated /v2/listen', () => {
  it('one turn: TurnInfo StartOfTurn, Updates, EndOfTurn → TURN_STARTED, INTERIMs, one FINAL speechFinal with the whole turn', async () => {
    const { harness: h, send, sim: s, turns } = await setup();
    const opened = nextSimEvent(s, 'flux.open');
    const text = 'hello there I would like to book a table';
    await feedFast(send, utterance(text, 800));
    const final = await h.waitFor('STT.FINAL');

    expect(final).toMatchObject({ text, speechFinal: true });
    expect(h.events[0]?.type).toBe('STT.CONNECTED');
    expect(turnEvents(h)).toEqual(['STT.TURN_STARTED', `STT.FINAL ${text}`]);
    const interims = h.of('STT.INTERIM').map((e) => e.text);
    expect(interims.length).toBeGreaterThan(2);
    expect(new Set(interims).size).toBe(interims.length); // only changes are reported
    expect(text.startsWith(interims[0] ?? 'x')).toBe(true);
    expect(wireTurns(turns)).toEqual(['StartOfTurn 0', `EndOfTurn 0 ${text}`]);

    // The handshake carries the Flux parameters and no eager threshold; audio went in 80 ms messages.
    const params = (await opened).params;
    expect(params).toMatchObject({ model: 'flux-general-en', encoding: 'mulaw', sample_rate: '8000' });
    expect(params).not.toHaveProperty('eager_eot_threshold');
    expect(s.stats.listenAudioBytes / s.stats.fluxAudioMessages).toBe(640);
    expect(s.stats.emptyFrames).toBe(0);

    // turn_index increments after EndOfTurn.
    const from = h.events.length;
    await feedFast(send, utterance('and another one', 800));
    await h.waitFor('STT.FINAL', undefined, { from });
    expect(wireTurns(turns).slice(2)).toEqual(['StartOfTurn 1', 'EndOfTurn 1 and another one']);
  });

  it('eager: EagerEndOfTurn → EAGER_END, then EndOfTurn repeats its transcript → FINAL', async () => {
    const { harness: h, send, sim: s, turns } = await setup({}, EAGER);
    const opened = nextSimEvent(s, 'flux.open');
    await feedFast(send, utterance('book a table for two', 800));
    await h.waitFor('STT.FINAL');
    expect(turnEvents(h)).toEqual(['STT.TURN_STARTED', 'STT.EAGER_END book a table for two', 'STT.FINAL book a table for two']);
    expect(wireTurns(turns)).toEqual(['StartOfTurn 0', 'EagerEndOfTurn 0 book a table for two', 'EndOfTurn 0 book a table for two']);
    expect((await opened).params).toMatchObject({ eager_eot_threshold: '0.5' });
  });

  it('eager → TurnResumed → EndOfTurn: a pause mid-sentence longer than the eager delay but shorter than the final one', async () => {
    const { harness: h, send, turns } = await setup({ fluxEagerMs: 150, fluxFinalMs: 400 }, EAGER);
    await feedFast(send, hesitant(['I would like to', 'book a table'], 260, 800));
    await h.waitFor('STT.FINAL');
    expect(turnEvents(h)).toEqual([
      'STT.TURN_STARTED',
      'STT.EAGER_END I would like to',
      'STT.TURN_RESUMED',
      'STT.EAGER_END I would like to book a table',
      'STT.FINAL I would like to book a table',
    ]);
    expect(wireTurns(turns)).toEqual([
      'StartOfTurn 0',
      'EagerEndOfTurn 0 I would like to',
      'TurnResumed 0 I would like to',
      'EagerEndOfTurn 0 I would like to book a table',
      'EndOfTurn 0 I would like to book a table',
    ]);
  });

  it('reconnects after a drop mid-turn, replays the turn, and resumes a turn left eagerly ended', async () => {
    const { harness: h, send, sim: s } = await setup({}, EAGER);
    await feedFast(send, utterance('first turn here', 800));
    await h.waitFor('STT.FINAL');

    const from = h.events.length;
    await feedFast(send, hesitant(['the second turn', 'survives'], 260, 0));
    await h.waitFor('STT.EAGER_END', (e) => e.text === 'the second turn', { from });
    expect(s.dropConnections('flux')).toBe(1);
    const err = await h.waitFor('STT.ERROR', undefined, { from });
    expect(err.recoverable).toBe(true);
    // The eager end of the lost connection is resumed before the outage is reported.
    expect(turnEvents(h, from)).toEqual(['STT.TURN_STARTED', 'STT.EAGER_END the second turn', 'STT.TURN_RESUMED']);
    // The caller keeps talking while the socket is down.
    await feedFast(send, Buffer.concat([encodeSpeech(' the network drop', 17 * 70), silence(800)]));
    const reconnected = await h.waitFor('STT.CONNECTED', undefined, { from });
    expect(reconnected.resentBytes).toBeGreaterThan(0);
    const final = await h.waitFor('STT.FINAL', undefined, { from });
    expect(final.text).toBe('the second turn survives the network drop');
    expect(s.stats.fluxConnections).toBe(2);
    // Only the unfinished turn was replayed, not the first one.
    expect(h.of('STT.FINAL').map((e) => e.text)).toEqual(['first turn here', 'the second turn survives the network drop']);
  });

  it('sends silence when caller audio stops: the idle socket stays open and a turn left open still ends', async () => {
    const { harness: h, send, sim: s } = await setup({ idleTimeoutMs: 400 }, { silenceFillMs: 100 });
    let closes = 0;
    s.observer.on('flux.close', () => closes++);
    await h.waitFor('STT.CONNECTED');
    await delay(1000); // two idle timeouts without caller audio
    expect(closes).toBe(0);
    // Audio stops right after the last word: only the fill lets Flux hear the end of the turn.
    await feedFast(send, encodeSpeech('are you there', 13 * 70));
    expect((await h.waitFor('STT.FINAL')).text).toBe('are you there');
    expect(h.of('STT.ERROR')).toHaveLength(0);
    expect(s.stats.fluxConnections).toBe(1);
  });

  it('sends CloseStream on stop (Flux answers with a last Update), then closes the socket normally', async () => {
    const { harness: h, sim: s, send, turns } = await setup();
    await feedFast(send, utterance('goodbye now', 800));
    await h.waitFor('STT.FINAL');
    const closeStream = nextSimEvent(s, 'flux.closeStream');
    const closed = nextSimEvent(s, 'flux.close');
    const before = turns.length;
    h.stop();
    await closeStream;
    expect((await closed).code).toBe(1000);
    expect(turns.length).toBe(before + 1);
    expect(s.stats.emptyFrames).toBe(0);
  });
});
