/**
 * Wire-faithful local Deepgram: one HTTP server on 127.0.0.1 upgrading `/v1/listen` (live STT), `/v2/listen` (Flux,
 * conversational STT: deepgram-flux.ts) and `/v1/speak` (streaming TTS) WebSockets, with `Authorization: Token <key>`
 * checked on the upgrade (401 otherwise). The real `@deepgram/sdk` connects to it unchanged through
 * `new DeepgramClient({ apiKey, baseUrl: sim.url })`.
 *
 * `observer` emits timestamped events (see `DeepgramSimEventMap`) so tests and the benchmark can see what Deepgram
 * saw and when; `dropConnections()` simulates a network drop (sockets destroyed without a close frame);
 * `silenceConnections()` makes open sockets go quiet while staying open (the provider failure the actors' watchdogs
 * catch).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import { WebSocketServer, type WebSocket } from 'ws';
import { ListenSession, listenParamsError, parseListenParams } from './deepgram-listen.js';
import { SpeakSession } from './deepgram-speak.js';
import { FluxSession } from './deepgram-flux.js';
import { parseFluxParams } from './deepgram-flux-types.js';
import { parseBurstPhrases } from './speech-bursts.js';
import {
  newStats,
  simNow,
  type DeepgramSimEventMap,
  type DeepgramSimOptions,
  type DeepgramSimStats,
  type ResolvedSimOptions,
  type SessionContext,
  type SimFaults,
  type SocketKind,
} from './deepgram-sim-types.js';

export type { DeepgramSimEventMap, DeepgramSimOptions, DeepgramSimStats } from './deepgram-sim-types.js';

export interface DeepgramSimulator {
  port: number;
  /** `ws://127.0.0.1:PORT`: pass it as the SDK's `baseUrl`. */
  url: string;
  observer: EventEmitter<DeepgramSimEventMap>;
  stats: DeepgramSimStats;
  /** Simulate a network drop: destroy the open sockets (of one kind, or all) without a close handshake. */
  dropConnections(kind?: SocketKind): number;
  /**
   * Fault switch (one-shot): the next /v1/speak socket that has sent `afterBytes` of one flush's audio, with more of
   * it to come, is dropped right after that chunk — the caller hears that segment cut short.
   */
  dropSpeakMidSegment(afterBytes: number): void;
  /**
   * A socket that stays open and says nothing more: listen sockets keep taking audio and KeepAlive but send no
   * message; speak sockets keep taking Speak/Flush/Clear but send no audio, Flushed or Cleared. Only the sockets open
   * now (of one kind, or all): a new connection works normally.
   */
  silenceConnections(kind?: SocketKind): number;
  close(): Promise<void>;
}

const PATHS: Readonly<Record<string, SocketKind>> = { '/v1/listen': 'listen', '/v2/listen': 'flux', '/v1/speak': 'speak' };

/** The TTS pace when not set: what src/harness/sim-speed.ts scales for the tests. */
export const TTS_PACE_DEFAULTS = { ttsMsPerChar: 60, ttsFirstByteMs: 50 } as const;

function resolveOptions(opts: DeepgramSimOptions): ResolvedSimOptions {
  return {
    port: opts.port ?? 0,
    apiKey: opts.apiKey,
    log: opts.log,
    clockSpeed: opts.clockSpeed ?? 1,
    idleTimeoutMs: opts.idleTimeoutMs ?? 10_000,
    interimIntervalMs: opts.interimIntervalMs ?? 200,
    maxFinalSpanMs: opts.maxFinalSpanMs ?? 3000,
    sttLatencyMs: opts.sttLatencyMs ?? 0,
    withholdSpeechFinal: opts.withholdSpeechFinal,
    burstPhrases: opts.burstPhrases ?? [],
    ttsFirstByteMs: opts.ttsFirstByteMs ?? TTS_PACE_DEFAULTS.ttsFirstByteMs,
    ttsMsPerChar: opts.ttsMsPerChar ?? TTS_PACE_DEFAULTS.ttsMsPerChar,
    ttsChunkBytes: Math.max(1, opts.ttsChunkBytes ?? 1600),
    ttsChunkIntervalMs: opts.ttsChunkIntervalMs ?? 5,
    ttsClearDelayMs: opts.ttsClearDelayMs ?? 0,
    flushLimit: opts.flushLimit ?? { count: 20, windowMs: 60_000 },
    fluxEagerMs: opts.fluxEagerMs ?? 150,
    fluxFinalMs: opts.fluxFinalMs ?? 400,
    fluxStartOfTurnMs: opts.fluxStartOfTurnMs ?? 100,
    fluxUpdateIntervalMs: opts.fluxUpdateIntervalMs ?? 250,
  };
}

/** True when the `Authorization` header carries an acceptable key. */
function authorised(req: IncomingMessage, apiKey: string | undefined): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^(?:token|bearer)\s+(\S+)$/i.exec(header.trim());
  const key = match?.[1];
  if (!key) return false;
  return apiKey === undefined || key === apiKey;
}

