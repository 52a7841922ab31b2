/**
 * Per-step invariants of a live call. The observer rebuilds, from what the stub children received and what the
 * test sent, the facts the machine must respect — independently of the machine's own bookkeeping:
 * segment texts (SPEAKs since the last FLUSH, or a SAY), which of them the caller heard (marks echoed
 * played:true), LLM text per response, and what the caller said.
 */
import { expect } from 'vitest';
import type { CallSnapshot } from '../../machines/call.machine.js';
import type { ChatMessage, LlmInput, ToolRunInput } from '../../machines/events.js';
import { nothingPlaying } from '../../machines/heard.js';
import type { CallOptions } from '../../machines/options.js';
import { countSentences } from '../../machines/sentences.js';
import type { CallDriver, StepRecord } from './harness.js';
import { SHORT, stateName, WORDS } from './model.js';


function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** Every assistant tool-call message is followed by exactly one result per call, in order, and results never
 * stand alone. */
export function expectToolPairs(messages: readonly ChatMessage[], where: string): void {
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    if (message?.role === 'assistant' && message.toolCalls !== undefined) {
      const ids = message.toolCalls.map((call) => call.id);
      const results = messages.slice(i + 1, i + 1 + ids.length).map((m) => (m.role === 'tool' ? m.toolCallId : `(${m.role})`));
      expect(results, `${where}: one result per tool call, in order`).toEqual(ids);
      i += ids.length;
    } else if (message?.role === 'tool') {
      throw new Error(`${where}: a tool result without its call at ${i}`);
    }
  }
}

export class CallObserver {
  private openSpeak: string[] = [];
  private readonly segmentText = new Map<string, string>();
  private readonly heard = new Set<string>();
  private readonly echoed = new Set<string>();
  private clearedSinceResponse = false;
  private responseText = '';
  private responseFlushes = 0;
  private responseSegments: string[] = [];
  private wordsSaid = 0;
  /** LLM.DONE / LLM.ERROR / llm failure seen for the current response: no more text will come. */
  private responseEnded = false;
  /** Tool calls whose round was cut short: the LLM must never see a result for them. */
  private readonly cancelledCalls = new Set<string>();
  private readonly fillers = new Map<string, number>();
  /** What the last barge-in cut off (its report's `cut`). */
  private lastCut = '';

  constructor(
    private readonly driver: CallDriver,
    private readonly options: CallOptions,
  ) {}

  check(step: StepRecord): void {
    const before = stateName(step.before);
    const after = stateName(step.after);
    const where = `${before} --${step.event.type}--> ${after}`;
    this.follow(step, before, after, where);

    expect(this.driver.errors, `${where}: the call actor must never error`).toEqual([]);
    this.checkSpeculation(step, where);
    this.checkLlmChild(after, where);
    this.checkTools(step, where);
    this.checkBargeIn(step, before, after, where);
    this.checkHistory(step.after, where);
    this.checkPlaybackEnd(step, before, after, where);
    this.checkPlaybackNotOverdue(after, where);
    this.checkNothingLost(step, after, where);
    this.checkResume(step, before, after, where);
    if (after === 'ended') this.checkEnded(step, before, where);
  }

