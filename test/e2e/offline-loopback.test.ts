/** Offline, the server listens on loopback unless HOST says otherwise, and its start line says so. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { captureLogger, startStack, type LogLine } from './harness.js';

describe('offline listening interface', () => {
  it('listens on 127.0.0.1 by default and says why in the start line', async () => {
    const lines: LogLine[] = [];
    const stack = await startStack({ config: loadConfig({ PORT: '0', CALL_RECORDS: 'off' }), log: captureLogger(lines) });
    try {
      const start = lines.find((l) => l.message === 'server listening');
      expect(start).toMatchObject({ host: '127.0.0.1', hostNote: expect.stringMatching(/offline: loopback only.*set HOST/) });
    } finally {
      await stack.close();
    }
  });

  it('an explicit HOST is kept, without the note', async () => {
    const lines: LogLine[] = [];
    const stack = await startStack({ config: loadConfig({ PORT: '0', HOST: '127.0.0.1', CALL_RECORDS: 'off' }), log: captureLogger(lines) });
    try {
      const start = lines.find((l) => l.message === 'server listening');
      expect(start).toMatchObject({ host: '127.0.0.1' });
      expect(start).not.toHaveProperty('hostNote');
    } finally {
      await stack.close();
    }
  });
});
