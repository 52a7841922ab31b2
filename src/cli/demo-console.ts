/**
 * `npm run demo -- --console`: the offline stack with the console on, and simulated callers dialling it without
 * end (a few at once) so that calls can be watched live in the browser and then browsed as past calls. Prints the
 * console's URL and password; Ctrl-C stops it.
 */
import { randomBytes } from 'node:crypto';
import { offlineConfig, startOfflineStack } from '../harness/offline-stack.js';
import { demoCallerScript } from '../../agents/front-desk-caller-script.js';
import type { SimulatedCall } from '../../offline/twilio-caller.js';
import type { ScriptStep } from '../../offline/twilio-caller-types.js';
import { styleFor } from '../../offline/transcript-print.js';
import { createLogger } from '../../lib/logger.js';
import { loadAgent } from '../agent/agent-loader.js';
import { buildConsoleIfStale } from '../console/ensure-built.js';

/** Calls in flight at once. */
const CONCURRENT = 3;

const SCRIPTS: ReadonlyArray<readonly ScriptStep[]> = [
  demoCallerScript(),
  [{ waitForAgent: 'reply' }, { say: 'Hi, what are your opening hours?' }, { waitForAgent: 'reply' }, { pause: 1500 }, { say: 'Do you work on Sundays?' }, { waitForAgent: 'reply' }, { say: 'Thanks, bye!' }, { waitForAgent: 'reply' }],
  [{ waitForAgent: 'reply' }, { say: 'I have a question about my order.' }, { waitForAgent: 'reply' }, { say: 'The order number is 4271.' }, { waitForAgent: 'reply' }, { say: 'Perfect, goodbye!' }, { waitForAgent: 'reply' }],
];

export async function runConsoleDemo(env: NodeJS.ProcessEnv, agentFile: string | undefined): Promise<number> {
  await buildConsoleIfStale();
  const password = env.CONSOLE_PASSWORD ?? randomBytes(24).toString('base64url');
  const config = offlineConfig({ ...env, CONSOLE_PASSWORD: password, CALL_RECORDS: env.CALL_RECORDS ?? 'on' });
  const log = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT ?? 'pretty' });
  const stack = await startOfflineStack({ config, log, agent: await loadAgent(agentFile ?? config.AGENT) });
  const style = styleFor(process.stdout);
  const url = `${stack.server.localUrl}/console/`;
  console.log(style.bold('Console demo') + style.dim(' — the offline stack; simulated callers dial it, a few at once, until Ctrl-C'));
  console.log(`\n  Console:  ${style.bold(url)}`);
  console.log(`  Password: ${style.bold(password)}` + style.dim(env.CONSOLE_PASSWORD === undefined ? '  (set CONSOLE_PASSWORD to choose it)' : ''));
  console.log(style.dim(`  Remote host: ssh -L ${stack.server.port}:127.0.0.1:${stack.server.port} <host>, then open the URL locally.`));
  console.log(style.dim(`  Past calls are kept in ${config.CALL_DB_PATH}.\n`));

  const active = new Set<SimulatedCall>();
  let stopping = false;
  let placed = 0;
  const place = (): void => {
    if (stopping) return;
    const n = placed++;
    const call = stack.placeCall({
      from: `+1555010${String(1000 + (n % 9000)).padStart(4, '0')}`,
      script: SCRIPTS[n % SCRIPTS.length] ?? demoCallerScript(),
      maxDurationMs: 90_000,
    });
    active.add(call);
    void call.done.then((record) => {
      active.delete(call);
      console.log(style.dim(`call ${n + 1} ${record.callSid} ended by ${record.endedBy}`));
      // A short gap between calls, so an ended call can be seen leaving the live view.
      if (!stopping) setTimeout(place, 1500 + Math.random() * 2500);
    });
  };
  // Staggered, so the calls are at different points of their conversations.
  for (let i = 0; i < CONCURRENT; i++) setTimeout(place, i * 4000);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  stopping = true;
  console.log(style.dim('\nStopping: hanging up the calls in progress…'));
  for (const call of active) call.hangup();
  await Promise.all([...active].map((c) => c.done));
  await stack.close();
  return 0;
}
