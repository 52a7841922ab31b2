/**
 * Configuration from the environment, validated once at start. A bad value fails with one line naming the variable.
 * With no Deepgram key and no LLM key the server runs fully offline on the built-in simulators.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import { z } from 'zod';
import { defaultCallOptions } from '../../machines/options.js';
import { llmChain, parseLlmTargets, type LlmTarget } from './llm-chain.js';
import { withoutCredentials } from '../../lib/redact-url.js';
import { errorMessage } from '../../lib/logger.js';

const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off', ''])
  .transform((v) => v === '1' || v === 'true' || v === 'yes' || v === 'on');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const httpUrl = z
  .url({ protocol: /^https?$/ })
  .transform((u) => u.replace(/\/+$/, ''));
/** An optional number in [min, max]; unset or blank = undefined (the provider's own default applies). */
const optionalNumber = (min: number, max: number, integer = false) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    (integer ? z.coerce.number().int() : z.coerce.number()).min(min).max(max).optional(),
  );
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));
/** Secrets a client presents (a guessable one makes every throttle moot): at least 32 characters when set. */
export const MIN_SECRET_LENGTH = 32;
const secret = optionalString.refine((v) => v === undefined || v.length >= MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters`);

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
/** express's `trust proxy`: off (default), `true` (any), a hop count, or addresses / subnets / names of the proxies. */
const trustProxy = z
  .string()
  .optional()
  .transform((raw, ctx): boolean | number | string => {
    const v = (raw ?? '').trim().toLowerCase();
    if (['', 'false', 'off', 'no', '0'].includes(v)) return false;
    if (['true', 'on', 'yes'].includes(v)) return true;
    if (/^\d{1,2}$/.test(v)) return Number(v);
    const entries = v.split(',').map((e) => e.trim());
    const valid = (e: string): boolean => {
      if (PROXY_NAMES.has(e)) return true;
      const [address = '', bits, extra] = e.split('/');
      const family = net.isIP(address);
      if (family === 0 || extra !== undefined) return false;
      return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
    };
    if (entries.every(valid)) return entries.join(',');
    ctx.addIssue({ code: 'custom', message: 'must be off, true, a hop count, or proxy addresses/subnets/loopback,linklocal,uniquelocal separated by commas' });
    return z.NEVER;
  });

const schema = z.object({
  PORT: int(0, 65535).default(8080),
  /**
   * Interface to listen on (0.0.0.0 = all; 127.0.0.1 behind a local proxy or tunnel). Unset: 0.0.0.0 with real
   * providers, 127.0.0.1 offline (offline webhooks are signed with a public constant: not for other machines).
   */
  HOST: optionalString,
  PUBLIC_URL: httpUrl.optional(),
  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_ACCOUNT_SID: optionalString.refine((v) => v === undefined || /^AC[0-9a-f]{32}$/i.test(v), 'must look like AC + 32 hex digits'),
  /** Caller ID for outbound calls (a Twilio number you own), E.164. */
  TWILIO_PHONE_NUMBER: optionalString.refine((v) => v === undefined || /^\+[1-9]\d{6,14}$/.test(v), 'must be an E.164 number like +15551234567'),
  /** Tests/offline only: where the Twilio REST client sends its requests (a local fake). */
  TWILIO_API_BASE_URL: httpUrl.optional(),
  /** Outbound calls run Twilio answering-machine detection unless the request says otherwise. */
  OUTBOUND_AMD: bool.default(true),
  /** Outbound calls `POST /calls` may place per minute (0 = no limit). */
  OUTBOUND_CALLS_PER_MINUTE: int(0, 100000).default(10),
  /** Destinations `POST /calls` may dial: E.164 prefixes like `+1,+44`; unset = any. */
  OUTBOUND_ALLOWED_PREFIXES: z
    .string()
    .optional()
    .transform((v) => (v ?? '').split(',').map((p) => p.trim()).filter((p) => p !== ''))
    .refine((list) => list.every((p) => /^\+\d{1,15}$/.test(p)), 'must be a comma-separated list of E.164 prefixes like +1,+44'),
  /** Bearer token that `POST /calls` requires; without it the endpoint is disabled. */
  CALLS_API_TOKEN: secret,
  /** Login secret of the web console (/console); default CALLS_API_TOKEN; neither = the console is off. */
  CONSOLE_PASSWORD: secret,
  /** Behind a reverse proxy: which X-Forwarded-For hops to believe (req.ip, which the throttles key on). */
  TRUST_PROXY: trustProxy,
  DEEPGRAM_API_KEY: optionalString,
  DEEPGRAM_BASE_URL: z.url({ protocol: /^(wss?|https?)$/ }).optional(),
  STT_MODEL: z.string().min(1).default('nova-3'),
  STT_ENDPOINTING_MS: int(10, 10000).default(300),
  STT_UTTERANCE_END_MS: int(1000, 5000).default(1000),
  /** Caller audio goes to Deepgram in messages of this many ms (whole 20 ms frames): 40 halves the socket writes. */
  STT_CHUNK_MS: int(20, 100).default(40),
  /** Deepgram's `language` (BCP-47 like `en`, `es`, `pt-BR`, or `multi`); unset = the model's default. */
  STT_LANGUAGE: optionalString.refine((v) => v === undefined || /^(multi|[a-z]{2,3}(-[A-Za-z0-9]{2,8})*)$/.test(v), 'must be a language code like en, es, pt-BR or multi'),
  /** `nova`: /v1/listen, end of turn by endpointing silence; `flux`: /v2/listen, Deepgram Flux's model-based end of turn. */
  STT_ENGINE: z.enum(['nova', 'flux']).default('nova'),
  FLUX_MODEL: z.string().min(1).default('flux-general-en'),
  /** Flux ranges from Deepgram's docs; unset = Deepgram's defaults (0.7, no eager events, 5000 ms). */
  FLUX_EOT_THRESHOLD: optionalNumber(0.5, 1),
  FLUX_EAGER_EOT_THRESHOLD: optionalNumber(0.3, 0.9),
  FLUX_EOT_TIMEOUT_MS: optionalNumber(500, 60000, true),
  TTS_MODEL: z.string().min(1).default('aura-2-thalia-en'),
  LLM_PROVIDER: z.enum(['openai', 'anthropic']).default('openai'),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: httpUrl.optional(),
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  ANTHROPIC_API_KEY: optionalString,
  ANTHROPIC_BASE_URL: httpUrl.optional(),
  ANTHROPIC_MODEL: z.string().min(1).default('claude-3-5-haiku-latest'),
  /** Set: wins over the agent's own (the operator's word is last). */
  SYSTEM_PROMPT: optionalString,
  GREETING: optionalString,
  /** An agent module (`defineAgent` default export); default: the bundled front-desk example. */
  AGENT: optionalString,
  /** Offline only: a scenario file (`{ caller, model }`, .ts/.js/.json) whose model steps the simulated LLM follows. */
  OFFLINE_SCRIPT: optionalString,
  GREETING_INTERRUPTIBLE: bool.default(defaultCallOptions.greetingInterruptible),
  MIN_INTERRUPT_WORDS: int(1, 20).default(defaultCallOptions.minInterruptWords),
  FILLER_WORDS: z
    .string()
    .transform((s) => s.split(',').map((w) => w.trim().toLowerCase()).filter((w) => w.length > 0))
    .default([...defaultCallOptions.fillerWords]),
  /** A barge-in followed by no real words this long was noise: the agent goes on (0 = never). */
  FALSE_INTERRUPTION_TIMEOUT_MS: int(0, 10000).default(defaultCallOptions.falseInterruptionTimeoutMs),
  IDLE_TIMEOUT_MS: int(1000, 600000).default(defaultCallOptions.idleTimeoutMs),
  MAX_REPROMPTS: int(0, 10).default(defaultCallOptions.maxReprompts),
  DTMF_TIMEOUT_MS: int(200, 30000).default(defaultCallOptions.dtmfTimeoutMs),
  DTMF_INTERRUPTS: bool.default(defaultCallOptions.dtmfInterrupts),
  LLM_TIMEOUT_MS: int(500, 120000).default(defaultCallOptions.llmTimeoutMs),
  /** Providers tried after LLM_PROVIDER when it fails before its first output: `provider:model,…`. */
  LLM_FALLBACK: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parseLlmTargets(v ?? '');
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: errorMessage(err) });
        return z.NEVER;
      }
    }),
  LLM_FIRST_TOKEN_TIMEOUT_MS: int(100, 60000).default(2000),
  LLM_FALLBACK_COOLDOWN_MS: int(0, 3600000).default(30000),
  /** Caller speech flowing and no STT message this long → reconnect the STT socket (0 = off). */
  STT_SILENCE_WATCHDOG_MS: int(0, 60000).default(5000),
  /** Flush sent and nothing back from TTS this long → reconnect the TTS socket (0 = off). */
  TTS_SILENCE_WATCHDOG_MS: int(0, 60000).default(3000),
  DRAIN_TIMEOUT_MS: int(0, 3600000).default(30000),
  /** Calls still up when the drain times out hear the goodbye phrase; this long is given for it before they are cut. */
  DRAIN_GOODBYE_MS: int(0, 120000).default(10000),
  /** HMAC secret of the stream tokens; default derived from TWILIO_AUTH_TOKEN, so every instance agrees. */
  STREAM_TOKEN_SECRET: secret,
  /** How long the token in the TwiML stays valid: Twilio opens the stream within a second or two of fetching it. */
  STREAM_TOKEN_TTL_MS: int(1000, 600000).default(30000),
  /** A media stream that has not presented a valid `start` this long after connecting is closed (1008). */
  STREAM_START_TIMEOUT_MS: int(100, 120000).default(5000),
  /** Media streams one address may hold open before their `start` (the handshake signature repeats per URL). */
  MAX_PENDING_STREAMS_PER_ADDRESS: int(1, 10000).default(20),
  /** A request's headers must arrive within this (slow-header connections are cut; checked every second). */
  HTTP_HEADERS_TIMEOUT_MS: int(1000, 300000).default(10000),
  /** A whole request (headers and body) must arrive within this. */
  HTTP_REQUEST_TIMEOUT_MS: int(1000, 3600000).default(30000),
  /** Open TCP connections the server accepts (media streams included); beyond it new ones are dropped. */
  MAX_CONNECTIONS: int(1, 1000000).default(2000),
  /** Shared state for many instances (stream tokens, tickets, throttles, call ownership, the live feed); unset = in memory. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Prefix of every Redis key and channel (deployments sharing one Redis keep apart). */
  REDIS_KEY_PREFIX: z.string().regex(/^[\w.:-]{0,64}$/, 'must be at most 64 letters, digits, . _ : or -').default('voice:'),
  /** A call's ownership (callSid → instance) lasts this long without its instance's heartbeat. */
  CALL_OWNER_TTL_MS: int(1000, 600000).default(15000),
  /** Calls this instance takes at once; beyond it `/voice` answers 503 (the balancer tries another) and streams are refused. */
  MAX_CONCURRENT_CALLS: int(1, 100000).default(500),
  /** A call still up after this long is ended politely (goodbye phrase); 0 = no limit. */
  MAX_CALL_DURATION_MS: int(0, 86400000).default(3600000),
  /** Call records (SQLite): `off` keeps nothing. */
  CALL_RECORDS: bool.default(true),
  CALL_DB_PATH: z.string().min(1).default('./data/calls.db'),
  /** Calls older than this are deleted at start and daily; 0 keeps them forever. */
  CALL_RECORD_RETENTION_DAYS: int(0, 36500).default(30),
  /** Post-call webhook (the summary, signed with CALL_WEBHOOK_SECRET). Kept as given: no trailing-slash trimming. */
  CALL_WEBHOOK_URL: z
    .url({ protocol: /^https?$/ })
    .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), 'must not carry credentials (user:password@): deliveries are signed with CALL_WEBHOOK_SECRET')
    .optional(),
  CALL_WEBHOOK_SECRET: secret,
  /** Put what was said (caller and agent text, keys pressed) in the log lines; off: transcripts are personal data. */
  LOG_TRANSCRIPTS: bool.default(false),
  /** Rows the webhook outbox keeps at most (pending and finished); beyond, the oldest go, finished first. */
  CALL_WEBHOOK_OUTBOX_MAX_ROWS: int(1, 10_000_000).default(10000),
  /** Hours a row stays in the webhook outbox at most, delivered or not (and never beyond the records' retention). */
  CALL_WEBHOOK_OUTBOX_MAX_AGE_HOURS: int(1, 8760).default(24),
  /** PostgreSQL for the call records and the webhook outbox, shared by every instance; unset = the SQLite file. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** Record writes waiting in memory while the database is unreachable, at most this many MiB (then dropped, counted). */
  DATABASE_QUEUE_MB: int(1, 4096).default(64),
  /** This process among the instances: on every record and log line; must be unique among running instances. */
  INSTANCE_ID: z
    .string()
    .regex(/^[\w.:@-]{1,100}$/, 'must be 1–100 letters, digits or . _ - : @')
    .default(`${os.hostname()}-${process.pid}`),
  /** An instance whose heartbeat is this old is dead: another ends its calls' records (instance-lost). */
  INSTANCE_TTL_MS: int(1000, 3600000).default(30000),
  INSPECT: bool.default(false),
  INSPECT_PORT: int(1, 65535).default(5678),
  /** Interface of the inspector's bridge (page + relay; live transcripts): loopback unless you mean otherwise. */
  INSPECT_HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  NODE_ENV: z.string().optional(),
});

export type Env = z.infer<typeof schema>;

/** Every variable the configuration reads (the README's table must list each: test/unit/readme-config.test.ts). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

export interface Config extends Omit<Env, 'HOST'> {
  /** HOST, or its default (loopback offline, every interface with real providers). */
  readonly HOST: string;
  /** Offline and HOST unset: listening on loopback only, which the start line says. */
  readonly loopbackBecauseOffline: boolean;
  /** No real Deepgram/LLM key: the built-in simulators stand in for every provider. */
  readonly offline: boolean;
  /** The auth token used to check webhook signatures (a fixed local token when offline). */
  readonly twilioAuthToken: string;
  readonly logFormat: 'json' | 'pretty';
  /** LLM_PROVIDER's model first, then LLM_FALLBACK's entries. */
  readonly llmChain: readonly LlmTarget[];
}

export class ConfigError extends Error {
  constructor(readonly variable: string, detail: string) {
    super(`Invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigError';
  }
}

