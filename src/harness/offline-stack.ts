/**
 * The whole offline world in one process: simulators + the real server on loopback, built exactly as `npm start`
 * builds it with no keys. Used by the demo and the end-to-end tests.
 */
import { loadConfig, type Config } from '../server/config.js';
import { silentLogger, type Logger } from '../../lib/logger.js';
import { createMetrics, type Metrics } from '../server/metrics.js';
import { createProviders, type Providers, type SimulatorOptions } from '../server/providers.js';
import { startServer, type RunningServer, type ServerDeps } from '../server/server.js';
import type { CallInspector } from '../server/inspector.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';
import type { SimulatedCall, SimulatedCallOptions } from '../../offline/twilio-caller-types.js';
import { callerPatienceAtSpeed, scriptAtSpeed, serverTimingsAtSpeed, simulatorsAtSpeed } from './sim-speed.js';

/** A simulated call to this stack: where the server listens and the token it checks are filled in. */
export type StackCallOptions = Omit<SimulatedCallOptions, 'serverUrl' | 'authToken'> & Partial<Pick<SimulatedCallOptions, 'serverUrl' | 'authToken'>>;

export interface OfflineStack {
  config: Config;
  log: Logger;
  metrics: Metrics;
  providers: Providers;
  server: RunningServer;
  /**
   * Dial the server as a simulated Twilio caller. Through the local Twilio REST API when it runs, so the call is one
   * Twilio knows: a transfer then stops this caller's stream as Twilio would.
   */
  placeCall(opts: StackCallOptions): SimulatedCall;
  close(): Promise<void>;
}

export interface OfflineStackOptions {
  /** The environment, read as `npm start` reads it (provider keys are ignored: this stack is always offline). */
  env?: NodeJS.ProcessEnv;
  /** Or a config already loaded with `offlineConfig` (the demo needs it before the stack starts). */
  config?: Config;
  simulators?: SimulatorOptions;
  log?: Logger | 'silent';
  inspector?: CallInspector;
  onCallEvent?: ServerDeps['onCallEvent'];
  recordOptions?: ServerDeps['recordOptions'];
  /** The agent the calls run (default: a plain agent with no tools but end_call). */
  agent?: ServerDeps['agent'];
  /** Traces of the calls (tests hand in an in-memory exporter's). */
  tracing?: ServerDeps['tracing'];
  /**
   * Run the whole world this many times faster (default 1): the simulators' paces, the server's conversation timings
   * and the callers' speech and patience, all by this one factor (src/harness/sim-speed.ts says which and why).
   */
  speed?: number;
}

/**
 * The configuration `npm start` would load from `env`, minus the provider keys (so always offline). PORT and HOST
 * default to any free port on loopback, so the stack never clashes with a server already running.
 */
export function offlineConfig(env: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({ PORT: '0', HOST: '127.0.0.1', ...withoutProviderKeys(env) });
}

/** The environment with the provider keys removed: what runs offline never reads them. */
export function withoutProviderKeys(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const key of ['DEEPGRAM_API_KEY', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY']) delete out[key];
  return out;
}

export async function startOfflineStack(opts: OfflineStackOptions = {}): Promise<OfflineStack> {
  // Records are off unless the environment asks (CALL_RECORDS / CALL_DB_PATH): tests must not write into ./data.
  const config = opts.config ?? offlineConfig({ CALL_RECORDS: 'off', ...opts.env });
  const log = opts.log === 'silent' || opts.log === undefined ? silentLogger : opts.log;
  const metrics = createMetrics({ defaultMetrics: false });
  const speed = opts.speed ?? 1;
  const simulators = speed === 1 ? opts.simulators : simulatorsAtSpeed(speed, opts.simulators);
  const created = await createProviders(config, log, simulators, metrics);
  const providers = speed === 1 ? created : serverTimingsAtSpeed(created, speed);
  let server: RunningServer;
  try {
    server = await startServer({ config, log, metrics, providers, inspector: opts.inspector, onCallEvent: opts.onCallEvent, recordOptions: opts.recordOptions, agent: opts.agent, tracing: opts.tracing });
  } catch (err) {
    await providers.close();
    throw err;
  }
  return {
    config,
    log,
    metrics,
    providers,
    server,
    placeCall(callOpts) {
      const paced = speed === 1 ? callOpts : { ...callerPatienceAtSpeed(speed, callOpts), script: scriptAtSpeed(callOpts.script, speed) };
      const full: SimulatedCallOptions = { serverUrl: server.localUrl, publicUrl: server.publicUrl, authToken: config.twilioAuthToken, ...paced };
      const rest = providers.simulators?.twilio;
      return rest === undefined ? placeSimulatedCall(full) : rest.placeInboundCall(full);
    },
    async close() {
      await server.close();
      await providers.close();
    },
  };
}


