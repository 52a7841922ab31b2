/**
 * Which instance owns a call, and commands for it (the AMD verdict, a hangup or transfer asked through another
 * instance, the drain's polite hangup) delivered there. The call's stream started on one instance: it claims the
 * call (`call:<sid>` → instance, with a TTL its heartbeat keeps refreshing, so the key of a dead instance's call
 * expires by itself). A command is sent on the owner's channel; one for a call nobody owns yet (its stream is still
 * connecting) is held for `holdMs` and handed over when the call is claimed. Routing and claiming are each one
 * atomic step, so a command cannot slip between "no owner yet" and "claimed".
 */
import { errorMessage, type Logger } from '../../lib/logger.js';
import type { MessageBus } from './message-bus.js';
import type { RedisLink } from './redis-link.js';
import { RedisScript } from './redis-link.js';

export type RouteResult = 'sent' | 'held' | 'ended' | 'undelivered';

export interface CallCommandEnvelope {
  callSid: string;
  command: unknown;
}

export interface CallDirectory {
  readonly instanceId: string;
  /** The call is live here from now on; resolves to the commands held for it before. */
  claim(callSid: string): Promise<unknown[]>;
  /** The call ended here: commands for it are answered 'ended' for `holdMs`. */
  release(callSid: string): Promise<void>;
  /** Delivers `command` to the call's owner, or holds it until the call is claimed. */
  route(callSid: string, command: unknown): Promise<RouteResult>;
  /** Commands for calls owned here. */
  onCommand(handler: (callSid: string, command: unknown) => void): Promise<void>;
  /** The current owner of each call (null: nobody — ended, or its owner stopped heartbeating). */
  owners(callSids: readonly string[]): Promise<Array<string | null>>;
  close(): void;
}

export interface CallDirectoryOptions {
  instanceId: string;
  /** How long an ownership lasts without a heartbeat (a dead instance's calls are unowned after this). */
  ttlMs: number;
  /** How long commands for a call not live yet (or ended) are kept. */
  holdMs: number;
  log: Logger;
}

const MAX_HELD = 20;
/** The owner value of a call that ended (late commands are answered 'ended', not held). */
const ENDED = '!ended';

/** The directory of one process's servers (what `MemoryMessageBus` links): the single-process default. */
export class MemoryCallDirectory implements CallDirectory {
  constructor(
    private readonly hub: MemoryDirectoryHub,
    private readonly bus: MessageBus,
    private readonly opts: CallDirectoryOptions,
  ) {}

  get instanceId(): string {
    return this.opts.instanceId;
  }

  async claim(callSid: string): Promise<unknown[]> {
    this.hub.owner.set(callSid, this.instanceId);
    const held = this.hub.held.get(callSid) ?? [];
    this.hub.held.delete(callSid);
    return held;
  }

  async release(callSid: string): Promise<void> {
    if (this.hub.owner.get(callSid) !== this.instanceId) return;
    this.hub.owner.set(callSid, ENDED);
    setTimeout(() => this.hub.owner.get(callSid) === ENDED && this.hub.owner.delete(callSid), this.opts.holdMs).unref();
  }

  async route(callSid: string, command: unknown): Promise<RouteResult> {
    const owner = this.hub.owner.get(callSid);
    if (owner === ENDED) return 'ended';
    if (owner !== undefined) return (await this.bus.publish(commandChannel(owner), { callSid, command })) > 0 ? 'sent' : 'undelivered';
    const held = this.hub.held.get(callSid) ?? [];
    held.push(command);
    this.hub.held.set(callSid, held.slice(-MAX_HELD));
    setTimeout(() => this.hub.held.get(callSid) === held && this.hub.held.delete(callSid), this.opts.holdMs).unref();
    return 'held';
  }

  async onCommand(handler: (callSid: string, command: unknown) => void): Promise<void> {
    await this.bus.subscribe(commandChannel(this.instanceId), (m) => {
      if (isEnvelope(m)) handler(m.callSid, m.command);
    });
  }

  async owners(callSids: readonly string[]): Promise<Array<string | null>> {
    return callSids.map((sid) => {
      const owner = this.hub.owner.get(sid);
      return owner === undefined || owner === ENDED ? null : owner;
    });
  }

