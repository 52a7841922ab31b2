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
import { loadAgent } from '../agent/agent-loader.js';
import type { Agent } from '../agent/agent.js';
import { callTracingFromEnv, type CallTracing } from '../telemetry/call-tracing.js';

export interface PhoneServerOptions {
  /** The agent, or the path of an agent module; default AGENT, else the bundled front-desk example. */
  agent?: Agent | string;
  /** Overrides of the process environment (same variables, same validation). */
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  onCallEvent?: ServerDeps['onCallEvent'];
  /** Traces (default: from the standard OTEL_* variables, off when they are not set). */
  tracing?: CallTracing;
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
  const env = { ...process.env, ...opts.env };
  const config = loadConfig(env);
  const log = opts.log ?? createLogger({ level: config.LOG_LEVEL, format: config.logFormat, instance: config.INSTANCE_ID });
  const agent = typeof opts.agent === 'object' ? opts.agent : await loadAgent(opts.agent ?? config.AGENT);
  const metrics = createMetrics();
  const providers = await createProviders(config, log, {}, metrics);
  let inspector: CallInspector | undefined;
  let tracing: CallTracing | undefined;
  let server: RunningServer;
  try {
    tracing = opts.tracing ?? (await callTracingFromEnv(env, providers.llm.labels, log));
    if (config.INSPECT) {
      inspector = await startInspector({ host: config.INSPECT_HOST, port: config.INSPECT_PORT, log });
    }
    server = await startServer({ config, log, metrics, providers, inspector, agent, onCallEvent: opts.onCallEvent, tracing });
  } catch (err) {
    inspector?.stop();
    await tracing?.shutdown();
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
      await tracing?.shutdown();
      return result;
    },
  };
}
