/**
 * One call = one root actor (never thousands of children under one parent). Builds the call's actors around its
 * media socket, runs the call machine, turns what the machine emits into log lines and metrics, and resolves
 * `done` when the call is over and every child has been stopped.
 */
import type { WebSocket } from 'ws';
import { fromPromise } from 'xstate';
import type { CallActors, TransferInput } from '../../machines/call.machine.js';
import type { CallOptions } from '../../machines/options.js';
import { allTools, type Agent, type CallInfo } from '../agent/agent.js';
import { createConfigureActor, createFlowActor, createToolRunner } from '../agent/agent-runtime.js';
import { createCallActor } from './call-children.js';
import type { CallEmitted } from '../../machines/emitted.js';
import { MediaPipe } from '../../actors/media-pipe.js';
import { createTwilioTransport, type StartDecision, type StartRequest } from '../../actors/twilio-transport.js';
import { createDeepgramTts } from '../../actors/deepgram-tts.js';
import { createLlmActor } from '../../actors/llm.js';
import { errorMessage, type Logger } from '../../lib/logger.js';
import type { Metrics } from './metrics.js';
import type { CallInspector } from './inspector.js';
import { sttActorFor, type Providers } from './providers.js';
import { transferLiveCall, type TwilioRestClient } from '../twilio/twilio-rest.js';
import type { CallMailbox, ServerToCallEvent } from './live-calls.js';
import { combineInspect } from '../records/capture.js';
import { ioFirstClock } from './io-first-clock.js';
import type { CallRecords } from '../records/call-records.js';
import type { CallWatcher } from '../console/live-call-view.js';
import type { CallTracing } from '../telemetry/call-tracing.js';

export interface CallHandle extends CallMailbox {
  readonly done: Promise<void>;
  callSid(): string | undefined;
  /** Hang up from our side (drain timeout, shutdown); `polite`: the goodbye phrase first. */
  hangup(reason: string, opts?: { polite?: boolean }): void;
  /** An event from outside the call (an AMD result, a hangup or transfer asked through the API). */
  send(event: ServerToCallEvent): void;
  /**
   * Follow the call while someone looks (the console's live feed): its machine's current snapshot at once, then
   * every snapshot and emitted event, and `ended` when the machine stops. Returns the unsubscribe.
   */
  watch(watcher: CallWatcher): () => void;
}


/** What the server decides per stream, beyond what every call shares. */
export interface CallSessionOptions {
  /** The server's REST client (absent without TWILIO_ACCOUNT_SID): transfers go through it. */
  twilioRest?: TwilioRestClient;
  /** The stream-token check on Twilio's `start` (absent: every start is accepted). */
  authorizeStart?: (start: StartRequest) => StartDecision | Promise<StartDecision>;
  /** Close a stream that has not presented an accepted `start` this long after connecting. */
  startTimeoutMs?: number;
  /** A stream was rejected: the server writes a rate-limited line and counts it. */
  onRejected?: (reason: string) => void;
  /** The stream's `start` named its call (the server then routes callbacks for that CallSid to it). */
  onCallSid?: (callSid: string) => void;
}

/** What one call needs from the process (the server passes its own deps, which include these). */
export interface CallDeps {
  /** The agent every call of this server runs, and its call options (the machine's input). */
  agent: Agent;
  callOptions: CallOptions;
  log: Logger;
  metrics: Metrics;
  providers: Providers;
  inspector?: CallInspector;
  /** Call records (event log, summary, webhook); absent = nothing recorded. */
  records?: CallRecords;
  /** Every event a call machine emits (the demo prints a transcript from these). */
  onCallEvent?: (event: CallEmitted) => void;
  /**
   * LOG_TRANSCRIPTS: put what was said (caller text, agent text, keys pressed) in the log lines. Off by default:
   * transcripts are personal data, and log files outlive the records' retention.
   */
  logTranscripts?: boolean;
  /** OpenTelemetry: a trace per call (absent when the OTEL_* variables do not ask for one: nothing is traced). */
  tracing?: CallTracing;
}

let streamCounter = 0;

