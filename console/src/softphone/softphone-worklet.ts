/**
 * The softphone's AudioWorklet (audio thread): microphone → 8 kHz → 20 ms µ-law frames for the page to send, and the
 * agent's µ-law audio → the context's rate → the playout buffer → the speakers. Playback, marks and `clear` are
 * handled here, next to the output, so a mark is echoed when its audio has really been rendered and a clear is
 * silent from the very next render quantum (128 samples, under 3 ms).
 */
import { StreamResampler } from './resample.js';
import { LINE_RATE, LineFramer } from './framer.js';
import { decodeMulaw } from './mulaw.js';
import { PlayoutBuffer } from './playout.js';
import { WORKLET_NAME, type FromWorklet, type ToWorklet } from './worklet-messages.js';

// The AudioWorkletGlobalScope is not in TypeScript's DOM library.
declare const sampleRate: number;
declare const currentTime: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;

/** Stats go to the page every this many render quanta (~0.25 s at 48 kHz). */
const STATS_EVERY = 94;

class SoftphoneProcessor extends AudioWorkletProcessor {
  private readonly down = new StreamResampler(sampleRate, LINE_RATE);
  private readonly up = new StreamResampler(LINE_RATE, sampleRate);
  private readonly framer = new LineFramer();
  private readonly playout = new PlayoutBuffer(sampleRate, 80);
  private silentAfterClear = false;
  private quanta = 0;

  constructor() {
    super();
    this.port.onmessage = (e: MessageEvent<ToWorklet>) => this.onMessage(e.data);
  }

  private post(msg: FromWorklet, transfer: Transferable[] = []): void {
    this.port.postMessage(msg, transfer);
  }

  private onMessage(msg: ToWorklet): void {
    if (msg.type === 'media') this.playout.enqueue(this.up.process(decodeMulaw(msg.payload)));
    else if (msg.type === 'mark') {
      const names = this.playout.mark(msg.name);
      if (names.length > 0) this.post({ type: 'marks', names, cleared: false, playsAt: null });
    } else if (msg.type === 'clear') {
      this.post({ type: 'marks', names: this.playout.clear(), cleared: true, playsAt: null });
      this.silentAfterClear = true;
    }
  }

  process(inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const mic = inputs[0]?.[0];
    if (mic !== undefined) {
      for (const frame of this.framer.push(this.down.process(mic))) {
        this.post({ type: 'frame', payload: frame.payload, level: frame.level }, [frame.payload.buffer]);
      }
    }
    const out = outputs[0];
    const first = out?.[0];
    if (out !== undefined && first !== undefined) {
      const { marks } = this.playout.readInto(first);
      for (let c = 1; c < out.length; c++) out[c]?.set(first);
      // currentTime is this quantum's first sample: its audio has played out by the quantum's end.
      if (marks.length > 0) this.post({ type: 'marks', names: marks, cleared: false, playsAt: currentTime + first.length / sampleRate });
    }
    if (this.silentAfterClear) {
      this.silentAfterClear = false;
      this.post({ type: 'silent', at: currentTime });
    }
    if (++this.quanta % STATS_EVERY === 0) this.post({ type: 'stats', ...this.playout.stats, rate: sampleRate });
    return true;
  }
}

registerProcessor(WORKLET_NAME, SoftphoneProcessor);
