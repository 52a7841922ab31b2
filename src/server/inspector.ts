/**
 * Stately inspector wiring (off by default: it costs throughput). Starts the bridge (inspector-bridge.ts: the page
 * that embeds stately.ai/inspect and the relay, on INSPECT_HOST, token required) and an in-process inspector that
 * publishes into it; every call's root actor is created with `inspect: inspector.inspect`, so each live call and its
 * children show up. In-process: no socket to the relay is needed to publish, so no client can publish either.
 */
import { createInspector } from '@statelyai/inspect';
import { configure } from 'safe-stable-stringify';
import type { InspectionEvent, Observer } from 'xstate';
import type { Logger } from '../../lib/logger.js';
import { startInspectorBridge } from './inspector-bridge.js';
import { listenError } from './startup-error.js';

/** The package's own WebSocket inspector serializes to this depth (actor snapshots can hold cycles). */
const stringify = configure({ maximumDepth: 10 });

export interface CallInspector {
  /** The bridge page, token included. */
  readonly url: string;
  readonly inspect: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  stop(): void;
}

export interface InspectorOptions {
  host: string;
  port: number;
  log: Logger;
}

export async function startInspector(opts: InspectorOptions): Promise<CallInspector> {
  const bridge = await startInspectorBridge({ host: opts.host, port: opts.port }).catch((err: unknown) => {
    throw listenError(err, 'INSPECT_PORT', opts.port, opts.host, 'INSPECT_HOST');
  });
  const inspector = createInspector({
    send: (event: unknown) => {
      const message = stringify(event);
      if (message !== undefined) bridge.publish(message);
    },
    start: () => {},
    stop: () => {},
  });
  const port = bridge.port;
  opts.log.info('stately inspector ready', {
    url: bridge.url,
    host: opts.host,
    hint: `open the url (it holds the access token); from another machine: ssh -L ${port}:127.0.0.1:${port} <host>, then open the same url there`,
  });
  return {
    url: bridge.url,
    inspect: inspector.inspect,
    stop() {
      void bridge.close();
    },
  };
}
