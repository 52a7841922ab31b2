/**
 * `tsx bench/simulate-call-time.ts [--speed N | --real-time] [--runs 3]`: how long an agent developer's
 * five-utterance `simulateCall` of the example agent takes on the wall clock, and where the time goes, turn by turn:
 * the caller speaking, the server waiting for the end of the turn (endpointing / utterance end), the model's first
 * text, the first TTS audio, the reply playing, and the caller waiting for quiet before the next line.
 */
import { simulateCall, type LlmScriptEntry } from '../src/api/testing.js';
import type { CallEmitted } from '../machines/emitted.js';
import type { CallRecord } from '../offline/twilio-caller-types.js';

export const FIVE_UTTERANCES = ['Hi, what are your hours?', 'Where is my order 4271?', 'Is it the blue pan?', 'Can it come on Friday?', 'Great, thanks. Bye!'];

export const FIVE_UTTERANCE_MODEL: LlmScriptEntry[] = [
  { when: /hours/i, text: 'We are open nine to five, Monday to Saturday.' },
  { when: /order 4271/, text: 'Let me check.', toolCall: { name: 'lookup_order', args: { order_number: '4271' } } },
  { afterTool: 'lookup_order', text: 'It is on its way.' },
  { when: /bye/i, text: 'Goodbye!', toolCall: { name: 'end_call', args: {} } },
];

const round = (ms: number | null | undefined): string => (ms === null || ms === undefined || !Number.isFinite(ms) ? '   —' : String(Math.round(ms)).padStart(5));

/** One row per caller line: the durations between the moments the caller and the server recorded. */
export function turnBreakdown(record: CallRecord, events: readonly CallEmitted[]): string[] {
  const at = (t: number): number => record.placedAt + t;
  const says = record.timeline.filter((e) => e.kind === 'sayStart');
  const saids = record.timeline.filter((e) => e.kind === 'said');
  const audioStarts = record.timeline.filter((e) => e.kind === 'agentAudioStart').map((e) => at(e.t));
  const audioEnds = record.timeline.filter((e) => e.kind === 'agentAudioEnd').map((e) => at(e.t));
  const utterances = events.filter((e): e is Extract<CallEmitted, { type: 'call.userUtterance' }> => e.type === 'call.userUtterance');
  const turns = events.filter((e): e is Extract<CallEmitted, { type: 'call.turn' }> => e.type === 'call.turn');
  const rows = ['turn  speak  endpt    llm    tts  2twil  play+  quiet  (ms)'];
  for (let i = 0; i < says.length; i++) {
    const sayStart = at(says[i]!.t);
    const said = saids[i] === undefined ? NaN : at(saids[i]!.t);
    const utter = utterances[i]?.at ?? NaN;
    const ts = turns.find((t) => t.turn === utterances[i]?.turn)?.timestamps;
    const firstAudio = audioStarts.find((a) => a > said) ?? NaN;
    const lastAudioEnd = audioEnds.filter((a) => a > firstAudio && (says[i + 1] === undefined || a < at(says[i + 1]!.t))).pop() ?? NaN;
    const nextSay = says[i + 1] === undefined ? at(record.timeline[record.timeline.length - 1]!.t) : at(says[i + 1]!.t);
    rows.push(
      [
        String(i + 1).padStart(4),
        round(said - sayStart),
        round(utter - said),
        round((ts?.llmFirstTextAt ?? NaN) - utter),
        round((ts?.ttsFirstAudioAt ?? NaN) - (ts?.llmFirstTextAt ?? NaN)),
        round((ts?.firstAudioToTwilioAt ?? NaN) - (ts?.ttsFirstAudioAt ?? NaN)),
        round(lastAudioEnd - firstAudio),
        round(nextSay - lastAudioEnd),
      ].join('  '),
    );
  }
  return rows;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const value = (flag: string): string | undefined => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const realTime = argv.includes('--real-time');
  const speed = value('--speed') === undefined ? undefined : Number(value('--speed'));
  const runs = Number(value('--runs') ?? '3');
  const walls: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const call = await simulateCall({ agent: 'agents/front-desk.ts', caller: FIVE_UTTERANCES, model: FIVE_UTTERANCE_MODEL, speed, realTime });
    const wall = performance.now() - started;
    walls.push(wall);
    const firstAudio = call.call.firstAgentAudioMs;
    const callMs = call.call.timeline[call.call.timeline.length - 1]?.t ?? 0;
    const setupMs = call.call.placedAt - (performance.timeOrigin + started);
    console.log(`run ${run + 1}: ${Math.round(wall)} ms wall (setup ${Math.round(setupMs)}, call ${Math.round(callMs)}, teardown ${Math.round(wall - setupMs - callMs)}), greeting audio after ${round(firstAudio)} ms, end ${call.endReason} by ${call.endedBy}, heard ${call.heard.length} turns, tools ${call.toolCalls.map((t) => `${t.name}:${t.outcome}`).join(',')}`);
    for (const row of turnBreakdown(call.call, call.events)) console.log('  ' + row);
  }
  walls.sort((a, b) => a - b);
  console.log(`wall ms: min ${Math.round(walls[0]!)} median ${Math.round(walls[Math.floor(walls.length / 2)]!)} max ${Math.round(walls[walls.length - 1]!)}`);
}

if (process.argv[1]?.endsWith('simulate-call-time.ts')) await main();
