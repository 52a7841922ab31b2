/**
 * Media streams accepted but not yet started (no valid `start` yet), per connecting address. The handshake signature
 * is the same for every stream of a URL (Twilio signs the URL), so a captured one opens streams at will: each is
 * closed after STREAM_START_TIMEOUT_MS, and this cap bounds how many one address holds open meanwhile.
 */
export class PendingStreams {
  private readonly byAddress = new Map<string, number>();

  constructor(private readonly maxPerAddress: number) {}

  /** Counts a stream of `address` as pending; undefined when that address is at the cap. The release is idempotent. */
  add(address: string): (() => void) | undefined {
    const count = this.byAddress.get(address) ?? 0;
    if (count >= this.maxPerAddress) return undefined;
    this.byAddress.set(address, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.byAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.byAddress.delete(address);
      else this.byAddress.set(address, left);
    };
  }
}
