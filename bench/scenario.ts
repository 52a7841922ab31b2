/**
 * What every benchmark call says and what the simulated LLM answers. Each utterance ends with a tag unique in the
 * whole run (`c<call>u<utterance>`), so the STT transcript, the LLM request and the TTS text of one turn (the default
 * LLM reply quotes the caller) can be tied to their call and turn by content.
 *
 * A call: greeting → a pause of 0–4 s (fixed per call id) → `turns` caller turns, the second of which asks for a
 * long story that the caller interrupts (barge-in) after a moment of playback; the barge-in is answered too → hang
 * up. The pause keeps calls at different points of their script, as independent callers are: without it every
 * call of a level would ask its questions within the same few seconds of the ramp.
 */
import type { LlmScriptEntry } from '../offline/llm.js';
import type { ScriptStep } from '../offline/twilio-caller-types.js';

/** The long reply of the barge-in turn: several sentences, so that plenty is still playing when the caller cuts in. */
export const STORY_REPLY =
  'Sure, here is the story of how our little company began. ' +
  'Our service started in a small office with two phones and a lot of coffee. ' +
  'Over the years it grew into a team that answers thousands of calls every day. ' +
  'We care about short waits, clear answers and friendly voices. ' +
  'Today most questions are answered in under a minute, day or night.';

/**
 * Only a caller's latest words ask for the story. (After a barge-in the machine merges the interrupted request
 * with the new words, because the caller heard no whole segment of the reply: that must not trigger it again.)
 */
export const benchLlmScript: LlmScriptEntry[] = [{ when: /\bstory c\d+u\d+$/i, text: STORY_REPLY }];

/** The default LLM reply quotes the caller; the bench checks that replies begin with it. */
export const ECHO_PREFIX = 'You said';

export const TAG_PATTERN = /\bc(\d+)u(\d+)\b/;

/** The last tag in a text (a merged user message holds several; the newest is what the turn answers). */
export function lastTag(text: string): string | undefined {
  const all = text.match(/\bc\d+u\d+\b/g);
  return all?.[all.length - 1];
}

export function tagFor(callId: number, utterance: number): string {
  return `c${callId}u${utterance}`;
}

const QUESTIONS = [
  'what are your opening hours',
  'where is the nearest office',
  'can I change my booking',
  'how much does delivery cost',
  'do you have parking nearby',
  'is the shop open on sunday',
];

export interface PlannedUtterance {
  index: number;
  tag: string;
  text: string;
  /** Spoken over agent audio (the barge-in). */
  bargeIn: boolean;
  /** The LLM answers with STORY_REPLY (interrupted by the next utterance). */
  story: boolean;
}

export interface CallPlan {
  callId: number;
  utterances: PlannedUtterance[];
  script: ScriptStep[];
}

/** How long (ms of played agent audio) the caller lets the story play before talking over it. */
export const BARGE_IN_AFTER_MS = 600;

/** Longest pause before the first question (the server re-prompts after 8 s of silence). */
export const MAX_START_PAUSE_MS = 4000;

/** A deterministic, well-spread pause per call id (Knuth's multiplicative hash). */
export function startPauseMs(callId: number): number {
  return (Math.imul(callId, 2654435761) >>> 0) % (MAX_START_PAUSE_MS + 1);
}

export function planCall(callId: number, turns: number): CallPlan {
  const utterances: PlannedUtterance[] = [];
  const script: ScriptStep[] = [{ waitForAgent: 'reply' }, { pause: startPauseMs(callId) }];
  let n = 0;
  const add = (text: string, opts: { bargeIn?: boolean; story?: boolean } = {}): PlannedUtterance => {
    n += 1;
    const tag = tagFor(callId, n);
    const u = { index: n, tag, text: `${text} ${tag}`, bargeIn: opts.bargeIn ?? false, story: opts.story ?? false };
    utterances.push(u);
    return u;
  };
  for (let turn = 1; turn <= Math.max(2, turns); turn++) {
    if (turn === 2) {
      script.push({ say: add('tell me a long story', { story: true }).text });
      script.push({ bargeIn: add('wait stop please', { bargeIn: true }).text, afterMs: BARGE_IN_AFTER_MS });
    } else {
      script.push({ say: add(QUESTIONS[(callId + turn) % QUESTIONS.length] ?? 'hello').text });
    }
    script.push({ waitForAgent: 'reply' });
  }
  script.push({ hangup: true });
  return { callId, utterances, script };
}
