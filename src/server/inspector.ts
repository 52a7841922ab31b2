/**
 * Stately inspector wiring (off by default: it costs throughput). Starts @statelyai/inspect's local bridge server
 * (a page that embeds stately.ai/inspect plus a WebSocket relay) and a WebSocket inspector that feeds it; every call's
 * root actor is created with `inspect: inspector.inspect`, so each live call and its children show up.
 *
 * Note: the bridge server listens on all interfaces on INSPECT_PORT (the package offers no host option): call data
 * is visible to whoever can reach that port. Keep it firewalled and use `ssh -L PORT:localhost:PORT` from afar.
 */
import { createWebSocketInspector } from '@statelyai/inspect';
import { createInspectorServer } from '@statelyai/inspect/server';
import type { InspectionEvent, Observer } from 'xstate';
import type { Logger } from '../../lib/logger.js';

export interface CallInspector {
  readonly url: string;
  readonly inspect: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  stop(): void;
}

export function startInspector(port: number, log: Logger): CallInspector {
  const server = createInspectorServer({ port, autoOpen: false });
  const inspector = createWebSocketInspector({ url: `ws://localhost:${port}` });
  const url = `http://localhost:${port}`;
  log.info('stately inspector ready', { url, hint: `open ${url} (remote host: ssh -L ${port}:localhost:${port} <host>)` });
  return {
    url,
    inspect: inspector.inspect,
    stop() {
      // The WebSocket inspector retries every 5 s and keeps the process alive until stopped.
      inspector.stop();
      server.stop();
    },
  };
}
