/**
 * The last handler of the express app: every error a route or a body parser raises is answered as JSON with a short
 * message, in every mode. Express's own handler prints the stack (with node_modules paths) unless NODE_ENV is
 * `production`; a malformed body must not tell anyone how the server is built.
 */
import http from 'node:http';
import type { ErrorRequestHandler } from 'express';
import { errorMessage, type Logger } from '../../lib/logger.js';
import type { LogThrottle } from '../../lib/log-throttle.js';

/** body-parser's error types, answered with a message of ours (theirs may quote the body). */
const CLIENT_ERRORS: Readonly<Record<string, string>> = {
  'entity.parse.failed': 'malformed JSON body',
  'entity.too.large': 'request body too large',
  'encoding.unsupported': 'unsupported content encoding',
  'charset.unsupported': 'unsupported charset',
  'request.aborted': 'request aborted',
  'request.size.invalid': 'request size did not match Content-Length',
  'parameters.too.many': 'too many parameters',
};

export function jsonErrorHandler(log: Logger, throttle: LogThrottle): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const status = statusOf(err);
    if (res.headersSent) {
      // Part of an answer is out: all that is left is to cut it.
      res.destroy();
      return;
    }
    if (status >= 500) {
      throttle.warn(log, `http:${req.method}`, 'request failed', { method: req.method, path: req.path, error: errorMessage(err) });
    }
    const type = isRecord(err) && typeof err.type === 'string' ? err.type : '';
    const message = (Object.hasOwn(CLIENT_ERRORS, type) ? CLIENT_ERRORS[type] : undefined) ?? (status >= 500 ? 'internal error' : http.STATUS_CODES[status] ?? 'bad request');
    res.status(status).json({ error: message });
  };
}

/** A 4xx the error carries (body-parser, http-errors), else 500. */
function statusOf(err: unknown): number {
  const raw = isRecord(err) ? (err.status ?? err.statusCode) : undefined;
  return typeof raw === 'number' && Number.isInteger(raw) && raw >= 400 && raw <= 599 ? raw : 500;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
