/** Configuration of the security settings of issue 23 (the listening interface offline, …). */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { redactUrls, withoutCredentials } from '../../lib/redact-url.js';

const REAL = { OPENAI_API_KEY: 'k', DEEPGRAM_API_KEY: 'd', TWILIO_AUTH_TOKEN: 't', PUBLIC_URL: 'https://a.example' };

describe('config: security settings', () => {
  it('offline listens on loopback unless HOST is set; real providers on every interface', () => {
    expect(loadConfig({})).toMatchObject({ offline: true, HOST: '127.0.0.1', loopbackBecauseOffline: true });
    expect(loadConfig({ HOST: '0.0.0.0' })).toMatchObject({ offline: true, HOST: '0.0.0.0', loopbackBecauseOffline: false });
    expect(loadConfig(REAL)).toMatchObject({ offline: false, HOST: '0.0.0.0', loopbackBecauseOffline: false });
    expect(loadConfig({ ...REAL, HOST: '127.0.0.1' }).HOST).toBe('127.0.0.1');
  });

  it('never echoes a URL\'s userinfo or query in a config error; a webhook URL with credentials is refused', () => {
    const message = (env: NodeJS.ProcessEnv): string => {
      try {
        loadConfig(env);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('no error');
    };
    const bad = message({ CALL_WEBHOOK_URL: 'ftp://hook-user:hunter2@hooks.example/in?sig=s3cr3t#frag', CALL_WEBHOOK_SECRET: 'x'.repeat(32) });
    expect(bad).toMatch(/^Invalid configuration: CALL_WEBHOOK_URL /);
    expect(bad).toContain('hooks.example/in');
    expect(bad).not.toMatch(/hook-user|hunter2|s3cr3t|frag/);
    const noScheme = message({ PUBLIC_URL: 'admin:pw123@voice.example/x?token=abc' });
    expect(noScheme).not.toMatch(/admin|pw123|abc/);
    const credentials = message({ CALL_WEBHOOK_URL: 'https://hook-user:hunter2@hooks.example/in', CALL_WEBHOOK_SECRET: 'x'.repeat(32) });
    expect(credentials).toMatch(/CALL_WEBHOOK_URL must not carry credentials/);
    expect(credentials).not.toMatch(/hook-user|hunter2/);
  });

  it('redacts URLs inside error messages (what a failed webhook delivery logs)', () => {
    expect(withoutCredentials('https://u:p@h.example:8443/a/b?q=1#f')).toBe('https://[redacted]@h.example:8443/a/b?[redacted]');
    expect(withoutCredentials('https://h.example/a')).toBe('https://h.example/a');
    expect(redactUrls('Request cannot be constructed from a URL that includes credentials: https://u:p@h.example/x?k=v')).toBe(
      'Request cannot be constructed from a URL that includes credentials: https://[redacted]@h.example/x?[redacted]',
    );
  });

  it('outbound limits: 10 calls a minute and any destination by default; prefixes are E.164', () => {
    expect(loadConfig({})).toMatchObject({ OUTBOUND_CALLS_PER_MINUTE: 10, OUTBOUND_ALLOWED_PREFIXES: [] });
    expect(loadConfig({ OUTBOUND_ALLOWED_PREFIXES: ' +1, +44 ,' }).OUTBOUND_ALLOWED_PREFIXES).toEqual(['+1', '+44']);
    expect(() => loadConfig({ OUTBOUND_ALLOWED_PREFIXES: '+1,44' })).toThrow(/^Invalid configuration: OUTBOUND_ALLOWED_PREFIXES must be a comma-separated list of E.164 prefixes/);
    expect(() => loadConfig({ OUTBOUND_CALLS_PER_MINUTE: '-1' })).toThrow(/OUTBOUND_CALLS_PER_MINUTE/);
  });

  it('HTTP and media limits: deliberate defaults, a request timeout not below the headers timeout', () => {
    expect(loadConfig({})).toMatchObject({ HTTP_HEADERS_TIMEOUT_MS: 10000, HTTP_REQUEST_TIMEOUT_MS: 30000, MAX_CONNECTIONS: 2000, MAX_PENDING_STREAMS_PER_ADDRESS: 20 });
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' })).toThrow(/^Invalid configuration: HTTP_REQUEST_TIMEOUT_MS must be at least/);
    expect(() => loadConfig({ MAX_PENDING_STREAMS_PER_ADDRESS: '0' })).toThrow(/MAX_PENDING_STREAMS_PER_ADDRESS/);
  });
});
