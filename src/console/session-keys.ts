/**
 * What console sessions are signed with, kept apart from the signing itself so that several instances can share it:
 * a random server key (never derived from the password: a stolen cookie must not allow guessing the password
 * offline) and a revocation generation that logout increments, ending every session issued before.
 *
 * `InMemorySessionKeys` serves one process (a restart logs everyone out). Instances behind one load balancer need a
 * shared implementation (the scale-out state) so that a cookie from one is good on all, and a logout on one counts
 * on all.
 */
import { randomBytes } from 'node:crypto';

export interface SessionKeyState {
  /** The server's signing key (random, at least 32 bytes). */
  key: Buffer;
  /** Sessions carry the generation they were issued in; only the current one is accepted. */
  generation: number;
}

export interface ConsoleSessionKeys {
  current(): Promise<SessionKeyState>;
  /** Ends every session issued so far (logout); resolves with the new state. */
  revokeAll(): Promise<SessionKeyState>;
}

export class InMemorySessionKeys implements ConsoleSessionKeys {
  private state: SessionKeyState = { key: randomBytes(32), generation: 0 };

  current(): Promise<SessionKeyState> {
    return Promise.resolve(this.state);
  }

  revokeAll(): Promise<SessionKeyState> {
    this.state = { key: this.state.key, generation: this.state.generation + 1 };
    return Promise.resolve(this.state);
  }
}
