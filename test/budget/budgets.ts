/**
 * What one call may cost the server: the ONE place these numbers live. `per-call.test.ts` measures them
 * deterministically (counts and retained bytes, never time) on a scripted call. A feature that adds per-call cost
 * fails that test and has to argue here for a new budget, in the same commit, with the measured value.
 *
 * Measured on 2026-12-07 (the commit that added this file): see each comment; the test prints what it measured.
 * Budgets leave room for noise (heap ±~10 KB per call over 8 calls, an interim more or less), not for growth.
 */
export const PER_CALL_BUDGETS = {
  /**
   * Events the call machine's root receives during the scripted call of per-call.test.ts (greeting, one question,
   * its reply, a barge-in on the second reply, hang-up). Audio never passes through the machine: a feature that
   * routes per-frame work through it multiplies this number. Measured: see the test's output.
   */
  machineEventsPerScriptedCall: 120, // measured 108–110
  /**
   * Heap retained per live call (after GC, data only: objects, arrays, closures, strings — not the code V8 keeps
   * compiling, and not ArrayBuffers' backing stores, which are outside the heap and budgeted below), the call idle
   * between turns after four agent turns, records on.
   */
  // Measured 65–77 KB. (Until 2026-12-07 this counted backing stores too: 114 KB, then 141 KB once a resumable
  // reply's audio was held — 215 KB when it kept the last 16 segments of any turn, which this budget caught.)
  retainedHeapBytesPerLiveCall: 96 * 1024,
  /**
   * Memory outside the JS heap per live call (`process.memoryUsage().external` after GC: ArrayBuffers' backing
   * stores — audio, socket data — and C++ objects), the call idle between turns as above. What it is (heap snapshot):
   * the caller audio Deepgram has not finalised yet, kept for a reconnect's replay (actors/stt-byte-queue.ts, ~24–36
   * KB: it was 64–128 KB while the queue doubled its buffer and never gave it back). The reply just spoken holds
   * nothing any more once the caller heard it (actors/held-audio.ts; 71–96 KB here while it held a whole reply).
   */
  externalBytesPerIdleCall: 64 * 1024, // measured 37 KB (±10 KB of noise: undici's wasm parser memory grows)
  /**
   * The same while each call plays a six-sentence reply whose audio has all arrived: what is held for a resume is the
   * segment playing and the next (actors/held-audio.ts, ≤ 96 KB; ~30 KB here) plus the STT queue. Holding the whole
   * reply (~136 KB for ~17 s of 8 kHz µ-law) measured 161–165 KB; linear PCM or base64 strings would add more.
   */
  externalBytesPerSpeakingCall: 96 * 1024, // measured 67 KB
  /** …and once the calls have ended: what leaks outside the heap. */
  externalBytesPerEndedCall: 8 * 1024, // measured 1 KB
  /** Heap still retained per call once the calls have ended (after GC): what leaks. */
  retainedHeapBytesPerEndedCall: 16 * 1024, // measured −7 KB (noise around zero)
  /** Active timers per live call idle between turns (idle timeout, keep-alives, watchdogs). */
  timersPerLiveCall: 3, // measured 2–2.25
  /** Open TCP sockets per live call: the Twilio stream, Deepgram listen, Deepgram speak (the LLM pool is shared). */
  socketsPerLiveCall: 3, // measured 3
  /** Modules (ESM or CommonJS) loaded once one call has run: none may be loaded on a call's path after that. */
  modulesLoadedAfterFirstCall: 0,
} as const;

export type PerCallBudget = keyof typeof PER_CALL_BUDGETS;
