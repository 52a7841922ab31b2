/**
 * The `tts` child: one Deepgram streaming-TTS socket (`speak.v1.connect`, µ-law 8 kHz, no container) per call,
 * opened when the actor starts. Audio goes straight to the transport through the MediaPipe, never via the machine.
 *
 * Ordering: binary audio reaches us as Blobs whose bytes are read asynchronously, so every server message (and every
 * cached phrase we play) runs on ONE promise chain: a `Flushed` can never overtake its audio, so the mark for a
 * segment always follows that segment's audio in the pipe.
 *
 * Commands: SPEAK → Speak; FLUSH {segment} → Flush, and the mark `segment` is sent when its Flushed arrives;
 * SAY → the cached audio + mark (after every segment still pending from Deepgram; Speak text not yet flushed does
 * not hold it back), else Speak+Flush (merged with any unflushed text, as Deepgram would); cached means the phrase
 * cache, or the audio of a segment this call already synthesised in full for the same text (the machine says a
 * segment again after a false interruption: it is re-sent, not paid for twice); CLEAR → Clear,
 * forget pending segments (no marks), drop all audio until Cleared, then TTS.CLEARED. Commands before the socket is
 * open (or while it is down) only update our state; the state is sent when the socket opens.
 *
 * A dropped socket (reported as TTS.ERROR recoverable:true) is reopened. The segment whose audio had started is
 * marked at once as partial: the caller hears it cut short, playback completes, and its echo says not played, so
 * history never claims the words the caller missed (as after a barge-in, a segment heard in part does not count).
 * Re-sending it would make the caller hear its beginning twice, and we cannot tell which words its audio reached.
 * Segments with no audio yet and unflushed text are sent again on the new socket, so nothing is heard twice and
 * the machine never waits for a lost Flushed.
 * After giving up (TTS.ERROR recoverable:false) every pending and future segment is marked without audio (cached
 * phrases still play) so playback completes and the call can go on. Never throws.
 *
 * Silent-socket watchdog: a socket that accepted Flush (or Clear) and sends nothing back for `silenceWatchdogMs`
 * is reconnected like a dropped one (same re-send rules), and `onWatchdog` counts it.
 */
import { fromCallback } from 'xstate';
import type { CallEvent, TtsCommand } from '../machines/events.js';
import type { TtsInput } from '../machines/call.machine.js';
import type { MediaPipe } from './media-pipe.js';
import { errorMessage, type Logger } from '../lib/logger.js';
import { now } from '../lib/clock.js';
import type { DeepgramClient, SpeakSocket } from './deepgram-client.js';
import { defaultReconnectPolicy, Reconnector, wireAndConnect, type ReconnectPolicy } from './deepgram-reconnect.js';
import { isRecord, speakConnectArgs } from './deepgram-messages.js';
import type { PhraseCache } from './phrase-cache.js';
import { HeldAudio } from './held-audio.js';
import { SilenceWatchdog } from './silence-watchdog.js';

export interface DeepgramTtsDeps {
  client: DeepgramClient;
  pipe: MediaPipe;
  log: Logger;
  model: string;
  cache?: PhraseCache;
  reconnect?: ReconnectPolicy;
  /** A Flush/Clear unanswered this long → reconnect. Default 3000; 0 = off. */
  silenceWatchdogMs?: number;
  /** The watchdog reconnected a silent socket (metrics). */
  onWatchdog?: () => void;
}

export function createDeepgramTts(deps: DeepgramTtsDeps) {
  return fromCallback<TtsCommand, TtsInput>(({ sendBack, receive, input }) => {
    // A per-call voice other than the server's: its own socket model, and no phrases cached in the default voice.
    const voice = input?.voice ?? null;
    const callDeps = voice === null || voice === deps.model ? deps : { ...deps, model: voice, cache: undefined };
    const session = new TtsSession(callDeps, (event) => sendBack(event));
    receive((command) => session.command(command));
    session.start();
    return () => session.stop();
  });
}

/** A segment waiting for its mark: Deepgram audio (until Flushed) or a cached phrase queued behind one. */
type Segment =
  | { kind: 'deepgram'; segment: string; text: string; audioBytes: number; audio: Buffer[] }
  | { kind: 'cached'; segment: string; audio: Buffer };

