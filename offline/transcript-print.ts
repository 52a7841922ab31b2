/** Prints a simulated call as the caller lived it: who said what, what was cut off, how fast the agent answered. */
import type { TranscriptEntry } from './twilio-caller-types.js';

export interface TextStyle {
  dim(s: string): string;
  bold(s: string): string;
  red(s: string): string;
}

/** ANSI styles on a terminal, plain text otherwise (pipes, CI logs, tests). */
export function styleFor(stream: NodeJS.WriteStream): TextStyle {
  return stream.isTTY
    ? { dim: (s) => `\x1b[2m${s}\x1b[0m`, bold: (s) => `\x1b[1m${s}\x1b[0m`, red: (s) => `\x1b[31m${s}\x1b[0m` }
    : { dim: (s) => s, bold: (s) => s, red: (s) => s };
}

export function printTranscript(transcript: readonly TranscriptEntry[], greetingMs: number | null, style: TextStyle): void {
  let first = true;
  for (const t of transcript) {
    if (t.role === 'caller') {
      console.log(`${style.bold('caller')}  ${t.text}${t.bargeIn ? style.dim('   (talked over the agent)') : ''}`);
      continue;
    }
    const latency =
      first && greetingMs !== null
        ? `greeting audio ${greetingMs.toFixed(1)} ms after the stream started`
        : t.latencyMs !== null
          ? `replied ${Math.round(t.latencyMs)} ms after the caller stopped talking`
          : '';
    first = false;
    const heard = t.text.trim();
    const cut = t.cut.trim();
    console.log(`${style.bold('agent ')}  ${heard}${cut ? style.red(' ✂ ') + style.dim(`[cut off, never heard: "${cut}"]`) : ''}`);
    if (latency) console.log(style.dim(`        (${latency})`));
  }
}
