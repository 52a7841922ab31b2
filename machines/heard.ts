import type { AgentSpeech } from './context.js';

/**
 * What the caller actually heard: the text of segments whose Twilio mark came back with played:true. Marks that
 * Twilio echoes because of our `clear` (played:false), unflushed and unspoken text do not count.
 */
export function heardText(speech: AgentSpeech): string {
  return speech.segments
    .filter((segment) => segment.heard === true)
    .map((segment) => segment.text)
    .join(' ');
}

/** The heard text of the named segments only (a tool round's part of a reply). */
export function heardTextOf(speech: AgentSpeech, names: readonly string[]): string {
  const wanted = new Set(names);
  return speech.segments
    .filter((segment) => segment.heard === true && wanted.has(segment.name))
    .map((segment) => segment.text)
    .join(' ');
}

/** Nothing is playing or about to: every flushed segment's mark came back and no text waits to be flushed. */
export function nothingPlaying(speech: AgentSpeech): boolean {
  return speech.buffer.trim() === '' && speech.open === '' && speech.segments.every((segment) => segment.heard !== null);
}

/** Everything the agent meant to say but the caller did not hear (for the barge-in report). */
export function cutText(speech: AgentSpeech): string {
  return [
    ...speech.segments.filter((segment) => segment.heard !== true).map((segment) => segment.text),
    speech.open,
    speech.buffer,
  ]
    .map((text) => text.trim())
    .filter((text) => text.length > 0)
    .join(' ');
}

/** Everything the agent produced for this speech, heard or not (flushed segments, then unflushed text). */
export function generatedText(speech: AgentSpeech): string {
  return [...speech.segments.map((segment) => segment.text), speech.open, speech.buffer]
    .map((text) => text.trim())
    .filter((text) => text.length > 0)
    .join(' ');
}

/** Record a mark echo. Unknown names (stale echoes of an earlier, cleared speech) and repeats change nothing. */
export function markSegment(speech: AgentSpeech, name: string, played: boolean): AgentSpeech {
  if (!speech.segments.some((segment) => segment.name === name && segment.heard === null)) return speech;
  return {
    ...speech,
    segments: speech.segments.map((segment) =>
      segment.name === name && segment.heard === null ? { ...segment, heard: played } : segment,
    ),
  };
}

/** Playback is over: nothing more to come, nothing unflushed, and every flushed segment's mark echoed. */
export function playedOut(speech: AgentSpeech): boolean {
  return speech.complete && nothingPlaying(speech);
}