  /** Update the rebuilt facts from this step's event and child records, checking command order on the way. */
  private follow(step: StepRecord, before: string, after: string, where: string): void {
    const event = step.event;
    if (event.type === 'TRANSPORT.MARK') {
      this.echoed.add(event.name);
      const text = this.segmentText.get(event.name);
      if (event.played && text !== undefined) this.heard.add(text);
    }
    if (event.type === 'LLM.TEXT' && before.startsWith('respond.')) this.responseText += event.text;
    if (['LLM.DONE', 'LLM.ERROR', 'xstate.error.actor.llm'].includes(event.type)) this.responseEnded = true;
    if (event.type === 'STT.FINAL' && event.text === WORDS && !['connecting', 'goodbye', 'screening', 'voicemail'].includes(before)) {
      this.wordsSaid++;
    }
    for (const record of step.children) {
      if (record.child === 'llm' && record.kind === 'start') {
        const input = record.input as LlmInput;
        expect(input.messages[0]?.role, `${where}: LLM input starts with the system prompt`).toBe('system');
        const last = input.messages[input.messages.length - 1];
        // The caller's utterance, or (a later round) the results of the tools the model called.
        expect(['user', 'tool'], `${where}: LLM input ends with the utterance or tool results`).toContain(last?.role);
        if (last?.role === 'user') expect(last.content.trim(), `${where}: the utterance is not empty`).not.toBe('');
        expectToolPairs(input.messages, `${where}: LLM input`);
        for (const message of input.messages) {
          if (message.role === 'tool') {
            expect(this.cancelledCalls.has(message.toolCallId), `${where}: the LLM sees the result of cancelled ${message.toolCallId}`).toBe(false);
          }
        }
        // A later round of the same turn (the input ends with tool results) continues the same spoken reply.
        if (last?.role === 'user') {
          this.expectHeardBefore(input.messages.slice(0, -1), `${where}: LLM input`);
          this.clearedSinceResponse = false;
          this.responseText = '';
          this.responseFlushes = 0;
          this.responseSegments = [];
        }
        this.responseEnded = false;
      }
      if (record.child !== 'tts' || record.kind !== 'command') continue;
      const command = record.event;
      if (command.type === 'TTS.SPEAK' || command.type === 'TTS.FLUSH') {
        expect(this.clearedSinceResponse, `${where}: ${command.type} after TTS.CLEAR before a new response`).toBe(false);
      }
      if (command.type === 'TTS.SPEAK' && 'text' in command) this.openSpeak.push(String(command.text).trim());
      if (command.type === 'TTS.FLUSH' && 'segment' in command) {
        this.segmentText.set(String(command.segment), this.openSpeak.join(' '));
        this.responseSegments.push(String(command.segment));
        this.openSpeak = [];
        this.responseFlushes++;
      }
      if (command.type === 'TTS.SAY' && 'segment' in command && 'text' in command) {
        this.segmentText.set(String(command.segment), String(command.text));
        if (after === 'respond.speaking') this.responseSegments.push(String(command.segment)); // mid-reply apology
      }
      if (command.type === 'TTS.CLEAR') {
        this.openSpeak = [];
        this.clearedSinceResponse = true;
      }
    }
    expect(this.responseFlushes, `${where}: flushes ≤ sentences of "${this.responseText}"`).toBeLessThanOrEqual(
      countSentences(this.responseText),
    );
  }

  /**
   * History order = heard order: when the caller's new words are sent to the model, everything they heard the agent
   * say before (every segment echoed as played) is already in the conversation ahead of those words.
   */
  private expectHeardBefore(messages: readonly ChatMessage[], where: string): void {
    const said = messages.flatMap((message) => (message.role === 'assistant' ? [message.content] : [])).join(' ');
    for (const text of this.heard) {
      expect(said.includes(text), `${where}: "${text}" was heard before the caller's new words but is not ahead of them`).toBe(true);
    }
  }

  private checkLlmChild(after: string, where: string): void {
    const inference = ['respond.thinking', 'respond.speaking', 'respond.speculating.thinking', 'respond.speculating.speaking'].includes(after);
    expect(this.driver.snapshot.children.llm !== undefined, `${where}: llm child exists only during inference`).toBe(inference);
    // One LLM stream at a time at most (it may have failed and be answered by an apology meanwhile).
    expect(this.driver.running('llm'), `${where}: running llm instances`).toBeLessThanOrEqual(inference ? 1 : 0);
  }

