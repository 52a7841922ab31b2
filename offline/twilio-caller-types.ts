/** Types of the simulated Twilio caller: its script, its options and the record of what happened on the call. */
import type { FrameTicker } from './twilio-ticker.js';

/** What the agent must be doing before the script goes on. */
export type AgentCondition =
  /** Agent audio is playing (at once if it already is). */
  | 'speaking'
  /** Nothing has played for `quietMs` (at once if that is already so). */
  | 'silent'
  /** A mark was echoed because its audio finished playing. */
  | 'mark'
  /** 'speaking' then 'silent': one whole reply has been heard. */
  | 'reply';

export type ScriptStep =
  /**
   * Speak the text, one word per `wordMs`, as simulated speech audio. A `...` (or `…`) between words is a hesitation:
   * `hesitationMs` of silence inside the same utterance (default 250: longer than Flux's eager delay, shorter than
   * Nova's endpointing and Flux's end of turn in the simulators).
   */
  | { say: string; hesitationMs?: number }
  /** Stream silence for `pause` ms. */
  | { pause: number }
  | { waitForAgent: AgentCondition; timeoutMs?: number }
  /** Wait until agent audio plays, let `afterMs` of it play, then speak over it. */
  | { bargeIn: string; afterMs?: number; timeoutMs?: number }
  /**
   * Like bargeIn, but a noise (a cough, a TV): speech energy that the STT shows as these words in its interim
   * results and then revises away (its final transcript is empty).
   */
  | { noise: string; afterMs?: number; timeoutMs?: number }
  /** Send `stop` and close the stream, as Twilio does when the caller hangs up. */
  | { hangup: true }
  /**
   * Press keys (0-9, *, #), one Twilio `dtmf` event per key as Twilio sends them, `gapMs` apart (default 300, a
   * person typing on a keypad).
   */
  | { dtmf: string; gapMs?: number };

export type TimelineKind =
  | 'webhook'
  | 'connected'
  | 'start'
  | 'sayStart'
  | 'said'
  | 'bargeIn'
  | 'dtmf'
  | 'agentAudioStart'
  | 'agentAudioEnd'
  | 'heard'
  | 'mark'
  | 'markEcho'
  | 'clear'
  | 'timeout'
  | 'hangup'
  | 'closed'
  | 'error';

export interface TimelineEntry {
  /** ms since the call was placed (the webhook POST). */
  t: number;
  kind: TimelineKind;
  text?: string;
}

export interface CallerTurn {
  role: 'caller';
  text: string;
  bargeIn: boolean;
  /** Epoch ms of the first and last frame of the utterance (endAt null while speaking). */
  startAt: number;
  endAt: number | null;
}

export interface AgentTurn {
  role: 'agent';
  /** What the caller actually heard (played audio, decoded). */
  text: string;
  /** What was received but dropped by a `clear` (decoded too). */
  cut: string;
  interrupted: boolean;
  /** Epoch ms when the first audio of the turn started playing, and when the turn ended. */
  startAt: number;
  endAt: number | null;
  /** From the end of the caller's last utterance to the first agent audio received; null for unprompted speech. */
  latencyMs: number | null;
}

export type TranscriptEntry = CallerTurn | AgentTurn;

/** `redirected`: Twilio left the media stream for new TwiML (a transfer's `<Dial>`): `stop`, then the socket closed. */
export type CallEnd = 'server' | 'caller' | 'redirected' | 'maxDuration' | 'webhook' | 'no-stream' | 'error';

export interface CallRecord {
  callSid: string;
  accountSid: string;
  streamSid: string;
  /** Epoch ms: webhook POST, and `start` sent on the stream. */
  placedAt: number;
  startedAt: number | null;
  webhookStatus: number | null;
  twiml: string;
  streamUrl: string | null;
  customParameters: Record<string, string>;
  timeline: TimelineEntry[];
  transcript: TranscriptEntry[];
  /** ms from `start` to the first agent audio received. */
  firstAgentAudioMs: number | null;
  framesSent: number;
  mediaBytesReceived: number;
  marksReceived: number;
  marksEchoed: number;
  clears: number;
  /** Media/marks from the server carrying another call's streamSid. */
  wrongStreamSid: number;
  /** Agent audio still unplayed when the stream closed (decoded): the server hung up over its own speech. */
  unplayedAtEnd: string;
  endedBy: CallEnd | null;
  closeCode: number | null;
  errors: string[];
}

export interface SimulatedCallOptions {
  /** Where the server really listens, e.g. http://127.0.0.1:8080. */
  serverUrl: string;
  /** The public base URL the server signs against (PUBLIC_URL); default serverUrl. */
  publicUrl?: string;
  authToken: string;
  /** Sign with this token instead of authToken (to test rejected signatures). */
  signWith?: string;
  from?: string;
  to?: string;
  /** More `start.customParameters`, as if the TwiML's `<Stream>` had carried them as `<Parameter>`s. */
  customParameters?: Readonly<Record<string, string>>;
  accountSid?: string;
  /** The call's CallSid (an outbound call answered through the REST fake keeps the sid it was created with). */
  callSid?: string;
  /**
   * The webhook Twilio fetches, exactly as Twilio was given it (an outbound call's `Url`, query string included: it
   * is signed as is). Default `${publicUrl}/voice`. Setting it makes the call outbound (`Direction=outbound-api`).
   */
  voiceUrl?: string;
  script: readonly ScriptStep[];
  /** Duration of each spoken word (default 250 ms). */
  wordMs?: number;
  /** How long the line must be quiet for waitForAgent 'silent' (default 700 ms). */
  quietMs?: number;
  /**
   * The harness's word on whether the server has finished its reply (e.g. from the call machine's events): a 'reply'
   * wait also waits for it. For a world on a fast clock, whose caller's patience (`quietMs`) is shorter than the real
   * work inside one reply (an agent's tool running real code): the caller then never talks into a reply still being
   * worked on. Default: quiet alone decides, as a person on the phone would.
   */
  replyFinished?: () => boolean;
  /** Default timeout of waitForAgent / bargeIn waits (default 15 s). A timeout is recorded, the script goes on. */
  waitTimeoutMs?: number;
  /** The call hangs up by itself after this long (default 120 s). */
  maxDurationMs?: number;
  /** An agent turn ends when the line has been quiet this long (default 1500 ms). */
  agentTurnGapMs?: number;
  onEvent?: (entry: TimelineEntry) => void;
  /**
   * Runs between the TwiML answer and the stream's handshake (Twilio takes a moment there too): tests use it to act
   * while a call is on its way, e.g. start a drain.
   */
  beforeStream?: () => Promise<void> | void;
  /** Clock driving the 20 ms frames; default the process-wide shared ticker. */
  ticker?: FrameTicker;
}

export interface SimulatedCall {
  /** Resolves when the stream is over (server closed it, caller hung up, max duration, webhook refused). Never rejects. */
  done: Promise<CallRecord>;
  hangup(): void;
  /** Twilio left the stream for new TwiML (the REST fake on a transfer): `stop` and close, `endedBy: 'redirected'`. */
  redirected(): void;
  /** The record, updated live. */
  record: CallRecord;
}
