/**
 * The SQLite store on a real file in a temp dir, and the recorder writing a live call machine's log into it: chunks
 * appended at turn boundaries, the bound per call, a failed write retried with the next one, webhook signatures.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { createActor, fromCallback, SimulatedClock, type EventObject } from 'xstate';
import { afterAll, describe, expect, it } from 'vitest';
import { callMachine } from '../../machines/call.machine.js';
import type { CallEvent, LlmInput } from '../../machines/events.js';
import { defaultCallOptions } from '../../machines/options.js';
import { silentLogger } from '../../lib/logger.js';
import { createRecordMetrics } from '../../src/records/record-metrics.js';
import { CallRecorder } from '../../src/records/recorder.js';
import { startCallRecords } from '../../src/records/call-records.js';
import { loadConfig } from '../../src/server/config.js';
import { FailedAuthThrottle } from '../../src/shared/failed-auth-throttle.js';
import { openSqliteStore } from '../../src/records/sqlite-store.js';
import type { CallStore, CallWrite } from '../../src/records/store.js';
import type { CallSummary } from '../../src/records/summary-types.js';
import { signWebhook, verifyWebhookSignature } from '../../src/records/webhook.js';
import { storeContract, summary } from '../support/store-contract.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'records-unit-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let files = 0;
storeContract('SQLite', async () => openSqliteStore(path.join(dir, `contract-${++files}.db`)));

describe('SQLite call store', () => {
  it('creates its directory and file in WAL mode; pruning deletes the events too; read-only needs the file', async () => {
    const file = path.join(dir, 'nested', 'data', 'calls.db');
    const store = openSqliteStore(file);
    expect(fs.existsSync(file)).toBe(true);
    const t = 1_800_000_000_000;
    await store.writeCall({ summary: summary('CA1', t), eventsJson: '[{"t":1,"state":"greeting"}]', eventCount: 1 });
    expect(await store.pruneCalls(t + 1)).toBe(1);
    await store.close();
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.prepare('SELECT COUNT(*) AS n FROM call_events').get()).toEqual({ n: 0 });
    raw.close();
    expect(() => openSqliteStore(path.join(dir, 'absent.db'), { readonly: true })).toThrow();
    expect(fs.existsSync(path.join(dir, 'absent.db'))).toBe(false);
  });

  it('refuses a corrupt file with an error (the server then runs without records)', () => {
    const file = path.join(dir, 'corrupt.db');
    fs.writeFileSync(file, 'this is not a database '.repeat(100));
    expect(() => openSqliteStore(file)).toThrow(/not a database/);
  });
});

describe('webhook signature (t=…,v1=HMAC-SHA256 of "t.body")', () => {
  it('verifies its own signature, refuses other secrets, bodies and stale timestamps', () => {
    const now = 1_800_000_000;
    const header = signWebhook('s3cret', '{"x":1}', now);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature('s3cret', '{"x":1}', header, 300, now + 10)).toBe(true);
    expect(verifyWebhookSignature('other', '{"x":1}', header, 300, now)).toBe(false);
    expect(verifyWebhookSignature('s3cret', '{"x":2}', header, 300, now)).toBe(false);
    expect(verifyWebhookSignature('s3cret', '{"x":1}', header, 300, now + 301)).toBe(false);
    expect(verifyWebhookSignature('s3cret', '{"x":1}', undefined)).toBe(false);
  });
});

/** A real call machine with inert children, recorded by a CallRecorder into `store`. */
function recordedCall(store: CallStore | null, opts: { maxLogBytes?: number; onCallEnd?: (s: CallSummary) => void } = {}) {
  const metrics = createRecordMetrics(new Registry());
  const recorder = new CallRecorder({ store, log: silentLogger, metrics, agent: 'test-agent', maxLogBytes: opts.maxLogBytes ?? 1e6, onCallEnd: opts.onCallEnd });
  // A write is scheduled after the events of one tick, and compresses its events off the event loop: settle waits for both.
  const settle = async (): Promise<void> => {
    await tick();
    await recorder.settled();
  };
  return { ...recordedMachine(recorder), metrics, settle };
}

/** A real call machine with inert children whose events `recorder` records; `send` stamps each event 10 ms apart. */
function recordedMachine(recorder: CallRecorder) {
  const inert = <T extends EventObject, I = unknown>() => fromCallback<T, I>(() => undefined);
  const machine = callMachine.provide({ actors: { transport: inert(), stt: inert(), tts: inert(), llm: inert<EventObject, LlmInput>() } });
  const input = { options: defaultCallOptions };
  const actor = createActor(machine, { input, clock: new SimulatedClock(), inspect: recorder.capture.inspect });
  recorder.attach(actor, input);
  actor.start();
  let at = 1_800_000_000_000;
  const send = (e: WithoutAt<CallEvent>) => actor.send({ at: (at += 10), ...e } as CallEvent);
  return { actor, send };
}

type WithoutAt<T> = T extends unknown ? Omit<T, 'at'> : never;

const tick = () => new Promise((r) => setImmediate(r));

function playTurn(send: ReturnType<typeof recordedCall>['send'], words: string): void {
  send({ type: 'STT.FINAL', text: words, speechFinal: true });
  send({ type: 'LLM.TEXT', text: 'Sure. ' });
  send({ type: 'LLM.DONE' });
  send({ type: 'TRANSPORT.MARK', name: 't1-s1', played: true });
}

