/**
 * `npm run sim`: the offline world as standalone processes-to-be — Deepgram (/v1/listen, /v1/speak) and the LLM
 * (OpenAI /v1/chat/completions, Anthropic /v1/messages) on loopback. Point a server at them with the env it prints.
 *
 * Ports: DEEPGRAM_SIM_PORT (default 8081), LLM_SIM_PORT (default 8082). Latencies: DEEPGRAM_SIM_* (see
 * deepgram.ts), LLM_SIM_FIRST_TOKEN_MS, LLM_SIM_TOKENS_PER_SECOND.
 */
import { startDeepgramSimulator, deepgramSimOptionsFromEnv } from '../../offline/deepgram.js';
import { startLlmSimulator } from '../../offline/llm.js';
import { offlineLlmScript } from '../../agents/front-desk-model-script.js';
import { errorMessage } from '../../lib/logger.js';

function num(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`${name} must be a non-negative number, got "${raw}"\n`);
    process.exit(1);
  }
  return n;
}

async function main(): Promise<void> {
  const deepgram = await startDeepgramSimulator({ port: 8081, ...deepgramSimOptionsFromEnv(process.env) });
  const llm = await startLlmSimulator({
    port: num('LLM_SIM_PORT', 8082),
    firstTokenMs: num('LLM_SIM_FIRST_TOKEN_MS', 100),
    tokensPerSecond: num('LLM_SIM_TOKENS_PER_SECOND', 50),
    script: offlineLlmScript,
  });
  const lines = [
    'simulators running; start a server against them with:',
    `  DEEPGRAM_API_KEY=sim DEEPGRAM_BASE_URL=${deepgram.url} \\`,
    `  OPENAI_API_KEY=sim OPENAI_BASE_URL=${llm.openaiBaseUrl} \\`,
    `  ANTHROPIC_API_KEY=sim ANTHROPIC_BASE_URL=${llm.anthropicBaseUrl} \\`,
    '  TWILIO_AUTH_TOKEN=… PUBLIC_URL=http://127.0.0.1:8080 npm start',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  const stop = async () => {
    await Promise.all([deepgram.close(), llm.close()]);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`simulators failed to start: ${errorMessage(err)}\n`);
  process.exit(1);
});
