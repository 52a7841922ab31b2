/** Configuration of the security settings of issue 23 (the listening interface offline, …). */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';

const REAL = { OPENAI_API_KEY: 'k', DEEPGRAM_API_KEY: 'd', TWILIO_AUTH_TOKEN: 't', PUBLIC_URL: 'https://a.example' };

describe('config: security settings', () => {
  it('offline listens on loopback unless HOST is set; real providers on every interface', () => {
    expect(loadConfig({})).toMatchObject({ offline: true, HOST: '127.0.0.1', loopbackBecauseOffline: true });
    expect(loadConfig({ HOST: '0.0.0.0' })).toMatchObject({ offline: true, HOST: '0.0.0.0', loopbackBecauseOffline: false });
    expect(loadConfig(REAL)).toMatchObject({ offline: false, HOST: '0.0.0.0', loopbackBecauseOffline: false });
    expect(loadConfig({ ...REAL, HOST: '127.0.0.1' }).HOST).toBe('127.0.0.1');
  });
});
