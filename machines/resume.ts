/**
 * Resuming after a false interruption (a cough, a TV, a filler word that cut the agent off): which part of the cut
 * speech is said again, and how. Segments end at sentence ends (see reply.ts), so the first segment the caller did
 * not hear starts with the sentence they were cut in.
 */
import type { AgentSpeech } from './context.js';
import type { TtsCommand } from './events.js';
import type { SpeechPlan } from './reply.js';

/** The texts of the segments from the first one the caller did not (or not yet) hear to the end. */
export function unheardTexts(speech: AgentSpeech): string[] {
  const first = speech.segments.findIndex((segment) => segment.heard !== true);
  return first < 0 ? [] : speech.segments.slice(first).map((segment) => segment.text);
}

/**
 * The speech can be resumed: all of it exists (a reply whose LLM had finished, or a fixed phrase; a reply cut while
 * the model was still writing or between tool rounds has no end to go on to) and some of it was not heard.
 */
export function resumable(speech: AgentSpeech): boolean {
  return speech.kind !== 'none' && speech.complete && speech.buffer.trim() === '' && speech.open === '' && unheardTexts(speech).length > 0;
}

/**
 * Say the unheard texts again, one segment each, with TTS.SAY: the TTS child plays audio it still holds for that
 * text (the phrase cache, or what it synthesised for this call) and synthesises it again only when it has none.
 * Fresh segment names: a late echo of a cut segment's mark must not count for its repeat.
 */
export function resumePlan(texts: readonly string[], prefix: string): SpeechPlan {
  const segments = texts.map((text, index) => ({ name: `${prefix}-${index + 1}`, text, heard: null }));
  const commands: TtsCommand[] = segments.map(({ name, text }) => ({ type: 'TTS.SAY', text, segment: name }));
  return { speech: { kind: 'resumed', segments, buffer: '', open: '', complete: true }, commands };
}
