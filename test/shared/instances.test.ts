/**
 * Several instances sharing one Redis (servers in this process, each with its own simulators, a random key prefix per
 * test): a stream token works once on any instance, commands for a call reach the instance that owns it, and a
 * console on any instance shows every instance's live calls.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { WebSocket } from 'ws';
import { Redis } from 'ioredis';
import { has, REDIS_URL } from '../support/externals.js';
import { eventually, recordingInspector, startStack, type E2eStack } from '../e2e/harness.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';
import { startTwilioRestFake, type TwilioRestFake } from '../../offline/twilio-rest.js';
import { STREAM_TOKEN_PARAMETER } from '../../src/twilio/stream-token.js';
import { createSharedState } from '../../src/shared/shared-state.js';
import { silentLogger } from '../../lib/logger.js';
import type { FeedMessage } from '../../src/console/feed-types.js';

const ACCOUNT = 'AC' + 'd'.repeat(32);
const AUTH = 'offline-simulator-auth-token';
const API = 'instances-test-api-token-of-32-chars!';

const stacks: E2eStack[] = [];
let rest: TwilioRestFake | undefined;
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close()));
  await rest?.close();
  rest = undefined;
});

async function instances(ids: string[], extra: Record<string, string> = {}, inspector?: ReturnType<typeof recordingInspector>) {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const started = await Promise.all(
    ids.map((id) =>
      startStack({
        ...(inspector === undefined ? {} : { inspector }),
        env: { REDIS_URL, REDIS_KEY_PREFIX: prefix, INSTANCE_ID: id, CALLS_API_TOKEN: API, CALL_OWNER_TTL_MS: '3000', ...extra },
      }),
    ),
  );
  stacks.push(...started);
  return { prefix, stacks: started };
}

const wsUrl = (s: E2eStack) => s.server.publicUrl.replace('http', 'ws') + '/media';

function signedSocket(s: E2eStack) {
  const ws = new WebSocket(wsUrl(s), { headers: { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(AUTH, wsUrl(s), {}) } });
  const opened = new Promise<void>((resolve, reject) => {
    ws.on('open', () => resolve());
    ws.on('error', reject);
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return { ws, opened, closed };
}

function startFrame(callSid: string, params: Record<string, string>): string {
  const streamSid = 'MZ' + randomBytes(16).toString('hex');
  return JSON.stringify({
    event: 'start',
    sequenceNumber: '1',
    streamSid,
    start: { accountSid: ACCOUNT, streamSid, callSid, tracks: ['inbound'], mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 }, customParameters: params },
  });
}

/** Twilio's webhook to `s` (signed): the TwiML's stream token. */
async function voiceWebhook(s: E2eStack, callSid: string): Promise<{ status: number; twiml: string; token: string | undefined }> {
  const params = { CallSid: callSid, From: '+15550001111', To: '+15550002222', Direction: 'inbound', AccountSid: ACCOUNT };
  const url = `${s.server.publicUrl}/voice`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(AUTH, url, params) },
    body: new URLSearchParams(params).toString(),
  });
  const twiml = await res.text();
  const token = new RegExp(`<Parameter name="${STREAM_TOKEN_PARAMETER}" value="([^"]+)"`).exec(twiml)?.[1];
  return { status: res.status, twiml, token };
}

const metricsOf = async (s: E2eStack) => (await fetch(`${s.server.localUrl}/metrics`)).text();
const newCallSid = () => 'CA' + randomBytes(16).toString('hex');

