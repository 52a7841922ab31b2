/**
 * Every event a child or the server sends to the call machine is handled by some state (an event no transition takes
 * is work for nothing and a trap for the reader), and the STT (re)connection is reported for the session's log.
 */
import { describe, expect, it } from 'vitest';
import { getStateNodes } from 'xstate/graph';
import { callMachine } from '../../machines/call.machine.js';
import type { CallEvent } from '../../machines/events.js';
import { CallDriver, ev } from './harness.js';
import { modelOptions } from './model.js';

/** Every member of the CallEvent union: the compiler fails here when one is added and not listed. */
const EVENT_TYPES: Record<CallEvent['type'], true> = {
  'TRANSPORT.START': true,
  'TRANSPORT.MARK': true,
  'TRANSPORT.AUDIO_STARTED': true,
  'TRANSPORT.DTMF': true,
  'TRANSPORT.STOP': true,
  'FLOW.STEP': true,
  'STT.INTERIM': true,
  'STT.FINAL': true,
  'STT.UTTERANCE_END': true,
  'STT.SPEECH_STARTED': true,
  'STT.ERROR': true,
  'STT.CONNECTED': true,
  'STT.TURN_STARTED': true,
  'STT.EAGER_END': true,
  'STT.TURN_RESUMED': true,
  'TTS.FIRST_AUDIO': true,
  'TTS.CLEARED': true,
  'TTS.ERROR': true,
  'LLM.TEXT': true,
  'LLM.TOOL_CALL': true,
  'LLM.DONE': true,
  'LLM.ERROR': true,
  'TOOL.RESULT': true,
  'SPEECH.PLAYED_OUT': true,
  'CALL.HANGUP': true,
  'CALL.ANSWERED_BY': true,
};

describe('the events of a call', () => {
  it('each one sent to the machine is handled by some state', () => {
    const handled = new Set([callMachine.root, ...getStateNodes(callMachine.root)].flatMap((node) => [...node.transitions.keys()]));
    expect(Object.keys(EVENT_TYPES).filter((type) => !handled.has(type))).toEqual([]);
  });

  it('an STT (re)connection is reported with the caller audio it replayed', () => {
    const driver = new CallDriver(modelOptions());
    driver.send(ev.start());
    driver.send(ev.configured(driver.options));
    driver.send(ev.sttConnected(3200));
    expect(driver.emitted).toContainEqual({ type: 'call.sttConnected', resentBytes: 3200, at: expect.any(Number) });
  });
});
