/**
 * Regression fixtures: calls recorded from the offline world (`npm run record-fixtures`) replayed on today's call
 * machine. A change that alters how a recorded call goes fails here and says where; regenerate the fixtures only
 * when the change is intended (and read the new timelines).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { callMachine } from '../../machines/call.machine.js';
import { parseEventLog, type EventLog, type LogEntry } from '../../src/records/event-log.js';
import { buildCallSummary } from '../../src/records/summary.js';
import { replayCall } from '../../src/replay/replay.js';
import { stateName } from '../../src/replay/describe.js';

const dir = import.meta.dirname;
const fixtures = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const load = (name: string): EventLog => parseEventLog(JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')));

const commands = (entries: readonly LogEntry[]) => entries.flatMap((e) => ('cmd' in e ? [`${e.to}:${e.cmd.type}`] : []));
const emits = (entries: readonly LogEntry[]) => entries.flatMap((e) => ('emit' in e ? [e.emit] : []));
const states = (entries: readonly LogEntry[]) => entries.flatMap((e) => ('state' in e ? [stateName(e.state)] : []));
const inputs = (entries: readonly LogEntry[]) => entries.flatMap((e) => ('in' in e ? [e.in.type] : []));

/** What each fixture must show, so a fixture that stops exercising its case fails instead of passing vacuously. */
const SHOWS: Record<string, (log: EventLog) => void> = {
  'normal-call': (log) => {
    expect(commands(log.entries)).toContain('transport:TRANSPORT.HANGUP');
    expect(emits(log.entries).find((e) => e.type === 'call.ended')).toMatchObject({ reason: 'end_call' });
  },
  'barge-in': (log) => {
    expect(commands(log.entries)).toEqual(expect.arrayContaining(['transport:TRANSPORT.CLEAR', 'tts:TTS.CLEAR']));
    expect(emits(log.entries).some((e) => e.type === 'call.bargeIn')).toBe(true);
    expect(states(log.entries)).toContain('interrupted');
  },
  'utterance-end-fallback': (log) => {
    const i = log.entries.findIndex((e) => 'state' in e && stateName(e.state) === 'respond.thinking');
    const cause = log.entries.slice(0, i).reverse().find((e) => 'in' in e);
    expect(cause && 'in' in cause ? cause.in.type : undefined).toBe('STT.UTTERANCE_END');
    expect(log.entries.some((e) => 'in' in e && e.in.type === 'STT.FINAL' && (e.in as { speechFinal?: boolean }).speechFinal === true)).toBe(false);
  },
  'llm-error': (log) => {
    expect(emits(log.entries).find((e) => e.type === 'call.error')).toMatchObject({ source: 'llm' });
    expect(states(log.entries)).toContain('prompting');
  },
  'tool-round': (log) => {
    expect(emits(log.entries).find((e) => e.type === 'call.toolFinished')).toMatchObject({ name: 'lookup_order', outcome: 'ok' });
    expect(inputs(log.entries)).toContain('TOOL.RESULT');
    expect(states(log.entries)).toContain('respond.tooling');
  },
  flow: (log) => {
    expect(emits(log.entries).flatMap((e) => (e.type === 'call.flowStep' ? [`${e.from ?? ''}>${e.step}:${e.event ?? ''}`] : []))).toEqual([
      '>identify:',
      'identify>booking:VERIFIED',
      'booking>done:BOOKED',
    ]);
    // Entering `done` said its fixed phrase at once.
    expect(log.entries.some((e) => 'cmd' in e && e.cmd.type === 'TTS.SAY' && (e.cmd as { text?: string }).text === 'You are all set.')).toBe(true);
  },
  reprompt: (log) => {
    expect(inputs(log.entries).some((t) => t.startsWith('xstate.after.idleTimeout'))).toBe(true);
    expect(commands(log.entries)).toContain('tts:TTS.SAY');
  },
};

