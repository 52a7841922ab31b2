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
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const format =
    opts.format === 'pretty'
      ? winston.format.combine(redact(), winston.format.timestamp({ format: 'HH:mm:ss.SSS' }), winston.format.colorize(), winston.format.printf(prettyLine))
      : winston.format.combine(redact(), winston.format.timestamp(), winston.format.json());
  return winston.createLogger({
    level: opts.level ?? 'info',
    format,
    silent: opts.silent ?? false,
    transports: [new winston.transports.Console({ stderrLevels: ['error'] })],
  });
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