export function startCall(socket: WebSocket, deps: CallDeps, session: CallSessionOptions = {}): CallHandle {
  const { providers, metrics } = deps;
  const { twilioRest } = session;
  // winston child loggers keep a reference to this object: the callSid appears on every line once `start` arrives.
  const meta: { callSid: string; stream: number } = { callSid: 'pending', stream: ++streamCounter };
  const log = deps.log.child(meta);
  const pipe = new MediaPipe();
  // Who is calling, for the tools' context (set when the machine reports the call started).
  let callInfo: CallInfo = { callSid: '', from: '', to: '', direction: '', customParameters: {} };
  const tracer = deps.tracing?.forCall(deps.agent.name);
  const llmClient = providers.llm.forCall(log);

  const children: CallActors = {
    transport: createTwilioTransport({
      socket,
      pipe,
      log,
      onStart: (start) => {
        meta.callSid = start.callSid;
        metrics.callsTotal.inc();
        session.onCallSid?.(start.callSid);
      },
      authorizeStart: session.authorizeStart,
      startTimeoutMs: session.startTimeoutMs,
      onRejected: session.onRejected,
      onIgnoredFrame: (kind) => metrics.mediaFramesIgnored.inc({ kind }),
    }),
    stt: sttActorFor(providers, { pipe, log, onWatchdog: () => metrics.watchdogReconnects.inc({ socket: 'stt' }) }),
    tts: createDeepgramTts({
      client: providers.deepgram,
      pipe,
      log,
      model: providers.ttsModel,
      cache: providers.phrases,
      silenceWatchdogMs: providers.ttsSilenceWatchdogMs,
      onWatchdog: () => metrics.watchdogReconnects.inc({ socket: 'tts' }),
    }),
    // The process-wide fallback chain, logging this call's fallbacks with its callSid.
    llm: createLlmActor({ client: tracer ? tracer.wrapLlm(llmClient) : llmClient, log }),
    configure: createConfigureActor(deps.agent, log),
    flow: createFlowActor(deps.agent, log),
    tools: createToolRunner(deps.agent, () => callInfo, log, tracer && ((id) => tracer.traceHeaders(id))),
    transfer: fromPromise<void, TransferInput>(async ({ input }) => {
      if (twilioRest === undefined) throw new Error('transfer_call needs TWILIO_ACCOUNT_SID (the Twilio REST API)');
      log.info('transferring call', { to: input.to });
      await transferLiveCall(twilioRest, input.callSid, input.to);
    }),
  };
  const recorder = deps.records?.startRecording(log);
  const input = { options: deps.callOptions };
  const actor = createCallActor(children, { input, clock: ioFirstClock, inspect: combineInspect(deps.inspector?.inspect, recorder?.capture.inspect) });
  recorder?.attach(actor, input);
  // Until a valid `start` this may be anyone holding a handshake signature: its lines are debug only.
  const started = (): boolean => meta.callSid !== 'pending';
  actor.on('call.started', ({ callSid, from, to, direction, customParameters }) => {
    callInfo = { callSid, from, to, direction, customParameters };
  });
  observe(actor.on.bind(actor) as Listen, log, metrics, started, deps.onCallEvent, deps.logTranscripts ?? false, knownToolNames(deps.agent));
  if (tracer) actor.on('*', (e) => tracer.onEvent(e as CallEmitted));

  let lastState = '';
  const done = new Promise<void>((resolve) => {
    actor.subscribe({
      next(snapshot) {
        // Every event yields a snapshot: serialise the state only when the line can be printed.
        if (!log.isLevelEnabled('debug')) return;
        const state = JSON.stringify(snapshot.value);
        if (state !== lastState) {
          lastState = state;
          log.debug('state', { state: snapshot.value });
        }
      },
      complete() {
        log.log(started() ? 'info' : 'debug', 'call ended');
        resolve();
      },
      // Without an error observer XState re-throws asynchronously and the whole process dies.
      error(err) {
        log.error('call machine failed; hanging up', { error: errorMessage(err) });
        if (socket.readyState === socket.OPEN) socket.close(1011, 'internal error');
        resolve();
      },
    });
  });
  actor.start();
  log.debug('media stream connected');

  return {
    done,
    callSid: () => (meta.callSid === 'pending' ? undefined : meta.callSid),
    hangup(reason, opts = {}) {
      log.log(started() ? 'info' : 'debug', 'hanging up call', { reason, polite: opts.polite ?? false });
      actor.send({ type: 'CALL.HANGUP', reason, ...(opts.polite === undefined ? {} : { polite: opts.polite }) });
    },
    send(event) {
      if (event.type !== 'CALL.TRANSFER') return actor.send(event);
      // Asked from outside the conversation (the calls API): Twilio dials the number, which ends this stream.
      if (twilioRest === undefined) return log.warn('transfer refused: needs TWILIO_ACCOUNT_SID (the Twilio REST API)', { to: event.to });
      log.info('transferring call (requested through the API)', { to: event.to });
      transferLiveCall(twilioRest, meta.callSid, event.to).catch((err: unknown) =>
        log.warn('transfer failed', { to: event.to, error: errorMessage(err) }),
      );
    },
    watch(watcher) {
      if (actor.getSnapshot().status !== 'active') {
        watcher.ended();
        return () => {};
      }
      watcher.snapshot(actor.getSnapshot());
      const subscriptions = [
        actor.on('*', (e) => watcher.emitted(e as CallEmitted)),
        actor.subscribe({ next: (s) => watcher.snapshot(s), complete: () => watcher.ended(), error: () => watcher.ended() }),
      ];
      return () => subscriptions.forEach((s) => s.unsubscribe());
    },
  };
}

type Listen = <T extends CallEmitted['type']>(type: T, handler: (e: Extract<CallEmitted, { type: T }>) => void) => unknown;

/** One log line (and metrics) per meaningful call event. */
/** The built-in tools the machine answers itself. */
const BUILT_IN_TOOLS = ['end_call', 'transfer_call'];

