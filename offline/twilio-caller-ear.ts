/**
 * The listening half of a simulated caller: plays the agent's audio (PlaybackBuffer), decodes what was actually
 * played into agent turns, decodes what a `clear` dropped as the turn's cut-off text, and counts mark echoes.
 *
 * Agent turn boundaries: a turn opens with the first audio after the line was idle; it closes on a `clear`, when the
 * caller starts a (non barge-in) utterance while the line is idle, after `agentTurnGapMs` of quiet, or at call end.
 */
import { SpeechDecoder } from './speech-codec.js';
import { PlaybackBuffer } from './twilio-playback.js';
import type { AgentTurn, CallRecord, TimelineKind } from './twilio-caller-types.js';

export interface EarHooks {
  /** Send Twilio's echo of a mark to the server. */
  echo(name: string): void;
  timeline(kind: TimelineKind, text: string | undefined, at: number): void;
}

export class CallerEar {
  private readonly playback: PlaybackBuffer;
  private readonly heard = new SpeechDecoder();
  private agentTurn: AgentTurn | null = null;
  private lastCallerEndAt: number | null = null;
  private wasPlaying = false;
  private clearing = false;
  private closed = false;
  /** Marks echoed because their audio played (not those echoed by a clear). */
  markEchoesPlayed = 0;

  constructor(
    private readonly record: CallRecord,
    private readonly hooks: EarHooks,
    private readonly agentTurnGapMs: number,
    startAt: number,
  ) {
    this.playback = new PlaybackBuffer(
      {
        played: (audio) => {
          this.heard.push(audio);
          if (this.agentTurn) this.agentTurn.text = this.heard.peek();
        },
        echo: (name, at) => this.echo(name, at),
      },
      startAt,
    );
  }

  get playing(): boolean {
    return this.playback.playing;
  }

  get idleSince(): number | null {
    return this.playback.idleSince;
  }

  get playedBytes(): number {
    return this.playback.playedBytes;
  }

  onMedia(audio: Buffer, at: number): void {
    this.record.mediaBytesReceived += audio.length;
    if (this.playback.append(audio, at)) this.onAgentAudioStart(at);
  }

  onMark(name: string, at: number): void {
    this.record.marksReceived++;
    this.hooks.timeline('mark', name, at);
    this.playback.mark(name, at);
  }

  onClear(at: number): void {
    this.record.clears++;
    this.clearing = true;
    const cut = decode(this.playback.clear(at));
    this.clearing = false;
    this.hooks.timeline('clear', cut, at);
    this.closeAgentTurn(at, true, cut);
  }

  /** Once per 20 ms tick: play what time allows, notice the line going quiet. */
  tick(at: number): void {
    this.playback.advance(at);
    const playing = this.playback.playing;
    const idleSince = this.playback.idleSince;
    if (this.wasPlaying && !playing) this.hooks.timeline('agentAudioEnd', undefined, idleSince ?? at);
    this.wasPlaying = playing;
    if (this.agentTurn && idleSince !== null && at - idleSince >= this.agentTurnGapMs) this.closeAgentTurn(idleSince, false, '');
  }

  /** The caller starts talking: over a quiet line that ends the agent's turn; a barge-in leaves it open. */
  callerStarts(at: number, bargeIn: boolean): void {
    if (!bargeIn && !this.playback.playing) this.closeAgentTurn(this.playback.idleSince ?? at, false, '');
  }

  /** The caller's last frame went out: the agent's response latency is measured from here. */
  callerEnds(at: number): void {
    this.lastCallerEndAt = at;
  }

  /** The stream is over: whatever is still buffered was never heard. */
  close(at: number): void {
    this.playback.advance(at);
    this.closed = true;
    this.record.unplayedAtEnd = decode(this.playback.clear(at));
    this.closeAgentTurn(at, false, '');
  }

  private onAgentAudioStart(at: number): void {
    const { record } = this;
    this.wasPlaying = true;
    this.hooks.timeline('agentAudioStart', undefined, at);
    if (record.firstAgentAudioMs === null && record.startedAt !== null) record.firstAgentAudioMs = at - record.startedAt;
    if (this.agentTurn) return;
    const latencyMs = this.lastCallerEndAt !== null ? at - this.lastCallerEndAt : null;
    this.lastCallerEndAt = null;
    this.agentTurn = { role: 'agent', text: '', cut: '', interrupted: false, startAt: at, endAt: null, latencyMs };
    record.transcript.push(this.agentTurn);
  }

  private echo(name: string, at: number): void {
    if (this.closed) return;
    this.hooks.echo(name);
    this.record.marksEchoed++;
    if (!this.clearing) this.markEchoesPlayed++;
    this.hooks.timeline('markEcho', name, at);
  }

  private closeAgentTurn(at: number, interrupted: boolean, cut: string): void {
    const turn = this.agentTurn;
    if (!turn) return;
    this.agentTurn = null;
    turn.text = this.heard.take();
    turn.cut = cut;
    turn.interrupted = interrupted;
    turn.endAt = at;
    this.hooks.timeline('heard', turn.text, at);
  }
}

function decode(chunks: readonly Buffer[]): string {
  const decoder = new SpeechDecoder();
  for (const audio of chunks) decoder.push(audio);
  return decoder.take();
}