function reject(socket: Duplex, status: number, message: string, body: Record<string, string>): void {
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${message}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n` +
      `dg-error: ${body.err_msg ?? message}\r\nConnection: close\r\n\r\n${json}`,
  );
}

export async function startDeepgramSimulator(opts: DeepgramSimOptions = {}): Promise<DeepgramSimulator> {
  const options = resolveOptions(opts);
  const log = options.log;
  const stats = newStats();
  const observer = new EventEmitter<DeepgramSimEventMap>();
  const sockets = new Map<WebSocket, SocketKind>();
  const faults: SimFaults = { dropSpeakAfterBytes: null };
  const sessions = new Map<WebSocket, { silence(): void }>();
  let nextConnection = 1;

  const server = createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"err_code":"NOT_FOUND"}');
  });
  const wss = new WebSocketServer({ noServer: true });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const kind: SocketKind | null = PATHS[url.pathname] ?? null;
    if (!kind) return reject(socket, 404, 'Not Found', { err_code: 'NOT_FOUND', err_msg: 'Unknown path' });
    if (!authorised(req, options.apiKey)) {
      stats.authRejected++;
      observer.emit('auth.rejected', { path: url.pathname, at: simNow() });
      log?.info('deepgram sim: rejected upgrade (bad credentials)', { path: url.pathname });
      return reject(socket, 401, 'Unauthorized', {
        err_code: 'INVALID_AUTH',
        err_msg: 'Invalid credentials.',
        request_id: '00000000-0000-0000-0000-000000000000',
      });
    }
    const flux = kind === 'flux' ? parseFluxParams(url.searchParams) : null;
    if (flux && 'error' in flux) {
      log?.info('deepgram sim: rejected /v2/listen upgrade (bad parameters)', { error: flux.error });
      return reject(socket, 400, 'Bad Request', { err_code: 'Bad Request', err_msg: flux.error, request_id: '00000000-0000-0000-0000-000000000000' });
    }
    const listen = kind === 'listen' ? parseListenParams(url.searchParams) : null;
    const listenError = listen === null ? null : listenParamsError(listen, options.clockSpeed);
    if (listenError !== null) {
      log?.info('deepgram sim: rejected /v1/listen upgrade (bad parameters)', { error: listenError });
      return reject(socket, 400, 'Bad Request', { err_code: 'Bad Request', err_msg: listenError, request_id: '00000000-0000-0000-0000-000000000000' });
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = nextConnection++;
      const params = Object.fromEntries(url.searchParams.entries());
      sockets.set(ws, kind);
      ws.on('close', () => {
        sockets.delete(ws);
        sessions.delete(ws);
      });
      const ctx: SessionContext = {
        connection,
        options,
        stats,
        faults,
        // EventEmitter's generic emit cannot be called with a generic key; the map type still checks every caller.
        emit: (name, ...payload) => (observer.emit as (n: string, ...a: unknown[]) => boolean).call(observer, name, ...payload),
      };
      if (listen) {
        stats.listenConnections++;
        sessions.set(ws, new ListenSession(ws, listen, ctx));
        observer.emit('listen.open', { connection, at: simNow(), params });
      } else if (flux) {
        stats.fluxConnections++;
        observer.emit('flux.open', { connection, at: simNow(), params });
        new FluxSession(ws, flux, ctx);
      } else {
        stats.speakConnections++;
        sessions.set(ws, new SpeakSession(ws, url.searchParams.get('model') ?? 'aura-2-thalia-en', ctx));
        observer.emit('speak.open', { connection, at: simNow(), params });
      }
      log?.debug('deepgram sim: connection opened', { kind, connection });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  log?.info('deepgram sim: listening', { port });

  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    observer,
    stats,
    dropConnections(kind?: SocketKind): number {
      let dropped = 0;
      for (const [ws, k] of sockets) {
        if (kind && k !== kind) continue;
        ws.terminate();
        dropped++;
      }
      log?.info('deepgram sim: dropped connections', { kind: kind ?? 'all', dropped });
      return dropped;
    },
    dropSpeakMidSegment(afterBytes: number): void {
      faults.dropSpeakAfterBytes = Math.max(1, afterBytes);
    },
    silenceConnections(kind?: SocketKind): number {
      let silenced = 0;
      for (const [ws, k] of sockets) {
        if (kind && k !== kind) continue;
        sessions.get(ws)?.silence();
        silenced++;
      }
      log?.info('deepgram sim: silenced connections', { kind: kind ?? 'all', silenced });
      return silenced;
    },
    close(): Promise<void> {
      for (const ws of sockets.keys()) ws.terminate();
      wss.close();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** For `src/simulators/cli.ts`: simulator options from environment variables (all optional). */
export function deepgramSimOptionsFromEnv(env: NodeJS.ProcessEnv): DeepgramSimOptions {
  const num = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
    return n;
  };
  const opts: DeepgramSimOptions = {};
  const assign = <K extends keyof DeepgramSimOptions>(key: K, value: DeepgramSimOptions[K] | undefined): void => {
    if (value !== undefined) opts[key] = value;
  };
  assign('port', num('DEEPGRAM_SIM_PORT'));
  assign('apiKey', env.DEEPGRAM_SIM_API_KEY || undefined);
  assign('idleTimeoutMs', num('DEEPGRAM_SIM_IDLE_TIMEOUT_MS'));
  assign('interimIntervalMs', num('DEEPGRAM_SIM_INTERIM_INTERVAL_MS'));
  assign('sttLatencyMs', num('DEEPGRAM_SIM_STT_LATENCY_MS'));
  assign('fluxEagerMs', num('DEEPGRAM_SIM_FLUX_EAGER_MS'));
  assign('fluxFinalMs', num('DEEPGRAM_SIM_FLUX_FINAL_MS'));
  assign('ttsFirstByteMs', num('DEEPGRAM_SIM_TTS_FIRST_BYTE_MS'));
  assign('ttsMsPerChar', num('DEEPGRAM_SIM_TTS_MS_PER_CHAR'));
  assign('ttsChunkIntervalMs', num('DEEPGRAM_SIM_TTS_CHUNK_INTERVAL_MS'));
  assign('burstPhrases', parseBurstPhrases(env['DEEPGRAM_SIM_BURST_PHRASES']));
  return opts;
}