/** Tool names that may label a metric: the agent's and the built-ins (a model may name anything). */
function knownToolNames(agent: Agent): ReadonlySet<string> {
  return new Set([...Object.keys(allTools(agent)), ...BUILT_IN_TOOLS]);
}

function observe(
  on: Listen,
  log: Logger,
  metrics: Metrics,
  started: () => boolean,
  onEvent: ((e: CallEmitted) => void) | undefined,
  transcripts: boolean,
  knownTools: ReadonlySet<string>,
): void {
  // /metrics is unauthenticated and keeps every series for the life of the process: a label is never the model's word.
  const toolLabel = (name: string): string => (knownTools.has(name) ? name : 'unknown');
  /** What was said, only when LOG_TRANSCRIPTS allows it (the line itself is kept: its metadata is not personal). */
  const said = (fields: Record<string, string>): Record<string, string> => (transcripts ? fields : {});
  on('call.started', (e) => {
    log.info('call started', { streamSid: e.streamSid });
    onEvent?.(e);
  });
  on('call.userUtterance', (e) => {
    log.info('caller said', { turn: e.turn, chars: e.text.length, ...said({ text: e.text }) });
    onEvent?.(e);
  });
  on('call.turn', (e) => {
    const t = e.timestamps;
    const span = (a: number | null, b: number | null) => (a !== null && b !== null && b >= a ? Math.round((b - a) * 100) / 100 : undefined);
    const total = span(t.userSpeechEndAt, t.firstAudioToTwilioAt);
    const llm = span(t.userSpeechEndAt, t.llmFirstTextAt);
    const tts = span(t.llmFirstTextAt, t.ttsFirstAudioAt);
    const transport = span(t.ttsFirstAudioAt, t.firstAudioToTwilioAt);
    if (total !== undefined) metrics.turnLatency.observe(total);
    if (llm !== undefined) metrics.turnPartLatency.observe({ part: 'llm' }, llm);
    if (tts !== undefined) metrics.turnPartLatency.observe({ part: 'tts' }, tts);
    if (transport !== undefined) metrics.turnPartLatency.observe({ part: 'transport' }, transport);
    log.info('agent turn', { turn: e.turn, interrupted: e.interrupted, ...said({ text: e.assistantText }), latencyMs: total, llmMs: llm, ttsMs: tts, transportMs: transport });
    onEvent?.(e);
  });
  on('call.toolStarted', (e) => {
    log.info('tool called', { turn: e.turn, round: e.round, tool: e.name, id: e.id });
    onEvent?.(e);
  });
  on('call.toolFinished', (e) => {
    const ms = Math.round((e.at - e.startedAt) * 10) / 10;
    metrics.toolCalls.inc({ tool: toolLabel(e.name), outcome: e.outcome });
    if (e.outcome !== 'cancelled') metrics.toolDuration.observe({ tool: toolLabel(e.name) }, ms);
    log.info('tool result', { turn: e.turn, round: e.round, tool: e.name, id: e.id, outcome: e.outcome, ms });
    onEvent?.(e);
  });
  on('call.flowStep', (e) => {
    log.info('flow step', { turn: e.turn, step: e.step, from: e.from });
    onEvent?.(e);
  });
  on('call.dtmf', (e) => {
    log.info('caller pressed keys', { turn: e.turn, keys: e.digits.length, ...said({ digits: e.digits }) });
    onEvent?.(e);
  });
  on('call.speculation', (e) => {
    metrics.speculations.inc({ outcome: e.outcome });
    log.debug('speculative reply', { turn: e.turn, outcome: e.outcome });
    onEvent?.(e);
  });
  let sttConnections = 0;
  on('call.sttConnected', (e) => {
    sttConnections++;
    // The first connection is routine; a later one follows a drop (its STT.ERROR was logged as a provider error).
    if (sttConnections === 1) log.debug('stt connected', { resentBytes: e.resentBytes });
    else log.info('stt reconnected', { resentBytes: e.resentBytes, connections: sttConnections });
    onEvent?.(e);
  });
  on('call.answeredBy', (e) => {
    log.info('call answered by', { answeredBy: e.answeredBy });
    onEvent?.(e);
  });
  on('call.bargeIn', (e) => {
    metrics.bargeIns.inc();
    log.info('barge-in', { turn: e.turn, during: e.during, ...said({ callerText: e.callerText, heard: e.heard }), cut: e.cut });
    onEvent?.(e);
  });
  on('call.error', (e) => {
    metrics.providerErrors.inc({ source: e.source });
    // The agent's own hook failing is logged where it failed (createConfigureActor, with what the call did about it).
    if (e.source !== 'agent') log.warn('provider error', { source: e.source, message: e.message, recoverable: e.recoverable });
    onEvent?.(e);
  });
  on('call.ended', (e) => {
    log.log(started() ? 'info' : 'debug', 'call ending', { reason: e.reason });
    onEvent?.(e);
  });
}
