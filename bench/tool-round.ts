/**
 * `npx tsx bench/tool-round.ts [calls]`: what a tool round costs the orchestrator. Calls to the example agent, one
 * at a time, each asking about an order: the model (LLM simulator) says "Let me check that order." and calls
 * lookup_order; the tool fetches the local orders API; the next round speaks the status. Per call, measured from the
 * simulators' and the machine's own timestamps (no provider time subtracted):
 * - stream end → tool start: the LLM simulator wrote the end of the tool-call reply → the tool's execute began
 *   (SSE parsing in the SDK, the LLM actor, the machine, the tool runner);
 * - tool: execute began → its result was in the machine (the orders API round trip on loopback: the tool's time);
 * - result → next request: the result was in the machine → the next LLM request reached the simulator;
 * - result → first audio of the answer sent by TTS: the whole second round, provider time included (LLM first token
 *   100 ms, the first sentence's tokens at 100/s, TTS first byte 50 ms), for scale.
 */
import { now } from '../lib/clock.js';
import type { CallEmitted } from '../machines/emitted.js';
import { startOfflineStack } from '../src/harness/offline-stack.js';
import { placeSimulatedCall } from '../offline/twilio-caller.js';
import { loadAgent } from '../src/agent/agent-loader.js';
import { percentileSorted } from './stats.js';

type Sample = { streamEndToToolStart: number; tool: number; resultToRequest: number; resultToAnswerAudio: number };

async function main(): Promise<void> {
  const calls = Number(process.argv[2] ?? 20);
  const agent = await loadAgent('agents/front-desk.ts');
  const events: CallEmitted[] = [];
  const stack = await startOfflineStack({
    agent,
    simulators: { llm: { firstTokenMs: 100, tokensPerSecond: 100 } },
    onCallEvent: (e) => events.push(e),
  });
  const sims = stack.providers.simulators;
  if (!sims) throw new Error('offline simulators missing');
  const llmDone: number[] = [];
  const llmRequests: number[] = [];
  const ttsAudio: number[] = [];
  let answerSequence: number | null = null;
  sims.llm.observer.on('done', (e: { at: number }) => llmDone.push(e.at));
  sims.llm.observer.on('request', (e: { at: number }) => llmRequests.push(e.at));
  // The answer's first segment is the flush that speaks the order status (not "Let me check that order.").
  sims.deepgram.observer.on('speak.flush', (e) => {
    if (answerSequence === null && e.text.includes('Your order')) answerSequence = e.sequenceId;
  });
  sims.deepgram.observer.on('speak.audioStart', (e) => {
    if (e.sequenceId === answerSequence) ttsAudio.push(e.at);
  });

  const samples: Sample[] = [];
  for (let i = 0; i < calls; i++) {
    events.length = 0;
    llmDone.length = 0;
    llmRequests.length = 0;
    ttsAudio.length = 0;
    answerSequence = null;
    const record = await placeSimulatedCall({
      serverUrl: stack.server.localUrl,
      authToken: stack.config.twilioAuthToken,
      script: [{ waitForAgent: 'reply' }, { say: 'where is my order 4271' }, { waitForAgent: 'reply' }, { hangup: true }],
      maxDurationMs: 30_000,
    }).done;
    const tool = events.find((e): e is Extract<CallEmitted, { type: 'call.toolFinished' }> => e.type === 'call.toolFinished');
    const toolCallDone = llmDone[0]; // the first LLM reply of the call is the tool-call round
    const nextRequest = llmRequests.find((at) => tool !== undefined && at >= tool.at);
    const answerAudio = ttsAudio.find((at) => tool !== undefined && at >= tool.at);
    if (!tool || tool.outcome !== 'ok' || toolCallDone === undefined || nextRequest === undefined || answerAudio === undefined) {
      throw new Error(`call ${i}: no complete tool round (${record.errors.join('; ') || 'no errors'})`);
    }
    samples.push({
      streamEndToToolStart: tool.startedAt - toolCallDone,
      tool: tool.at - tool.startedAt,
      resultToRequest: nextRequest - tool.at,
      resultToAnswerAudio: answerAudio - tool.at,
    });
  }
  await stack.close();

  const row = (label: string, key: keyof Sample): string => {
    const values = samples.map((s) => s[key]).sort((a, b) => a - b);
    const f = (p: number) => (percentileSorted(values, p) ?? NaN).toFixed(2);
    return `| ${label} | ${f(50)} | ${f(95)} | ${f(99)} |`;
  };
  console.log(`tool round, ${samples.length} calls one at a time (${new Date(now()).toISOString()})\n`);
  console.log('| hop | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|');
  console.log(row('LLM stream end → tool execute starts', 'streamEndToToolStart'));
  console.log(row('tool (orders API on loopback)', 'tool'));
  console.log(row('tool result → next LLM request at the provider', 'resultToRequest'));
  console.log(row('tool result → first TTS audio of the answer (provider time included)', 'resultToAnswerAudio'));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