/** Deepgram's default `eot_threshold` for Flux (used when FLUX_EOT_THRESHOLD is unset). */
const FLUX_DEFAULT_EOT_THRESHOLD = 0.7;

/** Token the offline simulators sign webhooks with; never valid against real Twilio. */
export const OFFLINE_TWILIO_AUTH_TOKEN = 'offline-simulator-auth-token';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    const value = env[variable];
    const shown = /KEY|TOKEN|SECRET|PASSWORD|DATABASE_URL/.test(variable) || value === undefined ? '' : ` (got "${variable.endsWith('_URL') ? withoutCredentials(value) : value}")`;
    throw new ConfigError(variable, `${issue?.message ?? 'is invalid'}${shown}`);
  }
  const e = parsed.data;
  const eot = e.FLUX_EOT_THRESHOLD ?? FLUX_DEFAULT_EOT_THRESHOLD;
  if (e.FLUX_EAGER_EOT_THRESHOLD !== undefined && e.FLUX_EAGER_EOT_THRESHOLD > eot) {
    throw new ConfigError('FLUX_EAGER_EOT_THRESHOLD', `must not exceed the end-of-turn threshold ${eot} (got "${e.FLUX_EAGER_EOT_THRESHOLD}")`);
  }
  const llmKeyName = e.LLM_PROVIDER === 'openai' ? 'OPENAI_API_KEY' : 'ANTHROPIC_API_KEY';
  const otherKeyName = e.LLM_PROVIDER === 'openai' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY';
  // Any provider key means "real providers": a key for the provider not chosen must not silently mean offline.
  const offline = e.DEEPGRAM_API_KEY === undefined && e.OPENAI_API_KEY === undefined && e.ANTHROPIC_API_KEY === undefined;
  if (!offline) {
    if (e[llmKeyName] === undefined && e[otherKeyName] !== undefined)
      throw new ConfigError(llmKeyName, `is required with LLM_PROVIDER=${e.LLM_PROVIDER} (${otherKeyName} is set: set LLM_PROVIDER to match it, or give ${llmKeyName})`);
    if (e.DEEPGRAM_API_KEY === undefined) throw new ConfigError('DEEPGRAM_API_KEY', 'is required when an LLM key is set');
    if (e[llmKeyName] === undefined) throw new ConfigError(llmKeyName, `is required with LLM_PROVIDER=${e.LLM_PROVIDER} when DEEPGRAM_API_KEY is set`);
    // Neither Twilio setting but a console login: no phone line at all, the console's softphone is the only way in.
    const softphoneOnly = e.TWILIO_AUTH_TOKEN === undefined && e.PUBLIC_URL === undefined && (e.CONSOLE_PASSWORD ?? e.CALLS_API_TOKEN) !== undefined;
    if (!softphoneOnly) {
      if (e.TWILIO_AUTH_TOKEN === undefined) throw new ConfigError('TWILIO_AUTH_TOKEN', 'is required with real providers (webhook signatures are checked)');
      if (e.PUBLIC_URL === undefined) throw new ConfigError('PUBLIC_URL', 'is required with real providers (the URL Twilio reaches, e.g. https://voice.example.com)');
    }
  }
  const chain = llmChain({ provider: e.LLM_PROVIDER, model: e.LLM_PROVIDER === 'openai' ? e.OPENAI_MODEL : e.ANTHROPIC_MODEL }, e.LLM_FALLBACK);
  if (!offline) {
    for (const t of chain) {
      const key = t.provider === 'openai' ? 'OPENAI_API_KEY' : 'ANTHROPIC_API_KEY';
      if (e[key] === undefined) throw new ConfigError(key, `is required by LLM_FALLBACK (${t.provider}:${t.model})`);
    }
  }
  if (chain.length > 1 && e.LLM_FIRST_TOKEN_TIMEOUT_MS >= e.LLM_TIMEOUT_MS) {
    throw new ConfigError('LLM_FIRST_TOKEN_TIMEOUT_MS', `must be below LLM_TIMEOUT_MS (${e.LLM_TIMEOUT_MS}) or no fallback ever gets its turn (got "${e.LLM_FIRST_TOKEN_TIMEOUT_MS}")`);
  }
  if (e.HTTP_REQUEST_TIMEOUT_MS < e.HTTP_HEADERS_TIMEOUT_MS) {
    throw new ConfigError('HTTP_REQUEST_TIMEOUT_MS', `must be at least HTTP_HEADERS_TIMEOUT_MS (${e.HTTP_HEADERS_TIMEOUT_MS}) (got "${e.HTTP_REQUEST_TIMEOUT_MS}")`);
  }
  if (e.CALL_WEBHOOK_URL !== undefined) {
    if (e.CALL_WEBHOOK_SECRET === undefined) throw new ConfigError('CALL_WEBHOOK_SECRET', 'is required with CALL_WEBHOOK_URL (deliveries are signed)');
    if (!e.CALL_RECORDS) throw new ConfigError('CALL_WEBHOOK_URL', 'needs CALL_RECORDS on (the webhook outbox lives in the call database)');
  }
  return {
    ...e,
    offline,
    HOST: e.HOST ?? (offline ? '127.0.0.1' : '0.0.0.0'),
    loopbackBecauseOffline: offline && e.HOST === undefined,
    // Real providers without Twilio: a secret nobody knows, so no webhook or signed stream is ever accepted.
    twilioAuthToken: e.TWILIO_AUTH_TOKEN ?? (offline ? OFFLINE_TWILIO_AUTH_TOKEN : randomBytes(32).toString('base64url')),
    llmChain: chain,
    logFormat: e.LOG_FORMAT ?? (e.NODE_ENV === 'production' ? 'json' : process.stdout.isTTY ? 'pretty' : 'json'),
  };
}

