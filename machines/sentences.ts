/**
 * Turns a stream of LLM text deltas (often single tokens) into speakable chunks: whole sentences, or clauses when
 * a sentence runs long. A boundary is only accepted once the whitespace after it has arrived, so "3.5", "Dr. Who"
 * and "e.g. this" are never split, at the cost of holding a finished sentence until the next token (or LLM.DONE).
 */

export type Chunk = {
  /** Trimmed text of the chunk. */
  readonly text: string;
  /** Ends with `.`, `!` or `?` (a sentence); false for clauses (`,` `;` `:` ellipsis) and forced cuts. */
  readonly endsSentence: boolean;
};

export type ChunkOptions = {
  /** A clause boundary only splits when the chunk so far is at least this long (no "Well," chunks). */
  readonly minClauseChars: number;
  /** Text without any boundary is cut at its last space beyond this length (no punctuation at all). */
  readonly maxChunkChars: number;
};

export const defaultChunkOptions: ChunkOptions = { minClauseChars: 24, maxChunkChars: 240 };

/** Words followed by a period that do not end a sentence. Compared lower-case without the final period. */
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'approx', 'dept', 'inc', 'ltd',
  'mt', 'ave', 'u.s', 'a.m', 'p.m',
]);
const TERMINAL = /[.!?…]/;
const CLAUSE = /[,;:]/;
const CLOSERS = /["'”’)\]]/;
const SPACE = /\s/;

function wordBefore(text: string, index: number): string {
  let start = index;
  while (start > 0 && /[\p{L}.]/u.test(text[start - 1] ?? '')) start--;
  return text.slice(start, index);
}

function isAbbreviation(word: string): boolean {
  if (ABBREVIATIONS.has(word.toLowerCase())) return true;
  return /^\p{Lu}$/u.test(word); // an initial: "J. R. R. Tolkien"
}

/** A punctuation run at `index` (marks, then closing quotes/brackets); `endsChunk` says whether it splits. */
type Run = { end: number; endsChunk: boolean; endsSentence: boolean };

function runAt(text: string, index: number, chunkStart: number, options: ChunkOptions): Run | null {
  const mark = text[index] ?? '';
  const terminal = TERMINAL.test(mark);
  if (!terminal && !CLAUSE.test(mark)) return null;
  let end = index + 1;
  if (terminal) while (end < text.length && TERMINAL.test(text[end] ?? '')) end++;
  while (end < text.length && CLOSERS.test(text[end] ?? '')) end++;
  const no = { end, endsChunk: false, endsSentence: false };
  if (end >= text.length || !SPACE.test(text[end] ?? '')) return no; // not decided yet, or "3.5" / "1,000"
  const run = text.slice(index, end);
  const ellipsis = run.includes('…') || run.includes('..');
  if (terminal && !ellipsis) {
    if (run.startsWith('.') && !/[!?]/.test(run) && isAbbreviation(wordBefore(text, index))) return no;
    return { end, endsChunk: true, endsSentence: true };
  }
  const long = text.slice(chunkStart, end).trim().length >= options.minClauseChars;
  return { end, endsChunk: long, endsSentence: false };
}

/**
 * Split `buffer` into complete chunks and the undecided rest (kept verbatim, leading space included, so the next
 * delta appends naturally).
 */
export function takeChunks(
  buffer: string,
  options: ChunkOptions = defaultChunkOptions,
): { chunks: Chunk[]; rest: string } {
  const chunks: Chunk[] = [];
  let start = 0;
  for (let index = 0; index < buffer.length; index++) {
    const run = runAt(buffer, index, start, options);
    if (run === null) continue;
    index = run.end - 1; // a run is judged once, as a whole ("..." is not three periods)
    if (!run.endsChunk) continue;
    const text = buffer.slice(start, run.end).trim();
    if (text.length > 0) chunks.push({ text, endsSentence: run.endsSentence });
    start = run.end;
  }
  let rest = buffer.slice(start);
  while (rest.trim().length > options.maxChunkChars) {
    const trimmed = rest.trimStart();
    const cut = trimmed.lastIndexOf(' ', options.maxChunkChars);
    const at = cut > 0 ? cut : options.maxChunkChars;
    chunks.push({ text: trimmed.slice(0, at).trim(), endsSentence: false });
    rest = trimmed.slice(at);
  }
  return { chunks, rest };
}

/** Number of sentences in a whole text (a trailing unterminated part counts as one). */
export function countSentences(text: string, options: ChunkOptions = defaultChunkOptions): number {
  const { chunks, rest } = takeChunks(`${text} `, options);
  const sentences = chunks.filter((chunk) => chunk.endsSentence).length;
  const tail = chunks.length > 0 && !chunks[chunks.length - 1]?.endsSentence;
  return sentences + (tail || rest.trim().length > 0 ? 1 : 0);
}
