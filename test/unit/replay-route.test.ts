/**
 * The console's replay route refuses what it can refuse cheaply (shutting down, a replay already running) before it
 * reads the event log: reading inflates and parses up to 4 MB, which a refused request must not cost.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { replayRoutes, type ReplayRoutes } from '../../src/console/replay-route.js';
import type { EventLog } from '../../src/records/event-log.js';
import { silentLogger } from '../../lib/logger.js';

const fixture = JSON.parse(fs.readFileSync(new URL('../replay/normal-call.json', import.meta.url), 'utf8')) as EventLog;

describe('console replay route', () => {
  let server: http.Server | undefined;
  let routes: ReplayRoutes | undefined;
  afterEach(async () => {
    await routes?.close();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
    routes = undefined;
  });

  async function start() {
    let reads = 0;
    routes = replayRoutes({
      inspector: { url: 'http://localhost:5678', inspect: () => {} },
      readEventLog: async () => {
        reads++;
        return { ok: true, log: structuredClone(fixture) };
      },
      log: silentLogger,
    });
    const app = express();
    app.use(express.json());
    app.use(routes.router);
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server?.once('listening', resolve));
    const port = (server.address() as AddressInfo).port;
    const post = (): Promise<Response> =>
      fetch(`http://127.0.0.1:${port}/calls/${fixture.callSid}/replay`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"speed":1}' });
    return { post, reads: () => reads };
  }

  it('answers "already running" without reading the event log again', async () => {
    const { post, reads } = await start();
    expect((await post()).status).toBe(202);
    expect(reads()).toBe(1);
    for (let i = 0; i < 5; i++) expect((await post()).status).toBe(409);
    expect(reads()).toBe(1);
  });

  it('answers "shutting down" without reading the event log', async () => {
    const { post, reads } = await start();
    await routes?.close();
    expect((await post()).status).toBe(503);
    expect(reads()).toBe(0);
  });
});
