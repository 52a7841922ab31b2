/** Shared set-up for end-to-end tests: the offline stack (real server + simulators) and simulated callers. */
import { startOfflineStack, type OfflineStack, type OfflineStackOptions } from '../../src/harness/offline-stack.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';
import type { CallRecord, ScriptStep, SimulatedCallOptions } from '../../offline/twilio-caller-types.js';
import type { CallEmitted } from '../../machines/emitted.js';
import type { InspectionEvent } from 'xstate';
import type { CallInspector } from '../../src/server/inspector.js';
import { Writable } from 'node:stream';
import winston from 'winston';
import twilio from 'twilio';
import { WebSocket } from 'ws';
import { fastCaller, fastSimulators } from '../support/sim-speed.js';

export interface E2eStack extends OfflineStack {
  events: CallEmitted[];
}

/**
 * The offline stack with the simulators at the tests' speed (test/support/sim-speed.ts; `opts.simulators` win), or
 * at their real defaults for a test that proves real-time behaviour (`pace: 'real'`).
 */
export async function startStack(opts: OfflineStackOptions = {}, pace: 'tests' | 'real' = 'tests'): Promise<E2eStack> {
  const events: CallEmitted[] = [];
  const simulators = pace === 'real' ? opts.simulators : fastSimulators(opts.simulators);
  const stack = await startOfflineStack({ ...opts, simulators, onCallEvent: (e) => events.push(e) });
  return Object.assign(stack, { events });
}

/** A simulated call; its speech at the tests' speed unless `extra` says otherwise. */
export function call(
  stack: OfflineStack,
  script: readonly ScriptStep[],
  extra: Partial<SimulatedCallOptions> = {},
): Promise<CallRecord> {
  return placeSimulatedCall({
    serverUrl: stack.server.localUrl,
    authToken: stack.config.twilioAuthToken,
    script,
    maxDurationMs: 45000,
    ...fastCaller(extra),
  }).done;
}

export function sims(stack: OfflineStack) {
  const s = stack.providers.simulators;
  if (!s) throw new Error('offline stack without simulators');
  return s;
}

export function agentTurns(record: CallRecord) {
  return record.transcript.filter((t) => t.role === 'agent');
}

/** Polls `check` until it is true (loopback events land within milliseconds; the limit only bounds a failure). */
export async function eventually(check: () => boolean, what: string, limitMs = 5000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An inspector that records every event a call's root actor received; `external` = sent by the server, not a child. */
export function recordingInspector(): CallInspector & { received: Array<{ type: string; external: boolean; [k: string]: unknown }> } {
  const received: Array<{ type: string; external: boolean; [k: string]: unknown }> = [];
  return {
    url: '',
    received,
    inspect: (e: InspectionEvent) => {
      if (e.type !== '@xstate.event' || e.actorRef.sessionId !== e.rootId) return;
      received.push({ ...(e.event as { type: string }), external: e.sourceRef === undefined });
    },
    stop: () => {},
  };
}

/** A log line as winston hands it to a transport. */
export type LogLine = Record<string, unknown> & { level: string; message: string };

/** A logger at `info` that keeps every line in `lines` (tests look at what was logged, and how often). */
export function captureLogger(lines: LogLine[]): winston.Logger {
  const stream = new Writable({
    objectMode: true,
    write(info: LogLine, _enc, done) {
      lines.push(info);
      done();
    },
  });
  return winston.createLogger({ level: 'info', transports: [new winston.transports.Stream({ stream })] });
}

/** A `POST /voice` signed as Twilio signs it: the status and the TwiML the server answered. */
export async function signedVoice(s: OfflineStack, callSid = 'CA' + 'f'.repeat(32)): Promise<{ status: number; body: string }> {
  const params = { CallSid: callSid, From: '+15550001111', To: '+15550002222' };
  const url = `${s.server.publicUrl}/voice`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(s.config.twilioAuthToken, url, params) },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, body: await res.text() };
}

/** The HTTP status of a signed `/media` upgrade: 101 when the stream is accepted, the refusal's status otherwise. */
export function mediaUpgradeStatus(s: OfflineStack): Promise<number> {
  const url = s.server.publicUrl.replace('http', 'ws') + '/media';
  const ws = new WebSocket(url, { headers: { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(s.config.twilioAuthToken, url, {}) } });
  return new Promise((resolve) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', () => {});
  });
}
