/**
 * The simulated providers of a benchmark run, in the bench process: Deepgram (STT + TTS), the LLM behind the timing
 * tap, and recorders of what they saw and when (per connection, so events of one call can be picked out later).
 * All `at` values are `now()` of this process, directly comparable with the simulated callers' timestamps.
 */
import { startDeepgramSimulator, type DeepgramSimulator } from '../offline/deepgram.js';
import { startLlmSimulator, type LlmSimulator } from '../offline/llm.js';
import { startLlmTap, type LlmTap, type TappedRequest } from './llm-tap.js';
import { benchLlmScript } from './scenario.js';

/** Fixed simulated provider latencies (the orchestrator's share is measured around them). */
export interface ProviderLatencies {
  /** Deepgram endpointing: silence (audio time) before speech_final. Passed to the server as STT_ENDPOINTING_MS. */
  endpointingMs: number;
  llmFirstTokenMs: number;
  llmTokensPerSecond: number;
  ttsFirstByteMs: number;
  ttsMsPerChar: number;
}

export const defaultLatencies: ProviderLatencies = {
  endpointingMs: 300,
  llmFirstTokenMs: 150,
  llmTokensPerSecond: 100,
  ttsFirstByteMs: 50,
  ttsMsPerChar: 40,
};

export type ListenKind = 'interim' | 'final' | 'speechFinal';
export interface ListenEvent {
  at: number;
  kind: ListenKind;
  transcript: string;
}
export interface SpeakLog {
  flushes: { at: number; sequenceId: number; text: string }[];
  audioStarts: Map<number, number>;
  clears: number[];
}

export interface Recordings {
  listen: Map<number, ListenEvent[]>;
  speak: Map<number, SpeakLog>;
  llm: TappedRequest[];
}

export interface World {
  readonly deepgram: DeepgramSimulator;
  readonly llm: LlmSimulator;
  readonly tap: LlmTap;
  readonly latencies: ProviderLatencies;
  /** What was recorded since the last call (and start afresh). */
  take(): Recordings;
  close(): Promise<void>;
}

export async function startWorld(latencies: ProviderLatencies = defaultLatencies): Promise<World> {
  const deepgram = await startDeepgramSimulator({
    ttsFirstByteMs: latencies.ttsFirstByteMs,
    ttsMsPerChar: latencies.ttsMsPerChar,
    // No added recognition delay: the measurement starts when speech_final is sent.
    sttLatencyMs: 0,
  });
  const llm = await startLlmSimulator({
    firstTokenMs: latencies.llmFirstTokenMs,
    tokensPerSecond: latencies.llmTokensPerSecond,
    script: benchLlmScript,
  });
  const tap = await startLlmTap(llm.port);

  let listen = new Map<number, ListenEvent[]>();
  let speak = new Map<number, SpeakLog>();
  const speakLog = (connection: number): SpeakLog => {
    let log = speak.get(connection);
    if (!log) speak.set(connection, (log = { flushes: [], audioStarts: new Map(), clears: [] }));
    return log;
  };

  const o = deepgram.observer;
  o.on('listen.results', (e) => {
    if (!e.speechFinal && e.transcript === '') return; // empty interims/finals in silence carry nothing
    let events = listen.get(e.connection);
    if (!events) listen.set(e.connection, (events = []));
    events.push({ at: e.at, kind: e.speechFinal ? 'speechFinal' : e.isFinal ? 'final' : 'interim', transcript: e.transcript });
  });
  o.on('speak.flush', (e) => speakLog(e.connection).flushes.push({ at: e.at, sequenceId: e.sequenceId, text: e.text }));
  o.on('speak.audioStart', (e) => speakLog(e.connection).audioStarts.set(e.sequenceId, e.at));
  o.on('speak.clear', (e) => speakLog(e.connection).clears.push(e.at));

  return {
    deepgram,
    llm,
    tap,
    latencies,
    take() {
      const taken: Recordings = { listen, speak, llm: tap.requests.splice(0) };
      listen = new Map();
      speak = new Map();
      llm.requests.length = 0; // the simulator keeps every request body: do not let it grow across levels
      return taken;
    },
    async close() {
      await tap.close();
      await Promise.all([deepgram.close(), llm.close()]);
    },
  };
}
