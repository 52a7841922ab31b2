import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, OFFLINE_TWILIO_AUTH_TOKEN } from '../../src/server/config.js';

describe('config', () => {
  it('runs offline with no keys and sensible defaults', () => {
    const c = loadConfig({});
    expect(c.offline).toBe(true);
    expect(c.PORT).toBe(8080);
    expect(c.LLM_PROVIDER).toBe('openai');
    expect(c.twilioAuthToken).toBe(OFFLINE_TWILIO_AUTH_TOKEN);
    expect(c.FILLER_WORDS).toContain('uh-huh');
  });

  it('names the variable of a bad value in one line', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/^Invalid configuration: PORT /);
    expect(() => loadConfig({ LLM_PROVIDER: 'gemini' })).toThrow(/LLM_PROVIDER/);
    expect(() => loadConfig({ PUBLIC_URL: 'ftp://x' })).toThrow(/PUBLIC_URL/);
    expect(() => loadConfig({ STT_UTTERANCE_END_MS: '500' })).toThrow(/STT_UTTERANCE_END_MS/);
    expect(() => loadConfig({ STT_LANGUAGE: 'en_US' })).toThrow(/^Invalid configuration: STT_LANGUAGE must be a language code/);
    expect(loadConfig({ STT_LANGUAGE: ' pt-BR ' }).STT_LANGUAGE).toBe('pt-BR');
    expect(loadConfig({}).STT_LANGUAGE).toBeUndefined();
  });

  it('requires the whole set of real credentials once one key is given, without echoing secrets', () => {
    let err: unknown;
    try {
      loadConfig({ OPENAI_API_KEY: 'sk-secret' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe('DEEPGRAM_API_KEY');
    expect((err as Error).message).not.toContain('sk-secret');
    expect(() => loadConfig({ OPENAI_API_KEY: 'k', DEEPGRAM_API_KEY: 'd' })).toThrow(/TWILIO_AUTH_TOKEN/);
    const c = loadConfig({ OPENAI_API_KEY: 'k', DEEPGRAM_API_KEY: 'd', TWILIO_AUTH_TOKEN: 't', PUBLIC_URL: 'https://a.example/' });
    expect(c.offline).toBe(false);
    expect(c.PUBLIC_URL).toBe('https://a.example');
  });

  it('real keys with a console login but no Twilio settings: softphone only, Twilio signatures made impossible', () => {
    const keys = { OPENAI_API_KEY: 'k', DEEPGRAM_API_KEY: 'd', CONSOLE_PASSWORD: 'p'.repeat(32) };
    const [a, b] = [loadConfig(keys), loadConfig(keys)];
    expect(a.offline).toBe(false);
    expect(a.twilioAuthToken).not.toBe(OFFLINE_TWILIO_AUTH_TOKEN);
    expect(a.twilioAuthToken).not.toBe(b.twilioAuthToken);
    expect(a.twilioAuthToken.length).toBeGreaterThanOrEqual(43);
    // Half a Twilio setup is still an error.
    expect(() => loadConfig({ ...keys, TWILIO_AUTH_TOKEN: 't' })).toThrow(/PUBLIC_URL/);
    expect(() => loadConfig({ ...keys, PUBLIC_URL: 'https://a.example' })).toThrow(/TWILIO_AUTH_TOKEN/);
  });

  it('refuses a key for the LLM provider not chosen, naming the key the chosen provider needs', () => {
    const mismatch = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const anthropic = mismatch({ LLM_PROVIDER: 'anthropic', OPENAI_API_KEY: 'sk-secret' });
    expect(anthropic).toBeInstanceOf(ConfigError);
    expect((anthropic as ConfigError).variable).toBe('ANTHROPIC_API_KEY');
    expect((anthropic as Error).message).toMatch(/^Invalid configuration: ANTHROPIC_API_KEY is required with LLM_PROVIDER=anthropic \(OPENAI_API_KEY is set/);
    expect((anthropic as Error).message).not.toContain('sk-secret');
    expect((anthropic as Error).message.split('\n')).toHaveLength(1);
    // The same with Deepgram's key given, and the other way round.
    const full = { DEEPGRAM_API_KEY: 'd', TWILIO_AUTH_TOKEN: 't', PUBLIC_URL: 'https://a.example' };
    expect((mismatch({ ...full, LLM_PROVIDER: 'anthropic', OPENAI_API_KEY: 'k' }) as ConfigError).variable).toBe('ANTHROPIC_API_KEY');
    expect((mismatch({ ...full, ANTHROPIC_API_KEY: 'k' }) as ConfigError).variable).toBe('OPENAI_API_KEY');
    expect(loadConfig({ ...full, LLM_PROVIDER: 'anthropic', ANTHROPIC_API_KEY: 'k', OPENAI_API_KEY: 'k2' }).offline).toBe(false);
  });

  it('shared records: DATABASE_URL must be postgres:// (never echoed: it may hold a password); INSTANCE_ID defaults to hostname-pid', () => {
    expect(loadConfig({}).DATABASE_URL).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/calls' }).DATABASE_URL).toBe('postgres://u:p@db:5432/calls');
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/calls' }).DATABASE_URL).toBe('postgresql://db/calls');
    let err: unknown;
    try {
      loadConfig({ DATABASE_URL: 'mysql://u:hunter2@db/calls' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err)).toMatch(/DATABASE_URL/);
    expect(String(err)).not.toContain('hunter2');
    expect(loadConfig({}).INSTANCE_ID).toMatch(new RegExp(`-${process.pid}$`));
    expect(loadConfig({ INSTANCE_ID: 'pod-a1' }).INSTANCE_ID).toBe('pod-a1');
    expect(() => loadConfig({ INSTANCE_ID: 'has space' })).toThrow(/INSTANCE_ID/);
    expect(loadConfig({}).INSTANCE_TTL_MS).toBe(30000);
    expect(loadConfig({}).DATABASE_QUEUE_MB).toBe(64);
  });

  it('parses lists and booleans', () => {
    const c = loadConfig({ FILLER_WORDS: 'Mm, uh-huh ,', GREETING_INTERRUPTIBLE: 'false', INSPECT: '1' });
    expect(c.FILLER_WORDS).toEqual(['mm', 'uh-huh']);
    expect(c.GREETING_INTERRUPTIBLE).toBe(false);
    expect(c.INSPECT).toBe(true);
  });

  it('stream binding and drain settings: defaults, bounds, and a secret too short to trust is refused without echo', () => {
    const c = loadConfig({});
    expect({ ttl: c.STREAM_TOKEN_TTL_MS, start: c.STREAM_START_TIMEOUT_MS, goodbye: c.DRAIN_GOODBYE_MS, secret: c.STREAM_TOKEN_SECRET }).toEqual({
      ttl: 30000,
      start: 5000,
      goodbye: 10000,
      secret: undefined,
    });
    expect(() => loadConfig({ STREAM_TOKEN_SECRET: 'short-secret' })).toThrow(/^Invalid configuration: STREAM_TOKEN_SECRET must be at least 32 characters$/);
    expect(loadConfig({ STREAM_TOKEN_SECRET: 'x'.repeat(32) }).STREAM_TOKEN_SECRET).toBe('x'.repeat(32));
    expect(() => loadConfig({ STREAM_START_TIMEOUT_MS: '0' })).toThrow(/STREAM_START_TIMEOUT_MS/);
    expect(() => loadConfig({ STREAM_TOKEN_TTL_MS: '10' })).toThrow(/STREAM_TOKEN_TTL_MS/);
  });

  it('every secret a client presents has at least 32 characters: a short one is an error naming it, never echoed', () => {
    for (const variable of ['CALLS_API_TOKEN', 'CONSOLE_PASSWORD', 'CALL_WEBHOOK_SECRET', 'STREAM_TOKEN_SECRET']) {
      const short = 'hunter2-is-31-characters-long!!';
      expect(short).toHaveLength(31);
      expect(() => loadConfig({ [variable]: short })).toThrow(new RegExp(`^Invalid configuration: ${variable} must be at least 32 characters$`));
      expect(loadConfig({ [variable]: short + 'x' })[variable as 'CALLS_API_TOKEN']).toBe(short + 'x');
    }
  });

  it('TRUST_PROXY: off by default; true, a hop count, or proxy addresses, subnets and names; anything else names it', () => {
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'off' }).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '1' }).TRUST_PROXY).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::1' }).TRUST_PROXY).toBe('loopback,10.0.0.0/8,fd00::1');
    for (const bad of ['nginx', '10.0.0.0/33', '300.1.1.1', 'loopback,'])
      expect(() => loadConfig({ TRUST_PROXY: bad }), bad).toThrow(/^Invalid configuration: TRUST_PROXY must be/);
  });

  it('chooses the STT engine and validates the Flux thresholds against Deepgram\'s ranges', () => {
    const nova = loadConfig({});
    expect(nova.STT_ENGINE).toBe('nova');
    expect(nova.FLUX_MODEL).toBe('flux-general-en');
    expect(nova.FLUX_EAGER_EOT_THRESHOLD).toBeUndefined();
    const flux = loadConfig({ STT_ENGINE: 'flux', FLUX_EOT_THRESHOLD: '0.8', FLUX_EAGER_EOT_THRESHOLD: '0.5', FLUX_EOT_TIMEOUT_MS: '3000' });
    expect(flux).toMatchObject({ STT_ENGINE: 'flux', FLUX_EOT_THRESHOLD: 0.8, FLUX_EAGER_EOT_THRESHOLD: 0.5, FLUX_EOT_TIMEOUT_MS: 3000 });
    expect(loadConfig({ FLUX_EAGER_EOT_THRESHOLD: ' ' }).FLUX_EAGER_EOT_THRESHOLD).toBeUndefined();
    expect(() => loadConfig({ STT_ENGINE: 'whisper' })).toThrow(/STT_ENGINE/);
    expect(() => loadConfig({ FLUX_EOT_THRESHOLD: '0.4' })).toThrow(/FLUX_EOT_THRESHOLD/);
    expect(() => loadConfig({ FLUX_EAGER_EOT_THRESHOLD: '0.95' })).toThrow(/FLUX_EAGER_EOT_THRESHOLD/);
    expect(() => loadConfig({ FLUX_EOT_TIMEOUT_MS: '400' })).toThrow(/FLUX_EOT_TIMEOUT_MS/);
    expect(() => loadConfig({ FLUX_EOT_TIMEOUT_MS: '1000.5' })).toThrow(/FLUX_EOT_TIMEOUT_MS/);
    // Eager above the end-of-turn threshold (given or Deepgram's 0.7) could never come first.
    expect(() => loadConfig({ FLUX_EAGER_EOT_THRESHOLD: '0.8' })).toThrow(/^Invalid configuration: FLUX_EAGER_EOT_THRESHOLD must not exceed/);
    expect(loadConfig({ FLUX_EAGER_EOT_THRESHOLD: '0.8', FLUX_EOT_THRESHOLD: '0.9' }).FLUX_EAGER_EOT_THRESHOLD).toBe(0.8);
  });
});

