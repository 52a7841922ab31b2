/**
 * `npm run demo`: one simulated phone call through the real server, fully offline, to the bundled example agent (or
 * `--agent path` / AGENT). The caller (a Twilio simulator) fetches signed TwiML, streams "speech" over the media
 * socket, hears the greeting, asks about an order (a tool round trip to the local orders API), asks for the opening
 * hours, interrupts a long answer, and says goodbye; the agent hangs up. Prints what each side said and heard, with
 * per-turn latency. Exits 0 when the call went as scripted.
 *
 * It reads the same environment as `npm start` (GREETING, SYSTEM_PROMPT, STT_*, LOG_LEVEL, …; provider keys are
 * ignored), except that PORT and HOST default to any free port on 127.0.0.1.
 *
 * Flags: --anthropic (LLM_PROVIDER=anthropic), --verbose (LOG_LEVEL=info; default warn), --inspect or
 * --inspect-calls (INSPECT=1: Stately inspector on INSPECT_PORT; prints its URL and, on a terminal, waits for Enter
 * before dialling so the browser can attach first), --wait-inspector (the inspector, and the wait even without a
 * terminal), --flux (STT_ENGINE=flux with eager end of turn, FLUX_EAGER_EOT_THRESHOLD=0.5 unless set: Deepgram Flux,
 * and a caller who hesitates in the middle of the second question), --agent path (the agent module; default AGENT,
 * else agents/front-desk.ts), --script file (a scenario `{ caller, model }`, .ts/.js/.json: the caller's lines and the
 * model's steps, the shape simulateCall takes; default OFFLINE_SCRIPT), --console (the web console with simulated
 * calls placed without end: see demo-console.ts).
 *
 * Another agent without a script gets a plain caller (hello, what can you do, goodbye) and the generic offline model,
 * which names the agent's tools but never calls them: the demo says so, and claims "as scripted" only for the
 * example agent's own scripted call.
 */
import { offlineConfig, startOfflineStack } from '../harness/offline-stack.js';
import { createLogger } from '../../lib/logger.js';
import { startInspector } from '../server/inspector.js';
import { startupFailureText } from '../server/startup-error.js';
import { callerScript } from '../../offline/twilio-caller-script.js';
import type { ScriptStep } from '../../offline/twilio-caller-types.js';
import { demoCallerScript } from '../../agents/front-desk-caller-script.js';
import { liveTranscriptPrinter, styleFor } from '../../offline/transcript-print.js';
import type { ToolFinishedEmitted, TurnEmitted } from '../../machines/emitted.js';
import { isDefaultAgent, loadAgent } from '../agent/agent-loader.js';
import { offlineModelScript } from '../harness/offline-simulators.js';
import { loadOfflineScenario } from '../harness/offline-scenario.js';

/** What the demo's caller says to an agent that brought no script: enough to hear it answer and hang up. */
const PLAIN_CALLER_LINES = ['Hello, what can you do for me?', 'Thanks, goodbye!'];

/** The value after `--flag` on the command line. */
function flagValue(flag: string): string | undefined {
  const argv = process.argv.slice(2);
  const at = argv.indexOf(flag);
  return at >= 0 ? argv[at + 1] : undefined;
}

/** `--agent path` (or AGENT): the agent module to call. */
const agentPath = (): string | undefined => flagValue('--agent');

const args = new Set(process.argv.slice(2));
const style = styleFor(process.stdout);

/** The environment as `npm start` reads it, with the flags applied on top. */
function demoEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (args.has('--anthropic')) env.LLM_PROVIDER = 'anthropic';
  if (args.has('--flux')) {
    env.STT_ENGINE = 'flux';
    env.FLUX_EAGER_EOT_THRESHOLD ??= '0.5';
  }
  if (args.has('--inspect') || args.has('--inspect-calls') || args.has('--wait-inspector')) env.INSPECT = '1';
  // The demo's own default is quiet (warn): the transcript is the output.
  if (args.has('--verbose')) env.LOG_LEVEL = 'info';
  else env.LOG_LEVEL ??= 'warn';
  return env;
}

