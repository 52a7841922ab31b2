/** The summary folded from an event log: conversation as heard, tools, DTMF, latencies, barge-in timings. */
import { describe, expect, it } from 'vitest';
import type { CallEmitted } from '../../machines/emitted.js';
import type { LogEntry } from '../../src/records/event-log.js';
import { buildCallSummary } from '../../src/records/summary.js';
import { combineInspect } from '../../src/records/capture.js';
import type { InspectionEvent } from 'xstate';

const T0 = 1_800_000_000_000;
const at = (ms: number) => T0 + ms;
const emit = (t: number, e: CallEmitted): LogEntry => ({ t, emit: e });
const noTimes = { userSpeechEndAt: null, llmFirstTextAt: null, ttsFirstAudioAt: null, firstAudioToTwilioAt: null };

function log(entries: LogEntry[]) {
  return { callSid: 'CA1', t0: T0, entries };
}

describe('call summary', () => {
  it('records transfers: target, number and outcome (refused with its reason, failed at Twilio, done)', () => {
    const finished = (t: number, id: string, outcome: 'ok' | 'error', content: string) =>
      emit(t, { type: 'call.toolFinished', turn: 1, round: 1, id, name: 'transfer_call', args: { target: 'desk' }, outcome, content, transferNumber: '+15550107777', startedAt: at(t), at: at(t) });
    const refused = buildCallSummary(log([finished(10, 'a', 'error', '{"error":"Transfer unavailable: no REST API"}'), emit(20, { type: 'call.ended', reason: 'caller' })]));
    expect(refused.transfers).toEqual([{ target: 'desk', number: '+15550107777', outcome: 'error', reason: 'Transfer unavailable: no REST API' }]);
    const failed = buildCallSummary(log([
      finished(10, 'a', 'ok', '{"status":"Transferring"}'),
      emit(15, { type: 'call.error', source: 'transfer', message: 'The requested resource was not found', recoverable: false }),
      finished(30, 'b', 'ok', '{"status":"Transferring"}'),
      emit(40, { type: 'call.ended', reason: 'transferred' }),
    ]));
    expect(failed.transfers.map((t) => [t.outcome, t.reason])).toEqual([['error', 'The requested resource was not found'], ['transferred', null]]);
  });

  it('keeps metadata, phrases as heard, replies, tools, DTMF, AMD and the end', () => {
    const s = buildCallSummary(log([
      { t: 0, state: 'connecting' },
      { t: 5, in: { type: 'TRANSPORT.START', streamSid: 'MZ1', callSid: 'CA1', accountSid: 'AC1', customParameters: {}, at: at(5) } },
      emit(5, { type: 'call.started', callSid: 'CA1', streamSid: 'MZ1', from: '+1555', to: '+1666', direction: 'outbound-api', customParameters: { X: '1' }, at: at(5) }),
      { t: 6, to: 'tts', cmd: { type: 'TTS.SAY', text: 'Hello!', segment: 'greeting' } },
      { t: 900, in: { type: 'TRANSPORT.MARK', name: 'greeting', played: true, at: at(900) } },
      emit(950, { type: 'call.answeredBy', answeredBy: 'human', at: at(950) }),
      emit(1000, { type: 'call.userUtterance', turn: 1, text: 'book a table', at: at(1000) }),
      { t: 1001, state: { respond: 'thinking' } },
      { t: 1002, start: 'llm', input: 'abcd1234' },
      emit(1200, { type: 'call.toolStarted', turn: 1, round: 1, id: 'c1', name: 'book', args: { people: 2 }, at: at(1200) }),
      emit(1450, { type: 'call.toolFinished', turn: 1, round: 1, id: 'c1', name: 'book', args: { people: 2 }, outcome: 'ok', content: '{"ok":true}', startedAt: at(1200), at: at(1450) }),
      emit(1500, { type: 'call.dtmf', turn: 1, digits: '12#', at: at(1500) }),
      emit(3000, {
        type: 'call.turn',
        turn: 1,
        userText: 'book a table',
        assistantText: 'Done.',
        generatedText: 'Done.',
        interrupted: false,
        timestamps: { userSpeechEndAt: at(1000), llmFirstTextAt: at(1600), ttsFirstAudioAt: at(1700), firstAudioToTwilioAt: at(1701) },
      }),
      emit(3100, { type: 'call.error', source: 'tts', message: 'socket dropped', recoverable: true }),
      { t: 4000, to: 'tts', cmd: { type: 'TTS.SAY', text: 'Bye', segment: 'goodbye-1' } },
      emit(4500, { type: 'call.ended', reason: 'end_call' }),
    ]));
    expect(s).toMatchObject({
      callSid: 'CA1',
      streamSid: 'MZ1',
      accountSid: 'AC1',
      from: '+1555',
      to: '+1666',
      direction: 'outbound-api',
      customParameters: { X: '1' },
      status: 'ended',
      endReason: 'end_call',
      answeredBy: 'human',
      startedAt: new Date(T0).toISOString(),
      answeredAt: new Date(at(5)).toISOString(),
      endedAt: new Date(at(4500)).toISOString(),
      durationMs: 4500,
    });
    expect(s.conversation.map((e) => e.kind)).toEqual(['agent', 'caller', 'tool', 'dtmf', 'agent', 'agent']);
    expect(s.conversation[0]).toMatchObject({ source: 'greeting', heard: 'Hello!', interrupted: false, turn: null });
    expect(s.conversation[2]).toMatchObject({ name: 'book', args: { people: 2 }, outcome: 'ok', result: '{"ok":true}', durationMs: 250 });
    expect(s.conversation[3]).toMatchObject({ digits: '12#' });
    expect(s.conversation[4]).toMatchObject({ source: 'reply', heard: 'Done.', interrupted: false, atMs: 1600 });
    expect(s.conversation[5]).toMatchObject({ source: 'goodbye', heard: '', generated: 'Bye' }); // its mark never came
    expect(s.turns[0]?.latency).toEqual({
      endOfSpeechToLlmRequestMs: 2,
      llmRequestToFirstTextMs: 598,
      firstTextToTtsAudioMs: 100,
      ttsAudioToTwilioMs: 1,
      totalMs: 701,
    });
    expect(s.errors).toEqual([{ source: 'tts', message: 'socket dropped', recoverable: true, atMs: 3100 }]);
  });

  it('marks the cut reply and the barge-in timings; a turn the caller talked over drops into the next utterance', () => {
    const s = buildCallSummary(log([
      { t: 10, to: 'tts', cmd: { type: 'TTS.SAY', text: 'Hello!', segment: 'greeting' } },
      { t: 20, in: { type: 'STT.INTERIM', text: 'hi', at: at(20) } },
      { t: 21, to: 'transport', cmd: { type: 'TRANSPORT.CLEAR' } },
      { t: 21, to: 'tts', cmd: { type: 'TTS.CLEAR' } },
      emit(21, { type: 'call.bargeIn', turn: 0, during: 'greeting', callerText: 'hi', heard: '', cut: 'Hello!', at: at(20) }),
      { t: 22, in: { type: 'TRANSPORT.MARK', name: 'greeting', played: false, at: at(22) } },
      { t: 60, in: { type: 'TTS.CLEARED', at: at(60) } },
      emit(100, { type: 'call.userUtterance', turn: 1, text: 'what', at: at(100) }),
      { t: 100, state: { respond: 'thinking' } },
      { t: 150, state: 'listening' }, // the caller went on talking: no reply to "what"
      emit(300, { type: 'call.userUtterance', turn: 2, text: 'what time is it', at: at(300) }),
      { t: 300, state: { respond: 'thinking' } },
      { t: 400, state: { respond: 'speaking' } },
      emit(900, { type: 'call.turn', turn: 2, userText: 'what time is it', assistantText: 'It is noon.', generatedText: 'It is noon. Anything else?', interrupted: true, timestamps: noTimes }),
      { t: 900, state: 'interrupted' },
    ]), { ended: false });
    expect(s.status).toBe('in-progress');
    expect(s.conversation.map((e) => (e.kind === 'caller' ? `caller:${e.text}` : e.kind === 'agent' ? `agent:${e.heard}|${e.interrupted}` : e.kind))).toEqual([
      'agent:|true',
      'caller:what time is it',
      'agent:It is noon.|true',
    ]);
    expect(s.bargeIns).toEqual([{ turn: 0, during: 'greeting', callerText: 'hi', heard: '', cut: 'Hello!', atMs: 20, clearSentMs: 1, ttsClearedMs: 40 }]);
  });
});

