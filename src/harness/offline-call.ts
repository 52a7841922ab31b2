/**
 * `npm run call -- --offline ["line" …] [--script file] [--url http://127.0.0.1:8080]`: calls a running offline
 * server (`npm start` with no keys) as the simulated Twilio caller — signed webhook, media stream, simulated speech —
 * says each line (or the script's caller lines) after the agent's reply, and prints both sides as the demo does.
 * The model's side of a script is the server's: start it with OFFLINE_SCRIPT=file. Loaded by src/cli/call-cli.ts only
 * with --offline.
 */
import { loadConfig } from '../server/config.js';
import { withoutProviderKeys } from './offline-stack.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';
import { callerScript } from '../../offline/twilio-caller-script.js';
import { loadOfflineScenario } from './offline-scenario.js';
import type { CallRecord, ScriptStep } from '../../offline/twilio-caller-types.js';
import { liveTranscriptPrinter, styleFor } from '../../offline/transcript-print.js';
import { errorMessage } from '../../lib/logger.js';

export const DEFAULT_OFFLINE_LINES: readonly string[] = ['Hi, what are your hours?', 'Thanks, bye'];

export interface OfflineCallTarget {
  /** Where the server listens. */
  serverUrl: string;
  /** What it checks signatures against: PUBLIC_URL, or its own loopback URL. */
  publicUrl: string;
  authToken: string;
}

/** The server `npm start` would run with this environment: same PORT, PUBLIC_URL and Twilio token. */
export function offlineCallTarget(env: NodeJS.ProcessEnv, url?: string): OfflineCallTarget {
  const config = loadConfig(withoutProviderKeys(env));
  const serverUrl = (url ?? `http://127.0.0.1:${config.PORT}`).replace(/\/+$/, '');
  const port = new URL(serverUrl).port || '80';
  return { serverUrl, publicUrl: config.PUBLIC_URL ?? `http://127.0.0.1:${port}`, authToken: config.twilioAuthToken };
}


/** Is an offline server answering there? A one-line reason when not. */
async function checkServer(serverUrl: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${serverUrl}/healthz`, { signal: AbortSignal.timeout(3000) });
    const body: unknown = await res.json();
    const offline = typeof body === 'object' && body !== null && 'offline' in body ? body.offline : undefined;
    if (offline === false) return `the server at ${serverUrl} runs with real providers: --offline calls only an offline server (npm start with no keys)`;
    return undefined;
  } catch {
    return `no server answers at ${serverUrl}: start one with \`npm start\` (no keys), or pass --url`;
  }
}

export async function runOfflineCall(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const valueOf = (flag: string) => (argv.indexOf(flag) >= 0 ? argv[argv.indexOf(flag) + 1] : undefined);
  const url = valueOf('--url');
  const scriptFile = valueOf('--script');
  const given = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--url' && argv[i - 1] !== '--script');
  let target: OfflineCallTarget;
  let lines: ReadonlyArray<string | ScriptStep> = given.length > 0 ? given : DEFAULT_OFFLINE_LINES;
  try {
    if (scriptFile !== undefined && given.length === 0) lines = (await loadOfflineScenario(scriptFile)).caller ?? lines;
    target = offlineCallTarget(env, url);
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n`);
    return 1;
  }
  const problem = await checkServer(target.serverUrl);
  if (problem !== undefined) {
    process.stderr.write(problem + '\n');
    return 1;
  }
  const style = styleFor(process.stdout);
  console.log(style.dim(`Calling ${target.serverUrl} as the simulated Twilio caller …\n`));
  const record: CallRecord = await placeSimulatedCall({ ...target, script: callerScript(lines), maxDurationMs: 120_000, onEvent: liveTranscriptPrinter(style) }).done;
  if (record.webhookStatus !== 200) {
    process.stderr.write(`the server refused the call (webhook answered ${record.webhookStatus ?? 'nothing'}): is PUBLIC_URL or TWILIO_AUTH_TOKEN set differently for the server?\n`);
    return 1;
  }
  if (record.errors.length > 0) {
    process.stderr.write(`the call went wrong: ${record.errors.join('; ')}\n`);
    return 1;
  }
  console.log(style.dim(`\nCall over: ${record.endedBy === 'server' ? 'the agent hung up' : 'the caller hung up'}.`));
  return 0;
}
