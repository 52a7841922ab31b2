/**
 * Per-process provider clients. With real keys they point at Deepgram and OpenAI/Anthropic (or the base URLs
 * configured); with no keys the built-in simulators start on loopback and everything runs offline.
 */
import type { DeepgramClient } from '@deepgram/sdk';
import type { Config } from './config.js';
import type { Logger } from '../../lib/logger.js';
import { createDeepgramClient } from '../../actors/deepgram-client.js';
import { createDeepgramStt, type SttOptions } from '../../actors/deepgram-stt.js';
import { createDeepgramFluxStt, type FluxSttOptions } from '../../actors/deepgram-flux-stt.js';
import type { MediaPipe } from '../../actors/media-pipe.js';
import { PhraseCache } from '../../actors/phrase-cache.js';
import type { FallbackLlmClient } from '../../actors/llm-fallback.js';
import { createLlmChain } from './llm-chain.js';
import { llmFallbackObserver, type Metrics } from './metrics.js';
// Types only: the offline world itself is loaded with a dynamic import, and only when running offline.
import type { DeepgramSimulator } from '../../offline/deepgram.js';
import type { DeepgramSimOptions } from '../../offline/deepgram-sim-types.js';
import type { LlmSimulator, LlmSimOptions } from '../../offline/llm.js';
import type { OrdersApi } from '../../agents/front-desk-orders-api.js';
import type { TwilioRestFake } from '../../offline/twilio-rest.js';
import { defaultCallOptions, type CallOptions } from '../../machines/options.js';

export interface Providers {
  readonly deepgram: DeepgramClient;
  /** The providers of `config.llmChain` behind one client (a call's turn falls back down the list). */
  readonly llm: FallbackLlmClient;
  readonly phrases: PhraseCache;
  /** Synthesise fixed phrases (the agent's greeting, re-prompt, …) once, so calls play them without a round trip. */
  warmPhrases(texts: readonly string[]): Promise<void>;
  /** Which Deepgram STT the calls use (STT_ENGINE): Nova with `stt`, or Flux with `flux`. */
  readonly sttEngine: Config['STT_ENGINE'];
  readonly stt: SttOptions;
  readonly flux: FluxSttOptions;
  /** Flush sent and nothing back from TTS this long → reconnect (0 = off). */
  readonly ttsSilenceWatchdogMs: number;
  readonly ttsModel: string;
  readonly callOptions: CallOptions;
  /** Present when offline: the in-process simulators (the demo and tests look at what they saw). */
  readonly simulators?: {
    deepgram: DeepgramSimulator;
    llm: LlmSimulator;
    orders: OrdersApi;
    /** The local Twilio REST API (transfers), unless the operator configured TWILIO_ACCOUNT_SID. */
    twilio?: TwilioRestFake;
  };
  close(): Promise<void>;
}

/**
 * The server's side of the call options (barge-in policy, timeouts); the agent adds its prompt, greeting and tools,
 * and SYSTEM_PROMPT/GREETING win over the agent's in one place: agentCallOptions (src/agent/agent-runtime.ts).
 */
export function callOptionsFrom(config: Config): CallOptions {
  return {
    ...defaultCallOptions,
    greetingInterruptible: config.GREETING_INTERRUPTIBLE,
    minInterruptWords: config.MIN_INTERRUPT_WORDS,
    fillerWords: config.FILLER_WORDS,
    falseInterruptionTimeoutMs: config.FALSE_INTERRUPTION_TIMEOUT_MS,
    idleTimeoutMs: config.IDLE_TIMEOUT_MS,
    maxReprompts: config.MAX_REPROMPTS,
    llmTimeoutMs: config.LLM_TIMEOUT_MS,
    dtmfTimeoutMs: config.DTMF_TIMEOUT_MS,
    dtmfInterrupts: config.DTMF_INTERRUPTS,
  };
}

/** How to place a simulated call to this offline server (`npm run call` reads the same PORT). */
export function offlineCallCommand(port: number): string {
  const lines = '"Hi, what are your hours?" "Thanks, bye"';
  if (port === 8080) return `npm run call -- --offline ${lines}`;
  if (port === 0) return `npm run call -- --offline --url http://127.0.0.1:<port> ${lines}`;
  return `PORT=${port} npm run call -- --offline ${lines}`;
}

/** The `stt` child of a call for the configured engine (both actors keep the same contract with the machine). */
export function sttActorFor(providers: Providers, call: { pipe: MediaPipe; log: Logger; onWatchdog?: () => void }) {
  const { deepgram: client } = providers;
  return providers.sttEngine === 'flux'
    ? createDeepgramFluxStt({ client, pipe: call.pipe, log: call.log, options: providers.flux })
    : createDeepgramStt({ client, pipe: call.pipe, log: call.log, options: providers.stt, onWatchdog: call.onWatchdog });
}

