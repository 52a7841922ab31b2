/**
 * winston logger: JSON lines in production, readable lines on a terminal. One line per meaningful event, with
 * `callSid` on every call line (use `callLogger`). Never log per audio frame. Secret-looking fields are redacted.
 */
import winston from 'winston';

export type Logger = winston.Logger;

/** Field names that hold secrets (`apiKey`, `authToken`, `OPENAI_API_KEY`, …) — but not `firstTokenMs`. */
const SECRET_KEY = /(^|[_-])?(api[_-]?key|auth[_-]?token|access[_-]?token|token|secret|password|authorization)$/i;

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEY.test(key)) info[key] = '[redacted]';
  }
  return info;
});

export interface LoggerOptions {
  level?: string;
  format?: 'json' | 'pretty';
  /** Tests pass `true` to keep the output clean. */
  silent?: boolean;
  /** Stamped on every line as `instance` (INSTANCE_ID: which of many instances wrote it). */
  instance?: string;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const format =
    opts.format === 'pretty'
      ? winston.format.combine(redact(), winston.format.timestamp({ format: 'HH:mm:ss.SSS' }), winston.format.colorize(), winston.format.printf(prettyLine))
      : winston.format.combine(redact(), winston.format.timestamp(), winston.format.json());
  return gateDisabledLevels(
    winston.createLogger({
      level: opts.level ?? 'info',
      format,
      silent: opts.silent ?? false,
      ...(opts.instance === undefined ? {} : { defaultMeta: { instance: opts.instance } }),
      transports: [new winston.transports.Console({ stderrLevels: ['error'] })],
    }),
  );
}

/**
 * winston runs every call through the whole format chain (redaction, timestamp, JSON serialisation) and only then
 * lets the transports drop lines below their level: at LOG_LEVEL=warn each `log.info`/`log.debug` still cost
 * ~7–10 µs of CPU. This answers disabled levels before any of that, with the same output for enabled ones.
 * Child loggers (`log.child`) inherit the gated methods.
 */
function gateDisabledLevels(logger: Logger): Logger {
  const methods = logger as unknown as Record<string, unknown>;
  for (const level of Object.keys(logger.levels)) {
    const original = methods[level];
    if (typeof original !== 'function') continue;
    methods[level] = function gated(this: Logger, ...args: unknown[]): Logger {
      if (!logger.isLevelEnabled(level)) return this;
      return (original as (...a: unknown[]) => Logger).apply(this, args);
    };
  }
  return logger;
}

function prettyLine(info: winston.Logform.TransformableInfo): string {
  const { level, message, timestamp, ...rest } = info;
  const extra = Object.keys(rest).length > 0 ? ' ' + JSON.stringify(rest) : '';
  return `${String(timestamp)} ${level} ${String(message)}${extra}`;
}

/** A child logger that stamps every line with the call's id. */
export function callLogger(log: Logger, callSid: string): Logger {
  return log.child({ callSid });
}

/** A logger that prints nothing: the default in tests. */
export const silentLogger: Logger = createLogger({ silent: true });

/** The message of anything thrown (an Error's message, anything else as text). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One warn line an operator can act on (what failed, its message), and the stack at debug for whoever digs. */
export function logFailure(log: Logger | undefined, what: string, err: unknown, meta: Record<string, unknown> = {}): void {
  if (log === undefined) return;
  log.warn(what, { ...meta, error: errorMessage(err) });
  if (err instanceof Error && err.stack !== undefined) log.debug(`${what}: stack`, { ...meta, stack: err.stack });
}
