/**
 * Records one call. The capture appends entries in memory while the call runs (never per audio frame: audio does
 * not pass through XState); they are written at turn boundaries (`call.started`, every `call.turn`), when a long
 * turn fills the buffer, and at the end. Writes are asynchronous and run one after another (never two of one call at
 * once, so the store sees them in order). A failed write is logged and counted and its entries retried with the next
 * write; the call never notices. The event log is bounded per call (`maxLogBytes`); the summary covers the whole
 * call regardless.
 */
import type { CallActorRef } from '../../machines/call.machine.js';
import { now } from '../../lib/clock.js';
import { errorMessage, logFailure, type Logger } from '../../lib/logger.js';
import { EventCapture } from './capture.js';
import type { LogEntry } from './event-log.js';
import type { RecordMetrics } from './record-metrics.js';
import type { CallStore } from './store.js';
import { CallSummaryBuilder, type CallSummary } from './summary.js';

export interface RecorderDeps {
  /** null = keep nothing (records off, or the store could not open): summaries are still built for `onCallEnd`. */
  store: CallStore | null;
  log: Logger;
  metrics: RecordMetrics;
  agent: string | null;
  /** INSTANCE_ID, kept in the record (which instance ran the call). */
  instance?: string | null;
  maxLogBytes: number;
  /** Post-call webhook target: the summary is queued in the outbox with the final write. */
  webhookUrl?: string;
  onWebhookQueued?: () => void;
  onCallEnd?: (summary: CallSummary) => void | Promise<void>;
  /** The call's last write is done (or failed), or it had nothing to write: the recorder holds nothing more. */
  onFinished?: () => void;
}

export class CallRecorder {
  readonly t0 = now();
  readonly capture: EventCapture;
  private builder: CallSummaryBuilder | null = null;
  /** Entries from before Twilio's `start` (no callSid yet). */
  private early: LogEntry[] = [];
  private unsaved: string[] = [];
  private keptBytes = 0;
  private truncated = false;
  private input: unknown;
  private inputSaved = false;
  private flushScheduled = false;
  private ended = false;
  private writeMs = 0;
  /** Bytes the call occupies in the store: appended data plus its latest summary. */
  private appendedBytes = 0;
  private summaryBytes = 0;
  private writeFailures = 0;
  /** The write in progress (and those chained after it). */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RecorderDeps) {
    this.capture = new EventCapture(this.t0, now, () => this.scheduleFlush());
  }

  /** Call right after `createActor` (whose `inspect` includes `capture.inspect`), before `start`. */
  attach(actor: CallActorRef, input: unknown): void {
    this.input = input;
    actor.on('*', (event) => {
      this.capture.emitted(event);
      if (event.type === 'call.turn' || event.type === 'call.started') this.scheduleFlush();
    });
    // The root's last snapshot is inspected after observers hear `complete`: finish a microtask later to keep it.
    actor.subscribe({
      complete: () => queueMicrotask(() => this.finish()),
      error: () => queueMicrotask(() => this.finish('machine-error')),
    });
  }

  /** Resolves once every write asked for so far is done (or failed): for tests, which must not guess a duration. */
  async settled(): Promise<void> {
    await this.writing;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.ended) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (!this.ended) this.flush(false);
    });
  }

  private finish(endReason?: string): void {
    if (this.ended) return;
    this.ended = true;
    const summary = this.flush(true, endReason);
    if (summary === undefined) {
      this.deps.log.debug('stream ended before Twilio start: no call record');
      this.deps.onFinished?.();
      return;
    }
    void this.writing.then(() => {
      if (this.deps.store !== null && this.summaryBytes > 0) {
        this.deps.metrics.writeMs.observe(this.writeMs);
        this.deps.metrics.bytes.observe(this.appendedBytes + this.summaryBytes);
      }
      this.deps.onFinished?.();
    });
    if (this.truncated) this.deps.metrics.truncatedLogs.inc();
    const hook = this.deps.onCallEnd;
    if (hook !== undefined) {
      Promise.resolve()
        .then(() => hook(summary))
        .catch((err: unknown) => logFailure(this.deps.log, 'agent hook failed', err, { hook: 'onCallEnd', effect: 'the record and webhook are unaffected' }));
    }
  }

  /** Feeds new entries to the summary, writes them; returns the summary (undefined before the call started). */
  private flush(final: boolean, endReason?: string): CallSummary | undefined {
    let entries = this.capture.take();
    if (this.builder === null) {
      this.early = this.early.concat(entries);
      const start = this.early.find((e) => 'in' in e && e.in.type === 'TRANSPORT.START');
      const callSid = start !== undefined && 'in' in start ? (start.in as { callSid?: unknown }).callSid : undefined;
      if (typeof callSid !== 'string') return undefined;
      this.builder = new CallSummaryBuilder({ callSid, t0: this.t0, agent: this.deps.agent, instance: this.deps.instance ?? null });
      entries = this.early;
      this.early = [];
    }
    for (const entry of entries) {
      this.builder.add(entry);
      if (this.deps.store !== null) this.keep(entry);
    }
    const summary = this.builder.summary({ ended: final, truncated: this.truncated, endReason });
    if (this.deps.store !== null) this.write(this.deps.store, summary, final);
    return summary;
  }

  private keep(entry: LogEntry): void {
    if (this.truncated) return;
    const json = JSON.stringify(entry);
    if (this.keptBytes + json.length > this.deps.maxLogBytes) {
      this.truncated = true;
      this.deps.log.warn('call event log reached its bound: later events are not kept', { maxBytes: this.deps.maxLogBytes });
      return;
    }
    this.keptBytes += json.length + 1;
    this.unsaved.push(json);
  }

  /** Queues a write after the one in progress; it sends the entries still unsaved when it runs. */
  private write(store: CallStore, summary: CallSummary, final: boolean): void {
    this.writing = this.writing.then(() => this.writeNow(store, summary, final));
  }

  private async writeNow(store: CallStore, summary: CallSummary, final: boolean): Promise<void> {
    const webhookUrl = final ? this.deps.webhookUrl : undefined;
    const unsaved = this.unsaved;
    this.unsaved = [];
    const started = performance.now();
    try {
      const size = await store.writeCall({
        summary,
        eventsJson: unsaved.length === 0 ? '' : `[${unsaved.join(',')}]`,
        eventCount: unsaved.length,
        input: this.inputSaved ? undefined : this.input,
        webhook: webhookUrl === undefined ? undefined : { url: webhookUrl, body: JSON.stringify(summary) },
      });
      this.appendedBytes += size.appended;
      this.summaryBytes = size.summary;
      this.inputSaved = true;
      if (webhookUrl !== undefined) this.deps.onWebhookQueued?.();
    } catch (err) {
      this.unsaved = unsaved.concat(this.unsaved); // retried, in order, with the next write
      this.deps.metrics.storeErrors.inc({ op: 'write' });
      // One warning per call (then debug): a broken store must not flood the log at every turn of every call.
      const level = this.writeFailures++ === 0 ? 'warn' : 'debug';
      this.deps.log[level]('call record write failed; the call goes on', { error: errorMessage(err), final });
    } finally {
      this.writeMs += performance.now() - started;
    }
  }
}