  close(): void {}
}

/** What the servers of one process share in memory. */
export class MemoryDirectoryHub {
  readonly owner = new Map<string, string>();
  readonly held = new Map<string, unknown[]>();
}

const CLAIM = new RedisScript(`
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local held = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
return held
`);

const RELEASE = new RedisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], '${ENDED}', 'PX', ARGV[2]) end
return 0
`);

const ROUTE = new RedisScript(`
local owner = redis.call('GET', KEYS[1])
if owner == '${ENDED}' then return {'ended'} end
if owner then
  if redis.call('PUBLISH', ARGV[2] .. owner, ARGV[1]) > 0 then return {'sent'} end
  return {'undelivered'}
end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {'held'}
`);

export class RedisCallDirectory implements CallDirectory {
  /** Calls owned here, refreshed by the heartbeat. */
  private readonly owned = new Set<string>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly link: RedisLink,
    private readonly bus: MessageBus,
    private readonly opts: CallDirectoryOptions,
  ) {
    // Three beats per TTL: one lost beat (a slow moment, a reconnect) does not lose a live call.
    this.heartbeat = setInterval(() => void this.beat(), Math.max(50, Math.floor(opts.ttlMs / 3)));
    this.heartbeat.unref();
  }

  get instanceId(): string {
    return this.opts.instanceId;
  }

  async claim(callSid: string): Promise<unknown[]> {
    this.owned.add(callSid);
    const held = (await CLAIM.run(this.link.client, [this.callKey(callSid), this.heldKey(callSid)], [this.instanceId, this.opts.ttlMs])) as string[];
    return held.flatMap((text) => {
      const m: unknown = JSON.parse(text);
      return isEnvelope(m) ? [m.command] : [];
    });
  }

  async release(callSid: string): Promise<void> {
    this.owned.delete(callSid);
    await RELEASE.run(this.link.client, [this.callKey(callSid)], [this.instanceId, this.opts.holdMs]);
  }

  async route(callSid: string, command: unknown): Promise<RouteResult> {
    const payload = JSON.stringify({ callSid, command } satisfies CallCommandEnvelope);
    const [result] = (await ROUTE.run(
      this.link.client,
      [this.callKey(callSid), this.heldKey(callSid)],
      [payload, this.link.key(commandChannel('')), this.opts.holdMs, MAX_HELD],
    )) as [RouteResult];
    return result;
  }

  async onCommand(handler: (callSid: string, command: unknown) => void): Promise<void> {
    await this.bus.subscribe(commandChannel(this.instanceId), (m) => {
      if (isEnvelope(m)) handler(m.callSid, m.command);
    });
  }

  async owners(callSids: readonly string[]): Promise<Array<string | null>> {
    if (callSids.length === 0) return [];
    const values = await this.link.client.mget(...callSids.map((sid) => this.callKey(sid)));
    return values.map((v) => (v === null || v === ENDED ? null : v));
  }

  close(): void {
    clearInterval(this.heartbeat);
  }

  /** Re-sets (not just extends) each ownership: after a Redis restart without persistence the keys come back. */
  private async beat(): Promise<void> {
    if (this.owned.size === 0 || !this.link.isUp()) return;
    const pipeline = this.link.client.pipeline();
    for (const sid of this.owned) pipeline.set(this.callKey(sid), this.instanceId, 'PX', this.opts.ttlMs);
    try {
      await pipeline.exec();
    } catch (err) {
      this.opts.log.debug('ownership heartbeat failed', { error: errorMessage(err) });
    }
  }

  private callKey(callSid: string): string {
    return this.link.key(`call:${callSid}`);
  }

  private heldKey(callSid: string): string {
    return this.link.key(`held:${callSid}`);
  }
}

export function commandChannel(instanceId: string): string {
  return `cmd:${instanceId}`;
}

function isEnvelope(m: unknown): m is CallCommandEnvelope {
  return typeof m === 'object' && m !== null && typeof (m as { callSid?: unknown }).callSid === 'string' && 'command' in m;
}