  /**
   * A speculative reply never reaches the caller before it is confirmed: the transport holds (its last hold/release/
   * clear command is a HOLD) all the while; a discarded one is cleared from transport and TTS, stops its LLM, and
   * leaves history as it was.
   */
  private checkSpeculation(step: StepRecord, where: string): void {
    const holdState = (records: readonly { child: string; kind: string; event?: { type: string } }[]) =>
      records
        .filter((r) => r.child === 'transport' && r.kind === 'command')
        .map((r) => r.event?.type)
        .filter((type) => type === 'TRANSPORT.HOLD' || type === 'TRANSPORT.RELEASE' || type === 'TRANSPORT.CLEAR')
        .at(-1);
    if (step.after.context.turn.speculation !== null && step.after.status !== 'done') {
      expect(holdState(this.driver.records), `${where}: speculative audio is held at the transport`).toBe('TRANSPORT.HOLD');
    }
    const outcome = step.emitted.find((e) => e.type === 'call.speculation');
    if (outcome?.type !== 'call.speculation') return;
    if (outcome.outcome === 'confirmed') {
      expect(holdState(step.children), `${where}: a confirmed reply is released`).toBe('TRANSPORT.RELEASE');
      return;
    }
    expect(holdState(step.children), `${where}: a discarded reply is cleared`).toBe('TRANSPORT.CLEAR');
    expect(step.children.some((r) => r.child === 'tts' && r.kind === 'command' && r.event.type === 'TTS.CLEAR'), `${where}: TTS cleared`).toBe(true);
    // The speculative stream is gone (a new turn may have started its own).
    const started = step.children.filter((r) => r.child === 'llm' && r.kind === 'start').length;
    expect(this.driver.running('llm'), `${where}: the speculative LLM stream is aborted`).toBe(started);
    expect(step.after.context.history, `${where}: a discarded reply leaves history as it was`).toEqual(step.before.context.history);
  }

  /** A tool runner lives exactly while its round is in `tooling`; it gets function tools only; cancelled calls are
   * remembered (the LLM must never see them); a filler at most once per round. */
  private checkTools(step: StepRecord, where: string): void {
    const tooling = stateName(step.after) === 'respond.tooling';
    expect(this.driver.snapshot.children.tools !== undefined, `${where}: tools child exists only in tooling`).toBe(tooling);
    expect(this.driver.running('tools'), `${where}: no tool runs after its state was left`).toBe(tooling ? 1 : 0);
    for (const record of step.children) {
      if (record.child === 'tools' && record.kind === 'start') {
        for (const call of (record.input as ToolRunInput).calls) {
          expect(['lookup_order', 'book_table'], `${where}: the runner only runs function tools`).toContain(call.name);
        }
      }
      if (record.child === 'tts' && record.kind === 'command' && record.event.type === 'TTS.SAY') {
        const segment = String((record.event as { segment?: unknown }).segment);
        if (segment.includes('-filler')) {
          this.fillers.set(segment, (this.fillers.get(segment) ?? 0) + 1);
          expect(this.fillers.get(segment), `${where}: filler ${segment} said twice`).toBe(1);
        }
      }
    }
    for (const event of step.emitted) if (event.type === 'call.toolFinished' && event.outcome === 'cancelled') this.cancelledCalls.add(event.id);
    expectToolPairs(step.after.context.history, `${where}: history`);
  }