describe.skipIf(!has('redis'))('many instances, one Redis', () => {
  it('a token from the webhook on A opens the stream on B once; replayed on A or B it is refused (1008) and opens no provider socket', async () => {
    const { stacks: [a, b] } = await instances(['A', 'B']);
    if (a === undefined || b === undefined) throw new Error('two instances');
    const callSid = newCallSid();
    const { token } = await voiceWebhook(a, callSid);
    expect(token).toMatch(/^v1\./);
    // The stream lands on B: accepted, the call starts there.
    const first = signedSocket(b);
    await first.opened;
    first.ws.send(startFrame(callSid, { [STREAM_TOKEN_PARAMETER]: token ?? '' }));
    await eventually(() => b.events.some((e) => e.type === 'call.started'), 'the call started on B');
    // A drains nothing for it: B's redemption took it out of A's "on their way".
    expect(await a.server.streamTokens.pending()).toEqual({ count: 0, nextExpiry: null });

    for (const target of [a, b]) {
      const listenBefore = target.providers.simulators?.deepgram.stats.listenConnections;
      const replay = signedSocket(target);
      await replay.opened;
      replay.ws.send(startFrame(callSid, { [STREAM_TOKEN_PARAMETER]: token ?? '' }));
      expect(await replay.closed).toBe(1008);
      expect(target.providers.simulators?.deepgram.stats.listenConnections).toBe(listenBefore);
      expect(await metricsOf(target)).toMatch(/^voice_streams_rejected_total\{reason="token-reused"\} 1$/m);
    }
    expect(a.events.filter((e) => e.type === 'call.started')).toHaveLength(0);
    first.ws.close(1000);
    await first.closed;
  });

  it('AMD verdict, transfer and hangup sent to A reach the call live on B', async () => {
    const inspector = recordingInspector();
    rest = await startTwilioRestFake({ accountSid: ACCOUNT, authToken: AUTH });
    const { stacks: [a, b] } = await instances(['A', 'B'], { TWILIO_ACCOUNT_SID: ACCOUNT, TWILIO_API_BASE_URL: rest.url }, inspector);
    if (a === undefined || b === undefined) throw new Error('two instances');
    // A call the REST fake knows (a transfer updates it), whose webhook and stream are B's.
    const created = (await (
      await fetch(`${a.server.localUrl}/calls`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API}` }, body: JSON.stringify({ to: '+15551234567', from: '+15550009999', amd: false }) })
    ).json()) as { sid: string };
    const callSid = created.sid;
    const call = placeSimulatedCall({ serverUrl: b.server.localUrl, authToken: AUTH, callSid, accountSid: ACCOUNT, script: [{ waitForAgent: 'reply' }, { pause: 30_000 }, { hangup: true }] });
    await eventually(() => b.events.some((e) => e.type === 'call.started'), 'the call started on B');

    const amdParams = { CallSid: callSid, AnsweredBy: 'human', AccountSid: ACCOUNT };
    const amdUrl = `${a.server.publicUrl}/amd`;
    const amd = await fetch(amdUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(AUTH, amdUrl, amdParams) },
      body: new URLSearchParams(amdParams).toString(),
    });
    expect(amd.status).toBe(204);
    await eventually(() => inspector.received.some((e) => e.type === 'CALL.ANSWERED_BY' && e.external), 'the verdict reached the machine on B');

    const api = (path: string, body: unknown) =>
      fetch(`${a.server.localUrl}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API}` }, body: JSON.stringify(body) });
    const transfer = await api(`/calls/${callSid}/transfer`, { to: '+15550100200' });
    expect(await transfer.json()).toEqual({ result: 'sent' });
    const fake = rest;
    await eventually(() => (fake.calls[0]?.updates.length ?? 0) > 0, 'B asked Twilio to dial the number');
    expect(fake.calls[0]?.updates[0]?.Twiml).toMatch(/<Dial>\+15550100200<\/Dial>/);

    const hangup = await api(`/calls/${callSid}/hangup`, {});
    expect(hangup.status).toBe(202);
    expect(await hangup.json()).toEqual({ result: 'sent' });
    const record = await call.done;
    expect(record.endedBy).toBe('server');
    expect(b.events).toContainEqual(expect.objectContaining({ type: 'call.ended' }));
    // Once over, a command for it is answered 409 from any instance.
    await eventually(() => b.server.activeCalls() === 0, 'the call is torn down');
    await new Promise((r) => setTimeout(r, 100)); // the release is one Redis round trip after the end
    expect((await api(`/calls/${callSid}/hangup`, {})).status).toBe(409);
    const text = await metricsOf(a);
    expect(text).toMatch(/^voice_call_commands_total\{command="CALL.ANSWERED_BY",result="sent"\} 1$/m);
    expect(text).toMatch(/^voice_call_commands_total\{command="CALL.TRANSFER",result="sent"\} 1$/m);
    expect(text).toMatch(/^voice_call_commands_total\{command="CALL.HANGUP",result="sent"\} 1$/m);
  });

  it("a console on C shows the live calls of A and B with their diffs; a dead instance's calls leave the view", async () => {
    const { prefix, stacks: [a, b, c] } = await instances(['A', 'B', 'C'], { CONSOLE_PASSWORD: 'instances-test-console-password-32!' });
    if (a === undefined || b === undefined || c === undefined) throw new Error('three instances');
    const feed = await openFeed(c);
    const sidA = newCallSid();
    const sidB = newCallSid();
    const script = [{ waitForAgent: 'reply' as const }, { say: 'what are your hours' }, { waitForAgent: 'reply' as const }, { pause: 1500 }, { hangup: true as const }];
    const calls = [
      placeSimulatedCall({ serverUrl: a.server.localUrl, authToken: AUTH, callSid: sidA, script }).done,
      placeSimulatedCall({ serverUrl: b.server.localUrl, authToken: AUTH, callSid: sidB, script }).done,
    ];
    await eventually(() => [sidA, sidB].every((sid) => feed.messages.some((m) => m.type === 'call' && m.call.callSid === sid)), 'both calls shown on C', 10_000);
    // A second console on C, mid-call: both calls in its snapshot.
    const late = await openFeed(c);
    const snapshot = late.messages[0];
    expect(snapshot?.type).toBe('snapshot');
    expect(snapshot?.type === 'snapshot' ? snapshot.calls.map((x) => x.callSid).sort() : []).toEqual([sidA, sidB].sort());
    await Promise.all(calls);
    await eventually(() => [sidA, sidB].every((sid) => feed.messages.some((m) => m.type === 'ended' && m.callSid === sid)), 'both ended on C', 10_000);
    for (const sid of [sidA, sidB]) {
      const lines = feed.messages.filter((m) => m.type === 'lines' && m.callSid === sid);
      expect(lines.some((m) => m.type === 'lines' && m.lines.some((l) => l.role === 'caller' && l.text.includes('hours')))).toBe(true);
      expect(lines.some((m) => m.type === 'lines' && m.lines.some((l) => l.role === 'agent' && l.text.includes('open every day')))).toBe(true);
    }

    // An instance Z that shows a call and then dies (its heartbeat stops): the call leaves C's view within the TTL.
    const z = await createSharedState({ redisUrl: REDIS_URL, prefix, instanceId: 'Z', log: silentLogger, ownerTtlMs: 1000 });
    const sidZ = newCallSid();
    await z.calls.claim(sidZ);
    const call = { callSid: sidZ, from: '+1555', to: '+1666', direction: 'inbound', agent: null, startedAt: Date.now(), state: 'listening', lines: [], tools: [], latency: null };
    await z.bus.publish('feed', { from: 'Z', kind: 'feed', message: { type: 'call', call } });
    await eventually(() => feed.messages.some((m) => m.type === 'call' && m.call.callSid === sidZ), 'Z\'s call shown on C');
    await z.close();
    await eventually(() => feed.messages.some((m) => m.type === 'ended' && m.callSid === sidZ && m.reason === 'instance-lost'), "Z's call dropped as instance-lost", 15_000);
    const redis = new Redis(REDIS_URL);
    expect(await redis.get(`${prefix}call:${sidZ}`)).toBeNull();
    redis.disconnect();
    feed.close();
    late.close();
  });
});

describe.skipIf(!has('redis'))('console sessions across instances', () => {
  it('a session from one instance is good on the others, and a logout on one ends it on all', async () => {
    const { stacks: [a, b] } = await instances(['A', 'B'], { CONSOLE_PASSWORD: 'instances-test-console-password-32!' });
    if (a === undefined || b === undefined) throw new Error('two instances');
    const login = await fetch(`${a.server.localUrl}/console/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: 'instances-test-console-password-32!' }) });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const session = (s: E2eStack) => fetch(`${s.server.localUrl}/console/api/session`, { headers: { Cookie: cookie } }).then((r) => r.status);
    expect(await session(b)).toBe(200); // issued by A, accepted by B
    const logout = await fetch(`${b.server.localUrl}/console/logout`, { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'application/json' }, body: '{}' });
    expect(logout.status).toBeLessThan(300);
    expect(await session(a)).toBe(401); // logged out on B, refused on A too
    expect(await session(b)).toBe(401);
  });

  it('failed logins count on every instance together: five wrong on A, the sixth on B is refused', async () => {
    const { stacks: [a, b] } = await instances(['A', 'B'], { CONSOLE_PASSWORD: 'instances-test-console-password-32!' });
    if (a === undefined || b === undefined) throw new Error('two instances');
    const attempt = (s: E2eStack) =>
      fetch(`${s.server.localUrl}/console/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: 'wrong' }) }).then((r) => r.status);
    for (let i = 0; i < 5; i++) expect(await attempt(a)).toBe(401);
    expect(await attempt(b)).toBe(429);
  });
});

async function openFeed(s: E2eStack): Promise<{ messages: FeedMessage[]; close(): void }> {
  const login = await fetch(`${s.server.localUrl}/console/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: 'instances-test-console-password-32!' }) });
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const controller = new AbortController();
  const res = await fetch(`${s.server.localUrl}/console/api/live`, { headers: { Cookie: cookie }, signal: controller.signal });
  expect(res.status).toBe(200);
  const messages: FeedMessage[] = [];
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    for (;;) {
      const chunk = await reader?.read().catch(() => undefined);
      if (chunk === undefined || chunk.done) return;
      buffer += decoder.decode(chunk.value, { stream: true });
      let at: number;
      while ((at = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        if (event.startsWith('data: ')) messages.push(JSON.parse(event.slice(6)) as FeedMessage);
      }
    }
  })();
  await eventually(() => messages.length > 0, 'the snapshot');
  return { messages, close: () => controller.abort() };
}
