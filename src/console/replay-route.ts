/**
 * `POST /console/api/calls/:callSid/replay` (JSON `{ speed?: 1–20 }`): replays a recorded call into the Stately
 * inspector this server already runs (INSPECT=1), at `speed`× real time, in the background. It never opens an
 * inspector port of its own: without INSPECT it answers 409 with the `npm run replay` command to run where the
 * database is. One replay at a time (it shares the event loop with live calls); `close()` aborts it.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Router } from 'express';
import type { InspectionEvent, Observer } from 'xstate';
import { errorMessage, type Logger } from '../../lib/logger.js';
import { combineInspect } from '../records/capture.js';
import type { EventLogRead } from '../records/call-records.js';
import type { EventLog } from '../records/event-log.js';
import { replayCall } from '../replay/replay.js';
import type { ReplayRefused, ReplayStarted } from './replay-types.js';

export const MAX_REPLAY_SPEED = 20;

export interface ReplayRouteOptions {
  /** The inspector live calls feed (INSPECT=1): its page URL and the sink each call's actor reports to; undefined = not running. */
  inspector: { readonly url: string; readonly inspect: ((event: InspectionEvent) => void) | Observer<InspectionEvent> } | undefined;
  readEventLog: (callSid: string) => Promise<EventLogRead>;
  log: Logger;
}

export interface ReplayRoutes {
  readonly router: Router;
  /** Aborts the running replay (the server is closing) and waits until it has stopped. */
  close(): Promise<void>;
}

export function replayRoutes(opts: ReplayRouteOptions): ReplayRoutes {
  let running: { callSid: string; abort: AbortController; done: Promise<void> } | undefined;
  let closed = false;
  const router = Router();

  router.post('/calls/:callSid/replay', async (req, res) => {
    const speed = speedOf(req.body);
    if (speed === null) {
      res.status(400).json({ error: `speed must be a number from 1 to ${MAX_REPLAY_SPEED}` });
      return;
    }
    // The cheap refusals first: reading inflates and parses the whole event log (up to 4 MB), which a refused
    // request must not cost.
    if (closed) {
      res.status(503).json({ error: 'the server is shutting down' });
      return;
    }
    if (running !== undefined) {
      res.status(409).json({ error: `a replay is already running (call ${running.callSid}): wait for it to finish` });
      return;
    }
    const read = await opts.readEventLog(String(req.params.callSid));
    if (!read.ok) {
      res.status(read.status).json({ error: read.error });
      return;
    }
    const { log } = read;
    const inspect = combineInspect(opts.inspector?.inspect);
    if (opts.inspector === undefined || inspect === undefined) {
      const refused: ReplayRefused = {
        error: 'the Stately inspector is not running on the server: start it with INSPECT=1, or run this command where the call database is',
        command: `npm run replay -- ${log.callSid} --inspect${speed === 1 ? '' : ` --speed ${speed}`}`,
      };
      res.status(409).json(refused);
      return;
    }
    const started: ReplayStarted = { inspectorUrl: opts.inspector.url, ...lengthOf(log, speed) };
    running = { callSid: log.callSid, ...start(log, speed, inspect, started) };
    res.status(202).json(started);
  });

  function start(log: EventLog, speed: number, inspect: (event: InspectionEvent) => void, started: ReplayStarted) {
    const abort = new AbortController();
    const callSid = log.callSid;
    opts.log.info('console replay started', { callSid, speed, events: started.events, durationMs: started.durationMs });
    const pace = async (gapMs: number): Promise<void> => {
      abort.signal.throwIfAborted();
      if (gapMs / speed >= 1) await delay(gapMs / speed, undefined, { signal: abort.signal });
    };
    const done = replayCall(log, { inspect, pace })
      .then(
        (result) => {
          opts.log.info('console replay finished', { callSid, matchesRecording: result.ok, divergence: result.divergence?.message });
        },
        (err: unknown) => {
          if (abort.signal.aborted) opts.log.info('console replay stopped: the server is closing', { callSid });
          else opts.log.warn('console replay failed', { callSid, error: errorMessage(err) });
        },
      )
      .finally(() => (running = undefined));
    return { abort, done };
  }

  return {
    router,
    async close() {
      closed = true;
      running?.abort.abort();
      await running?.done;
    },
  };
}

/** The body's speed: 1 when absent, null when out of range. */
function speedOf(body: unknown): number | null {
  const speed = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).speed : undefined;
  if (speed === undefined) return 1;
  return typeof speed === 'number' && speed >= 1 && speed <= MAX_REPLAY_SPEED ? speed : null;
}

function lengthOf(log: EventLog, speed: number): Pick<ReplayStarted, 'events' | 'durationMs'> {
  const inputs = log.entries.filter((entry) => 'in' in entry);
  return { events: inputs.length, durationMs: Math.round((inputs.at(-1)?.t ?? 0) / speed) };
}