type Outgoing = { type: 'Speak'; text: string } | { type: 'Flush' } | { type: 'Clear' };

class TtsSession {
  private readonly reconnector: Reconnector<SpeakSocket>;
  private readonly watchdog: SilenceWatchdog;
  private fifo: Segment[] = [];
  /** Speak texts since the last flush. */
  private unflushed: string[] = [];
  /** Clears sent and not yet confirmed: all audio is dropped meanwhile. */
  private clearing = 0;
  /** Bumped by every CLEAR: anything that arrived before it is dropped. */
  private epoch = 0;
  private idle = true;
  /** The open socket has been given our whole state; commands go straight out. */
  private synced = false;
  private dead = false;
  private stopped = false;
  private chain: Promise<void> = Promise.resolve();
  /** The audio of the reply's segments synthesised in full and not yet heard in full, by text (see SAY). */
  private readonly held = new HeldAudio();

  constructor(
    private readonly deps: DeepgramTtsDeps,
    private readonly report: (event: CallEvent) => void,
  ) {
    const args = speakConnectArgs(deps.model);
    this.reconnector = new Reconnector<SpeakSocket>({
      name: 'tts',
      log: deps.log,
      policy: deps.reconnect ?? defaultReconnectPolicy,
      create: async (h) => wireAndConnect(receiveAudioAsBlobs(await deps.client.speak.v1.connect(args)), h),
      onOpen: (socket) => this.inOrder(() => this.sync(socket)),
      onMessage: (msg) => this.onMessage(msg),
      onDown: (reason) => {
        this.synced = false;
        this.watchdog.cancel();
        this.report({ type: 'TTS.ERROR', message: reason, recoverable: true, at: now() });
        this.inOrder(() => this.afterDrop());
      },
      onGiveUp: (reason) => {
        this.synced = false;
        this.dead = true;
        this.watchdog.stop();
        this.report({ type: 'TTS.ERROR', message: reason, recoverable: false, at: now() });
        this.inOrder(() => this.afterGiveUp());
      },
    });
    this.watchdog = new SilenceWatchdog(deps.silenceWatchdogMs ?? 3000, (silentMs) => this.onSilent(silentMs));
  }

  start(): void {
    this.deps.pipe.onPlayed((segment) => this.held.played(segment));
    this.reconnector.start();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.deps.pipe.onPlayed(null);
    this.watchdog.stop();
    this.reconnector.stop((socket) => socket.sendClose({ type: 'Close' }));
    this.deps.log.info('tts: stopped');
  }

  command(cmd: TtsCommand): void {
    if (this.stopped) return;
    switch (cmd.type) {
      case 'TTS.SPEAK':
        if (cmd.text.length === 0 || this.dead) return;
        this.unflushed.push(cmd.text);
        return this.send({ type: 'Speak', text: cmd.text });
      case 'TTS.FLUSH':
        return this.flush(cmd.segment);
      case 'TTS.SAY':
        return this.say(cmd.text, cmd.segment);
      case 'TTS.CLEAR':
        return this.clear();
    }
  }

  private flush(segment: string): void {
    if (this.dead) return this.inOrder(() => this.deps.pipe.sendMark(segment));
    this.fifo.push({ kind: 'deepgram', segment, text: this.unflushed.join(''), audioBytes: 0, audio: [] });
    this.unflushed = [];
    this.send({ type: 'Flush' });
  }

  private say(text: string, segment: string): void {
    const audio = this.deps.cache?.get(text) ?? this.held.get(text);
    if (audio) {
      // Behind any segment still expected from Deepgram; otherwise behind whatever the chain is still forwarding.
      if (this.fifo.length > 0) this.fifo.push({ kind: 'cached', segment, audio });
      else {
        const epoch = this.epoch;
        this.inOrder(() => this.playCached(segment, audio, epoch));
      }
      return;
    }
    if (this.dead) return this.inOrder(() => this.deps.pipe.sendMark(segment));
    this.unflushed.push(text);
    this.send({ type: 'Speak', text });
    this.flush(segment);
  }

