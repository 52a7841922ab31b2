/**
 * `npx tsx bench/recovery.ts [--calls 3]`: how long a caller waits for an answer when a provider fails mid-call,
 * with the default recovery settings (STT_SILENCE_WATCHDOG_MS 5000, TTS_SILENCE_WATCHDOG_MS 3000,
 * LLM_FIRST_TOKEN_TIMEOUT_MS 2000, LLM_FALLBACK=anthropic:…). Each scenario runs whole offline calls (the real server
 * and SDKs, the simulators on loopback) where the caller asks one question and a fault is injected:
 *
 * - baseline: no fault;
 * - stt-silent: the STT socket goes quiet when the caller starts the question (open, no more messages);
 * - tts-silent: the TTS socket goes quiet when the caller finishes it (the reply's Flush gets nothing back);
 * - llm-429 / llm-503 / llm-stall: the primary LLM answers 429, 503, or 200 with no token; the fallback answers.
 *
 * Reported per scenario (median of the calls): fault → first audio of the answer at the caller, and end of the
 * question → first answer audio (what the caller perceives; compare with the baseline).
 */
import { startOfflineStack, type OfflineStack } from '../src/harness/offline-stack.js';
import { placeSimulatedCall } from '../offline/twilio-caller.js';
import type { CallRecord, TimelineEntry } from '../offline/twilio-caller-types.js';
import type { LlmScriptEntry } from '../offline/llm.js';

const QUESTION = 'what are your opening hours';
const ANSWER = 'We are open every day';

interface Scenario {
  name: string;
  /** When the fault is injected: the caller starts or finishes the question (or never). */
  at: 'sayStart' | 'said' | null;
  inject(stack: OfflineStack): void;
}

const llmFault = (entry: LlmScriptEntry) => (stack: OfflineStack) => stack.providers.simulators?.llm.script.unshift({ ...entry, once: true });

const scenarios: Scenario[] = [
  { name: 'baseline', at: null, inject: () => {} },
  { name: 'stt-silent', at: 'sayStart', inject: (s) => s.providers.simulators?.deepgram.silenceConnections('listen') },
  { name: 'tts-silent', at: 'said', inject: (s) => s.providers.simulators?.deepgram.silenceConnections('speak') },
  { name: 'llm-429', at: 'said', inject: llmFault({ provider: 'openai', error: { status: 429, message: 'Rate limit reached' } }) },
  { name: 'llm-503', at: 'said', inject: llmFault({ provider: 'openai', error: { status: 503, message: 'Service unavailable' } }) },
  { name: 'llm-stall', at: 'said', inject: llmFault({ provider: 'openai', hang: 'first-token' }) },
];

interface Measured {
  faultToAnswerMs: number | null;
  questionToAnswerMs: number | null;
  answered: boolean;
}

async function runCall(stack: OfflineStack, scenario: Scenario): Promise<Measured> {
  let faultAt: number | null = null;
  const onEvent = (entry: TimelineEntry): void => {
    if (faultAt !== null || entry.kind !== scenario.at || entry.text !== QUESTION) return;
    faultAt = entry.t;
    scenario.inject(stack);
  };
  const record: CallRecord = await placeSimulatedCall({
    serverUrl: stack.server.localUrl,
    authToken: stack.config.twilioAuthToken,
    script: [{ waitForAgent: 'reply' }, { say: QUESTION }, { waitForAgent: 'reply', timeoutMs: 20_000 }, { hangup: true }],
    onEvent,
  }).done;
  const reply = record.transcript.find((t) => t.role === 'agent' && t.text.includes(ANSWER));
  if (!reply || reply.role !== 'agent') return { faultToAnswerMs: null, questionToAnswerMs: null, answered: false };
  const answerT = reply.startAt - record.placedAt;
  return { faultToAnswerMs: faultAt === null ? null : answerT - faultAt, questionToAnswerMs: reply.latencyMs, answered: true };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? null;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const calls = Number(argv[argv.indexOf('--calls') + 1] ?? 3) || 3;
  const rows: string[] = ['| scenario | answered | fault → answer ms (median) | end of question → answer ms (median) | per call |', '|---|---|---|---|---|'];
  for (const scenario of scenarios) {
    const results: Measured[] = [];
    for (let i = 0; i < calls; i++) {
      // A fresh stack per call: no cool-down (a failed provider is skipped by later turns) or socket state carried over.
      const stack = await startOfflineStack({ env: { LLM_FALLBACK: 'anthropic:claude-haiku-4-5' } });
      try {
        results.push(await runCall(stack, scenario));
      } finally {
        await stack.close();
      }
    }
    const fault = median(results.flatMap((r) => (r.faultToAnswerMs === null ? [] : [r.faultToAnswerMs])));
    const question = median(results.flatMap((r) => (r.questionToAnswerMs === null ? [] : [r.questionToAnswerMs])));
    const per = results.map((r) => (r.questionToAnswerMs === null ? 'none' : Math.round(r.questionToAnswerMs))).join(' / ');
    const fmt = (v: number | null): string => (v === null ? '—' : String(Math.round(v)));
    rows.push(`| ${scenario.name} | ${results.filter((r) => r.answered).length}/${calls} | ${fmt(fault)} | ${fmt(question)} | ${per} |`);
    process.stdout.write(`${scenario.name} done\n`);
  }
  process.stdout.write('\n' + rows.join('\n') + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
