/**
 * The call machine: one per phone call. Children own every socket (transport, stt, tts for the whole call, llm per
 * turn); the machine only sees control events, decides, and commands them. Pure: times come from the events'
 * `at`, timers are the named delays, side effects are sendTo/emit. See README "States" for the walkthrough.
 */
import { and, not, stateIn, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { callSetup, initialContext } from './call.setup.js';
import { llmInputFor } from './history.js';

/** Every barge-in is this one step: silence Twilio and TTS, report, keep only what was heard. The LLM stops
 * structurally (its invoking state is exited by the same transition). */
const bargeIn = ['clearPlayback', 'clearTts', 'emitBargeIn', 'commitSpeech'] as const;

/** Caller speech while agent audio plays (greeting, fixed phrases, replies). */
function whileAgentTalks(interruption: 'isInterruption' | 'greetingInterruption') {
  return {
    'STT.FINAL': [
      { guard: interruption, target: '#call.interrupted', actions: ['keepFinal', ...bargeIn] },
      { guard: 'isBackchannel' }, // "uh-huh" over the agent: heard, not kept
      { actions: 'keepFinal' }, // real words, but not enough to cut the agent off: answered next
    ],
    'STT.INTERIM': { guard: interruption, target: '#call.interrupted', actions: [...bargeIn] },
  } as const;
}

/** STT or TTS is gone for good: report it, and the call ends with `<source>-failed` (after a goodbye). */
function failed(source: 'stt' | 'tts') {
  return [
    { type: 'reportError', params: { source } },
    { type: 'setEndReason', params: { reason: `${source}-failed` } },
  ] as const;
}

const fatalUnlessSayingGoodbye = and(['isFatal', not(stateIn('#call.goodbye'))]);

export const callMachine = callSetup.createMachine({
  id: 'call',
  context: ({ input }) => initialContext(input),
  invoke: [
    {
      id: 'transport',
      systemId: 'transport',
      src: 'transport',
      onError: {
        target: '.ended',
        actions: [
          { type: 'reportError', params: { source: 'transport' } },
          { type: 'setEndReason', params: { reason: 'transport-failed' } },
        ],
      },
    },
    {
      id: 'stt',
      systemId: 'stt',
      src: 'stt',
      onError: [
        { guard: stateIn('#call.goodbye'), actions: { type: 'reportError', params: { source: 'stt' } } },
        {
          target: '.goodbye',
          actions: failed('stt'),
        },
      ],
    },
    {
      id: 'tts',
      systemId: 'tts',
      src: 'tts',
      onError: [
        { guard: stateIn('#call.goodbye'), actions: { type: 'reportError', params: { source: 'tts' } } },
        {
          target: '.goodbye',
          actions: failed('tts'),
        },
      ],
    },
  ],
  on: {
    'TRANSPORT.STOP': { target: '.ended', actions: 'noteStopReason' },
    'CALL.HANGUP': { target: '.ended', actions: ['hangUp', 'noteHangupReason'] },
    'TRANSPORT.MARK': { actions: 'noteMark' },
    'STT.UTTERANCE_END': { guard: 'hasPending', actions: 'markEndOfTurn' },
    // We can no longer hear (STT) or speak fresh text (TTS; the goodbye may still come from the phrase cache).
    'STT.ERROR': [
      {
        guard: fatalUnlessSayingGoodbye,
        target: '.goodbye',
        actions: failed('stt'),
      },
      { actions: { type: 'reportError', params: { source: 'stt' } } },
    ],
    'TTS.ERROR': [
      {
        guard: fatalUnlessSayingGoodbye,
        target: '.goodbye',
        actions: failed('tts'),
      },
      { actions: { type: 'reportError', params: { source: 'tts' } } },
    ],
  },
  initial: 'connecting',
  states: {
    connecting: {
      on: { 'TRANSPORT.START': { target: 'greeting', actions: ['rememberStart', 'emitStarted'] } },
    },

    greeting: {
      entry: { type: 'sayPhrase', params: { kind: 'greeting' } },
      always: { guard: 'speechPlayedOut', target: 'listening', actions: 'commitSpeech' },
      after: { phraseTimeout: { target: 'listening', actions: 'commitSpeech' } },
      on: whileAgentTalks('greetingInterruption'),
    },

    listening: {
      // A turn that ended while the agent was talking (e.g. over a non-interruptible greeting) is answered now.
      always: { guard: 'turnEnded', target: 'respond' },
      after: {
        idleTimeout: [
          { guard: 'hasPending', target: 'respond' }, // finals but neither speech_final nor UtteranceEnd came
          { guard: 'canReprompt', target: 'prompting', actions: { type: 'sayPhrase', params: { kind: 'reprompt' } } },
          { target: 'goodbye', actions: { type: 'setEndReason', params: { reason: 'no-response' } } },
        ],
      },
      on: {
        'STT.FINAL': [
          { guard: 'isSpeechFinal', target: 'respond', actions: 'keepFinal' },
          { target: 'listening', reenter: true, actions: 'keepFinal' }, // reenter restarts the idle timer
        ],
        'STT.INTERIM': { target: 'listening', reenter: true },
        'STT.UTTERANCE_END': { guard: 'hasPending', target: 'respond', actions: 'markEndOfTurn' },
      },
    },

    // One LLM turn. Leaving this state (barge-in, hangup, error) stops the llm child = aborts its HTTP stream.
    respond: {
      entry: ['startTurn', 'emitUserUtterance'],
      invoke: {
        id: 'llm',
        src: 'llm',
        input: ({ context }) => llmInputFor(context.options.systemPrompt, context.history, context.userText),
        onError: [
          {
            guard: stateIn('#call.respond.speaking'),
            actions: [{ type: 'reportError', params: { source: 'llm' } }, 'apologizeAfterReply'],
          },
          {
            target: 'prompting',
            actions: [
              { type: 'reportError', params: { source: 'llm' } },
              'commitUserText',
              { type: 'sayPhrase', params: { kind: 'apology' } },
            ],
          },
        ],
      },
      on: {
        'LLM.TOOL_CALL': [
          { guard: 'isEndCall', actions: 'requestHangupAfterReply' },
          {
            guard: 'isValidTransfer',
            actions: { type: 'transferCall', params: ({ event }) => ({ to: String(event.args['to']) }) },
          },
          { actions: 'reportBadToolCall' },
        ],
        'TTS.FIRST_AUDIO': { actions: 'noteTtsFirstAudio' },
        'TRANSPORT.AUDIO_STARTED': { actions: 'noteAudioStarted' },
      },
      onDone: [
        {
          // end_call after a spoken reply: that reply was the goodbye; do not say a second one.
          guard: and(['hangupRequested', 'replyWasHeard']),
          target: 'ended',
          actions: ['commitSpeech', { type: 'setEndReason', params: { reason: 'end_call' } }, 'hangUp'],
        },
        {
          guard: 'hangupRequested',
          target: 'goodbye',
          actions: ['commitSpeech', { type: 'setEndReason', params: { reason: 'end_call' } }],
        },
        { target: 'listening', actions: 'commitSpeech' },
      ],
      initial: 'thinking',
      states: {
        thinking: {
          after: {
            llmTimeout: {
              target: '#call.prompting',
              actions: ['reportLlmTimeout', 'commitUserText', { type: 'sayPhrase', params: { kind: 'apology' } }],
            },
          },
          on: {
            'LLM.TEXT': { guard: 'hasText', target: 'speaking', actions: ['commitUserText', 'noteFirstText', 'speakReply'] },
            'LLM.DONE': { target: 'replied', actions: 'commitUserText' }, // no text at all (maybe only a tool call)
            'LLM.ERROR': {
              target: '#call.prompting',
              actions: [
                { type: 'reportError', params: { source: 'llm' } },
                'commitUserText',
                { type: 'sayPhrase', params: { kind: 'apology' } },
              ],
            },
            // The caller was not done: drop this LLM turn, keep every word for the next one.
            'STT.FINAL': { guard: 'callerResumes', target: '#call.listening', actions: ['resumeListening', 'keepFinal'] },
            'STT.INTERIM': { guard: 'callerResumes', target: '#call.listening', actions: 'resumeListening' },
          },
        },
        speaking: {
          // Playback done = the mark of the last segment echoed after LLM.DONE (not when TTS stops generating).
          always: { guard: 'speechPlayedOut', target: 'replied' },
          // A stream that stops mid-reply (no delta, no DONE): say what we have, then apologise. One timer per
          // period, not one per token: when it fires after progress it re-arms, so a stall is caught between
          // llmTimeoutMs and twice that after the last delta.
          entry: 'armStallTimer',
          after: {
            llmTimeout: [
              { guard: and(['replyStreaming', not('replyProgressed')]), actions: ['reportLlmStall', 'apologizeAfterReply'] },
              { guard: 'replyStreaming', target: 'speaking', reenter: true },
            ],
          },
          on: {
            'LLM.TEXT': { actions: ['speakReply', 'noteReplyProgress'] },
            'LLM.DONE': { actions: 'finishReply' },
            'LLM.ERROR': { actions: [{ type: 'reportError', params: { source: 'llm' } }, 'apologizeAfterReply'] },
            ...whileAgentTalks('isInterruption'),
          },
        },
        replied: { type: 'final' },
      },
    },

    // A re-prompt or an apology: a fixed phrase the caller may talk over.
    prompting: {
      always: { guard: 'speechPlayedOut', target: 'listening', actions: 'commitSpeech' },
      after: { phraseTimeout: { target: 'listening', actions: 'commitSpeech' } },
      on: whileAgentTalks('isInterruption'),
    },

    interrupted: {
      always: { guard: 'turnEnded', target: 'respond' }, // the barge-in itself was a speech_final transcript
      after: { clearTimeout: 'listening' },
      on: {
        'TTS.CLEARED': 'listening',
        'STT.FINAL': [
          { guard: 'isSpeechFinal', target: 'respond', actions: 'keepFinal' },
          { actions: 'keepFinal' },
        ],
        'STT.UTTERANCE_END': { guard: 'hasPending', target: 'respond', actions: 'markEndOfTurn' },
        'TRANSPORT.MARK': {}, // echoes of the cleared segments (played:false): nothing to record
      },
    },

    goodbye: {
      entry: { type: 'sayPhrase', params: { kind: 'goodbye' } },
      always: {
        guard: 'speechPlayedOut',
        target: 'ended',
        actions: ['commitSpeech', 'hangUp'],
      },
      after: { phraseTimeout: { target: 'ended', actions: 'hangUp' } }, // the goodbye's mark never came back
    },

    ended: { type: 'final', entry: 'emitEnded' },
  },
});

export type CallMachine = typeof callMachine;
export type CallActorRef = ActorRefFrom<CallMachine>;
export type CallSnapshot = SnapshotFrom<CallMachine>;
export type { CallActors, LlmLogic, SttLogic, TransportLogic, TtsLogic, TransferParams } from './call.setup.js';
export type { CallInput } from './context.js';
export type { CallEmitted } from './emitted.js';
