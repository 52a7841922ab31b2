/**
 * Word counting for barge-in decisions. Transcripts and filler lists are compared as lower-case words with
 * leading/trailing punctuation stripped ("Mm." → "mm", "Uh-huh!" → "uh-huh").
 */

export type InterruptPolicy = {
  readonly minInterruptWords: number;
  readonly fillerWords: readonly string[];
};

export function spokenWords(text: string): string[] {
  return text
    .toLowerCase()
    .split(/\s+/)
    .map((word) => word.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, ''))
    .filter((word) => word.length > 0);
}

function fillerSet(fillers: readonly string[]): Set<string> {
  return new Set(fillers.flatMap((filler) => spokenWords(filler)));
}

/** Nothing but fillers ("uh-huh", "Mm.", "okay okay"), or no words at all: a backchannel, not a turn. */
export function isBackchannel(text: string, fillers: readonly string[]): boolean {
  const known = fillerSet(fillers);
  return spokenWords(text).every((word) => known.has(word));
}

/** At least one word that is not a filler: the caller is really saying something. */
export function hasRealWords(text: string, fillers: readonly string[]): boolean {
  return !isBackchannel(text, fillers);
}

/**
 * A transcript that cuts the agent off: at least `minInterruptWords` words (never fewer than one) and not only
 * fillers.
 */
export function isInterruption(text: string, policy: InterruptPolicy): boolean {
  const words = spokenWords(text);
  return words.length >= Math.max(1, policy.minInterruptWords) && hasRealWords(text, policy.fillerWords);
}
