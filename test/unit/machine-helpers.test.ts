import { describe, expect, it } from 'vitest';
import { hasRealWords, isBackchannel, isInterruption, spokenWords } from '../../machines/barge-in.js';
import { silentSpeech, type AgentSpeech } from '../../machines/context.js';
import { cutText, heardText, markSegment, playedOut } from '../../machines/heard.js';
import { appendMessage, llmInputFor } from '../../machines/history.js';
import { addReplyText, finishReply, finishReplyWithApology, startReply, type SpeechPlan } from '../../machines/reply.js';
import { countSentences, takeChunks } from '../../machines/sentences.js';
import { joinFinals, restorePending } from '../../machines/utterance.js';
import type { TtsCommand } from '../../machines/events.js';
import { defaultCallOptions } from '../../machines/options.js';

/** Feed a token stream through the reply planner like LLM.TEXT events would, then LLM.DONE. */
function streamReply(tokens: readonly string[], done = true): { speech: AgentSpeech; commands: TtsCommand[] } {
  let speech = startReply();
  const commands: TtsCommand[] = [];
  const apply = (plan: SpeechPlan) => {
    speech = plan.speech;
    commands.push(...plan.commands);
  };
  for (const token of tokens) apply(addReplyText(speech, token, 3));
  if (done) apply(finishReply(speech, 3));
  return { speech, commands };
}

