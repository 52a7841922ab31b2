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

/** Keys the caller pressed, as the model sees them next to their words: "[keypad: 4 2 7 #]". */
export function keypadText(digits: string): string {
  return digits === '' ? '' : `[keypad: ${[...digits].join(' ')}]`;
}

/** The caller's turn: their finals, then the keys they pressed. */
export function callerUtterance(finals: readonly string[], digits: string): string {
  return [joinFinals(finals), keypadText(digits)].filter((part) => part !== '').join(' ');
}
