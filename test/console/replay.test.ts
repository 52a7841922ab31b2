/**
 * `POST /console/api/calls/:callSid/replay`: a call recorded through the offline stack, replayed into the server's
 * inspector (a recording stand-in: no inspector port is opened), one at a time, stopped when the server closes; and
 * without INSPECT, the 409 that gives the `npm run replay` command instead.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import type { CallInspector } from '../../src/server/inspector.js';
import type { EventLog } from '../../src/records/event-log.js';
import type { CallSummary } from '../../src/records/summary-types.js';
import { call, captureLogger, eventually, startStack, type E2eStack, type LogLine } from '../e2e/harness.js';

const PASSWORD = 'replay-test-password-of-32-chars';
const INSPECTOR_URL = 'http://localhost:5678';

describe('replaying a past call from the console', () => {
  let dir: string;
  let stack: E2eStack | undefined;
  let cookie = '';
  let callSid = '';
  const lines: LogLine[] = [];
  const inspected: InspectionEvent[] = [];
  const inspector: CallInspector = { url: INSPECTOR_URL, inspect: (e) => inspected.push(e), stop: () => {} };

  const start = (withInspector: boolean) =>
    startStack({
      env: { CONSOLE_PASSWORD: PASSWORD, CALL_RECORDS: 'on', CALL_DB_PATH: path.join(dir, 'calls.db') },
      inspector: withInspector ? inspector : undefined,
      log: captureLogger(lines),
    });
  const url = (p: string) => `${stack?.server.localUrl}/console${p}`;
  const replay = (sid: string, body?: object, withCookie = true) =>
    fetch(url(`/api/calls/${sid}/replay`), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(withCookie ? { Cookie: cookie } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const get = async <T>(p: string): Promise<T> => (await (await fetch(url(`/api${p}`), { headers: { Cookie: cookie } })).json()) as T;
  const logged = (message: string) => lines.filter((l) => l.message === message);
  const login = async () => {
    const res = await fetch(url('/login'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) });
    cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-replay-'));
    stack = await start(true);
    await login();
    const record = await call(stack, [{ waitForAgent: 'reply' }, { say: 'what are your opening hours' }, { waitForAgent: 'reply' }, { hangup: true }]);
    callSid = record.callSid;
    // The record is final a moment after the caller sees the line close.
    for (let i = 0; (await get<Partial<CallSummary>>(`/calls/${callSid}`)).status !== 'ended'; i++) {
      if (i === 250) throw new Error(`the record of ${callSid} never ended`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }, 60000);
  afterAll(async () => {
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers 401 without a session, 404 for an unknown call, 400 for a speed out of range', async () => {
    expect((await replay(callSid, {}, false)).status).toBe(401);
    const unknown = await replay('CA0000000000000000000000000000dead');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toBe('no such call');
    for (const speed of [0, 21, '4']) expect((await replay(callSid, { speed })).status, String(speed)).toBe(400);
    expect(logged('console replay started')).toHaveLength(0);
  });

  it("replays the call into the server's inspector: its machine, its events in order; one line at start and end", async () => {
    // The page learns from the session that this server runs an inspector (it offers the replay button only then).
    expect(await get<{ inspector: boolean }>('/session')).toMatchObject({ inspector: true });
    const log = await get<EventLog>(`/calls/${callSid}/events`);
    const recorded = log.entries.flatMap((e) => ('in' in e ? [e] : []));
    inspected.length = 0; // the live call's own inspection ended with it
    const res = await replay(callSid, { speed: 20 });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ inspectorUrl: INSPECTOR_URL, events: recorded.length, durationMs: Math.round((recorded.at(-1)?.t ?? 0) / 20) });

    await eventually(() => logged('console replay finished').length === 1, 'the replay finished', 15000);
    expect(logged('console replay started')[0]).toMatchObject({ callSid, speed: 20, events: recorded.length });
    expect(logged('console replay finished')[0]).toMatchObject({ callSid, matchesRecording: true });
    const root = inspected.filter((e) => e.actorRef.sessionId === e.rootId);
    const machineIds = new Set(root.flatMap((e) => (e.type === '@xstate.snapshot' ? [(e.snapshot as { machine?: { id: string } }).machine?.id] : [])));
    expect([...machineIds]).toEqual(['call']);
    const fed = root.flatMap((e) => (e.type === '@xstate.event' && e.sourceRef === undefined ? [e.event.type] : []));
    // Timers fire inside the machine (not sent from outside); the rest is the recording's input, in order.
    expect(fed).toEqual(['xstate.init', ...recorded.map((e) => e.in.type).filter((type) => !type.startsWith('xstate.after.'))]);
    expect(fed).toContain('STT.FINAL');
  });

  it('runs one replay at a time, and stops it when the server closes', async () => {
    expect((await replay(callSid)).status).toBe(202); // real time: still running when the server closes
    const second = await replay(callSid, { speed: 4 });
    expect(second.status).toBe(409);
    expect(((await second.json()) as { error: string }).error).toContain('already running');
    await stack?.close();
    stack = undefined;
    expect(logged('console replay stopped: the server is closing')).toMatchObject([{ callSid }]);
    expect(logged('console replay finished')).toHaveLength(1); // the first one only
  });

  it('without the inspector: 409 with the command to run where the database is', async () => {
    stack = await start(false);
    await login();
    expect(await get<{ inspector: boolean }>('/session')).toMatchObject({ inspector: false });
    const res = await replay(callSid, { speed: 4 });
    expect(res.status).toBe(409);
    const body = (await res.json()) as { error: string; command: string };
    expect(body.error).toMatch(/INSPECT=1/);
    expect(body.command).toBe(`npm run replay -- ${callSid} --inspect --speed 4`);
  });
});

describe('replay with call records off', () => {
  it('answers 503', async () => {
    const stack = await startStack({ env: { CONSOLE_PASSWORD: PASSWORD } });
    try {
      const login = await fetch(`${stack.server.localUrl}/console/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ password: PASSWORD }),
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const res = await fetch(`${stack.server.localUrl}/console/api/calls/CA1/replay`, { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(503);
    } finally {
      await stack.close();
    }
  });
});
