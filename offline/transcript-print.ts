/** Prints a simulated call as the caller lived it: who said what, what was cut off, how fast the agent answered. */
import type { TimelineEntry, TranscriptEntry } from './twilio-caller-types.js';

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

/**
 * The same lines as printTranscript, printed as the call happens (from the simulated caller's timeline): a caller's
 * line once it has been said, an agent's once it has been heard to its end or cut off. Latencies come at the end.
 */
export function liveTranscriptPrinter(style: TextStyle, write: (line: string) => void = (line) => console.log(line)): (entry: TimelineEntry) => void {
  let bargeIn: string | undefined;
  let cut = '';
  return (entry) => {
    const text = (entry.text ?? '').trim();
    if (entry.kind === 'bargeIn') bargeIn = entry.text;
    else if (entry.kind === 'said') {
      const over = bargeIn !== undefined && bargeIn === entry.text;
      bargeIn = undefined;
      write(`${style.bold('caller')}  ${text}${over ? style.dim('   (talked over the agent)') : ''}`);
    } else if (entry.kind === 'clear') cut = text;
    else if (entry.kind === 'heard') {
      write(`${style.bold('agent ')}  ${text}${cut ? style.red(' ✂ ') + style.dim(`[cut off, never heard: "${cut}"]`) : ''}`);
      cut = '';
    }
  };
}