function tokens(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

describe('utterance assembly', () => {
  it('joins every pending final in order, not just the last one', () => {
    expect(joinFinals(['I would like', ' to book ', 'a table  for two.'])).toBe('I would like to book a table for two.');
  });
  it('skips empty spans and gives an empty string for nothing', () => {
    expect(joinFinals(['', '  ', 'yes'])).toBe('yes');
    expect(joinFinals([])).toBe('');
  });
  it('puts a cancelled turn back in front of newer finals', () => {
    expect(restorePending('book a table', ['for two'])).toEqual(['book a table', 'for two']);
    expect(restorePending('  ', ['for two'])).toEqual(['for two']);
  });
});

describe('sentence and clause aggregation', () => {
  it('only decides a boundary once the following whitespace arrived', () => {
    expect(takeChunks('Hello there.')).toEqual({ chunks: [], rest: 'Hello there.' });
    expect(takeChunks('Hello there. How')).toEqual({
      chunks: [{ text: 'Hello there.', endsSentence: true }],
      rest: ' How',
    });
  });
  it('does not split decimals, abbreviations or initials', () => {
    const { chunks, rest } = takeChunks('Dr. Smith says 3.5 mg, e.g. twice a day. J. R. R. Tolkien agrees. Ok');
    expect(chunks.map((chunk) => chunk.text)).toEqual([
      'Dr. Smith says 3.5 mg, e.g. twice a day.',
      'J. R. R. Tolkien agrees.',
    ]);
    expect(rest).toBe(' Ok');
  });
  it('ends sentences on question and exclamation marks, closing quotes included', () => {
    const { chunks } = takeChunks('Really?! Yes. He said "stop!" then left. ');
    expect(chunks).toEqual([
      { text: 'Really?!', endsSentence: true },
      { text: 'Yes.', endsSentence: true },
      { text: 'He said "stop!"', endsSentence: true },
      { text: 'then left.', endsSentence: true },
    ]);
  });
  it('treats an ellipsis as a clause, and splits clauses only when long enough', () => {
    const { chunks } = takeChunks('Well... I think, honestly, that the second option is better; it is cheaper. ');
    expect(chunks).toEqual([
      { text: 'Well... I think, honestly,', endsSentence: false },
      { text: 'that the second option is better;', endsSentence: false },
      { text: 'it is cheaper.', endsSentence: true },
    ]);
  });
  it('cuts text without any punctuation at a space once it gets too long', () => {
    const words = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ');
    const { chunks, rest } = takeChunks(words, { minClauseChars: 24, maxChunkChars: 100 });
    expect(chunks.every((chunk) => chunk.text.length <= 100 && !chunk.endsSentence)).toBe(true);
    expect(rest.trim().length).toBeLessThanOrEqual(100);
    expect([...chunks.map((chunk) => chunk.text), rest.trim()].join(' ')).toBe(words);
  });
  it('counts sentences, an unterminated tail included', () => {
    expect(countSentences('One. Two! Three')).toBe(3);
    expect(countSentences('no punctuation at all')).toBe(1);
    expect(countSentences('')).toBe(0);
  });
});

describe('reply planning (SPEAK per chunk, FLUSH per sentence with merging)', () => {
  it('never speaks per token, flushes the first sentence at once and merges short followers', () => {
    const { commands, speech } = streamReply(tokens('Sure. It is 3.5 miles. Go left. Then right. Bye now!'));
    expect(commands).toEqual([
      { type: 'TTS.SPEAK', text: 'Sure. ' },
      { type: 'TTS.FLUSH', segment: 't3-s1' },
      { type: 'TTS.SPEAK', text: 'It is 3.5 miles. ' },
      { type: 'TTS.SPEAK', text: 'Go left. ' },
      { type: 'TTS.SPEAK', text: 'Then right. ' },
      { type: 'TTS.SPEAK', text: 'Bye now! ' },
      { type: 'TTS.FLUSH', segment: 't3-s2' }, // only on LLM.DONE: the followers stayed under 40 chars
    ]);
    expect(speech.segments.map((segment) => segment.text)).toEqual([
      'Sure.',
      'It is 3.5 miles. Go left. Then right. Bye now!',
    ]);
    expect(speech.complete).toBe(true);
  });
  it('flushes a follower segment once it holds 40 characters', () => {
    const text = 'Yes. The museum opens at nine in the morning on weekdays. It closes at five. ';
    const { commands } = streamReply(tokens(text), false);
    expect(commands.filter((command) => command.type === 'TTS.FLUSH')).toEqual([
      { type: 'TTS.FLUSH', segment: 't3-s1' },
      { type: 'TTS.FLUSH', segment: 't3-s2' },
    ]);
  });
  it('keeps flushes at or under the number of sentences for any token split', () => {
    const text = 'A. B is here. C! D? Eee eee eee eee eee eee eee eee eee eee eee. F';
    for (const split of [tokens(text), text.split(''), [text]]) {
      const { commands, speech } = streamReply(split);
      const flushes = commands.filter((command) => command.type === 'TTS.FLUSH').length;
      expect(flushes).toBeLessThanOrEqual(countSentences(text));
      expect(speech.segments.map((segment) => segment.text).join(' ')).toBe(text);
    }
  });
  it('speaks and flushes a reply without punctuation only on LLM.DONE', () => {
    const { commands } = streamReply(tokens('okay I can do that for you'));
    expect(commands).toEqual([
      { type: 'TTS.SPEAK', text: 'okay I can do that for you ' },
      { type: 'TTS.FLUSH', segment: 't3-s1' },
    ]);
  });
  it('sends nothing for an empty reply', () => {
    expect(streamReply([]).commands).toEqual([]);
    expect(streamReply(['  ']).commands).toEqual([]);
  });
  it('on an LLM error flushes what it has, then says the apology as the last segment', () => {
    let speech = addReplyText(startReply(), 'Let me check that', 4).speech;
    const plan = finishReplyWithApology(speech, 4, 'Sorry.');
    expect(plan.commands).toEqual([
      { type: 'TTS.SPEAK', text: 'Let me check that ' },
      { type: 'TTS.FLUSH', segment: 't4-s1' },
      { type: 'TTS.SAY', text: 'Sorry.', segment: 't4-apology' },
    ]);
    speech = plan.speech;
    expect(speech.segments.map((segment) => segment.name)).toEqual(['t4-s1', 't4-apology']);
    expect(addReplyText(speech, 'more', 4).commands).toEqual([]); // complete: late text is ignored
  });
});

describe('heard-text truncation', () => {
  const speech: AgentSpeech = {
    kind: 'reply',
    segments: [
      { name: 't1-s1', text: 'First part.', heard: null },
      { name: 't1-s2', text: 'Second part.', heard: null },
    ],
    buffer: ' and', // never spoken
    open: 'Third', // spoken, not flushed
    complete: false,
  };
  it('counts only segments whose mark came back played:true', () => {
    const played = markSegment(speech, 't1-s1', true);
    const cleared = markSegment(played, 't1-s2', false); // echoed because of our clear
    expect(heardText(cleared)).toBe('First part.');
    expect(cutText(cleared)).toBe('Second part. Third and');
  });
  it('ignores unknown and repeated marks', () => {
    const once = markSegment(speech, 't1-s1', true);
    expect(markSegment(once, 't1-s1', false)).toBe(once);
    expect(markSegment(once, 't0-s9', true)).toBe(once);
  });
  it('is played out only when complete, nothing open and every mark echoed', () => {
    const all = markSegment(markSegment(speech, 't1-s1', true), 't1-s2', true);
    expect(playedOut(all)).toBe(false);
    expect(playedOut({ ...all, open: '', buffer: '', complete: true })).toBe(true);
    expect(playedOut(silentSpeech)).toBe(true);
  });
  it('merges same-role messages so roles alternate, and skips empty text', () => {
    const history = appendMessage(appendMessage([], 'assistant', 'Hello!'), 'assistant', 'Still there?');
    expect(history).toEqual([{ role: 'assistant', content: 'Hello! Still there?' }]);
    expect(appendMessage(history, 'user', '  ')).toEqual(history);
    expect(llmInputFor({ ...defaultCallOptions, systemPrompt: 'Be brief.' }, history, 'hi', []).messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'assistant', content: 'Hello! Still there?' },
      { role: 'user', content: 'hi' },
    ]);
  });
});

describe('barge-in word counting with fillers', () => {
  const fillers = ['uh-huh', 'mm', 'okay', 'yeah'];
  it('normalises case and punctuation, keeping inner hyphens', () => {
    expect(spokenWords('Uh-huh. MM… okay!')).toEqual(['uh-huh', 'mm', 'okay']);
  });
  it('does not interrupt on fillers alone', () => {
    for (const text of ['uh-huh', 'Mm.', 'Okay, yeah.', '']) {
      expect(isInterruption(text, { minInterruptWords: 1, fillerWords: fillers })).toBe(false);
      expect(isBackchannel(text, fillers)).toBe(true);
    }
  });
  it('interrupts on enough words that are not all fillers', () => {
    expect(isInterruption('wait', { minInterruptWords: 1, fillerWords: fillers })).toBe(true);
    expect(isInterruption('okay wait', { minInterruptWords: 2, fillerWords: fillers })).toBe(true);
    expect(isInterruption('wait', { minInterruptWords: 2, fillerWords: fillers })).toBe(false);
    expect(isInterruption('stop', { minInterruptWords: 0, fillerWords: [] })).toBe(true);
    expect(hasRealWords('okay wait', fillers)).toBe(true);
  });
});
