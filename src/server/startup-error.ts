/**
 * Start-up failures the operator fixes with a setting (a port in use, a host that is not ours): one line naming the
 * variable and the fix, exit 1 — never a multi-line stack for a mistake in the environment.
 */
import { AgentLoadError } from '../agent/agent-loader.js';
import { ConfigError } from './config.js';

export class StartupError extends Error {
  constructor(readonly variable: string, message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** Turns a listen() failure into a StartupError naming `variable` when the cause is the setting; else returns it. */
export function listenError(err: unknown, variable: string, port: number, host?: string, hostVariable = 'HOST'): unknown {
  const code = err instanceof Error && 'code' in err ? err.code : undefined;
  const where = host === undefined ? `port ${port}` : `${host}:${port}`;
  if (code === 'EADDRINUSE')
    return new StartupError(variable, `${variable}=${port} is already in use (${where}): stop the process listening there, or set ${variable} to a free port`);
  if (code === 'EACCES')
    return new StartupError(variable, `${variable}=${port} needs privileges this process lacks (${where}): set ${variable} to 1024 or above`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new StartupError(hostVariable, `${hostVariable}=${host ?? ''} is not an address of this machine: use 0.0.0.0 (all interfaces) or 127.0.0.1`);
  return err;
}

/** What a CLI prints when start-up fails: the one line for configuration mistakes, the stack for bugs. */
export function startupFailureText(err: unknown, prefix = 'fatal'): string {
  if (err instanceof StartupError || err instanceof ConfigError || err instanceof AgentLoadError) return err.message;
  return `${prefix}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
}
