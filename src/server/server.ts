/**
 * The phone server: express for the webhooks, ws for Twilio media streams (one call machine per stream), health,
 * metrics and a graceful drain. Everything a call needs from outside comes in `ServerDeps`, so tests, the demo and
 * the benchmark build servers with their own providers.
 *
 * A stream must belong to a call we answered: `/voice` puts a stream token in the TwiML, the handshake signature is
 * checked on upgrade (media-gate.ts), and the transport checks the token on `start` (see stream-token.ts). The console's softphone
 * gets a single-use ticket instead of the signature (see console/softphone.ts), and a stream token all the same.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { WebSocket } from 'ws';
import type { Config } from './config.js';
import { startCall, type CallDeps, type CallHandle } from './call-session.js';
import { defineAgent, type Agent } from '../agent/agent.js';
import { agentCallOptions, agentPhrases } from '../agent/agent-runtime.js';
import { defaultCallOptions } from '../../machines/options.js';
import { createTwilioRestClient } from '../twilio/twilio-rest.js';
import { listenError } from './startup-error.js';
import { authorizeStreamStart, deriveStreamTokenSecret, StreamTokens } from '../twilio/stream-token.js';
import { drainCalls, type DrainResult } from './drain.js';
import { LogThrottle } from '../../lib/log-throttle.js';
import { LiveCalls } from './live-calls.js';
import { startCallRecords, type CallRecordHooks } from '../records/call-records.js';
import { bearerCheck } from '../records/router.js';
import { DEFAULT_FAILED_AUTH_LIMITS, FailedAuthThrottle } from '../shared/failed-auth-throttle.js';
import { createSharedState, type SharedState } from '../shared/shared-state.js';
import { CallCommands } from './call-commands.js';
import { callsApi } from './calls-api.js';
import { Admission } from './admission.js';
import { SOFTPHONE_CALL_PARAMETERS, SoftphoneTickets, softphoneRouter, TICKETS_PER_MINUTE } from '../console/softphone.js';
import { mountConsole } from '../console/console-router.js';
import { LiveFeed } from '../console/live-feed.js';
import { replayRoutes } from '../console/replay-route.js';
import { jsonErrorHandler } from './error-handler.js';
import { twilioWebhooks } from './twilio-webhooks.js';
import { OutboundGuard } from './outbound-guard.js';
import { createMediaGate } from './media-gate.js';

export interface ServerDeps extends Omit<CallDeps, 'agent' | 'callOptions'> {
  config: Config;
  /** The agent the calls run (default: a plain agent from SYSTEM_PROMPT / GREETING, no tools but end_call). */
  agent?: Agent;
  /** Call-record hooks and tuning (the agent's name and onCallEnd; tests shorten the webhook backoff). */
  recordOptions?: CallRecordHooks;
  /** Shared state built elsewhere (default: from REDIS_URL, else in memory; closed with the server only when built here). */
  shared?: SharedState;
}

export interface RunningServer {
  readonly port: number;
  /** http://127.0.0.1:port — where local callers reach it. */
  readonly localUrl: string;
  /** The base Twilio signs against (PUBLIC_URL, or the local URL when none is configured). */
  readonly publicUrl: string;
  activeCalls(): number;
  /** The console's live calls feed (undefined when the console is off): the bench reads its stats. */
  readonly liveFeed: LiveFeed | undefined;
  /** Mints stream tokens (the `/voice` TwiML carries one; other authenticated entry points may mint their own). */
  readonly streamTokens: StreamTokens;
  /** Single-use tickets that let the console's softphone open `/media` without Twilio's signature. */
  readonly softphoneTickets: SoftphoneTickets;
  /** This instance's name (INSTANCE_ID). */
  readonly instanceId: string;
  /** Why `/readyz` says no (empty: ready). */
  notReadyReasons(): string[];
  /**
   * Stop taking new calls; wait for active calls and calls on their way up to `timeoutMs`; hang up the rest politely
   * (goodbye phrase), give them `goodbyeMs` (default DRAIN_GOODBYE_MS), then close.
   */
  drain(timeoutMs: number, opts?: { goodbyeMs?: number }): Promise<DrainResult>;
  close(): Promise<void>;
}

