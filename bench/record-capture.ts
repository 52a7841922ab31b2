/**
 * `npx tsx bench/record-capture.ts`: what recording costs the call machine per event. The same call (greeting,
 * then turns of interims + a final + a streamed reply of LLM tokens + marks) runs on the real machine with inert
 * children, with and without the recorder's capture (inspection observer + emitted listener); then the cost of
 * writing that call's log at its turn boundaries (serialise + compress + SQLite). Alternating rounds, best of each.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { createActor, fromCallback, SimulatedClock, type EventObject } from 'xstate';
import { callMachine } from '../machines/call.machine.js';
import type { CallEvent, LlmInput } from '../machines/events.js';
import { defaultCallOptions } from '../machines/options.js';
import { silentLogger } from '../lib/logger.js';
import { EventCapture } from '../src/records/capture.js';
import { createRecordMetrics } from '../src/records/record-metrics.js';
import { CallRecorder } from '../src/records/recorder.js';
import { openSqliteStore } from '../src/records/sqlite-store.js';
import type { CallStore } from '../src/records/store.js';

const TURNS = 20;
const TOKENS_PER_REPLY = 60;
const INTERIMS_PER_TURN = 8;

type Mode = 'bare' | 'capture' | 'record';

function machine() {
  const inert = <T extends EventObject, I = unknown>() => fromCallback<T, I>(() => undefined);
  return callMachine.provide({ actors: { transport: inert(), stt: inert(), tts: inert(), llm: inert<EventObject, LlmInput>() } });
}

/** Runs one whole call; returns µs per event spent in `send`, and the number of events. */
const recordMetrics = createRecordMetrics(new Registry());

function runCall(mode: Mode, store: CallStore | null, n: number): { usPerEvent: number; events: number } {
  const input = { options: defaultCallOptions };
  let inspect: EventCapture['inspect'] | undefined;
  let recorder: CallRecorder | undefined;
  let capture: EventCapture | undefined;
  if (mode === 'record') {
    recorder = new CallRecorder({ store, log: silentLogger, metrics: recordMetrics, agent: null, maxLogBytes: 4e6 });
    inspect = recorder.capture.inspect;
  } else if (mode === 'capture') {
    capture = new EventCapture(performance.now());
    inspect = capture.inspect;
  }
  const actor = createActor(machine(), { input, clock: new SimulatedClock(), inspect });
  if (recorder) recorder.attach(actor, input);
  else if (capture) actor.on('*', capture.emitted);
  actor.start();
  let at = 1_800_000_000_000;
  const events: CallEvent[] = [
    { type: 'TRANSPORT.START', streamSid: 'MZ', callSid: `CA${n}`, accountSid: 'AC', customParameters: {}, at: at++ },
    { type: 'TRANSPORT.MARK', name: 'greeting', played: true, at: at++ },
  ];
  for (let turn = 1; turn <= TURNS; turn++) {
    for (let i = 0; i < INTERIMS_PER_TURN; i++) events.push({ type: 'STT.INTERIM', text: `what about number ${i}`, at: at++ });
    events.push({ type: 'STT.FINAL', text: 'what about the number', speechFinal: true, at: at++ });
    for (let i = 0; i < TOKENS_PER_REPLY; i++) events.push({ type: 'LLM.TEXT', text: i % 12 === 11 ? ' end.' : ' word', at: at++ });
    events.push({ type: 'LLM.DONE', at: at++ });
    for (let s = 1; s <= 6; s++) events.push({ type: 'TRANSPORT.MARK', name: `t${turn}-s${s}`, played: true, at: at++ });
  }
  events.push({ type: 'TRANSPORT.STOP', reason: 'stop', at: at++ });
  const started = performance.now();
  for (const e of events) actor.send(e);
  const elapsed = performance.now() - started;
  return { usPerEvent: (elapsed * 1000) / events.length, events: events.length };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'record-capture-'));
  const file = path.join(dir, 'calls.db');
  const store = openSqliteStore(file);
  const best: Record<Mode, number> = { bare: Infinity, capture: Infinity, record: Infinity };
  const rounds = 60;
  let n = 0;
  let events = 0;
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['bare', 'capture', 'record'] as const) {
      const r = runCall(mode, mode === 'record' ? store : null, n++);
      best[mode] = Math.min(best[mode], r.usPerEvent);
      events = r.events;
    }
    await new Promise((r) => setImmediate(r)); // the recorders write their turns (the machine runs synchronously)
  }
  await new Promise((r) => setTimeout(r, 50));
  const writes = (await recordMetrics.writeMs.get()).values;
  const sum = writes.find((v) => v.metricName?.endsWith('_sum'))?.value ?? NaN;
  const count = writes.find((v) => v.metricName?.endsWith('_count'))?.value ?? NaN;
  const bytes = (await recordMetrics.bytes.get()).values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? NaN;
  store.close();
  const size = fs.statSync(file).size + (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);
  fs.rmSync(dir, { recursive: true, force: true });

  const extra = (x: number) => `+${(x - best.bare).toFixed(2)} µs, +${(((x - best.bare) / best.bare) * 100).toFixed(0)} %`;
  console.log(`one call = ${events} machine events (${TURNS} turns × ${INTERIMS_PER_TURN} interims + final + ${TOKENS_PER_REPLY} tokens + marks)`);
  console.log(`µs per machine event (best of ${rounds}): bare ${best.bare.toFixed(2)}; capture ${best.capture.toFixed(2)} (${extra(best.capture)}); capture + recorder ${best.record.toFixed(2)} (${extra(best.record)})`);
  console.log(`writes (serialise, compress, SQLite; ${TURNS + 2} per call): ${(sum / count).toFixed(2)} ms per call over ${count} calls; ${(bytes / count / 1024).toFixed(1)} KB stored per call; database + WAL ${(size / 1024).toFixed(0)} KB for ${n} calls`);
}

void main();