  private clear(): void {
    this.epoch++;
    this.fifo = [];
    this.unflushed = [];
    this.deps.log.info('tts: clear');
    if (this.synced) {
      this.clearing++;
      this.send({ type: 'Clear' });
      return;
    }
    // No socket: Deepgram holds nothing of ours, the clear is complete once the chain has dropped what it holds.
    this.inOrder(() => {
      if (this.clearing > 0) return;
      this.idle = true;
      this.report({ type: 'TTS.CLEARED', at: now() });
    });
  }

  private send(msg: Outgoing): void {
    if (!this.synced) return; // the state is sent by sync() when the socket opens
    const socket = this.reconnector.current;
    if (!socket) return;
    try {
      if (msg.type === 'Speak') socket.sendText(msg);
      else if (msg.type === 'Flush') socket.sendFlush(msg);
      else socket.sendClear(msg);
      if (msg.type !== 'Speak') this.watchdog.expect(); // Deepgram answers a Flush or a Clear
    } catch (err) {
      // The socket is closing; the drop handler re-sends our state on the next socket.
      this.deps.log.debug('tts: send failed', { type: msg.type, error: errorMessage(err) });
    }
  }

  /** On (re)open: send every pending segment's text + Flush, then the unflushed text, in order. */
  private sync(socket: SpeakSocket): void {
    if (this.stopped || this.dead || this.reconnector.current !== socket) return;
    try {
      for (const seg of this.fifo) {
        if (seg.kind !== 'deepgram') continue;
        if (seg.text.length > 0) socket.sendText({ type: 'Speak', text: seg.text });
        socket.sendFlush({ type: 'Flush' });
      }
      if (this.unflushed.length > 0) socket.sendText({ type: 'Speak', text: this.unflushed.join('') });
      this.synced = true;
      if (this.awaitingDeepgram()) this.watchdog.expect();
    } catch (err) {
      this.deps.log.warn('tts: sync failed', { error: errorMessage(err) });
    }
  }

  /** Runs after every message of the dropped socket has been handled. */
  private afterDrop(): void {
    if (this.clearing > 0) {
      this.clearing = 0;
      this.idle = true;
      this.report({ type: 'TTS.CLEARED', at: now() });
    }
    const head = this.fifo[0];
    if (head?.kind === 'deepgram' && head.audioBytes > 0) {
      this.fifo.shift();
      this.deps.log.warn('tts: segment truncated by the drop', { segment: head.segment, bytes: head.audioBytes });
      this.deps.pipe.sendMark(head.segment, { partial: true });
      this.drainCached();
    }
    for (const seg of this.fifo) {
      if (seg.kind !== 'deepgram') continue;
      seg.audioBytes = 0;
      seg.audio = [];
    }
  }

  private afterGiveUp(): void {
    if (this.clearing > 0) {
      this.clearing = 0;
      this.report({ type: 'TTS.CLEARED', at: now() });
    }
    const pending = this.fifo;
    this.fifo = [];
    this.unflushed = [];
    for (const seg of pending) {
      if (seg.kind === 'cached') this.playCached(seg.segment, seg.audio, this.epoch);
      else this.deps.pipe.sendMark(seg.segment);
    }
    this.idle = true;
  }

  private onMessage(msg: unknown): void {
    const at = now();
    const epoch = this.epoch;
    // Audio is handled after its Blob is read: the socket's liveness counts from its arrival.
    this.watchdog.heard();
    if (msg instanceof Blob) {
      this.inOrder(async () => this.onAudio(Buffer.from(await msg.arrayBuffer()), at, epoch));
    } else if (isRecord(msg)) {
      this.inOrder(() => this.onControl(msg, epoch));
    } else {
      this.deps.log.debug('tts: unexpected text message');
    }
  }

  /** Deepgram owes us audio/Flushed for a flush, or Cleared. */
  private awaitingDeepgram(): boolean {
    return this.clearing > 0 || this.fifo.some((seg) => seg.kind === 'deepgram');
  }

  /** Something came from the live socket (counted after it was handled, so the state is current). */
  private heardFromDeepgram(): void {
    this.reconnector.healthy();
    this.watchdog.answered(this.awaitingDeepgram());
  }

