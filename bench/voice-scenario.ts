/**
 * The calls of the voice-to-voice benchmark (`npm run bench -- --stt …`): after the greeting and a short pause, the
 * caller asks `turns` short questions, waiting for each whole reply; every third one has a hesitation in the middle
 * (a pause longer than Flux's eager delay and shorter than any end of turn), as callers do. Then hangs up.
 *
 * The LLM answers every question with the same short reply, so the time to its first sentence is the same for each
 * turn and the spread of the results comes from the STT's turn decision and the orchestrator.
 */
import type { LlmScriptEntry } from '../offline/llm.js';
import type { ScriptStep } from '../offline/twilio-caller-types.js';

/** One sentence: the machine flushes it to TTS as soon as it is complete; short audio keeps the run short. */
export const VOICE_REPLY = 'Sure, I can help with that.';

export const voiceLlmScript: LlmScriptEntry[] = [{ text: VOICE_REPLY }];

const QUESTIONS = [
  'what are your opening hours',
  'where is the nearest office',
  'can I change my booking',
  'how much does delivery cost',
  'do you have parking nearby',
  'is the shop open on sunday',
  'can I pay by card',
  'how long does shipping take',
];

/** `what are ... your opening hours`: the hesitation mark goes after the second word. */
function hesitating(question: string): string {
  const words = question.split(' ');
  return [...words.slice(0, 2), '...', ...words.slice(2)].join(' ');
}

export interface VoiceTurnPlan {
  text: string;
  hesitates: boolean;
}

export interface VoiceCallPlan {
  callId: number;
  turns: VoiceTurnPlan[];
  script: ScriptStep[];
}

/** Longest pause between the greeting and the first question: calls do not ask in lockstep. */
export const MAX_START_PAUSE_MS = 2000;

export function planVoiceCall(callId: number, turns: number, hesitationMs: number): VoiceCallPlan {
  const start = (Math.imul(callId, 2654435761) >>> 0) % (MAX_START_PAUSE_MS + 1);
  const script: ScriptStep[] = [{ waitForAgent: 'reply' }, { pause: start }];
  const planned: VoiceTurnPlan[] = [];
  for (let i = 0; i < turns; i++) {
    const question = QUESTIONS[(callId + i) % QUESTIONS.length] ?? 'hello';
    const hesitates = (callId + i) % 3 === 0;
    planned.push({ text: question, hesitates });
    script.push(hesitates ? { say: hesitating(question), hesitationMs } : { say: question });
    script.push({ waitForAgent: 'reply' });
  }
  script.push({ hangup: true });
  return { callId, turns: planned, script };
}
