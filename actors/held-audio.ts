/**
 * The audio of the current reply's segments that a call synthesised in full, by their text (whitespace-insensitive),
 * so that a segment said again (a reply resumed after a false interruption) is re-sent rather than synthesised again.
 * Only the reply being spoken can be resumed, so a segment of another turn (segment ids are `t<turn>-…`) lets the
 * earlier ones go: what a live call holds is one reply at most (a per-call budget, test/budget/budgets.ts).
 * Bounded besides: the oldest go first.
 */
export class HeldAudio {
  private readonly byText = new Map<string, Buffer>();
  private bytes = 0;
  private turn: string | undefined;

  constructor(
    private readonly maxSegments = 8,
    private readonly maxBytes = 256_000,
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
    if (key === '' || bytes === 0 || bytes > this.maxBytes) return;
    const audio = HeldAudio.own(chunks, bytes);
    this.drop(key);
    this.byText.set(key, audio);
    this.bytes += audio.length;
    for (const oldest of this.byText.keys()) {
      if (this.byText.size <= this.maxSegments && this.bytes <= this.maxBytes) break;
      this.drop(oldest);
    }
  }

  get(text: string): Buffer | undefined {
    return this.byText.get(HeldAudio.key(text));
  }

  private drop(key: string): void {
    const audio = this.byText.get(key);
    if (audio === undefined) return;
    this.bytes -= audio.length;
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