describe('replay of the recorded calls in test/replay/', () => {
  it('has the fixtures the issue lists', () => {
    expect(fixtures.map((f) => f.replace(/\.json$/, ''))).toEqual(expect.arrayContaining(Object.keys(SHOWS)));
  });

  for (const file of fixtures) {
    const name = file.replace(/\.json$/, '');
    it(`${name} replays to the same states and commands`, async () => {
      const log = load(name);
      SHOWS[name]?.(log);
      const result = await replayCall(log);
      expect(result.divergence?.message).toBeUndefined();
      expect(result.ok).toBe(true);
      expect(result.outputs).toBe(log.entries.filter((e) => !('in' in e)).length);
      // The summary rebuilt from the replay is the recorded one (same conversation, turns, barge-ins).
      const recorded = buildCallSummary(log);
      const replayed = buildCallSummary({ ...log, entries: result.replayed });
      // (atMs of fixed phrases differs: a replay's outputs happen at the time of the event that caused them)
      const withoutTimes = (s: typeof recorded) => s.conversation.map(({ atMs: _atMs, ...entry }) => entry);
      expect(withoutTimes(replayed)).toEqual(withoutTimes(recorded));
      expect(replayed.endReason).toBe(recorded.endReason);
      // A flow call's path and the step of each turn (undefined for the others).
      expect(replayed.flow).toEqual(recorded.flow);
      expect(replayed.turns.map((t) => t.step)).toEqual(recorded.turns.map((t) => t.step));
    });
  }

});

describe('a changed machine fails the replay and says where', () => {
  it('barge-in no longer recognised (isInterruption guard always false)', async () => {
    const changed = callMachine.provide({ guards: { isInterruption: () => false } });
    const result = await replayCall(load('barge-in'), { machine: changed });
    expect(result.ok).toBe(false);
    // The recording cleared Twilio in answer to the caller's first interim; the changed machine keeps talking.
    expect(result.divergence?.message).toMatch(/^the recording did command TRANSPORT\.CLEAR to transport, the replay did not, in answer to event #\d+ STT\.INTERIM/);
    expect(result.divergence?.after?.type).toMatch(/^STT\./);
  });

  it('flow steps no longer taken in (noteFlowStep does nothing): the first step\'s report is missing', async () => {
    const changed = callMachine.provide({ actions: { noteFlowStep: () => undefined } });
    const result = await replayCall(load('flow'), { machine: changed });
    expect(result.ok).toBe(false);
    expect(result.divergence?.message).toMatch(/^the recording did emit call\.flowStep \{"step":"identify".*, the replay did not, in answer to event #\d+ FLOW\.STEP/);
  });

  it('a longer idle timeout: the recorded re-prompt timer is not due when it fired', async () => {
    const log = load('reprompt');
    const input = log.input as { options: Record<string, unknown> };
    // The options come in as the machine's input and again as the configure child's output (the call's own options).
    const longer = (options: Record<string, unknown>) => ({ ...options, idleTimeoutMs: 4000 });
    const entries = log.entries.map((e) =>
      'in' in e && e.in.type === 'xstate.done.actor.configure'
        ? { ...e, in: { ...e.in, output: longer((e.in as unknown as { output: Record<string, unknown> }).output) } }
        : e,
    );
    const result = await replayCall({ ...log, entries, input: { options: longer(input.options) } });
    expect(result.ok).toBe(false);
    expect(result.divergence?.message).toMatch(/timer xstate\.after\.idleTimeout.* fired at .* but is due at/);
  });

  it('a dropped output (the recording has a command the replay does not produce) is reported', async () => {
    const log = load('normal-call');
    const hangup = log.entries.findIndex((e) => 'cmd' in e && e.cmd.type === 'TRANSPORT.HANGUP');
    const entries = [...log.entries];
    entries.splice(hangup, 0, { t: entries[hangup]?.t ?? 0, to: 'tts', cmd: { type: 'TTS.CLEAR' } });
    const result = await replayCall({ ...log, entries });
    expect(result.ok).toBe(false);
    expect(result.divergence?.message).toContain('expected command TTS.CLEAR to tts, the replay did command TRANSPORT.HANGUP');
  });

  it('a truncated log replays up to where it stops', async () => {
    const log = load('barge-in');
    const result = await replayCall({ ...log, entries: log.entries.slice(0, 40), truncated: true });
    expect(result.ok).toBe(true);
    expect(result.events).toBeGreaterThan(10);
  });
});
