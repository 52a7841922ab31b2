/**
 * The simulators `npm start` runs on when no provider key is set. Loaded by `src/server/providers.ts` with a dynamic
 * import, so the production start-up path never loads the offline world.
 */
import { startDeepgramSimulator, type DeepgramSimulator } from '../../offline/deepgram.js';
import type { DeepgramSimOptions } from '../../offline/deepgram-sim-types.js';
import { startLlmSimulator, type LlmSimulator, type LlmSimOptions } from '../../offline/llm.js';
import { offlineLlmScript } from '../../agents/front-desk-model-script.js';
import { startOrdersApi, type OrdersApi } from '../../agents/front-desk-orders-api.js';
import { parseBurstPhrases } from '../../offline/speech-bursts.js';

/**
 * Deepgram and LLM simulators, and the local orders API the example agent calls. ORDERS_API_URL is pointed at it
 * unless the operator set it (the example agent reads it when a tool runs).
 */
export async function startOfflineSimulators(
  sim: { deepgram?: DeepgramSimOptions; llm?: LlmSimOptions } = {},
): Promise<{ deepgram: DeepgramSimulator; llm: LlmSimulator; orders: OrdersApi }> {
  const [deepgram, llm, orders] = await Promise.all([
    // Burst mode is the one simulator setting `npm start` takes from the environment (to talk from the console).
    startDeepgramSimulator({ burstPhrases: parseBurstPhrases(process.env['DEEPGRAM_SIM_BURST_PHRASES']), ...sim.deepgram }),
    startLlmSimulator({ script: offlineLlmScript, ...sim.llm }),
    startOrdersApi(),
  ]);
  // Ours to point (unset, or set by an earlier offline stack of this process): the newest stack's API.
  const current = process.env['ORDERS_API_URL'];
  if (current === undefined || current === ownUrl) process.env['ORDERS_API_URL'] = ownUrl = orders.url;
  return { deepgram, llm, orders };
}

let ownUrl: string | undefined;
