import type { AgentSpeech, Segment } from './context.js';
import type { TtsCommand } from './events.js';
import { defaultChunkOptions, takeChunks, type ChunkOptions } from './sentences.js';

/**
 * Deepgram allows 20 flushes per 60 s. The first sentence of a reply is flushed at once (time to first audio);
 * later sentences are merged until the open segment holds at least this many characters, or the reply ends.
 */
export const FLUSH_MIN_CHARS = 40;

export type SpeechPlan = { readonly speech: AgentSpeech; readonly commands: readonly TtsCommand[] };

export function replySegmentName(turn: number, index: number): string {
  return `t${turn}-s${index}`;
}

export function startReply(): AgentSpeech {
  return { kind: 'reply', segments: [], buffer: '', open: '', complete: false };
}

/** A fixed phrase is one segment, said with TTS.SAY (phrase cache). */
export function startPhrase(kind: AgentSpeech['kind'], text: string, segment: string): SpeechPlan {
  return {
    speech: { kind, segments: [{ name: segment, text, heard: null }], buffer: '', open: '', complete: true },
    commands: [{ type: 'TTS.SAY', text, segment }],
  };
}

function flush(speech: AgentSpeech, turn: number, commands: TtsCommand[]): AgentSpeech {
  if (speech.open === '') return speech;
  const segment: Segment = {
    name: replySegmentName(turn, speech.segments.length + 1),
    text: speech.open,
    heard: null,
  };
  commands.push({ type: 'TTS.FLUSH', segment: segment.name });
  return { ...speech, segments: [...speech.segments, segment], open: '' };
}

function speak(speech: AgentSpeech, text: string, commands: TtsCommand[]): AgentSpeech {
  // The trailing space keeps consecutive Speak texts from gluing words together in Deepgram's buffer.
  commands.push({ type: 'TTS.SPEAK', text: `${text} ` });
  return { ...speech, open: speech.open === '' ? text : `${speech.open} ${text}` };
}

/**
 * An LLM delta: SPEAK each completed chunk, FLUSH at sentence ends per the merge rule above. `roundStart` = the
 * number of segments before this inference round: the first sentence of every round is flushed at once.
 */
export function addReplyText(
  speech: AgentSpeech,
  delta: string,
  turn: number,
  roundStart = 0,
  options: ChunkOptions = defaultChunkOptions,
): SpeechPlan {
  if (speech.complete) return { speech, commands: [] };
  const commands: TtsCommand[] = [];
  const { chunks, rest } = takeChunks(speech.buffer + delta, options);
  let next: AgentSpeech = { ...speech, buffer: rest };
  for (const chunk of chunks) {
    next = speak(next, chunk.text, commands);
    const first = next.segments.length <= roundStart;
    if (chunk.endsSentence && (first || next.open.length >= FLUSH_MIN_CHARS)) next = flush(next, turn, commands);
  }
  return { speech: next, commands };
}

/**
 * LLM.DONE: speak the unfinished tail and flush whatever is open. `complete: false` ends a tool round: more text
 * may follow in the next round of the same reply.
 */
export function finishReply(speech: AgentSpeech, turn: number, complete = true): SpeechPlan {
  if (speech.complete) return { speech, commands: [] };
  const commands: TtsCommand[] = [];
  let next: AgentSpeech = { ...speech, buffer: '', complete };
  const tail = speech.buffer.replace(/\s+/g, ' ').trim();
  if (tail !== '') next = speak(next, tail, commands);
  next = flush(next, turn, commands);
  return { speech: next, commands };
}

/** A fixed phrase said inside a reply (a tool filler, the apology) as its own segment, from the phrase cache. */
export function sayWithinReply(speech: AgentSpeech, text: string, segment: string): SpeechPlan {
  return {
    speech: { ...speech, segments: [...speech.segments, { name: segment, text, heard: null }] },
    commands: [{ type: 'TTS.SAY', text, segment }],
  };
}

/** LLM.ERROR mid-reply: let what we have play out, then apologise as the reply's last segment. */
export function finishReplyWithApology(speech: AgentSpeech, turn: number, apologyText: string): SpeechPlan {
  if (speech.complete) return { speech, commands: [] };
  const finished = finishReply(speech, turn);
  const apology = sayWithinReply(finished.speech, apologyText, `t${turn}-apology`);
  return { speech: apology.speech, commands: [...finished.commands, ...apology.commands] };
}
