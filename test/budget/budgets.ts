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
   * compiling), the call idle between turns after four agent turns, records on.
   */
  // Measured 114 KB (165 KB while each call built its own machine); 141 KB once a resumable reply's audio is held
  // (false-interruption resume re-sends the unheard part instead of paying TTS again: actors/held-audio.ts keeps the
  // current reply only — 215 KB when it kept the last 16 segments of any turn, which this budget caught).
  retainedHeapBytesPerLiveCall: 150 * 1024,
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
