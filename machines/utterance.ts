/**
 * The caller's utterance. Deepgram splits one utterance into several is_final spans; the turn's text is all of
 * them in order, not just the span that carried speech_final.
 */
export function joinFinals(finals: readonly string[]): string {
  return finals
    .map((text) => text.replace(/\s+/g, ' ').trim())
    .filter((text) => text.length > 0)
    .join(' ');
}

/**
 * Put the text of a cancelled turn back in front of what the caller said since, so the next LLM input holds
 * old + new text and nothing the caller said is lost.
 */
export function restorePending(cancelledTurnText: string, pending: readonly string[]): string[] {
  return cancelledTurnText.trim().length > 0 ? [cancelledTurnText, ...pending] : [...pending];
}
