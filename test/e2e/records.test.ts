/**
 * Call records through the running server (issue 9): a real SQLite file in a temp dir, simulated callers over
 * loopback, the records read back through the authenticated API — and the stored event log replayed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { offlineLlmScript } from '../../agents/front-desk-model-script.js';
import dentalFlow from '../../agents/dental-flow.js';
import { dentalFlowBooking, dentalFlowModel } from '../../src/harness/dental-flow-call.js';
import type { CallRecord } from '../../offline/twilio-caller-types.js';
import { parseEventLog, type LogEntry } from '../../src/records/event-log.js';
import { buildCallSummary } from '../../src/records/summary.js';
import { openSqliteStore } from '../../src/records/sqlite-store.js';
import type { AgentEntry, CallListItem, CallSummary } from '../../src/records/summary-types.js';
import { replayCall } from '../../src/replay/replay.js';
import { agentTurns, call, startStack, type E2eStack } from './harness.js';

const TOKEN = 'records-test-token-of-32-characters';
const STORY =
  'Once upon a time. There was a tiny office with two phones and one coffee machine. ' +
  'The team answered every call with a smile. Then the calls grew and grew. Everyone learned to be brief.';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'records-e2e-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function env(db: string, extra: Record<string, string> = {}) {
  return { CALL_RECORDS: 'on', CALL_DB_PATH: path.join(dir, db), CALLS_API_TOKEN: TOKEN, ...extra };
}

async function api(stack: E2eStack, urlPath: string, token: string | null = TOKEN): Promise<Response> {
  return fetch(`${stack.server.localUrl}${urlPath}`, { headers: token === null ? {} : { Authorization: `Bearer ${token}` } });
}

/** The record once it is final (written a moment after the caller sees the line close). */
async function endedRecord(stack: E2eStack, callSid: string): Promise<CallSummary> {
  const until = Date.now() + 5000;
  let last = 'nothing';
  while (Date.now() < until) {
    const res = await api(stack, `/calls/${callSid}`);
    last = `HTTP ${res.status}`;
    if (res.ok) {
      const record = (await res.json()) as CallSummary;
      if (record.status === 'ended') return record;
      last = `status ${record.status}`;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`record of ${callSid} not ended: ${last}`);
}

const replies = (s: CallSummary) => s.conversation.filter((e): e is AgentEntry => e.kind === 'agent');
const norm = (text: string) => text.replace(/\s+/g, ' ').trim();

/** Agent speech in the record against what the simulated caller heard (its decoded playback). */
function expectHeardAsTheCallerHeard(record: CallSummary, caller: CallRecord): void {
  const recorded = replies(record);
  const heard = agentTurns(caller);
  expect(recorded.map((r) => r.source)).toEqual(['greeting', ...recorded.slice(1).map(() => 'reply')]);
  expect(recorded).toHaveLength(heard.length);
  recorded.forEach((entry, i) => {
    const ear = heard[i];
    expect(ear).toBeDefined();
    if (ear === undefined) return;
    expect(entry.interrupted).toBe(ear.interrupted);
    if (!entry.interrupted) {
      expect(norm(entry.heard)).toBe(norm(ear.text));
      return;
    }
    // Cut mid-way: the record keeps the whole segments Twilio confirmed played; the caller also heard the start of
    // the cut segment. So: record ⊆ heard ⊆ generated.
    expect(norm(ear.text).startsWith(norm(entry.heard))).toBe(true);
    expect(norm(entry.generated).startsWith(norm(ear.text))).toBe(true);
    expect(norm(entry.heard).length).toBeLessThan(norm(entry.generated).length);
  });
}

describe('call records', () => {
  let stack: E2eStack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('keeps a whole call: heard text as the caller heard it, the barge-in marked, latencies, a replayable log', async () => {
    stack = await startStack({
      env: env('one.db'),
      simulators: { llm: { script: [{ when: 'story', once: true, tokensPerSecond: 8, text: STORY }, ...offlineLlmScript] } },
    });
    const caller = await call(stack, [
      { waitForAgent: 'reply' },
      { say: 'what are your opening hours' },
      { waitForAgent: 'reply' },
      { say: 'tell me a story' },
      { bargeIn: 'stop please what time is it', afterMs: 2200 },
      { waitForAgent: 'reply' },
      { say: 'thanks goodbye' },
      { waitForAgent: 'reply' },
    ]);
    expect(caller.errors).toEqual([]);
    const record = await endedRecord(stack, caller.callSid);

    expect(record).toMatchObject({ callSid: caller.callSid, streamSid: caller.streamSid, status: 'ended', endReason: 'end_call', direction: 'inbound' });
    expect(record.from).toBe('+15550001111');
    expect(record.durationMs).toBeGreaterThan(5000);
    expectHeardAsTheCallerHeard(record, caller);
    expect(replies(record).filter((r) => r.interrupted)).toHaveLength(1);
    expect(record.conversation.filter((e) => e.kind === 'caller').map((e) => (e.kind === 'caller' ? e.text : ''))).toEqual([
      'what are your opening hours',
      'tell me a story',
      'stop please what time is it',
      'thanks goodbye',
    ]);
    // Per-turn latency parts add up; the barge-in was cleared at once and confirmed by Deepgram.
    expect(record.turns).toHaveLength(4);
    for (const turn of record.turns) {
      const l = turn.latency;
      expect(l.totalMs).toBeGreaterThan(0);
      const parts = (l.endOfSpeechToLlmRequestMs ?? NaN) + (l.llmRequestToFirstTextMs ?? NaN) + (l.firstTextToTtsAudioMs ?? NaN) + (l.ttsAudioToTwilioMs ?? NaN);
      expect(parts).toBeCloseTo(l.totalMs ?? NaN, 0);
    }
    expect(record.bargeIns).toHaveLength(1);
    expect(record.bargeIns[0]?.clearSentMs).toBeGreaterThanOrEqual(0);
    expect(record.bargeIns[0]?.ttsClearedMs).toBeGreaterThan(0);

    // The stored control-event log: no audio, every event, and it replays on the machine to the same outputs.
    const events = await api(stack, `/calls/${caller.callSid}/events`);
    expect(events.status).toBe(200);
    const log = parseEventLog(await events.json());
    expect(log.entries.some((e) => 'in' in e && e.in.type === 'STT.INTERIM')).toBe(true);
    expect(JSON.stringify(log)).not.toMatch(/payload|"audio"/);
    const replay = await replayCall(log);
    expect(replay.divergence?.message).toBeUndefined();
    expect(replay.ok).toBe(true);

    const metrics = await (await fetch(`${stack.server.localUrl}/metrics`)).text();
    expect(metrics).toMatch(/voice_call_record_write_ms_per_call_count 1/);
    expect(metrics).not.toMatch(/voice_call_record_errors_total\{/);
  }, 60_000);

  it('keeps a flow call\'s path and the step of each turn, and its replay takes the same path', async () => {
    stack = await startStack({
      env: env('flow.db'),
      agent: dentalFlow,
      simulators: { llm: { script: dentalFlowModel } },
    });
    const caller = await call(stack, [{ waitForAgent: 'reply' }, ...dentalFlowBooking]);
    expect(caller.errors).toEqual([]);
    const record = await endedRecord(stack, caller.callSid);
    expect(record.endReason).toBe('end_call');
    expect(record.flow).toEqual({ path: ['identify', 'booking', 'done'] });
    // Each turn's step: the one its reply ended in (the tools moved the flow within the first two turns).
    expect(record.turns.map((t) => t.step)).toEqual(['booking', 'done', 'done']);

    // The stored event log replays on the machine: the same flow steps, in the same turns.
    const log = parseEventLog(await (await api(stack, `/calls/${caller.callSid}/events`)).json());
    const replay = await replayCall(log);
    expect(replay.divergence?.message).toBeUndefined();
    expect(replay.ok).toBe(true);
    const flowSteps = (entries: readonly LogEntry[]) => entries.flatMap((e) => ('emit' in e && e.emit.type === 'call.flowStep' ? [e.emit] : []));
    expect(flowSteps(replay.replayed).map(({ at: _at, ...step }) => step)).toEqual([
      { type: 'call.flowStep', step: 'identify', from: null, event: null, turn: 0 },
      { type: 'call.flowStep', step: 'booking', from: 'identify', event: 'VERIFIED', turn: 1 },
      { type: 'call.flowStep', step: 'done', from: 'booking', event: 'BOOKED', turn: 2 },
    ]);
    const replayed = buildCallSummary({ ...log, entries: replay.replayed });
    expect(replayed.flow).toEqual(record.flow);
    expect(replayed.turns.map((t) => t.step)).toEqual(record.turns.map((t) => t.step));
  });

  it('records concurrent calls apart, lists them newest first with a cursor, and guards the API', async () => {
    stack = await startStack({ env: env('many.db') });
    const questions = ['what are your opening hours', 'do you deliver on sundays', 'where is your office', 'can I pay by card'];
    const callers = await Promise.all(
      questions.map((q, i) => call(stack as E2eStack, [{ pause: i * 150 }, { waitForAgent: 'reply' }, { say: q }, { waitForAgent: 'reply' }, { hangup: true }])),
    );
    for (const [i, caller] of callers.entries()) {
      const record = await endedRecord(stack, caller.callSid);
      expect(record.conversation.find((e) => e.kind === 'caller')).toMatchObject({ text: questions[i] });
      expectHeardAsTheCallerHeard(record, caller);
    }

    const seen: CallListItem[] = [];
    let before: string | null = '';
    while (before !== null) {
      const res = await api(stack, `/calls?limit=3${before ? `&before=${before}` : ''}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { calls: CallListItem[]; next: string | null };
      seen.push(...page.calls);
      before = page.next;
    }
    expect(seen.map((c) => c.callSid).sort()).toEqual(callers.map((c) => c.callSid).sort());
    const starts = seen.map((c) => Date.parse(c.startedAt));
    expect(starts).toEqual([...starts].sort((a, b) => b - a));

    expect((await api(stack, '/calls', null)).status).toBe(401);
    expect((await api(stack, '/calls', 'wrong-token')).status).toBe(401);
    expect((await api(stack, `/calls/${callers[0]?.callSid}`, 'x')).status).toBe(401);
    expect((await api(stack, `/calls/${callers[0]?.callSid}/events`, null)).status).toBe(401);
    expect((await api(stack, '/calls/CA0000/events')).status).toBe(404);
    expect((await api(stack, '/calls?limit=0')).status).toBe(400);
    // POST /calls (outbound) is still the server's: without a Twilio account it answers 503, not 404.
    const post = await fetch(`${stack.server.localUrl}/calls`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ to: '+15551234567' }),
    });
    expect(post.status).toBe(503);
  });

  it('prunes calls older than the retention at start; CALL_RECORDS=off keeps nothing', async () => {
    const file = path.join(dir, 'prune.db');
    const store = openSqliteStore(file);
    const old = Date.now() - 3 * 86_400_000;
    for (const [sid, startedAt] of [['CAold', old], ['CAnew', Date.now()]] as const) {
      await store.writeCall({ summary: { ...emptySummary(sid), startedAt: new Date(startedAt).toISOString() }, eventsJson: '[{"t":0,"state":"connecting"}]', eventCount: 1 });
    }
    await store.close();
    stack = await startStack({ env: env('prune.db', { CALL_RECORD_RETENTION_DAYS: '2' }) });
    expect((await api(stack, '/calls/CAold')).status).toBe(404);
    expect((await api(stack, '/calls/CAnew')).status).toBe(200);
    await stack.close();

    stack = await startStack({ env: env('off.db', { CALL_RECORDS: 'off' }) });
    const caller = await call(stack, [{ waitForAgent: 'reply' }, { hangup: true }]);
    expect(caller.errors).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'off.db'))).toBe(false);
    expect((await api(stack, '/calls')).status).toBe(503);
  });
});

function emptySummary(callSid: string): CallSummary {
  return {
    version: 1,
    callSid,
    streamSid: null,
    accountSid: null,
    direction: '',
    from: '',
    to: '',
    customParameters: {},
    agent: null,
    instance: null,
    status: 'ended',
    startedAt: new Date().toISOString(),
    answeredAt: null,
    endedAt: null,
    durationMs: null,
    endReason: null,
    answeredBy: null,
    conversation: [],
    turns: [],
    bargeIns: [],
    transfers: [],
    errors: [],
    eventLog: { entries: 1, truncated: false },
  };
}