  /** A barge-in is one step: Twilio clear, TTS Clear, LLM stopped, reported — exactly when the caller's words
   * count as an interruption while agent audio plays. */
  private checkBargeIn(step: StepRecord, before: string, after: string, where: string): void {
    const bargedIn = step.emitted.some((event) => event.type === 'call.bargeIn');
    const event = step.event;
    const words = event.type === 'STT.FINAL' || event.type === 'STT.INTERIM' ? event.text : null;
    const key = event.type === 'TRANSPORT.DTMF';
    const turnStart = event.type === 'STT.TURN_STARTED' && this.options.turnStartInterrupts && (event.text === '' || event.text === WORDS);
    const keyInterrupts = key && this.options.dtmfInterrupts && !(before === 'greeting' && !this.options.greetingInterruptible);
    // Keys pressed while tools run go to the tools, never interrupt.
    const interrupts =
      words === WORDS ||
      (words === SHORT && this.options.minInterruptWords < 2) ||
      (keyInterrupts && before !== 'respond.tooling') ||
      (turnStart && before !== 'respond.tooling');
    const toolsOverAudio =
      before === 'respond.tooling' && !nothingPlaying(step.before.context.speech) && !step.before.context.tools.callerSpokeDuringTools;
    // A speculative reply is held back: nothing of it plays, so nothing can be interrupted.
    const speculative = step.before.context.turn.speculation !== null;
    const agentAudio =
      !speculative &&
      (['respond.speaking', 'prompting', 'resuming'].includes(before) ||
        toolsOverAudio ||
        (before === 'greeting' && (this.options.greetingInterruptible || key)));
    expect(bargedIn, `${where}: barge-in iff real words or a key over interruptible agent audio ("${words ?? (key ? 'key' : '')}")`).toBe(
      agentAudio && interrupts,
    );
    if (after === 'interrupted' && before !== 'interrupted') expect(bargedIn, `${where}: entered by barge-in`).toBe(true);
    if (!bargedIn) return;
    const commands = step.children.filter((record) => record.kind === 'command');
    expect(
      commands.some((record) => record.child === 'transport' && record.event.type === 'TRANSPORT.CLEAR'),
      `${where}: barge-in sends Twilio clear`,
    ).toBe(true);
    expect(
      commands.some((record) => record.child === 'tts' && record.event.type === 'TTS.CLEAR'),
      `${where}: barge-in sends TTS Clear`,
    ).toBe(true);
    if (before === 'respond.speaking' || (before === 'respond.tooling' && after === 'interrupted')) {
      const child = before === 'respond.speaking' ? 'llm' : 'tools';
      expect(
        step.children.some((record) => record.child === child && record.kind === 'stop'),
        `${where}: barge-in stops the ${child} child (its cleanup ran)`,
      ).toBe(true);
    }
  }

  /**
   * A false interruption resumes the cut speech: only from `paused`, only when the caller said no real word (nothing
   * reaches the model), and what is said again is the end of what the barge-in cut off, from a sentence start
   * (segments end at sentence ends), so the caller hears the cut sentence again in full.
   */
  private checkResume(step: StepRecord, before: string, after: string, where: string): void {
    const bargeIn = step.emitted.find((event) => event.type === 'call.bargeIn');
    if (bargeIn?.type === 'call.bargeIn') this.lastCut = bargeIn.cut;
    const endOfCut = (texts: string, what: string) =>
      expect(this.lastCut.endsWith(texts), `${where}: ${what} "${texts}" is the end of what was cut ("${this.lastCut}")`).toBe(true);
    if (after === 'paused' && before === 'interrupted') endOfCut(step.after.context.unheard.join(' '), 'kept');
    if (after !== 'resuming' || before === 'resuming') return;
    expect(before, `${where}: a resume follows a pause`).toBe('paused');
    const event = step.event;
    expect(event.type === 'STT.FINAL' || event.type === 'STT.INTERIM' ? event.text : '', `${where}: no real words`).not.toBe(WORDS);
    expect(step.children.some((r) => r.child === 'llm' && r.kind === 'start'), `${where}: the noise is no turn`).toBe(false);
    expect(step.after.context.caller.pending, `${where}: nothing of the noise is kept`).toEqual([]);
    const said = step.children
      .flatMap((r) => (r.child === 'tts' && r.kind === 'command' && r.event.type === 'TTS.SAY' ? [String((r.event as { text?: unknown }).text)] : []))
      .join(' ');
    expect(said, `${where}: something is said again`).not.toBe('');
    endOfCut(said, 'said again');
  }

  /** History never holds assistant text the caller did not hear. */
  private checkHistory(snapshot: CallSnapshot, where: string): void {
    const heard = [...this.heard].sort((a, b) => b.length - a.length);
    for (const message of snapshot.context.history) {
      if (message.role !== 'assistant') continue;
      const unheard = heard.reduce((rest, text) => rest.split(text).join(' '), message.content);
      expect(unheard.trim(), `${where}: assistant text in history that was never heard`).toBe('');
    }
  }