export function fluxOptionsFrom(config: Config): FluxSttOptions {
  return {
    model: config.FLUX_MODEL,
    ...(config.FLUX_EOT_THRESHOLD === undefined ? {} : { eotThreshold: config.FLUX_EOT_THRESHOLD }),
    ...(config.FLUX_EAGER_EOT_THRESHOLD === undefined ? {} : { eagerEotThreshold: config.FLUX_EAGER_EOT_THRESHOLD }),
    ...(config.FLUX_EOT_TIMEOUT_MS === undefined ? {} : { eotTimeoutMs: config.FLUX_EOT_TIMEOUT_MS }),
  };
}

/** Offline only: options for the built-in simulators (tests and the demo script them). */
export interface SimulatorOptions {
  deepgram?: DeepgramSimOptions;
  llm?: LlmSimOptions;
  /** false: no local Twilio REST API (as a server without TWILIO_ACCOUNT_SID: transfers are unavailable). */
  twilioRest?: boolean;
}

export async function createProviders(config: Config, log: Logger, sim: SimulatorOptions = {}, metrics?: Metrics): Promise<Providers> {
  let simulators: Providers['simulators'];
  let deepgramKey = config.DEEPGRAM_API_KEY;
  let deepgramUrl = config.DEEPGRAM_BASE_URL;
  let credentials = {
    openai: { apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL },
    anthropic: { apiKey: config.ANTHROPIC_API_KEY, baseURL: config.ANTHROPIC_BASE_URL },
  };

  if (config.offline) {
    const { startOfflineSimulators } = await import('../harness/offline-simulators.js');
    const rest = config.TWILIO_ACCOUNT_SID === undefined && sim.twilioRest !== false ? { authToken: config.twilioAuthToken } : null;
    simulators = await startOfflineSimulators(sim, { agentFile: config.AGENT, scriptFile: config.OFFLINE_SCRIPT }, rest);
    const { deepgram, llm } = simulators;
    deepgramKey = 'offline';
    deepgramUrl = deepgram.url;
    credentials = {
      openai: { apiKey: 'offline', baseURL: llm.openaiBaseUrl },
      anthropic: { apiKey: 'offline', baseURL: llm.anthropicBaseUrl },
    };
    log.info(`no provider keys: running offline on the built-in simulators; call it with ${offlineCallCommand(config.PORT)}`, {
      deepgram: deepgram.url,
      sttEngine: config.STT_ENGINE,
      llm: config.LLM_PROVIDER === 'openai' ? llm.openaiBaseUrl : llm.anthropicBaseUrl,
      llmProvider: config.LLM_PROVIDER,
      ...(simulators.twilio === undefined ? {} : { twilioRest: simulators.twilio.url }),
    });
  }

  const deepgram = createDeepgramClient({ apiKey: deepgramKey ?? '', baseUrl: deepgramUrl });
  const llm = createLlmChain(config.llmChain, credentials, {
    firstTokenTimeoutMs: config.LLM_FIRST_TOKEN_TIMEOUT_MS,
    cooldownMs: config.LLM_FALLBACK_COOLDOWN_MS,
    log,
    observer: metrics ? llmFallbackObserver(metrics) : undefined,
  });
  if (llm.labels.length > 1) log.info('llm fallback chain', { providers: llm.labels, firstTokenTimeoutMs: config.LLM_FIRST_TOKEN_TIMEOUT_MS });
  const callOptions = callOptionsFrom(config);
  const phrases = new PhraseCache();

  return {
    deepgram,
    llm,
    phrases,
    sttEngine: config.STT_ENGINE,
    stt: {
      model: config.STT_MODEL,
      endpointingMs: config.STT_ENDPOINTING_MS,
      utteranceEndMs: config.STT_UTTERANCE_END_MS,
      chunkMs: config.STT_CHUNK_MS,
      language: config.STT_LANGUAGE,
      silenceWatchdogMs: config.STT_SILENCE_WATCHDOG_MS,
    },
    flux: fluxOptionsFrom(config),
    ttsSilenceWatchdogMs: config.TTS_SILENCE_WATCHDOG_MS,
    ttsModel: config.TTS_MODEL,
    callOptions,
    simulators,
    async warmPhrases(texts) {
      const missing = texts.filter((text) => !phrases.has(text));
      if (missing.length === 0) return;
      try {
        await phrases.warm(deepgram, config.TTS_MODEL, missing);
        log.info('phrase cache warm', { phrases: phrases.size });
      } catch (err) {
        // Not fatal: uncached phrases are synthesised per call.
        log.warn('phrase cache warm-up failed; fixed phrases will be synthesised per call', { error: String(err) });
      }
    },
    async close() {
      if (simulators) await Promise.all([simulators.deepgram.close(), simulators.llm.close(), simulators.orders.close(), simulators.twilio?.close()]);
    },
  };
}
