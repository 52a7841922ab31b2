/**
 * The simulators `npm start` runs on when no provider key is set. Loaded by `src/server/providers.ts` with a dynamic
 * import, so the production start-up path never loads the offline world.
 */
import { startDeepgramSimulator, type DeepgramSimulator } from '../../offline/deepgram.js';
import type { DeepgramSimOptions } from '../../offline/deepgram-sim-types.js';
import { startLlmSimulator, type LlmSimulator, type LlmSimOptions } from '../../offline/llm.js';
import { genericModelScript, type LlmScriptEntry } from '../../offline/llm-script.js';
import { offlineLlmScript } from '../../agents/front-desk-model-script.js';
import { isDefaultAgent } from '../agent/agent-loader.js';
import { loadOfflineScenario } from './offline-scenario.js';
import { startOrdersApi, type OrdersApi } from '../../agents/front-desk-orders-api.js';
import { parseBurstPhrases } from '../../offline/speech-bursts.js';
import { startTwilioRestFake, type TwilioRestFake } from '../../offline/twilio-rest.js';
import { newSid } from '../../offline/twilio-webhook.js';

/** Which agent runs, and the scenario file whose model steps the simulated LLM follows (OFFLINE_SCRIPT). */
export interface OfflineModelChoice {
  agentFile?: string;
  scriptFile?: string;
}

/**
 * What the simulated model says when the caller of the simulators did not script it: the scenario file's model steps
 * when one is given; the example agent's own script when the example agent runs; otherwise the generic model, which
 * knows nothing of any business (it never speaks the example shop's facts to somebody else's agent).
 */
export async function offlineModelScript(choice: OfflineModelChoice): Promise<LlmScriptEntry[]> {
  if (choice.scriptFile !== undefined) return (await loadOfflineScenario(choice.scriptFile, 'OFFLINE_SCRIPT')).model ?? genericModelScript();
  return isDefaultAgent(choice.agentFile) ? offlineLlmScript : genericModelScript();
}

/**
 * Deepgram and LLM simulators, the local orders API the example agent calls, and — unless the operator configured a
 * Twilio account (`twilio` null) — the local Twilio REST API, so transfers work offline. ORDERS_API_URL is pointed at
 * the orders API unless the operator set it (the example agent reads it when a tool runs).
 */
export async function startOfflineSimulators(
  sim: { deepgram?: DeepgramSimOptions; llm?: LlmSimOptions } = {},
  model: OfflineModelChoice = {},
  twilio: { authToken: string } | null = null,
): Promise<{ deepgram: DeepgramSimulator; llm: LlmSimulator; orders: OrdersApi; twilio?: TwilioRestFake }> {
  const script = sim.llm?.script ?? (await offlineModelScript(model));
  const [deepgram, llm, orders, rest] = await Promise.all([
    // Burst mode is the one simulator setting `npm start` takes from the environment (to talk from the console).
    startDeepgramSimulator({ burstPhrases: parseBurstPhrases(process.env['DEEPGRAM_SIM_BURST_PHRASES']), ...sim.deepgram }),
    startLlmSimulator({ ...sim.llm, script }),
    startOrdersApi(),
    twilio === null ? undefined : startTwilioRestFake({ accountSid: newSid('AC'), authToken: twilio.authToken }),
  ]);
  // Ours to point (unset, or set by an earlier offline stack of this process): the newest stack's API.
  const current = process.env['ORDERS_API_URL'];
  if (current === undefined || current === ownUrl) process.env['ORDERS_API_URL'] = ownUrl = orders.url;
  return { deepgram, llm, orders, ...(rest === undefined ? {} : { twilio: rest }) };
}

let ownUrl: string | undefined;
