/**
 * The audio of the last few segments a call synthesised in full, by their text (whitespace-insensitive), so that a
 * segment said again is re-sent rather than synthesised again. Bounded: the oldest go first.
 */
export class HeldAudio {
  private readonly byText = new Map<string, Buffer>();
  private bytes = 0;

  constructor(
    private readonly maxSegments = 16,
    private readonly maxBytes = 1_000_000,
  ) {}

  keep(text: string, chunks: readonly Buffer[]): void {
    const key = HeldAudio.key(text);
    const audio = Buffer.concat(chunks);
    if (key === '' || audio.length === 0 || audio.length > this.maxBytes) return;
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

  private static key(text: string): string {
    return text.replace(/\s+/g, ' ').trim();
  }
}