describe('config: LLM fallback and watchdogs', () => {
  const real = { OPENAI_API_KEY: 'k', DEEPGRAM_API_KEY: 'd', TWILIO_AUTH_TOKEN: 't', PUBLIC_URL: 'https://a.example' };

  it('builds the provider chain: LLM_PROVIDER first, then LLM_FALLBACK without repeats', () => {
    expect(loadConfig({}).llmChain).toEqual([{ provider: 'openai', model: 'gpt-4o-mini' }]);
    const c = loadConfig({ LLM_FALLBACK: ' anthropic:claude-haiku-4-5, openai:gpt-4o-mini ,openai:gpt-4.1-mini' });
    expect(c.llmChain).toEqual([
      { provider: 'openai', model: 'gpt-4o-mini' },
      { provider: 'anthropic', model: 'claude-haiku-4-5' },
      { provider: 'openai', model: 'gpt-4.1-mini' },
    ]);
    expect(c.LLM_FIRST_TOKEN_TIMEOUT_MS).toBe(2000);
    expect(c.STT_SILENCE_WATCHDOG_MS).toBe(5000);
    expect(c.TTS_SILENCE_WATCHDOG_MS).toBe(3000);
  });

  it('refuses bad entries, a missing key for a fallback provider, and a first-token timeout the machine would cut', () => {
    expect(() => loadConfig({ LLM_FALLBACK: 'gemini:pro' })).toThrow(/^Invalid configuration: LLM_FALLBACK entry "gemini:pro"/);
    expect(() => loadConfig({ LLM_FALLBACK: 'anthropic' })).toThrow(/LLM_FALLBACK/);
    expect(() => loadConfig({ ...real, LLM_FALLBACK: 'anthropic:claude-haiku-4-5' })).toThrow(/ANTHROPIC_API_KEY is required by LLM_FALLBACK/);
    expect(loadConfig({ ...real, ANTHROPIC_API_KEY: 'a', LLM_FALLBACK: 'anthropic:claude-haiku-4-5' }).llmChain).toHaveLength(2);
    expect(() => loadConfig({ LLM_FALLBACK: 'anthropic:x', LLM_FIRST_TOKEN_TIMEOUT_MS: '8000' })).toThrow(/LLM_FIRST_TOKEN_TIMEOUT_MS must be below LLM_TIMEOUT_MS/);
    // With one provider there is nothing to fall back to: the first-token timeout does not apply.
    expect(loadConfig({ LLM_FIRST_TOKEN_TIMEOUT_MS: '8000' }).llmChain).toHaveLength(1);
  });

  it('call records: on by default under ./data; the webhook needs its secret and the records, never echoing the secret', () => {
    const c = loadConfig({});
    expect([c.CALL_RECORDS, c.CALL_DB_PATH, c.CALL_RECORD_RETENTION_DAYS]).toEqual([true, './data/calls.db', 30]);
    expect(loadConfig({ CALL_RECORDS: 'off' }).CALL_RECORDS).toBe(false);
    expect(() => loadConfig({ CALL_WEBHOOK_URL: 'https://hooks.example/calls' })).toThrow(/CALL_WEBHOOK_SECRET is required/);
    expect(() => loadConfig({ CALL_WEBHOOK_URL: 'https://h.example/', CALL_WEBHOOK_SECRET: 's'.repeat(32), CALL_RECORDS: 'off' })).toThrow(/CALL_WEBHOOK_URL needs CALL_RECORDS/);
    expect(loadConfig({ CALL_WEBHOOK_URL: 'https://h.example/in/', CALL_WEBHOOK_SECRET: 's'.repeat(32) }).CALL_WEBHOOK_URL).toBe('https://h.example/in/');
    expect(() => loadConfig({ CALL_WEBHOOK_URL: 'ftp://h.example' })).toThrow(/CALL_WEBHOOK_URL/);
    expect(() => loadConfig({ CALL_RECORD_RETENTION_DAYS: '-1' })).toThrow(/CALL_RECORD_RETENTION_DAYS/);
    expect(() => loadConfig({ CALL_WEBHOOK_SECRET: '', CALL_RECORD_RETENTION_DAYS: 'x' })).toThrow(/CALL_RECORD_RETENTION_DAYS/);
  });
});
