/**
 * The call machine: one per phone call. Children own every socket (transport for the whole call; stt and tts once
 * the call is live; llm per inference round; tools per tool round); the machine only sees control events, decides,
 * and commands them. Pure: times come from the events' `at`, timers are the named delays, side effects are
 * sendTo/emit. See README "States" for the walkthrough.
 */
import { and, not, or, stateIn, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import {
  apology,
  bargeIn,
  cancellable,
  cancelsTools,
  failed,
  fatalUnlessSayingGoodbye,
  GOODBYE,
  INTERRUPTED,
  interruptsAudioOnly,
  interruptsTools,
  LISTENING,
  PROMPTING,
  reportLlmError,
  whileAgentTalks,
} from './call.transitions.js';
import { callSetup, initialContext } from './call.setup.js';
import { stepOptions } from './flow-step.js';
import { llmInputFor } from './history.js';
import { runningCalls } from './tool-round.js';

const endCall = { type: 'setEndReason', params: { reason: 'end_call' } } as const;

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
    // The agent's conversation flow, for the whole call (tools move it; the tool runner finds it by its systemId).
    { id: 'flow', systemId: 'flow', src: 'flow' },
  ],
  on: {
    'FLOW.STEP': { actions: 'noteFlowStep' },
    'TRANSPORT.STOP': { target: '.ended', actions: 'noteStopReason' },
    'CALL.HANGUP': { target: '.ended', actions: ['hangUp', 'noteHangupReason'] },
    // A verdict after screening is over (or for a call that never screened) is only reported.
    'CALL.ANSWERED_BY': { actions: 'emitAnsweredBy' },
  },
  initial: 'connecting',
  states: {
    // Only the transport runs: no provider socket is opened for a stream that never presents a valid start.
    connecting: {
      on: { 'TRANSPORT.START': { target: 'configuring', actions: ['rememberStart', 'emitStarted'] } },
    },

    // The agent chooses this call's options (prompt, greeting, tools, language, voice) from who is calling.
    configuring: {
      invoke: {
        id: 'configure',
        src: 'configure',
        input: ({ context }) => ({ call: context.call ?? unknownCall, options: context.options }),
        onDone: { target: 'live', actions: { type: 'applyCallOptions', params: ({ event }) => ({ options: event.output }) } },
        onError: { target: 'live', actions: { type: 'reportError', params: { source: 'agent' } } },
      },
    },

    live: {
      invoke: [
        {
          id: 'stt',
          src: 'stt',
          input: ({ context }) => ({ language: context.options.language }),
          onError: [
            { guard: stateIn('#call.live.goodbye'), actions: { type: 'reportError', params: { source: 'stt' } } },
            { target: '.goodbye', actions: [...failed('stt')] },
          ],
        },
        {
          id: 'tts',
          src: 'tts',
          input: ({ context }) => ({ voice: context.options.voice }),
          // Nothing can be said any more, not even goodbye: hang up.
          onError: { target: '#call.ended', actions: [...failed('tts'), 'hangUp'] },
        },
      ],
      on: {
        // A polite hangup (the drain's last word): stop what is playing, say goodbye, then hang up. Handled here, not
        // at the root, so that stt and tts are not restarted on the way.
        'CALL.HANGUP': [
          {
            guard: and(['isPoliteHangup', not(stateIn('#call.live.goodbye'))]),
            target: '.goodbye',
            actions: ['noteHangupReason', 'silenceAgent', 'commitSpeech'],
          },
          { guard: and(['isPoliteHangup', stateIn('#call.live.goodbye')]) }, // the goodbye is already being said
        ],
        'TRANSPORT.MARK': { actions: 'noteMark' },
        'STT.CONNECTED': { actions: 'emitSttConnected' }, // reported (a reconnect is logged with what was replayed)
        'STT.UTTERANCE_END': { guard: 'hasPending', actions: 'markEndOfTurn' },
        // We can no longer hear (STT) or speak fresh text (TTS; the goodbye may still come from the phrase cache).
        'STT.ERROR': [
          { guard: fatalUnlessSayingGoodbye, target: '.goodbye', actions: [...failed('stt')] },
          { actions: { type: 'reportError', params: { source: 'stt' } } },
        ],
        'TTS.ERROR': [
          { guard: fatalUnlessSayingGoodbye, target: '.goodbye', actions: [...failed('tts')] },
          { actions: { type: 'reportError', params: { source: 'tts' } } },
        ],
      },
      initial: 'starting',
      states: {
        starting: {
          always: [{ guard: 'awaitsAmd', target: 'screening' }, { target: 'greeting' }],
        },

        // An outbound call with answering-machine detection: silent until Twilio says who answered (a greeting would
        // be heard by the machine, and its words must not start a turn).
        screening: {
          after: { amdTimeout: 'greeting' },
          on: {
            'CALL.ANSWERED_BY': [
              { guard: 'answeredByMachine', target: 'voicemail', actions: 'emitAnsweredBy' },
              { target: 'greeting', actions: 'emitAnsweredBy' },
            ],
          },
        },

        // The machine's beep is over (DetectMessageEnd): leave the message, then hang up.
        voicemail: {
          entry: [{ type: 'sayPhrase', params: { kind: 'voicemail' } }, { type: 'setEndReason', params: { reason: 'voicemail' } }],
          on: { 'SPEECH.PLAYED_OUT': { target: '#call.ended', actions: ['commitSpeech', 'hangUp'] } },
          after: { phraseTimeout: { target: '#call.ended', actions: 'hangUp' } },
        },

        greeting: {
          entry: { type: 'sayPhrase', params: { kind: 'greeting' } },
          after: { phraseTimeout: { target: 'listening', actions: 'commitSpeech' } },
          on: {
            'SPEECH.PLAYED_OUT': { target: 'listening', actions: 'commitSpeech' },
            ...whileAgentTalks('greetingInterruption'),
          },
        },

        listening: {
          // A turn that ended while the agent was talking (e.g. over a non-interruptible greeting) is answered now.
          always: { guard: 'turnEnded', target: 'respond' },
          after: {
            dtmfTimeout: { guard: 'hasDigits', target: 'respond' }, // keys, then a pause: that was the input
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
            // Flux thinks the turn is probably over: start the reply now, its audio held until the turn is confirmed.
            'STT.EAGER_END': { guard: 'hasEagerText', target: 'respond.round.speculating', actions: 'startSpeculation' },
            'TRANSPORT.DTMF': [
              { guard: 'isTerminator', target: 'respond', actions: 'keepDigit' },
              { target: 'listening', reenter: true, actions: 'keepDigit' }, // restarts the inter-digit timer
            ],
          },
        },

        // One caller turn: inference → tools → inference … Leaving it (barge-in, hangup, error) stops the llm or
        // tools child, which aborts the HTTP stream or the tools' signals.
        respond: {
          entry: ['emitDtmf', 'startTurn', 'emitUserUtterance'],
          on: {
            'LLM.TOOL_CALL': { actions: 'noteToolCall' },
            'TTS.FIRST_AUDIO': { actions: 'noteTtsFirstAudio' },
            'TRANSPORT.AUDIO_STARTED': { actions: 'noteAudioStarted' },
          },
          onDone: [
            // end_call after a spoken reply: that reply was the goodbye; do not say a second one.
            { guard: and(['hangupRequested', 'replyWasHeard']), target: '#call.ended', actions: ['commitSpeech', endCall, 'hangUp'] },
            { guard: 'hangupRequested', target: 'goodbye', actions: ['commitSpeech', endCall] },
            // transfer_call: the reply was the announcement; with none heard, a fixed one is said first.
            { guard: and(['transferRequested', 'replyWasHeard']), target: 'transferring.dialing', actions: 'commitSpeech' },
            { guard: 'transferRequested', target: 'transferring', actions: ['commitSpeech', { type: 'sayPhrase', params: { kind: 'transfer' } }] },
            { target: 'listening', actions: 'commitSpeech' },
          ],
          initial: 'round',
          states: {
            // One inference: the LLM streams text (spoken as it comes) and tool calls.
            round: {
              invoke: {
                id: 'llm',
                src: 'llm',
                input: ({ context }) => llmInputFor(stepOptions(context.options, context.flow), context.history, context.turn.userText, context.tools.rounds),
                onError: [
                  { guard: 'turnHasSpoken', actions: [reportLlmError, 'apologizeAfterReply'] },
                  { target: PROMPTING, actions: [reportLlmError, 'commitSpeech', apology] },
                ],
              },
              initial: 'thinking',
              states: {
                thinking: {
                  // A later round of a reply that already spoke goes on speaking.
                  always: { guard: 'turnHasSpoken', target: 'speaking' },
                  after: {
                    llmTimeout: { target: PROMPTING, actions: ['reportLlmTimeout', 'commitSpeech', apology] },
                  },
                  on: {
                    'LLM.TEXT': { guard: 'hasText', target: 'speaking', actions: ['noteFirstText', 'speakReply'] },
                    'LLM.DONE': [
                      {
                        guard: 'toolRoundOverLimit',
                        target: PROMPTING,
                        actions: ['emitToolCalls', 'reportToolRoundLimit', 'commitSpeech', apology],
                      },
                      { guard: 'needsToolRound', target: '#call.live.respond.tooling', actions: 'emitToolCalls' },
                      // No text at all (maybe only end_call / transfer_call).
                      { target: '#call.live.respond.replied', actions: ['emitToolCalls', 'finishReply'] },
                    ],
                    'LLM.ERROR': { target: PROMPTING, actions: [reportLlmError, 'commitSpeech', apology] },
                    // The caller was not done: drop this turn, keep every word for the next one.
                    'STT.FINAL': { guard: 'callerResumes', target: LISTENING, actions: ['abandonTurn', 'keepFinal'] },
                    'STT.INTERIM': { guard: 'callerResumes', target: LISTENING, actions: 'abandonTurn' },
                    'TRANSPORT.DTMF': { target: LISTENING, actions: ['abandonTurn', 'keepDigit'] },
                  },
                },
                speaking: {
                  on: {
                    // Playback done = the mark of the last segment echoed after the last LLM.DONE.
                    'SPEECH.PLAYED_OUT': { target: '#call.live.respond.replied' },
                    'LLM.TEXT': { actions: ['noteFirstText', 'speakReply'] },
                    'LLM.DONE': [
                      { guard: 'toolRoundOverLimit', actions: ['emitToolCalls', 'reportToolRoundLimit', 'apologizeAfterReply'] },
                      // "Let me check that": flushed and spoken while the tools run.
                      { guard: 'needsToolRound', target: '#call.live.respond.tooling', actions: ['emitToolCalls', 'endRoundSpeech'] },
                      { actions: ['emitToolCalls', 'finishReply'] },
                    ],
                    'LLM.ERROR': { actions: [reportLlmError, 'apologizeAfterReply'] },
                    ...whileAgentTalks('isInterruption'),
                  },
                },

                // Flux's eager end of turn: the reply starts before the turn is final, its audio held at the transport
                // (nothing plays, so nothing interrupts it). The end of turn with the same words confirms it: it goes
                // on as `thinking` or `speaking`, its held audio released at once. Anything else discards it unheard
                // (transport and TTS cleared, the caller's words pending again) and the turn goes on with every word.
                speculating: {
                  on: {
                    'STT.FINAL': { guard: not('confirmsEager'), target: LISTENING, actions: ['discardSpeculation', 'keepFinal'] },
                    'STT.TURN_RESUMED': { target: LISTENING, actions: 'discardSpeculation' },
                    'TRANSPORT.DTMF': { target: LISTENING, actions: ['discardSpeculation', 'keepDigit'] },
                    'LLM.ERROR': { target: LISTENING, actions: [reportLlmError, 'discardSpeculation'] },
                    'xstate.error.actor.llm': { target: LISTENING, actions: [reportLlmError, 'discardSpeculation'] },
                    // The call goes on to a goodbye: what is held is dropped first (the same events elsewhere: `live`).
                    'STT.ERROR': { guard: 'isFatal', target: GOODBYE, actions: ['discardSpeculation', ...failed('stt')] },
                    'xstate.error.actor.stt': { target: GOODBYE, actions: ['discardSpeculation', ...failed('stt')] },
                    'TTS.ERROR': { guard: 'isFatal', target: GOODBYE, actions: ['discardSpeculation', ...failed('tts')] },
                    'CALL.HANGUP': { guard: 'isPoliteHangup', target: GOODBYE, actions: ['noteHangupReason', 'discardSpeculation'] },
                  },
                  initial: 'thinking',
                  states: {
                    // Confirmed before any text, the reply waits in the round's `thinking`, whose LLM timeout starts then.
                    thinking: {
                      after: { llmTimeout: { target: LISTENING, actions: ['reportLlmTimeout', 'discardSpeculation'] } },
                      on: {
                        'STT.FINAL': { guard: 'confirmsEager', target: '#call.live.respond.round.thinking', actions: 'confirmSpeculation' },
                        'LLM.TEXT': { guard: 'hasText', target: 'speaking', actions: ['noteFirstText', 'speakReply'] },
                        // Tools never run on a guess, nor is a silent answer kept: the confirmed turn asks again.
                        'LLM.DONE': { target: LISTENING, actions: 'discardSpeculation' },
                      },
                    },
                    speaking: {
                      on: {
                        'STT.FINAL': { guard: 'confirmsEager', target: '#call.live.respond.round.speaking', actions: 'confirmSpeculation' },
                        'LLM.TEXT': { actions: ['noteFirstText', 'speakReply'] },
                        'LLM.DONE': [
                          { guard: 'needsToolRound', target: LISTENING, actions: 'discardSpeculation' },
                          { actions: ['emitToolCalls', 'finishReply'] },
                        ],
                      },
                    },
                  },
                },
              },
            },

            // The round's function tools run in one child; control tools and refused calls are answered already.
            tooling: {
              invoke: {
                id: 'tools',
                src: 'tools',
                input: ({ context }) => ({ calls: runningCalls(context.tools.round).map(({ id, name, args }) => ({ id, name, args })) }),
                onError: { target: PROMPTING, actions: [{ type: 'reportError', params: { source: 'tools' } }, 'cancelRound', 'commitSpeech', apology] },
              },
              after: {
                toolFiller: [
                  { guard: or(['callerSpokeDuringTools', not('fillerWanted')]) },
                  { guard: 'agentAudible', actions: 'markFillerDue' }, // said once playback ends
                  { actions: 'sayFiller' },
                ],
              },
              always: [
                // The caller spoke meanwhile: the results stay in history and their words are answered next.
                { guard: and(['toolResultsIn', 'callerSpokeDuringTools']), target: LISTENING, actions: ['completeRound', 'commitSpeech'] },
                { guard: 'toolResultsIn', target: 'round', actions: 'completeRound' },
                { guard: and(['fillerDue', not('agentAudible')]), actions: 'sayFiller' },
              ],
              on: {
                'TOOL.RESULT': { actions: 'noteToolResult' },
                'TRANSPORT.DTMF': { actions: 'forwardDigitToTools' },
                'STT.FINAL': [
                  { guard: interruptsTools, target: INTERRUPTED, actions: ['keepFinal', 'cancelRound', ...bargeIn] },
                  // Tools that must finish: the caller still cuts the agent off, and is answered after them.
                  { guard: interruptsAudioOnly, actions: ['keepFinal', 'clearPlayback', 'clearTts', 'emitBargeIn', 'noteCallerSpoke'] },
                  { guard: 'isBackchannel' },
                  { guard: and([not('agentAudible'), cancellable]), target: LISTENING, actions: ['cancelRound', 'abandonTurn', 'keepFinal'] },
                  { actions: ['keepFinal', 'noteCallerSpoke'] },
                ],
                'STT.INTERIM': [
                  { guard: interruptsTools, target: INTERRUPTED, actions: ['cancelRound', ...bargeIn] },
                  { guard: interruptsAudioOnly, actions: ['clearPlayback', 'clearTts', 'emitBargeIn', 'noteCallerSpoke'] },
                  { guard: cancelsTools, target: LISTENING, actions: ['cancelRound', 'abandonTurn'] },
                ],
              },
            },

            replied: { type: 'final' },
          },
        },

        // A re-prompt or an apology: a fixed phrase the caller may talk over.
        prompting: {
          after: { phraseTimeout: { target: 'listening', actions: 'commitSpeech' } },
          on: {
            'SPEECH.PLAYED_OUT': { target: 'listening', actions: 'commitSpeech' },
            ...whileAgentTalks('isInterruption'),
          },
        },

        // The cut speech is kept until the state is left: a mark Twilio echoed as played before it got our clear may
        // still be on its way (the caller heard that segment), and it must reach history before the next turn does.
        // Once silent, a cut speech that may go on waits in `paused` for the caller's words.
        interrupted: {
          exit: ['keepUnheard', 'commitSpeech'],
          always: { guard: 'turnEnded', target: 'respond' }, // the barge-in itself was a speech_final transcript
          after: { clearTimeout: [{ guard: 'mayResume', target: 'paused' }, { target: 'listening' }] },
          on: {
            'TTS.CLEARED': [{ guard: 'mayResume', target: 'paused' }, { target: 'listening' }],
            'STT.FINAL': [
              { guard: and(['isBackchannel', 'mayResume']) }, // no words, or fillers: maybe noise (see paused)
              { guard: 'isSpeechFinal', target: 'respond', actions: 'keepFinal' },
              { actions: 'keepFinal' },
            ],
            'STT.UTTERANCE_END': { guard: 'hasPending', target: 'respond', actions: 'markEndOfTurn' },
            'TRANSPORT.DTMF': [{ guard: 'isTerminator', target: 'respond', actions: 'keepDigit' }, { actions: 'keepDigit' }],
          },
        },

        // A false interruption? The barge-in's words were revised away (an empty or fillers-only final) or never came:
        // the agent goes on (`resuming`). Real words make it a barge-in after all. What was heard is in history.
        paused: {
          after: { falseInterruption: 'resuming' },
          on: {
            'STT.FINAL': [
              { guard: and(['isBackchannel', 'speechFinal']), target: 'resuming' },
              { guard: 'isBackchannel' }, // fillers so far: wait for the end of the utterance
              { guard: 'isSpeechFinal', target: 'respond', actions: 'keepFinal' },
              { target: 'listening', actions: 'keepFinal' },
            ],
            // Sound again, or words coming: wait for what they are.
            'STT.SPEECH_STARTED': { target: 'paused', reenter: true },
            'STT.INTERIM': { guard: 'callerResumes', target: 'paused', reenter: true },
            'STT.UTTERANCE_END': 'resuming', // the sound ended and no word was transcribed
            'TRANSPORT.DTMF': [{ guard: 'isTerminator', target: 'respond', actions: 'keepDigit' }, { target: 'listening', actions: 'keepDigit' }],
          },
        },

        // What the false interruption cut off, said again (the caller may cut it off again).
        resuming: {
          entry: 'resumeSpeech',
          after: { phraseTimeout: { target: 'listening', actions: 'commitSpeech' } },
          on: {
            'SPEECH.PLAYED_OUT': { target: 'listening', actions: 'commitSpeech' },
            ...whileAgentTalks('isInterruption'),
          },
        },

        // transfer_call to an allowed target: once the announcement has played, Twilio dials the number.
        transferring: {
          initial: 'announcing',
          states: {
            announcing: {
              on: { 'SPEECH.PLAYED_OUT': { target: 'dialing', actions: 'commitSpeech' } },
              after: { phraseTimeout: { target: 'dialing', actions: 'commitSpeech' } },
            },
            dialing: {
              invoke: {
                id: 'transfer',
                src: 'transfer',
                input: ({ context }) => ({ callSid: context.call?.callSid ?? '', to: context.turn.transferTo ?? '' }),
                onDone: { target: 'handedOff', actions: { type: 'setEndReason', params: { reason: 'transferred' } } },
                onError: { target: PROMPTING, actions: [{ type: 'reportError', params: { source: 'transfer' } }, apology] },
              },
            },
            // Twilio ends this media stream when it dials; if it does not, do not hold the line open.
            handedOff: { after: { handoffTimeout: { target: '#call.ended', actions: 'hangUp' } } },
          },
        },

        goodbye: {
          entry: { type: 'sayPhrase', params: { kind: 'goodbye' } },
          on: { 'SPEECH.PLAYED_OUT': { target: '#call.ended', actions: ['commitSpeech', 'hangUp'] } },
          after: { phraseTimeout: { target: '#call.ended', actions: 'hangUp' } }, // the goodbye's mark never came back
        },
      },
    },

    ended: { type: 'final', entry: 'emitEnded' },
  },
});

const unknownCall = { callSid: '', streamSid: '', from: '', to: '', direction: '', customParameters: {} } as const;

export type CallMachine = typeof callMachine;
export type CallActorRef = ActorRefFrom<CallMachine>;
export type CallSnapshot = SnapshotFrom<CallMachine>;
export type { CallActors, ConfigureLogic, FlowLogic, LlmLogic, SttInput, SttLogic, ToolsLogic, TransferLogic, TransportLogic, TtsInput, TtsLogic } from './call.setup.js';
export type { CallInfo, CallInput, ConfigureInput, TransferInput } from './context.js';
export type { CallEmitted } from './emitted.js';
