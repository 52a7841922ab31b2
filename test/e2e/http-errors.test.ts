/** Errors of the HTTP surface answer short JSON, in every mode: never a stack, never node_modules paths. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type E2eStack } from './harness.js';

describe('HTTP errors', () => {
  let stack: E2eStack;
  beforeAll(async () => {
    // vitest runs with NODE_ENV=test: express's own handler would print the stack here.
    stack = await startStack({ env: { CALLS_API_TOKEN: 'calls-secret-0123456789abcdef0123456789', CONSOLE_PASSWORD: 'console-password-0123456789abcdef01234' } });
  });
  afterAll(async () => {
    await stack.close();
  });

  const post = (path: string, body: string, type = 'application/json') =>
    fetch(`${stack.server.localUrl}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': type, Authorization: 'Bearer calls-secret-0123456789abcdef0123456789' },
      body,
    });

  it.each([
    ['POST /calls', '/calls'],
    ['POST /console/login', '/console/login'],
    ['POST /console/api/softphone', '/console/api/softphone'],
  ])('a malformed JSON body to %s answers 400 JSON without a stack', async (_name, path) => {
    const res = await post(path, '{"to": "+1555', 'application/json');
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: 'malformed JSON body' });
    expect(text).not.toMatch(/node_modules|at \w|SyntaxError|\.js:\d/);
  });

  it('a body over the limit answers 413 JSON without a stack', async () => {
    const res = await post('/calls', JSON.stringify({ to: '+15551234567', pad: 'x'.repeat(64 * 1024) }));
    expect(res.status).toBe(413);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: 'request body too large' });
    expect(text).not.toMatch(/node_modules|at \w/);
  });

  it('a bad form body to /voice answers JSON without a stack', async () => {
    const res = await post('/voice', 'a=%E0%A4%A', 'application/x-www-form-urlencoded; charset=latin9');
    expect(res.status).toBe(415);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: 'unsupported charset' });
    expect(text).not.toMatch(/node_modules|at \w/);
  });
});
