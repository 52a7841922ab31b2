/** Messages between the per-call budget test and its server probe (a child process). */
export type ProbeRequest =
  | { cmd: 'markModules' }
  | { cmd: 'sample' }
  | { cmd: 'memory' }
  | { cmd: 'stop' }
  | { cmd: 'heapSnapshot'; file: string };

export interface ProbeSample extends ProbeMemory {
  /** V8 heap in use after two full collections. */
  heapUsed: number;
  /**
   * Of it, the bytes holding data (objects, arrays, closures, strings), not compiled code and type feedback, and not
   * ArrayBuffers' backing stores (those are outside the heap: `external`).
   */
  dataHeap: number;
  /** Active timers (`Timeout` in process.getActiveResourcesInfo()). */
  timers: number;
  /** Open TCP sockets (listening ones included). */
  sockets: number;
  /** Modules (ESM URLs, CommonJS paths) loaded since the last mark. */
  modulesSinceMark: string[];
  /** Events each call's root actor received since the last mark, one number per call. */
  rootEvents: number[];
}

/** `process.memoryUsage()` after two full collections: what lives outside the JS heap. */
export interface ProbeMemory {
  /** C++ objects bound to JS ones, ArrayBuffers' backing stores included (Buffers: audio, socket data). */
  external: number;
  /** Of `external`, the ArrayBuffers' backing stores. */
  arrayBuffers: number;
  /** Resident set size: reported only (the allocator keeps freed pages, so it is not deterministic). */
  rss: number;
  activeCalls: number;
}

export type ProbeReply =
  | { cmd: 'ready'; url: string; publicUrl: string }
  | { cmd: 'markModules' }
  | { cmd: 'sample'; sample: ProbeSample }
  | { cmd: 'memory'; memory: ProbeMemory }
  | { cmd: 'heapSnapshot'; file: string }
  | { cmd: 'stop' };
