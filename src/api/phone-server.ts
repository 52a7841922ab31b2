/**
 * `createPhoneServer({ agent })`: the whole server in one call, as `npm start` runs it — validated configuration
 * (the environment, plus `env` overrides), providers (real, or the offline simulators when there are no keys), the
 * Stately inspector when INSPECT is on, and the HTTP/WebSocket server running the agent.
 */
import { loadConfig, type Config } from '../server/config.js';
import { createLogger, type Logger } from '../../lib/logger.js';
import { createMetrics, type Metrics } from '../server/metrics.js';
import { createProviders, type Providers } from '../server/providers.js';
import { startInspector, type CallInspector } from '../server/inspector.js';
import { startServer, type RunningServer, type ServerDeps } from '../server/server.js';
import { assertPortFree } from '../server/startup-error.js';
import { loadAgent } from '../agent/agent-loader.js';
import type { Agent } from '../agent/agent.js';

export interface PhoneServerOptions {
  /** The agent, or the path of an agent module; default AGENT, else the bundled front-desk example. */
  agent?: Agent | string;
  /** Overrides of the process environment (same variables, same validation). */
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  onCallEvent?: ServerDeps['onCallEvent'];
}

export interface PhoneServer {
  readonly config: Config;
  readonly agent: Agent;
  readonly server: RunningServer;
  readonly providers: Providers;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Stop taking calls, let calls finish (DRAIN_TIMEOUT_MS), say goodbye to the rest, then close everything. */
  shutdown(): Promise<Awaited<ReturnType<RunningServer['drain']>>>;
}

export async function createPhoneServer(opts: PhoneServerOptions = {}): Promise<PhoneServer> {
  const config = loadConfig({ ...process.env, ...opts.env });
  const log = opts.log ?? createLogger({ level: config.LOG_LEVEL, format: config.logFormat, instance: config.INSTANCE_ID });
  const agent = typeof opts.agent === 'object' ? opts.agent : await loadAgent(opts.agent ?? config.AGENT);
  const metrics = createMetrics();
  const providers = await createProviders(config, log, {}, metrics);
  let inspector: CallInspector | undefined;
  let server: RunningServer;
  try {
    if (config.INSPECT) {
      await assertPortFree('INSPECT_PORT', config.INSPECT_PORT);
      inspector = startInspector(config.INSPECT_PORT, log);
    }
    server = await startServer({ config, log, metrics, providers, inspector, agent, onCallEvent: opts.onCallEvent });
  } catch (err) {
    inspector?.stop();
    await providers.close();
    throw err;
  }
  log.info('agent ready', { agent: agent.name, tools: Object.keys(agent.tools ?? {}), transferTargets: Object.keys(agent.transferTargets ?? {}) });
  return {
    config,
    agent,
    server,
    providers,
    metrics,
    log,
    async shutdown() {
      const result = await server.drain(config.DRAIN_TIMEOUT_MS);
      inspector?.stop();
      await providers.close();
      return result;
    },
  };
}
