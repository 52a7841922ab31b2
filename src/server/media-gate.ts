/**
 * The media gate: who may open a media stream (`/media` WebSocket upgrade). A Twilio stream carries Twilio's
 * signature of the handshake; the console's softphone a single-use ticket instead. Then the server's state decides:
 * shutting down, draining with other instances to take the stream, at capacity, shared state unreachable (the stream
 * token's single use cannot be checked: fail closed), too many streams awaiting `start` from one address. Every
 * refusal is counted by reason and logged rate-limited (a peer can trigger them). An accepted stream goes to `accept`.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Config } from './config.js';
import type { Metrics } from './metrics.js';
import type { Admission } from './admission.js';
import { headerValue } from './http-params.js';
import { PendingStreams } from './pending-streams.js';
import { isValidTwilioSignature, streamUrlFor } from '../twilio/twiml.js';
import { ticketFromProtocolHeader, TICKET_PROTOCOL_PREFIX, type SoftphoneTickets } from '../console/softphone.js';
import type { SharedState } from '../shared/shared-state.js';
import type { LogThrottle } from '../../lib/log-throttle.js';
import { errorMessage, type Logger } from '../../lib/logger.js';

/** Twilio media frames are a few hundred bytes; anything near this is garbage and closes that socket only. */
const MAX_MEDIA_FRAME_BYTES = 256 * 1024;

export interface MediaGateDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  throttle: LogThrottle;
  softphoneTickets: SoftphoneTickets;
  shared: SharedState;
  admission: Admission;
  /** The URL Twilio signed the handshake for (known once the server listens). */
  publicUrl: () => string;
  /** The server's lifecycle, read at each upgrade. */
  lifecycle: () => { closing: boolean; draining: boolean };
  /**
   * A stream let in. `release`: it no longer awaits its `start` (it started, or ended); `ticketCallSid`: it came with
   * a softphone ticket, and its `start` must be for that ticket's call.
   */
  accept: (ws: WebSocket, release: () => void, ticketCallSid?: string) => void;
}

export interface MediaGate {
  /** For `server.on('upgrade', …)`. */
  onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): void;
}

export function createMediaGate(deps: MediaGateDeps): MediaGate {
  const { config, log, metrics, throttle, softphoneTickets, shared, admission } = deps;
  const pendingStreams = new PendingStreams(config.MAX_PENDING_STREAMS_PER_ADDRESS);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MEDIA_FRAME_BYTES,
    // Twilio offers no subprotocol; the softphone's ticket subprotocol is echoed (a browser requires the echo).
    handleProtocols: (protocols) => [...protocols].find((p) => p.startsWith(TICKET_PROTOCOL_PREFIX)) ?? false,
  });

  async function upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {}); // a peer resetting a refused handshake is not our error
    const refuse = (status: string, reason: string, message: string): void => {
      metrics.streamUpgradesRefused.inc({ reason });
      throttle.warn(log, `upgrade:${reason}`, message, { reason, remote: req.socket.remoteAddress });
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    };
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/media') return refuse('404 Not Found', 'unknown-path', 'websocket upgrade refused: unknown path');
    // The softphone's ticket, or else Twilio's signature of the handshake (the wss URL with no parameters).
    const ticket = ticketFromProtocolHeader(headerValue(req.headers['sec-websocket-protocol']));
    let ticketCallSid: string | undefined;
    if (ticket !== undefined) {
      const check = await softphoneTickets.redeem(ticket).catch(() => undefined);
      if (check === undefined) return refuse('503 Service Unavailable', 'shared-state-down', 'media stream refused: shared state (Redis) unreachable');
      if (!check.ok) return refuse('403 Forbidden', check.reason, 'media stream refused: bad softphone ticket');
      ticketCallSid = check.callSid;
    } else {
      const signature = headerValue(req.headers['x-twilio-signature']);
      if (!isValidTwilioSignature(config.twilioAuthToken, signature, streamUrlFor(deps.publicUrl()), {})) {
        const reason = signature ? 'bad-signature' : 'no-signature';
        return refuse('403 Forbidden', reason, 'media stream refused: bad or missing X-Twilio-Signature');
      }
    }
    const { closing, draining } = deps.lifecycle();
    if (closing) return refuse('503 Service Unavailable', 'shutting-down', 'media stream refused: shutting down');
    // With shared state a stream's token is as good on any instance: a draining one passes new streams to the others
    // (nginx retries the handshake on 503), else round robin would keep handing it calls and the drain never ends.
    // Alone, it takes the streams of the calls it answered before the drain (they have nowhere else to go).
    if (draining && shared.kind !== 'memory') return refuse('503 Service Unavailable', 'draining', 'media stream refused: draining (another instance takes it)');
    if (admission.atCapacity()) return refuse('503 Service Unavailable', 'at-capacity', 'media stream refused: at MAX_CONCURRENT_CALLS');
    // Fail closed: the stream token's single use cannot be checked without the shared state.
    if (!shared.isUp()) return refuse('503 Service Unavailable', 'shared-state-down', 'media stream refused: shared state (Redis) unreachable');
    if (socket.destroyed) return;
    const release = pendingStreams.add(req.socket.remoteAddress ?? '');
    if (release === undefined) return refuse('429 Too Many Requests', 'too-many-pending', 'media stream refused: too many streams awaiting start from one address');
    socket.once('close', release); // also when the handshake itself fails (ws then never calls back)
    wss.handleUpgrade(req, socket, head, (ws) => deps.accept(ws, release, ticketCallSid));
  }

  return {
    onUpgrade(req, socket, head) {
      upgrade(req, socket, head).catch((err: unknown) => {
        log.error('websocket upgrade failed', { error: errorMessage(err) });
        socket.destroy();
      });
    },
    close: () => wss.close(),
  };
}
