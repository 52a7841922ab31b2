/**
 * The audio of the current reply's segments that a call synthesised in full and the caller has not heard in full yet,
 * by their text (whitespace-insensitive), so that a segment said again (a reply resumed after a false interruption)
 * is re-sent rather than synthesised again.
 *
 * What it holds is bounded by what a resume needs first, not by the reply's length (a per-call budget,
 * test/budget/budgets.ts): a resume starts with the earliest unheard segments, and the ones after them can be
 * synthesised again while those play. So
 * - a segment the caller heard in full (its Twilio mark came back played) is let go: a resume never repeats it;
 * - beyond the segment and byte bounds the newest segment is not kept (nothing older is evicted for it);
 * - a segment of another turn (segment ids are `t<turn>-…`) lets the earlier turn's go: only the reply being spoken
 *   can be resumed.
 * Holding every segment of a long reply cost ~136 KB per speaking call at 8 kHz µ-law (issue 22).
 */
export class HeldAudio {
  private readonly byText = new Map<string, { audio: Buffer; segment: string }>();
  private bytes = 0;
  private turn: string | undefined;

  constructor(
    /** The segment playing and the next: any later one has the next one's playing time to be synthesised again. */
    private readonly maxSegments = 2,
    /** 12 s of 8 kHz µ-law: two long sentences. */
    private readonly maxBytes = 96_000,
  ) {}

  keep(text: string, chunks: readonly Buffer[], segment = ''): void {
    const turn = /^t\d+-/.exec(segment)?.[0];
    if (turn !== this.turn) {
      this.byText.clear();
      this.bytes = 0;
      this.turn = turn;
    }
    const key = HeldAudio.key(text);
    const bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    if (key === '' || bytes === 0) return;
    this.drop(key); // a text said again replaces its audio
    if (this.byText.size >= this.maxSegments || this.bytes + bytes > this.maxBytes) return;
    this.byText.set(key, { audio: HeldAudio.own(chunks, bytes), segment });
    this.bytes += bytes;
  }

  get(text: string): Buffer | undefined {
    return this.byText.get(HeldAudio.key(text))?.audio;
  }

  /** The caller heard this segment in full: a resume will not say it again. */
  played(segment: string): void {
    for (const [key, held] of this.byText) if (held.segment === segment) this.drop(key);
  }

  /** Bytes of audio held now. */
  get heldBytes(): number {
    return this.bytes;
  }

  private drop(key: string): void {
    const held = this.byText.get(key);
    if (held === undefined) return;
    this.bytes -= held.audio.length;
    this.byText.delete(key);
  }

  /**
   * One Buffer with its own memory, exactly the audio's size: `Buffer.concat` hands out a slice of Node's shared 8 KB
   * pool for less than 4 KB, and a short segment held for the whole reply would pin the pool's other 4–8 KB with it.
   */
  private static own(chunks: readonly Buffer[], bytes: number): Buffer {
    const audio = Buffer.allocUnsafeSlow(bytes);
    let at = 0;
    for (const chunk of chunks) {
      audio.set(chunk, at);
      at += chunk.length;
    }
    return audio;
  }

  private static key(text: string): string {
    return text.replace(/\s+/g, ' ').trim();
  }
}
