import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import winston from 'winston';
import { LogThrottle } from '../../lib/log-throttle.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    objectMode: true,
    write(info: Record<string, unknown>, _enc, done) {
      lines.push(info);
      done();
    },
  });
  return { lines, log: winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] }) };
}

describe('LogThrottle', () => {
  it('writes one line per key per interval and reports what it skipped on the next line', () => {
    let t = 0;
    const throttle = new LogThrottle(10_000, () => t);
    const { lines, log } = capture();
    for (let i = 0; i < 500; i++) throttle.warn(log, 'upgrade:no-signature', 'refused', { reason: 'no-signature' });
    throttle.warn(log, 'upgrade:bad-signature', 'refused', { reason: 'bad-signature' });
    expect(lines.map((l) => l.reason)).toEqual(['no-signature', 'bad-signature']);
    expect(lines[0]?.suppressedSinceLastLine).toBeUndefined();
    t += 9_999;
    throttle.warn(log, 'upgrade:no-signature', 'refused');
    expect(lines).toHaveLength(2);
    t += 1;
    throttle.warn(log, 'upgrade:no-signature', 'refused');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ level: 'warn', message: 'refused', suppressedSinceLastLine: 500 });
  });

  it('forgets the oldest keys beyond its limit (a peer cannot grow it without bound)', () => {
    const throttle = new LogThrottle(10_000, () => 0, 2);
    const { lines, log } = capture();
    for (const key of ['a', 'b', 'c', 'a']) throttle.warn(log, key, key);
    expect(lines.map((l) => l.message)).toEqual(['a', 'b', 'c', 'a']); // 'a' was forgotten when 'c' came
  });
});