async function main(): Promise<number> {
  if (args.has('--console')) {
    const { runConsoleDemo } = await import('./demo-console.js');
    return runConsoleDemo(demoEnv(), agentPath());
  }
  const config = offlineConfig(demoEnv());
  const provider = config.LLM_PROVIDER;
  const log = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT ?? 'pretty' });
  const inspector = config.INSPECT ? await startInspector({ host: config.INSPECT_HOST, port: config.INSPECT_PORT, log }) : undefined;
  const turns: TurnEmitted[] = [];
  const tools: ToolFinishedEmitted[] = [];
  const agentFile = agentPath() ?? config.AGENT;
  const agent = await loadAgent(agentFile);
  const scriptFile = flagValue('--script') ?? config.OFFLINE_SCRIPT;
  const scenario = scriptFile === undefined ? undefined : await loadOfflineScenario(scriptFile, flagValue('--script') === undefined ? 'OFFLINE_SCRIPT' : '--script');
  // The example agent's own scripted call is the demo; anything else is the developer's agent, with their script or none.
  const exampleCall = isDefaultAgent(agentFile) && scenario === undefined;
  const model = scenario?.model ?? (await offlineModelScript({ agentFile }));
  const callerSteps: readonly ScriptStep[] = scenario?.caller !== undefined ? callerScript(scenario.caller) : exampleCall ? demoCallerScript(config.STT_ENGINE === 'flux') : callerScript(PLAIN_CALLER_LINES);
  const stack = await startOfflineStack({
    config,
    log,
    inspector,
    agent,
    simulators: { llm: { script: model } },
    onCallEvent: (e) => {
      if (e.type === 'call.turn') turns.push(e);
      if (e.type === 'call.toolFinished') tools.push(e);
    },
  });
  const { server } = stack;
  const flux = config.STT_ENGINE === 'flux';
  const stt = flux
    ? `Deepgram Flux end of turn 400 ms of silence after the last word${config.FLUX_EAGER_EOT_THRESHOLD === undefined ? '' : ' (eager end of turn at 150 ms)'}`
    : `STT endpointing ${config.STT_ENDPOINTING_MS} ms of silence`;
  console.log(style.bold('Offline demo') + style.dim(` — server ${server.localUrl}; Twilio, Deepgram and ${provider} are local simulators`));
  console.log(style.dim(`Simulated provider latency: ${stt}, LLM first token 100 ms + 50 tokens/s, TTS first byte 50 ms.`));
  if (!exampleCall) {
    console.log(
      style.dim(
        scenario === undefined
          ? `Agent ${agent.name ?? agentFile}: no script given, so a plain caller talks to the generic offline model (it names your tools but never calls them). Script both sides with --script file (see the README).`
          : `Agent ${agent.name ?? agentFile}, scenario ${scriptFile}: ${scenario.caller === undefined ? 'a plain caller' : 'its caller'} and ${scenario.model === undefined ? 'the generic offline model' : 'its model'}.`,
      ),
    );
  }
  console.log('');
  const fluxEvents = new Map<string, number>();
  stack.providers.simulators?.deepgram.observer.on('flux.turnInfo', (e) => fluxEvents.set(e.event, (fluxEvents.get(e.event) ?? 0) + 1));
  if (inspector) {
    const port = config.INSPECT_PORT;
    console.log(`Stately inspector: ${style.bold(inspector.url)}` + style.dim(` (remote host: ssh -L ${port}:127.0.0.1:${port} <host>, then open the same URL)`));
    // Without a terminal (CI) nobody can press Enter: dial at once unless asked to wait.
    if (args.has('--wait-inspector') || process.stdin.isTTY) {
      console.log('Open it in a browser, then press Enter to place the call.');
      await enterPressed();
    }
    console.log('');
  }

  // With PUBLIC_URL set the server checks signatures against it, as it would behind a proxy.
  const call = stack.placeCall({
    script: callerSteps,
    maxDurationMs: 60000,
    onEvent: liveTranscriptPrinter(style),
  });
  const record = await call.done;
  if (record.firstAgentAudioMs !== null) console.log(style.dim(`\nGreeting audio ${record.firstAgentAudioMs.toFixed(1)} ms after the stream started.`));
  printServerTurns(turns);
  for (const tool of tools) {
    const args = JSON.stringify(tool.args);
    console.log(style.dim(`  tool ${tool.name}(${args}) → ${tool.outcome} in ${(tool.at - tool.startedAt).toFixed(1)} ms: ${tool.content}`));
  }
  if (flux) {
    const n = (event: string): number => fluxEvents.get(event) ?? 0;
    console.log(
      style.dim(
        `\nFlux turn events: ${n('StartOfTurn')} StartOfTurn, ${n('EagerEndOfTurn')} EagerEndOfTurn, ` +
          `${n('TurnResumed')} TurnResumed, ${n('EndOfTurn')} EndOfTurn, ${n('Update')} Update.`,
      ),
    );
  }

  const agentTurns = record.transcript.filter((t) => t.role === 'agent');
  const failedTools = tools.filter((t) => t.outcome === 'error');
  const healthy = record.errors.length === 0 && record.wrongStreamSid === 0 && failedTools.length === 0;
  let ok: boolean;
  if (exampleCall) {
    const toolRoundTrip = tools.some((t) => t.name === 'lookup_order' && t.outcome === 'ok');
    ok = healthy && record.endedBy === 'server' && record.clears >= 1 && agentTurns.length >= 5 && toolRoundTrip;
    console.log(
      ok
        ? style.bold('\nCall completed as scripted: greeting, an order looked up, a question, one barge-in, goodbye; the agent hung up.')
        : style.red(`\nThe call did not go as scripted: ended by ${record.endedBy}, errors: ${record.errors.join('; ') || 'none'}${failedTools.length > 0 ? `, tools failed: ${failedTools.map((t) => t.name).join(', ')}` : ''}`),
    );
  } else {
    ok = healthy && (record.endedBy === 'server' || record.endedBy === 'caller');
    const toolsLine = tools.length === 0 ? 'no tool ran' : `${tools.length - failedTools.length} tool call(s) ok, ${failedTools.length} failed`;
    console.log(
      ok
        ? style.bold(`\nCall completed: ${agentTurns.length} agent turns, ${toolsLine}; ${record.endedBy === 'server' ? 'the agent hung up' : 'the caller hung up'}.`)
        : style.red(`\nThe call went wrong: ended by ${record.endedBy}, ${toolsLine}${failedTools.map((t) => `; ${t.name}: ${t.content}`).join('')}; errors: ${record.errors.join('; ') || 'none'}`),
    );
  }
  await stack.close();
  inspector?.stop();
  if (stack.config.CALL_RECORDS) {
    const db = stack.config.CALL_DB_PATH === './data/calls.db' ? '' : ` --db ${stack.config.CALL_DB_PATH}`;
    console.log(style.dim(`Call record kept in ${stack.config.CALL_DB_PATH}: replay it with  npm run replay -- ${record.callSid}${db}  (add --inspect to watch it)`));
  }
  return ok ? 0 : 1;
}

/** Resolves on the first line typed on stdin (or when stdin closes). */
function enterPressed(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.stdin.off('data', onData);
      process.stdin.off('end', done);
      process.stdin.pause();
      resolve();
    };
    const onData = (chunk: Buffer) => {
      if (chunk.includes(0x0a) || chunk.includes(0x0d)) done();
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', done);
    process.stdin.resume();
  });
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
    console.error(startupFailureText(err, 'demo failed'));
    process.exit(1);
  },
);
