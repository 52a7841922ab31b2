/**
 * The server process (`node dist/src/cli/main.js` in production, `npm start` builds and runs it): validated config →
 * providers (real, or built-in simulators when no keys) → server.
 * SIGTERM/SIGINT: stop taking calls, let active calls and calls on their way finish (DRAIN_TIMEOUT_MS), say goodbye
 * to the rest, then exit 0. A second SIGINT (Ctrl-C again) exits at once.
 */
import { ConfigError, loadConfig, type Config } from '../server/config.js';
import { createLogger } from '../../lib/logger.js';
import { createPhoneServer } from '../api/phone-server.js';
import { startupFailureText } from '../server/startup-error.js';

function configOrExit(): Config {
  try {
    const argv = process.argv.slice(2);
    const env = argv.includes('--inspect-calls') || argv.includes('--inspect') ? { ...process.env, INSPECT: '1' } : process.env;
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n');
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = configOrExit();
  const log = createLogger({ level: config.LOG_LEVEL, format: config.logFormat, instance: config.INSTANCE_ID });
  const phone = await createPhoneServer({ env: config.INSPECT ? { INSPECT: '1' } : {}, log });
  const { server } = phone;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      if (signal !== 'SIGINT') return;
      log.warn('second SIGINT: exiting without waiting for calls', { activeCalls: server.activeCalls() });
      process.exit(130);
    }
    stopping = true;
    log.info('shutdown requested', { signal, activeCalls: server.activeCalls(), drainTimeoutMs: config.DRAIN_TIMEOUT_MS });
    const { finished, saidGoodbye, cut } = await phone.shutdown();
    log.info('shutdown complete', { finished, saidGoodbye, cut });
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(startupFailureText(err) + '\n');
  process.exit(1);
});