describe('call summary after a false interruption', () => {
  it('keeps the resumed part of a cut reply as heard, after the heard part of the reply', () => {
    const s = buildCallSummary(log([
      emit(100, { type: 'call.userUtterance', turn: 1, text: 'when do you open', at: at(100) }),
      { t: 100, state: { respond: 'thinking' } },
      { t: 900, in: { type: 'STT.INTERIM', text: 'the dog', at: at(900) } },
      emit(900, { type: 'call.bargeIn', turn: 1, during: 'reply', callerText: 'the dog', heard: 'At nine.', cut: 'On weekends at ten.', at: at(900) }),
      { t: 950, state: 'interrupted' },
      emit(1000, { type: 'call.turn', turn: 1, userText: 'when do you open', assistantText: 'At nine.', generatedText: 'At nine. On weekends at ten.', interrupted: true, timestamps: noTimes }),
      { t: 1000, state: 'paused' },
      { t: 1300, state: 'resuming' },
      { t: 1300, to: 'tts', cmd: { type: 'TTS.SAY', text: 'On weekends at ten.', segment: 'resumed-1-1' } },
      { t: 2500, in: { type: 'TRANSPORT.MARK', name: 'resumed-1-1', played: true, at: at(2500) } },
    ]), { ended: false });
    expect(s.conversation.map((e) => (e.kind === 'agent' ? `${e.source}:${e.turn}:${e.heard}` : e.kind))).toEqual([
      'caller',
      'reply:1:At nine.',
      'resumed:1:On weekends at ten.',
    ]);
  });

  it("marks each flow step in the conversation where it was entered (tool before it, the reply from it after); none without a flow", () => {
    const reply = (t: number, turn: number, text: string): LogEntry =>
      emit(t, { type: 'call.turn', turn, userText: 'x', assistantText: text, generatedText: text, interrupted: false, timestamps: { ...noTimes, llmFirstTextAt: at(t) } });
    const tool = { turn: 2, round: 1, id: 'v1', name: 'verify_patient', args: {} };
    const entries: LogEntry[] = [
      emit(1, { type: 'call.flowStep', step: 'identify', from: null, event: null, turn: 0, at: at(1) }),
      emit(100, { type: 'call.userUtterance', turn: 1, text: 'an appointment please', at: at(100) }),
      reply(200, 1, 'Your name?'),
      emit(300, { type: 'call.userUtterance', turn: 2, text: 'Lovelace', at: at(300) }),
      emit(310, { type: 'call.toolStarted', ...tool, at: at(310) }),
      emit(320, { type: 'call.flowStep', step: 'booking', from: 'identify', event: 'VERIFIED', turn: 2, at: at(320) }),
      emit(330, { type: 'call.toolFinished', ...tool, outcome: 'ok', content: '{}', startedAt: at(310), at: at(330) }),
      reply(400, 2, 'Tuesday is free.'),
    ];
    const s = buildCallSummary(log(entries));
    expect(s.conversation.map((e) => (e.kind === 'step' ? `step:${e.step}` : e.kind))).toEqual(['step:identify', 'caller', 'agent', 'caller', 'tool', 'step:booking', 'agent']);
    expect(s.conversation.filter((e) => e.kind === 'step')).toEqual([
      { kind: 'step', step: 'identify', from: null, event: null, turn: 0, atMs: 1 },
      { kind: 'step', step: 'booking', from: 'identify', event: 'VERIFIED', turn: 2, atMs: 320 },
    ]);
    expect(s.flow).toEqual({ path: ['identify', 'booking'] });
    const plain = buildCallSummary(log(entries.filter((e) => !('emit' in e && e.emit.type === 'call.flowStep'))));
    expect(plain.conversation.map((e) => e.kind)).toEqual(['caller', 'agent', 'caller', 'tool', 'agent']);
  });
});

describe('combineInspect', () => {
  it('feeds the recorder and the Stately inspector (an observer object) alike, and is absent when neither is', () => {
    const seen: string[] = [];
    const both = combineInspect((e) => seen.push(`fn:${e.type}`), undefined, { next: (e: InspectionEvent) => seen.push(`observer:${e.type}`) });
    both?.({ type: '@xstate.action' } as InspectionEvent);
    expect(seen).toEqual(['fn:@xstate.action', 'observer:@xstate.action']);
    expect(combineInspect(undefined, undefined)).toBeUndefined();
  });
});
