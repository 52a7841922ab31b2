/**
 * The simulated Deepgram Flux (`/v2/listen`) at the wire level: a raw `ws` client for the handshake, message shapes
 * (field names of the SDK's ListenV2* types), close codes and errors; the real SDK for Configure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createDeepgramClient } from '../../actors/deepgram-client.js';
import { startDeepgramSimulator, type DeepgramSimOptions, type DeepgramSimulator } from '../../offline/deepgram.js';
import { delay, feedFast, utterance } from './deepgram-harness.js';

const FLUX = '/v2/listen?model=flux-general-en&encoding=mulaw&sample_rate=8000';

let sim: DeepgramSimulator | null = null;
afterEach(async () => {
  await sim?.close();
  sim = null;
});

interface Session {
  ws: WebSocket;
  messages: Record<string, unknown>[];
  closed: Promise<{ code: number; reason: string }>;
}

async function open(query: string, opts: DeepgramSimOptions = {}): Promise<Session> {
  sim ??= await startDeepgramSimulator({ apiKey: 'k', ...opts });
  const ws = new WebSocket(`${sim.url}${query}`, { headers: { Authorization: 'Token k' } });
  const messages: Record<string, unknown>[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages, closed };
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await delay(5);
  }
}

const turnInfos = (s: Session) => s.messages.filter((m) => m.type === 'TurnInfo');
const events = (s: Session) => turnInfos(s).map((m) => m.event);

describe('simulated Flux /v2/listen wire protocol', () => {
  it('answers a bad handshake with HTTP 400 before the upgrade', async () => {
    sim = await startDeepgramSimulator({ apiKey: 'k' });
    const bad = [
      '/v2/listen?model=nova-3&encoding=mulaw&sample_rate=8000',
      '/v2/listen?model=flux-general-en&encoding=mulaw',
      '/v2/listen?model=flux-general-en&encoding=mp3&sample_rate=8000',
      '/v2/listen?model=flux-general-en&encoding=mulaw&sample_rate=11025',
      `${FLUX}&eager_eot_threshold=0.95`,
      `${FLUX}&eot_threshold=0.4`,
      `${FLUX}&eot_timeout_ms=100`,
    ];
    for (const query of bad) {
      const ws = new WebSocket(`${sim.url}${query}`, { headers: { Authorization: 'Token k' } });
      ws.on('error', () => {});
      const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
      expect(status, query).toBe(400);
    }
    expect(sim.stats.fluxConnections).toBe(0);
  });

  it('sends Connected, then TurnInfo messages with the documented fields and one sequence of ids', async () => {
    const s = await open(`${FLUX}&eager_eot_threshold=0.5`);
    await feedFast((f) => s.ws.send(f), utterance('hello there', 700));
    await until(() => events(s).includes('EndOfTurn'));
    expect(s.messages[0]).toMatchObject({ type: 'Connected', sequence_id: 0 });
    expect(typeof s.messages[0]?.request_id).toBe('string');
    expect(s.messages.map((m) => m.sequence_id)).toEqual(s.messages.map((_, i) => i));

    const end = turnInfos(s).find((m) => m.event === 'EndOfTurn');
    expect(end).toMatchObject({ turn_index: 0, transcript: 'hello there', trigger: 'model', request_id: s.messages[0]?.request_id });
    expect(Object.keys(end ?? {}).sort()).toEqual(
      ['type', 'request_id', 'sequence_id', 'event', 'turn_index', 'audio_window_start', 'audio_window_end', 'transcript', 'words', 'end_of_turn_confidence', 'trigger'].sort(),
    );
    expect(end?.words).toEqual([
      { word: 'hello', confidence: expect.any(Number), start: expect.any(Number), end: expect.any(Number) },
      { word: 'there', confidence: expect.any(Number), start: expect.any(Number), end: expect.any(Number) },
    ]);
    expect(Number(end?.end_of_turn_confidence)).toBeGreaterThanOrEqual(0.7);
    expect(Number(end?.audio_window_end)).toBeGreaterThan(Number(end?.audio_window_start));
    // trigger only on EndOfTurn; EagerEndOfTurn carries the transcript EndOfTurn repeats.
    expect(turnInfos(s).filter((m) => 'trigger' in m)).toHaveLength(1);
    expect(turnInfos(s).find((m) => m.event === 'EagerEndOfTurn')?.transcript).toBe('hello there');
    s.ws.close();
  });

  it('has no KeepAlive: an unknown message gets an Error, then the socket closes without a status code', async () => {
    const s = await open(FLUX);
    s.ws.send(JSON.stringify({ type: 'KeepAlive' }));
    expect((await s.closed).code).toBe(1005);
    expect(s.messages.at(-1)).toMatchObject({ type: 'Error', code: 'UNPARSABLE_CLIENT_MESSAGE', sequence_id: 1 });
    expect(String(s.messages.at(-1)?.description)).toContain('KeepAlive');
  });

  it('CloseStream: a last Update for the audio received (the turn is not ended), then a close without a status code', async () => {
    const s = await open(FLUX);
    await feedFast((f) => s.ws.send(f), utterance('not finished', 0));
    await until(() => events(s).includes('StartOfTurn'));
    s.ws.send(JSON.stringify({ type: 'CloseStream' }));
    expect((await s.closed).code).toBe(1005);
    const last = s.messages.at(-1);
    expect(last).toMatchObject({ type: 'TurnInfo', event: 'Update', transcript: 'not finished' });
    expect(events(s)).not.toContain('EndOfTurn');
  });

  it('ForceEndTurn ends the turn at once with trigger manual', async () => {
    const s = await open(`${FLUX}&eot_threshold=1&eot_timeout_ms=60000`);
    await feedFast((f) => s.ws.send(f), utterance('account number', 600));
    await until(() => events(s).includes('StartOfTurn'));
    await delay(50);
    expect(events(s)).not.toContain('EndOfTurn');
    s.ws.send(JSON.stringify({ type: 'ForceEndTurn' }));
    await until(() => events(s).includes('EndOfTurn'));
    expect(turnInfos(s).at(-1)).toMatchObject({ event: 'EndOfTurn', trigger: 'manual', transcript: 'account number', turn_index: 0 });
    s.ws.close();
  });

  it('closes a socket that receives nothing (1011); pings keep it open', async () => {
    const idle = await open(FLUX, { idleTimeoutMs: 200 });
    expect((await idle.closed).code).toBe(1011);
    const pinged = await open(FLUX);
    const timer = setInterval(() => pinged.ws.ping(), 50);
    await delay(500);
    clearInterval(timer);
    expect(pinged.ws.readyState).toBe(WebSocket.OPEN);
    pinged.ws.close();
  });

  it('Configure through the real SDK: ConfigureSuccess turns eager events on, an out-of-range value gets ConfigureFailure', async () => {
    sim = await startDeepgramSimulator({ apiKey: 'k' });
    const client = createDeepgramClient({ apiKey: 'k', baseUrl: sim.url });
    const socket = await client.listen.v2.connect({ model: 'flux-general-en', encoding: 'mulaw', sample_rate: 8000, shouldReconnect: () => false });
    const received: Record<string, unknown>[] = [];
    socket.on('message', (m) => received.push(m as unknown as Record<string, unknown>));
    socket.connect();
    await socket.waitForOpen();
    socket.sendConfigure({ type: 'Configure', thresholds: { eager_eot_threshold: 0.4 } });
    await until(() => received.some((m) => m.type === 'ConfigureSuccess'));
    expect(received.find((m) => m.type === 'ConfigureSuccess')).toMatchObject({ thresholds: { eager_eot_threshold: 0.4, eot_threshold: 0.7, eot_timeout_ms: 5000 } });
    socket.sendConfigure({ type: 'Configure', thresholds: { eot_threshold: 2 } });
    await until(() => received.some((m) => m.type === 'ConfigureFailure'));
    await feedFast((f) => socket.sendMedia(f), utterance('eager now', 700));
    await until(() => received.some((m) => m.event === 'EndOfTurn'));
    expect(received.filter((m) => m.type === 'TurnInfo' && m.event !== 'Update').map((m) => m.event)).toEqual(['StartOfTurn', 'EagerEndOfTurn', 'EndOfTurn']);
    socket.close();
  });
});
