/**
 * `npm run demo`: one simulated phone call through the real server, fully offline. The caller (a Twilio simulator)
 * fetches signed TwiML, streams "speech" over the media socket, hears the greeting, asks two things, interrupts the
 * long answer, and says goodbye; the agent hangs up. Prints what each side said and heard, with per-turn latency.
 * Exits 0 when the call went as scripted.
 *
 * Flags: --anthropic (use the Anthropic simulator instead of OpenAI), --inspect (Stately inspector on INSPECT_PORT).
 */
import { startOfflineStack } from '../offline/offline-stack.js';
import { createLogger } from '../lib/logger.js';
import { startInspector } from './inspector.js';
import { placeSimulatedCall } from '../offline/twilio-caller.js';
import type { ScriptStep, TranscriptEntry } from '../offline/twilio-caller-types.js';
import type { TurnEmitted } from '../machines/emitted.js';

const SCRIPT: readonly ScriptStep[] = [
  { waitForAgent: 'reply' },
  { say: 'Hi, what are your opening hours?' },
  { waitForAgent: 'reply' },
  { say: 'Can you tell me the story of your company?' },
  { bargeIn: 'Sorry to interrupt, do you work on Sundays?', afterMs: 2500 },
  { waitForAgent: 'reply' },
  { say: 'Great, thanks. Goodbye!' },
  { waitForAgent: 'reply' },
];

const args = new Set(process.argv.slice(2));
const provider = args.has('--anthropic') ? 'anthropic' : 'openai';
const style = process.stdout.isTTY
  ? { dim: (s: string) => `\x1b[2m${s}\x1b[0m`, bold: (s: string) => `\x1b[1m${s}\x1b[0m`, red: (s: string) => `\x1b[31m${s}\x1b[0m` }
  : { dim: (s: string) => s, bold: (s: string) => s, red: (s: string) => s };

async function main(): Promise<number> {
  const log = createLogger({ level: args.has('--verbose') ? 'info' : 'warn', format: 'pretty' });
  const inspector = args.has('--inspect') ? startInspector(Number(process.env.INSPECT_PORT ?? 5678), log) : undefined;
  const turns: TurnEmitted[] = [];
  const stack = await startOfflineStack({
    env: { LLM_PROVIDER: provider },
    log,
    inspector,
    onCallEvent: (e) => {
      if (e.type === 'call.turn') turns.push(e);
    },
  });
  const { server, config } = stack;
  console.log(style.bold('Offline demo') + style.dim(` — server ${server.localUrl}; Twilio, Deepgram and ${provider} are local simulators`));
  console.log(style.dim('Simulated provider latency: STT endpointing 300 ms of silence, LLM first token 100 ms + 50 tokens/s, TTS first byte 50 ms.\n'));

  const call = placeSimulatedCall({ serverUrl: server.localUrl, authToken: config.twilioAuthToken, script: SCRIPT, maxDurationMs: 60000 });
  const record = await call.done;
  printTranscript(record.transcript, record.firstAgentAudioMs);
  printServerTurns(turns);

  const agentTurns = record.transcript.filter((t) => t.role === 'agent');
  const ok =
    record.endedBy === 'server' &&
    record.errors.length === 0 &&
    record.clears >= 1 &&
    agentTurns.length >= 4 &&
    record.wrongStreamSid === 0;
  console.log(
    ok
      ? style.bold('\nCall completed as scripted: greeting, two questions, one barge-in, goodbye; the agent hung up.')
      : style.red(`\nThe call did not go as scripted: ended by ${record.endedBy}, errors: ${record.errors.join('; ') || 'none'}`),
  );
  await stack.close();
  inspector?.stop();
  return ok ? 0 : 1;
}

function printTranscript(transcript: readonly TranscriptEntry[], greetingMs: number | null): void {
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

function printServerTurns(turns: readonly TurnEmitted[]): void {
  if (turns.length === 0) return;
  console.log(style.dim('\nServer-side turn latency (end of caller speech → first reply audio sent to Twilio):'));
  for (const t of turns) {
    const ts = t.timestamps;
    if (ts.userSpeechEndAt === null || ts.firstAudioToTwilioAt === null) continue;
    const ms = (a: number | null, b: number | null) => (a !== null && b !== null ? `${(b - a).toFixed(1)} ms` : 'n/a');
    console.log(
      style.dim(
        `  turn ${t.turn}: ${ms(ts.userSpeechEndAt, ts.firstAudioToTwilioAt)}` +
          ` = LLM first token ${ms(ts.userSpeechEndAt, ts.llmFirstTextAt)}` +
          ` + first clause & TTS first byte ${ms(ts.llmFirstTextAt, ts.ttsFirstAudioAt)}` +
          ` + to Twilio ${ms(ts.ttsFirstAudioAt, ts.firstAudioToTwilioAt)}${t.interrupted ? ' (interrupted)' : ''}`,
      ),
    );
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
