/** The LLM SDKs' connection pool keeps the connection across turns that are more than 4 s apart. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { llmHttpAgent } from '../../actors/llm-http.js';

let server: http.Server;
let url = '';
let connections = 0;

beforeAll(async () => {
  server = http.createServer((_req, res) => res.end('ok'));
  // No `Keep-Alive: timeout=` hint and no idle close on the server side, as with most API front-ends: how long an
  // idle connection lives is then the client's choice (undici's default: 4 s).
  server.keepAliveTimeout = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('LLM connection pool', () => {
  it('reuses one connection for two turns 4.5 s apart, where the built-in fetch opens two', async () => {
    connections = 0;
    await (await fetch(url, { dispatcher: llmHttpAgent } as RequestInit)).text();
    await pause(4500);
    await (await fetch(url, { dispatcher: llmHttpAgent } as RequestInit)).text();
    expect(connections).toBe(1);

    connections = 0;
    await (await fetch(url)).text();
    await pause(4500);
    await (await fetch(url)).text();
    expect(connections).toBe(2); // the default pool dropped its idle connection after 4 s
  }, 20000);
});