  /** A reply that ends normally ends when every one of its segments' marks came back. */
  private checkPlaybackEnd(step: StepRecord, before: string, after: string, where: string): void {
    if (before !== 'respond.speaking' || after.startsWith('respond.')) return;
    const normalEnd = step.event.type === 'TRANSPORT.MARK' && !step.emitted.some((e) => e.type === 'call.bargeIn');
    if (!normalEnd) return;
    for (const segment of this.responseSegments) {
      expect(this.echoed.has(segment), `${where}: reply ended before the mark of ${segment}`).toBe(true);
    }
  }

  /** Playback done must end the speech at once: nothing may wait on marks that all came back already. */
  private checkPlaybackNotOverdue(after: string, where: string): void {
    if (after === 'respond.speaking' && this.responseEnded) {
      const allEchoed = this.responseSegments.every((segment) => this.echoed.has(segment));
      expect(allEchoed, `${where}: reply played out but still speaking`).toBe(false);
    }
    if (after === 'resuming') {
      const resumed = this.driver.snapshot.context.speech.segments.map((segment) => segment.name);
      expect(resumed.every((name) => this.echoed.has(name)), `${where}: the resumed speech played out but still waiting`).toBe(false);
    }
    if (['greeting', 'prompting', 'goodbye', 'voicemail'].includes(after)) {
      // (Read from the machine: with a dead TTS child no TTS.SAY reaches the stub.)
      const phrase = this.driver.snapshot.context.speech.segments.map((segment) => segment.name);
      expect(phrase.length, `${where}: a fixed phrase is being said`).toBe(1);
      expect(phrase.every((name) => this.echoed.has(name)), `${where}: ${phrase} played out but still waiting`).toBe(
        false,
      );
    }
  }

  /** Every real final the caller said is pending, being answered, or in history. */
  private checkNothingLost(step: StepRecord, after: string, where: string): void {
    // An answering machine's words (screening, voicemail) are not the caller's.
    if (['ended', 'goodbye', 'voicemail'].includes(after)) return;
    const { context } = step.after;
    const kept = [
      ...context.caller.pending,
      // A turn cut off by a barge-in is committed when `interrupted` is left.
      after.startsWith('respond.') || after === 'interrupted' ? context.turn.userText : '',
      ...context.history.filter((message) => message.role === 'user').map((message) => message.content),
    ].join(' | ');
    expect(occurrences(kept, WORDS), `${where}: caller words lost`).toBeGreaterThanOrEqual(this.wordsSaid);
  }

  /** `ended` is final: every child stopped; a hangup by us reached the transport before it stopped. */
  private checkEnded(step: StepRecord, before: string, where: string): void {
    expect(step.after.status, where).toBe('done');
    for (const child of ['transport', 'stt', 'tts', 'llm', 'tools', 'configure', 'transfer'] as const) {
      expect(this.driver.running(child), `${where}: ${child} still running`).toBe(0);
    }
    if (before === 'ended') return;
    // Twilio ended it (stop / socket closed) or the transport died: nobody to hang up on. Otherwise we hung up.
    const weHungUp = step.event.type !== 'TRANSPORT.STOP' && step.event.type !== 'xstate.error.actor.transport';
    const transport = step.children.filter((record) => record.child === 'transport');
    const hangupAt = transport.findIndex((r) => r.kind === 'command' && r.event.type === 'TRANSPORT.HANGUP');
    const stopAt = transport.findIndex((r) => r.kind === 'stop');
    if (weHungUp) {
      expect(hangupAt, `${where}: TRANSPORT.HANGUP sent`).toBeGreaterThanOrEqual(0);
      expect(hangupAt, `${where}: TRANSPORT.HANGUP before the transport stopped`).toBeLessThan(stopAt);
    } else {
      expect(hangupAt, `${where}: no TRANSPORT.HANGUP when Twilio ended the call`).toBe(-1);
    }
  }
}
