/** Messages between the per-call budget test and its server probe (a child process). */
export type ProbeRequest = { cmd: 'markModules' } | { cmd: 'sample' } | { cmd: 'stop' } | { cmd: 'heapSnapshot'; file: string };

export interface ProbeSample {
  /** V8 heap in use after two full collections. */
  heapUsed: number;
  /** Of it, the bytes holding data (objects, arrays, closures, strings), not compiled code and type feedback. */
  dataHeap: number;
  /** Active timers (`Timeout` in process.getActiveResourcesInfo()). */
  timers: number;
  /** Open TCP sockets (listening ones included). */
  sockets: number;
  activeCalls: number;
  /** Modules (ESM URLs, CommonJS paths) loaded since the last mark. */
  modulesSinceMark: string[];
  /** Events each call's root actor received since the last mark, one number per call. */
  rootEvents: number[];
}

export type ProbeReply =
  | { cmd: 'ready'; url: string; publicUrl: string }
  | { cmd: 'markModules' }
  | { cmd: 'sample'; sample: ProbeSample }
  | { cmd: 'heapSnapshot'; file: string }
  | { cmd: 'stop' };
