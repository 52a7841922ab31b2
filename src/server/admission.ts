/**
 * Whether this instance takes more calls: not while draining, not at MAX_CONCURRENT_CALLS, not while a configured
 * shared store is unreachable. `/readyz` reports the reasons; `/voice` and the stream upgrade refuse on them.
 * Other stores (the call database) add their own check with `addCheck`.
 */
export interface AdmissionSources {
  maxCalls: number;
  activeCalls(): number;
  draining(): boolean;
  sharedStateUp(): boolean;
}

export class Admission {
  private readonly checks: Array<{ reason: string; failing: () => boolean }> = [];

  constructor(private readonly src: AdmissionSources) {
    this.addCheck('draining', () => src.draining());
    this.addCheck('at-capacity', () => this.atCapacity());
    this.addCheck('shared-state-down', () => !src.sharedStateUp());
  }

  /** `failing()` true → not ready, with `reason`. */
  addCheck(reason: string, failing: () => boolean): void {
    this.checks.push({ reason, failing });
  }

  atCapacity(): boolean {
    return this.src.activeCalls() >= this.src.maxCalls;
  }

  notReadyReasons(): string[] {
    return this.checks.filter((c) => c.failing()).map((c) => c.reason);
  }
}