export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  const { config, log, metrics } = deps;
  const agent = deps.agent ?? defineAgent({ name: 'default', systemPrompt: defaultCallOptions.systemPrompt, greeting: defaultCallOptions.greeting });
  const explicit = { systemPrompt: config.SYSTEM_PROMPT, greeting: config.GREETING };
  // One REST client for outbound calls and transfers, when the account is configured.
  const twilioRest =
    config.TWILIO_ACCOUNT_SID === undefined
      ? undefined
      : createTwilioRestClient(config.TWILIO_ACCOUNT_SID, config.twilioAuthToken, config.TWILIO_API_BASE_URL);
  // Offline with no account configured: transfers go to the local Twilio REST API, which knows the simulated calls.
  const offlineRest = deps.providers.simulators?.twilio;
  const transferRest = twilioRest ?? (offlineRest && createTwilioRestClient(offlineRest.accountSid, config.twilioAuthToken, offlineRest.url));
  const callDeps: CallDeps = {
    ...deps,
    agent,
    callOptions: {
      ...agentCallOptions(agent, deps.providers.callOptions, explicit),
      // Known before any call: the model is told at once, and the caller never hears an announcement that fails.
      transferUnavailable: transferRest === undefined ? 'transfers need TWILIO_ACCOUNT_SID (the Twilio REST API is not configured)' : null,
    },
    logTranscripts: deps.logTranscripts ?? config.LOG_TRANSCRIPTS,
  };
  await deps.providers.warmPhrases(agentPhrases(callDeps.callOptions, agent));
  const calls = new Set<CallHandle>();
  const ownShared = deps.shared === undefined;
  const shared =
    deps.shared ??
    (await createSharedState({
      redisUrl: config.REDIS_URL,
      prefix: config.REDIS_KEY_PREFIX,
      instanceId: config.INSTANCE_ID,
      log,
      ownerTtlMs: config.CALL_OWNER_TTL_MS,
      onStatus: (up) => {
        metrics.sharedStateUp.set(up ? 1 : 0);
        if (!up) metrics.sharedStateOutages.inc();
      },
    }));
  // By CallSid, for commands that concern a live call (the AMD result, a hangup or transfer through the API),
  // wherever it is live (another instance, with shared state).
  const liveCalls = new LiveCalls(log);
  const commands = new CallCommands(liveCalls, shared, log, metrics);
  await commands.listen();
  let draining = false;
  /** The drain has stopped waiting: a stream arriving now would only be cut, so it is refused at the handshake. */
  let closing = false;
  let publicUrl = config.PUBLIC_URL ?? '';
  const streamTokens = new StreamTokens({
    secret: config.STREAM_TOKEN_SECRET ?? deriveStreamTokenSecret(config.twilioAuthToken),
    ttlMs: config.STREAM_TOKEN_TTL_MS,
    ledger: shared.tokens,
  });
  const softphoneTickets = new SoftphoneTickets(shared.tickets);
  // Whether to take more calls: /readyz, /voice and the stream upgrade ask it.
  const admission = new Admission({
    maxCalls: config.MAX_CONCURRENT_CALLS,
    activeCalls: () => calls.size,
    draining: () => draining,
    sharedStateUp: () => shared.isUp(),
  });
  const outboundGuard = new OutboundGuard(config.OUTBOUND_CALLS_PER_MINUTE, config.OUTBOUND_ALLOWED_PREFIXES);
  const softphoneRoutes = softphoneRouter({
    tickets: softphoneTickets,
    streamTokens,
    draining: () => draining,
    grantWindow: shared.window('softphone-grants', TICKETS_PER_MINUTE, 60_000),
  });
  // Lines a peer can trigger (refused upgrades, rejected streams) are rate-limited; /metrics has the exact counts.
  const throttle = new LogThrottle();
  let notifyChange: () => void = () => {};
  const changed = (): Promise<void> => new Promise((resolve) => (notifyChange = resolve));
  // The web console: off (404) unless a console password or the calls API token is set.
  const consolePassword = config.CONSOLE_PASSWORD ?? config.CALLS_API_TOKEN;
  // Failed attempts are counted per secret: when the calls API token is also the console password, one throttle
  // covers /calls and the login, so neither is a way around the other's limit.
  // The counts are in the shared state, so spreading guesses over instances gains nothing.
  const authThrottle = (secret: string) =>
    new FailedAuthThrottle(DEFAULT_FAILED_AUTH_LIMITS, (name, limit, windowMs) => shared.window(`auth-${secret}-${name}`, limit, windowMs));
  const bearerThrottle = authThrottle('calls-api');
  const loginThrottle = consolePassword === config.CALLS_API_TOKEN ? bearerThrottle : authThrottle('console');
  const checkBearer = bearerCheck(bearerThrottle, log);
  const records = startCallRecords({ config, log, metrics, agent: agent.name, onCallEnd: agent.onCallEnd, bearerThrottle, ...deps.recordOptions });

  const app = express();
  app.disable('x-powered-by');
  // Behind a reverse proxy: req.ip is the client's address from X-Forwarded-For (the throttles key on it).
  app.set('trust proxy', config.TRUST_PROXY);
  app.use(express.urlencoded({ extended: false, limit: '64kb' }));
  app.use(express.json({ limit: '16kb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: draining ? 'draining' : 'ok', activeCalls: calls.size, offline: config.offline });
  });

  // Readiness ("send me calls"), for the balancer and the orchestrator; /healthz stays liveness only.
  app.get('/readyz', (_req, res) => {
    const reasons = admission.notReadyReasons();
    res.status(reasons.length === 0 ? 200 : 503).json({ ready: reasons.length === 0, reasons, activeCalls: calls.size, maxCalls: config.MAX_CONCURRENT_CALLS, instance: config.INSTANCE_ID });
  });

  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  // POST /voice (TwiML) and POST /amd (the answering-machine result), both signed by Twilio.
  app.use(
    twilioWebhooks({
      config,
      log,
      metrics,
      throttle,
      publicUrl: () => publicUrl,
      draining: () => draining,
      alone: shared.kind === 'memory',
      sharedUp: () => shared.isUp(),
      atCapacity: () => admission.atCapacity(),
      mintToken: async (callSid) => (await streamTokens.mint(callSid)).token,
      deliver: (callSid, event) => commands.deliver(callSid, event),
    }),
  );

  app.use(records.router); // GET /calls, /calls/:callSid, /calls/:callSid/events

  const liveFeed =
    consolePassword === undefined
      ? undefined
      : new LiveFeed({
          log,
          // With shared state, every instance's live calls on every instance's console.
          ...(shared.kind === 'memory'
            ? {}
            : { cluster: { instanceId: config.INSTANCE_ID, bus: shared.bus, owners: (sids: readonly string[]) => shared.calls.owners(sids) } }),
        });
  // A past call replayed into this server's own inspector (INSPECT=1), from the call's page.
  const replays = replayRoutes({ inspector: deps.inspector, readEventLog: (callSid) => records.readEventLog(callSid), log });
  mountConsole(app, {
    password: consolePassword,
    loginThrottle,
    // GET /console/api/live (SSE), /console/api/calls… (the call records, as GET /calls answers them); POST
    // /console/api/softphone, /console/api/calls/:callSid/replay.
    apiRoutes: liveFeed === undefined ? [] : [liveFeed.router(), records.readRoutes, softphoneRoutes, replays.router],
    log,
    secureCookie: (config.PUBLIC_URL ?? '').startsWith('https:'),
    publicUrl: config.PUBLIC_URL,
    onSessionsRevoked: () => liveFeed?.close(),
    // One signing key and revocation counter for every instance sharing the state: a session from one is good on
    // all, and a logout on one ends it on all.
    sessionKeys: shared.consoleSessions,
    inspector: deps.inspector !== undefined,
  });

  // POST /calls (outbound), /calls/:callSid/hangup and /calls/:callSid/transfer.
  app.use(
    callsApi({
      config,
      log,
      twilioRest,
      commands,
      transferTargets: agent.transferTargets ?? {},
      publicUrl: () => publicUrl,
      draining: () => draining,
      checkBearer,
      outboundGuard,
      throttle,
    }),
  );

  // Last: errors of every route and body parser answer JSON, never a stack.
  app.use(jsonErrorHandler(log, throttle));

  // Deliberate limits: slow-header connections are cut after HTTP_HEADERS_TIMEOUT_MS (checked every second, not
  // node's default 30 s), and the process holds at most MAX_CONNECTIONS sockets.
  const server = http.createServer(
    {
      headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(1000, config.HTTP_HEADERS_TIMEOUT_MS),
    },
    app,
  );
  server.maxConnections = config.MAX_CONNECTIONS;
  const mediaGate = createMediaGate({
    config,
    log,
    metrics,
    throttle,
    softphoneTickets,
    shared,
    admission,
    publicUrl: () => publicUrl,
    lifecycle: () => ({ closing, draining }),
    accept: acceptStream,
  });
  server.on('upgrade', (req, socket, head) => mediaGate.onUpgrade(req, socket, head));

  /**
   * `release`: the stream no longer awaits its `start` (it started, or ended); `ticketCallSid`: the stream came with
   * a softphone ticket, and its `start` must be for that ticket's call.
   */
  function acceptStream(ws: WebSocket, release: () => void, ticketCallSid?: string): void {
    metrics.activeCalls.inc();
    let callSid: string | undefined;
    let durationLimit: NodeJS.Timeout | undefined;
    const call = startCall(ws, { ...callDeps, records }, {
      twilioRest: transferRest,
      authorizeStart: async (start) => {
        if (ticketCallSid !== undefined && start.callSid !== ticketCallSid) return { ok: false, reason: 'ticket-other-call' };
        const decision = await authorizeStreamStart(streamTokens, start);
        notifyChange(); // a token was redeemed (or not): the drain looks again
        // A ticket stream is the console's softphone: who calls whom is the server's word, not the page's.
        if (decision.ok && ticketCallSid !== undefined) return { ok: true, customParameters: { ...SOFTPHONE_CALL_PARAMETERS } };
        return decision;
      },
      startTimeoutMs: config.STREAM_START_TIMEOUT_MS,
      onRejected: (reason) => {
        metrics.streamsRejected.inc({ reason });
        throttle.warn(log, `stream:${reason}`, 'media stream rejected: no valid start', { reason });
      },
      onCallSid: (sid) => {
        release();
        callSid = sid;
        void commands.register(sid, call);
        // A caller from another process (npm run call --offline, the console's softphone): the local Twilio API
        // learns the call, and ends its stream on a transfer as Twilio does (the socket closes).
        offlineRest?.knowCall({ sid, leg: { endStream: () => ws.close(1000) } });
        if (config.MAX_CALL_DURATION_MS > 0) {
          durationLimit = setTimeout(() => {
            metrics.callsEndedAtLimit.inc();
            call.hangup('max call duration', { polite: true });
          }, config.MAX_CALL_DURATION_MS);
        }
      },
    });
    calls.add(call);
    liveFeed?.track(call, agent.name);
    notifyChange();
    void call.done.then(() => {
      release();
      clearTimeout(durationLimit);
      calls.delete(call);
      liveFeed?.untrack(call);
      if (callSid !== undefined) commands.unregister(callSid, call);
      metrics.activeCalls.dec();
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError(err, 'PORT', config.PORT, config.HOST)));
    server.listen(config.PORT, config.HOST, () => resolve());
  }).catch(async (err: unknown) => {
    await records.close();
    throw err;
  });
  const port = (server.address() as AddressInfo).port;
  const localUrl = `http://127.0.0.1:${port}`;
  if (publicUrl === '') publicUrl = localUrl;
  log.info('server listening', {
    host: config.HOST,
    ...(config.loopbackBecauseOffline
      ? { hostNote: 'offline: loopback only, its webhooks are signed with a public constant (set HOST to listen elsewhere)' }
      : {}),
    port,
    publicUrl,
    offline: config.offline,
    inspector: deps.inspector?.url,
    console: consolePassword === undefined ? 'off (set CONSOLE_PASSWORD)' : `${localUrl}/console`,
  });
  // Real providers and no Twilio settings (config allows it only with a console login): say where calls come from.
  if (!config.offline && config.TWILIO_AUTH_TOKEN === undefined)
    log.info(`no Twilio settings: phone calls are refused; talk to the agent from the console's softphone at ${localUrl}/console`);

  async function close(): Promise<void> {
    await replays.close();
    for (const call of calls) call.hangup('server closing');
    await Promise.all([...calls].map((c) => c.done));
    await records.close();
    mediaGate.close();
    liveCalls.close();
    liveFeed?.close();
    if (ownShared) await shared.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
  }

  return {
    port,
    localUrl,
    get publicUrl() {
      return publicUrl;
    },
    activeCalls: () => calls.size,
    liveFeed,
    streamTokens,
    softphoneTickets,
    instanceId: config.INSTANCE_ID,
    notReadyReasons: () => admission.notReadyReasons(),
    async drain(timeoutMs: number, opts: { goodbyeMs?: number } = {}) {
      draining = true;
      const result = await drainCalls(
        {
          calls: () => calls,
          pending: () => streamTokens.pending(),
          // A token issued here may be redeemed on another instance: no local change tells of it.
          pollMs: shared.kind === 'memory' ? undefined : 250,
          changed,
          stopAccepting: () => (closing = true),
          log,
        },
        timeoutMs,
        opts.goodbyeMs ?? config.DRAIN_GOODBYE_MS,
      );
      await close();
      return result;
    },
    close,
  };
}
