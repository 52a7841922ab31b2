/**
 * The simulators `npm start` runs on when no provider key is set. Loaded by `src/providers.ts` with a dynamic
 * import, so the production start-up path never loads the offline world.
 */
import { startDeepgramSimulator, type DeepgramSimulator } from './deepgram.js';
import type { DeepgramSimOptions } from './deepgram-sim-types.js';
import { startLlmSimulator, type LlmSimulator, type LlmSimOptions } from './llm.js';
import { offlineLlmScript } from './offline-script.js';

export async function startOfflineSimulators(
  sim: { deepgram?: DeepgramSimOptions; llm?: LlmSimOptions } = {},
): Promise<{ deepgram: DeepgramSimulator; llm: LlmSimulator }> {
  const [deepgram, llm] = await Promise.all([
    startDeepgramSimulator(sim.deepgram),
    startLlmSimulator({ script: offlineLlmScript, ...sim.llm }),
  ]);
  return { deepgram, llm };
}