  /** Flush or Clear sent and nothing came back: reconnect (segments without audio are sent again). */
  private onSilent(silentMs: number): void {
    if (this.stopped || this.dead) return;
    this.deps.log.warn('tts: no answer to Flush/Clear; reconnecting', { silentMs, pending: this.fifo.length, clearing: this.clearing });
    this.deps.onWatchdog?.();
    this.reconnector.recycle(`watchdog: no TTS answer for ${silentMs} ms after Flush`);
  }

  private onAudio(audio: Buffer, at: number, epoch: number): void {
    this.heardFromDeepgram();
    if (this.stopped || epoch !== this.epoch || this.clearing > 0 || audio.length === 0) return;
    const head = this.fifo[0];
    if (head?.kind === 'deepgram') {
      head.audioBytes += audio.length;
      head.audio.push(audio);
    }
    this.markBusy(at);
    this.deps.pipe.sendOutbound(audio);
  }

  private onControl(msg: Record<string, unknown>, epoch: number): void {
    this.handleControl(msg, epoch);
    if (msg.type !== 'Metadata') this.heardFromDeepgram();
  }

  private handleControl(msg: Record<string, unknown>, epoch: number): void {
    switch (msg.type) {
      case 'Flushed': {
        // A Flushed for a flush sent before our last Clear belongs to forgotten segments.
        if (epoch !== this.epoch || this.clearing > 0) return;
        const head = this.fifo[0];
        if (head?.kind !== 'deepgram') {
          this.deps.log.warn('tts: Flushed with no pending segment');
          return;
        }
        this.fifo.shift();
        this.held.keep(head.text, head.audio, head.segment);
        this.deps.pipe.sendMark(head.segment);
        this.drainCached();
        this.settleIdle();
        return;
      }
      case 'Cleared':
        if (this.clearing === 0) return;
        this.clearing--;
        if (this.clearing === 0) {
          this.idle = true;
          this.report({ type: 'TTS.CLEARED', at: now() });
        }
        return;
      case 'Warning':
        this.deps.log.warn('tts: Deepgram warning', { code: msg.code, description: msg.description });
        return;
      case 'Metadata':
        this.deps.log.debug('tts: metadata', { requestId: msg.request_id, model: msg.model_name });
        return;
      default:
        this.deps.log.debug('tts: unhandled message', { type: String(msg.type) });
    }
  }

  /** Plays cached phrases that were waiting behind the segment just finished. */
  private drainCached(): void {
    while (this.fifo[0]?.kind === 'cached') {
      const seg = this.fifo.shift();
      if (seg?.kind === 'cached') this.playCached(seg.segment, seg.audio, this.epoch);
    }
  }

  private playCached(segment: string, audio: Buffer, epoch: number): void {
    if (this.stopped || epoch !== this.epoch) return;
    this.markBusy(now());
    this.deps.pipe.sendOutbound(audio);
    this.deps.pipe.sendMark(segment);
    this.settleIdle();
  }

  private markBusy(at: number): void {
    if (!this.idle) return;
    this.idle = false;
    this.report({ type: 'TTS.FIRST_AUDIO', at });
  }

  /** Idle again once nothing is outstanding: the next audio is the first of a new response. */
  private settleIdle(): void {
    if (this.fifo.length === 0 && this.unflushed.length === 0) this.idle = true;
  }

  /** One chain per call keeps audio, marks and cached phrases in arrival order. */
  private inOrder(task: () => void | Promise<void>): void {
    this.chain = this.chain.then(task).catch((err: unknown) => {
      this.deps.log.error('tts: message handling failed', { error: errorMessage(err) });
    });
  }
}

/**
 * The SDK (5.13) sets its socket to binaryType "arraybuffer" and wraps every binary frame in a Blob for us: `ws` copies
 * the frame into an ArrayBuffer (whenever it is a slice of a larger read), the SDK copies that into a Blob, and we
 * copy the Blob out again. With "blob", `ws` builds the Blob from the frame itself and the SDK passes it through: one
 * copy fewer per audio message, two left (the Blob, and reading it). Set before connect(): the SDK socket starts
 * closed and gives each underlying `ws` socket this binaryType when it creates it.
 */
function receiveAudioAsBlobs(socket: SpeakSocket): SpeakSocket {
  socket.socket.binaryType = 'blob';
  return socket;
}