describe('call recorder', () => {
  it('writes at turn boundaries and at the end, with the input, a complete summary and the onCallEnd hook', async () => {
    const file = path.join(dir, 'recorder.db');
    const store = openSqliteStore(file);
    let ended: CallSummary | undefined;
    const { send, settle } = recordedCall(store, { onCallEnd: (s) => (ended = s) });
    send({ type: 'TRANSPORT.START', streamSid: 'MZ1', callSid: 'CArec', accountSid: 'AC1', customParameters: { From: '+1555' } });
    await settle(); // the configure child (the agent's onCallStart) answers
    send({ type: 'TRANSPORT.MARK', name: 'greeting', played: true });
    await settle();
    expect((await store.getCall('CArec'))?.status).toBe('in-progress'); // written at call.started
    playTurn(send, 'hello there');
    await settle();
    expect((await store.getCall('CArec'))?.turns).toHaveLength(1); // written at call.turn
    send({ type: 'TRANSPORT.STOP', reason: 'stop' });
    await settle();
    const record = await store.getCall('CArec');
    expect(record).toMatchObject({ status: 'ended', endReason: 'transport-stop', agent: 'test-agent', from: '+1555' });
    expect(ended).toEqual(record);
    const log = await store.getEventLog('CArec');
    expect(log?.input).toEqual({ options: defaultCallOptions });
    expect(log?.entries.filter((e) => 'in' in e).map((e) => ('in' in e ? e.in.type : ''))).toEqual([
      'TRANSPORT.START', 'xstate.done.actor.configure', 'TRANSPORT.MARK', 'STT.FINAL', 'LLM.TEXT', 'LLM.DONE', 'TRANSPORT.MARK', 'TRANSPORT.STOP',
    ]);
    expect(log?.entries.length).toBe(record?.eventLog.entries);
    await store.close();
  });

  it("closing the records waits for a call's last write: a call ended just before shutdown is stored as ended", async () => {
    const file = path.join(dir, 'shutdown.db');
    const config = loadConfig({ OFFLINE: 'true', CALL_RECORDS: 'true', CALL_DB_PATH: file });
    const records = startCallRecords({ config, log: silentLogger, metrics: { registry: new Registry() }, bearerThrottle: new FailedAuthThrottle() });
    const recorder = records.startRecording(silentLogger);
    if (recorder === undefined) throw new Error('records are on: a recorder was expected');
    const { send } = recordedMachine(recorder);
    send({ type: 'TRANSPORT.START', streamSid: 'MZ9', callSid: 'CAlast', accountSid: 'AC1', customParameters: {} });
    await tick();
    playTurn(send, 'one question');
    send({ type: 'TRANSPORT.STOP', reason: 'stop' });
    await records.close(); // at once, as the server's close does once its calls are done
    const db = new Database(file, { readonly: true });
    const row = db.prepare<[string], { status: string }>('SELECT status FROM calls WHERE call_sid = ?').get('CAlast');
    db.close();
    expect(row?.status).toBe('ended');
  });

  it('bounds the stored log per call but summarises the whole call', async () => {
    const store = openSqliteStore(path.join(dir, 'bounded.db'));
    const { send, metrics, settle } = recordedCall(store, { maxLogBytes: 2000 });
    send({ type: 'TRANSPORT.START', streamSid: 'MZ2', callSid: 'CAbig', accountSid: 'AC1', customParameters: {} });
    await settle();
    for (let i = 0; i < 40; i++) send({ type: 'STT.INTERIM', text: `word ${i}` });
    playTurn(send, 'a long question');
    send({ type: 'TRANSPORT.STOP', reason: 'stop' });
    await settle();
    const log = await store.getEventLog('CAbig');
    expect(log?.truncated).toBe(true);
    expect(JSON.stringify(log?.entries).length).toBeLessThanOrEqual(2000);
    const record = await store.getCall('CAbig');
    expect(record?.turns.map((t) => t.userText)).toEqual(['a long question']);
    expect(record?.eventLog).toEqual({ entries: expect.any(Number) as number, truncated: true });
    expect((await metrics.truncatedLogs.get()).values[0]?.value).toBe(1);
    await store.close();
  });

  it('a failed write is counted and its events go out with the next write', async () => {
    const real = openSqliteStore(path.join(dir, 'flaky.db'));
    let failNext = true;
    // The real store, whose first write fails as a full disk would.
    const flaky: CallStore = Object.assign(Object.create(real) as CallStore, {
      writeCall: async (w: CallWrite) => {
        if (failNext) {
          failNext = false;
          throw new Error('SQLITE_FULL: database or disk is full');
        }
        return real.writeCall(w);
      },
    });
    const { send, metrics, settle } = recordedCall(flaky);
    send({ type: 'TRANSPORT.START', streamSid: 'MZ3', callSid: 'CAflaky', accountSid: 'AC1', customParameters: {} });
    await settle(); // this write fails
    expect(await real.getCall('CAflaky')).toBeUndefined();
    send({ type: 'TRANSPORT.STOP', reason: 'stop' });
    await settle();
    expect((await real.getEventLog('CAflaky'))?.entries.some((e) => 'in' in e && e.in.type === 'TRANSPORT.START')).toBe(true);
    expect((await metrics.storeErrors.get()).values).toEqual([expect.objectContaining({ labels: { op: 'write' }, value: 1 })]);
    await real.close();
  });
});
