import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import winston from 'winston';
import { callLogger, createLogger } from '../../lib/logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const log = createLogger({ format: 'json' });
  log.clear();
  log.add(new winston.transports.Stream({ stream }));
  return { log, lines };
}

describe('logger', () => {
  it('writes JSON lines, redacts secret fields and keeps metrics that merely mention tokens', () => {
    const { log, lines } = capture();
    log.info('configured', { apiKey: 'sk-1', authToken: 'tok', OPENAI_API_KEY: 'sk-2', authorization: 'Token x', firstTokenMs: 120, tokensPerSecond: 50 });
    expect(lines[0]).toMatchObject({ level: 'info', message: 'configured', apiKey: '[redacted]', authToken: '[redacted]', OPENAI_API_KEY: '[redacted]', authorization: '[redacted]', firstTokenMs: 120, tokensPerSecond: 50 });
    expect(typeof lines[0]?.timestamp).toBe('string');
  });

  it('stamps every call line with the callSid', () => {
    const { log, lines } = capture();
    callLogger(log, 'CA123').info('turn', { turn: 1 });
    expect(lines[0]).toMatchObject({ callSid: 'CA123', turn: 1, message: 'turn' });
  });
});

describe('logger level gate', () => {
  it('drops disabled levels before formatting, on the logger and its children alike', () => {
    const { log, lines } = capture();
    log.level = 'warn';
    const child = callLogger(log, 'CA9');
    log.info('hidden');
    child.debug('hidden too');
    child.warn('shown');
    expect(lines.map((l) => l.message)).toEqual(['shown']);
    expect(lines[0]?.callSid).toBe('CA9');
  });
});
