/**
 * The softphone in real Chromium with a fake microphone playing a WAV of speech-like bursts: the page's audio
 * reaches the STT simulator as non-silent 20 ms µ-law frames at 50 per second; the greeting is played by the page
 * and its mark echoed only once it has played; a spoken turn (burst mode) gets the agent's reply, played in the
 * page; a barge-in's `clear` silences the page at once; the keypad's presses reach the model as the caller's turn and
 * its answer plays; a refused microphone is told in words and costs nothing. The page's counters come from its probe (`?probe`), the
 * server's from the simulator and the call's events. Measurements go to test-results/softphone-measurements.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { has } from '../support/externals.js';
import type { Browser, Page } from 'playwright-core';
import { eventually, sims, startStack, type E2eStack } from '../e2e/harness.js';
import { launchChromium, loginToConsole, RESULTS_DIR, screenshot } from './browser.js';
import { speechSamples, writeWav } from './speech-wav.js';
import type { SoftphoneProbe } from '../../console/src/softphone/softphone-probe.js';

const PASSWORD = 'softphone-browser-password-32-chars';
const PHRASES = ['what are your hours', 'are you open on sundays'];
/** Silence while the greeting plays, a question, then a second question over the agent's answer (a barge-in). */
const BURSTS = [
  { atMs: 4500, ms: 1200 },
  { atMs: 8300, ms: 1000 },
];

const probe = (page: Page): Promise<SoftphoneProbe | undefined> => page.evaluate(() => (window as unknown as { softphoneProbe?: SoftphoneProbe }).softphoneProbe);

/** Polls the page's probe until `check` holds (read from here: the page's CSP allows no eval of a predicate). */
async function waitForProbe(page: Page, check: (p: SoftphoneProbe) => boolean, what: string, timeoutMs = 20_000): Promise<SoftphoneProbe> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const p = await probe(page);
    if (p !== undefined && check(p)) return p;
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what} (probe: ${JSON.stringify(p)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!has('chromium'))('softphone in Chromium', () => {
  let stack: E2eStack;
  let browser: Browser;
  beforeAll(async () => {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const wav = path.join(RESULTS_DIR, 'softphone-speech.wav');
    writeWav(wav, speechSamples(16_000, BURSTS));
    [stack, browser] = await Promise.all([
      // Real pace: this test proves the page plays and marks audio in real time (the greeting's 3120 ms, 50 frames/s).
      startStack({ env: { CONSOLE_PASSWORD: PASSWORD }, simulators: { deepgram: { burstPhrases: PHRASES } } }, 'real'),
      launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`]),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('talks to the agent: frames at 50/s, the greeting played then marked, a turn answered, a barge-in cleared at once', { timeout: 60_000 }, async () => {
    const dg = sims(stack).deepgram.stats;
    const page = await loginToConsole(browser, stack.server.localUrl, PASSWORD, '?probe');
    await page.click('.softphone button.dial');
    await page.waitForSelector('.softphone[data-state="in-call"]');
    expect(await page.textContent('.softphone button.dial')).toBe('Hang up');

    // The greeting: played by the page, its mark echoed only after its audio had time to play.
    await waitForProbe(page, (p) => (p.segments[0]?.echoedAt ?? null) !== null, 'the greeting mark echoed');
    const framesAt = { t: performance.now(), frames: dg.listenFrames };
    const greeting = (await probe(page))?.segments[0];
    expect(greeting?.cleared).toBe(false);
    expect(greeting?.audioMs).toBe(3120); // "Hello! Thanks for calling. How can I help you today?" at 60 ms a character
    const markAfterMs = (greeting?.echoedAt ?? 0) - (greeting?.firstAudioAt ?? 0);
    expect(markAfterMs).toBeGreaterThanOrEqual(greeting?.audioMs ?? 0);
    expect(markAfterMs).toBeLessThan((greeting?.audioMs ?? 0) + 300);

    // Mid-question: the level meter moves (the README's screenshot).
    await waitForProbe(page, (p) => p.loudFramesSent > 20, 'the caller speaking');
    await screenshot(page, 'console-softphone');

    // The first burst is a whole turn: transcribed, answered, and the answer plays in the page.
    await eventually(() => stack.events.some((e) => e.type === 'call.userUtterance' && e.text === PHRASES[0]), 'the first turn', 15_000);
    await waitForProbe(page, (p) => p.segments.length > 1 && p.mediaBytesReceived > 3120 * 8, 'the answer arriving');
    // The second burst talks over that answer: the server clears, the page goes silent at the next render quantum.
    await waitForProbe(page, (p) => (p.clears[0]?.silentAt ?? null) !== null, 'a clear, then silence');
    const framesTo = { t: performance.now(), frames: dg.listenFrames };
    await eventually(() => stack.events.some((e) => e.type === 'call.bargeIn'), 'the barge-in');
    await eventually(() => stack.events.some((e) => e.type === 'call.userUtterance' && e.text === PHRASES[1]), 'the second turn', 15_000);
    await eventually(() => stack.events.some((e) => e.type === 'call.turn' && e.userText === PHRASES[1] && !e.interrupted), 'the second answer played out', 20_000);
    const p = await waitForProbe(page, () => true, 'the probe');
    const clear = p.clears[0];
    const clearToSilenceMs = (clear?.silentAt ?? 0) - (clear?.receivedAt ?? 0);
    const clearToHeardSilenceMs = clear?.silenceHeardAt == null ? null : clear.silenceHeardAt - clear.receivedAt;
    // The clear emptied the page's playout: the marks queued behind the cut audio came back as cleared, and the cut
    // audio never played (what played is at least a second short of what arrived).
    expect(p.segments.some((s) => s.cleared)).toBe(true);
    expect(p.playedMs).toBeLessThan(p.mediaBytesReceived / 8 - 1000);
    expect(clearToSilenceMs).toBeLessThan(100);
    const answered = stack.events.filter((e) => e.type === 'call.turn');
    expect(answered[0]).toMatchObject({ userText: PHRASES[0], interrupted: true });
    expect(answered[0]?.type === 'call.turn' && answered[0].generatedText).toContain('We are open every day');
    // After the clear the second answer played and its marks came back as played, not cleared.
    const last = p.segments[p.segments.length - 1];
    expect(last?.cleared).toBe(false);
    expect(last?.echoedAt).not.toBeNull();

    // The microphone reached the STT simulator: 20 ms frames in real time, the bursts loud enough to be speech.
    const simFramesPerSecond = ((framesTo.frames - framesAt.frames) * 1000) / (framesTo.t - framesAt.t);
    const pageFramesPerSecond = ((p.framesSent - 1) * 1000) / ((p.lastFrameAt ?? 0) - (p.firstFrameAt ?? 0));
    expect(simFramesPerSecond).toBeGreaterThan(40);
    expect(simFramesPerSecond).toBeLessThan(60);
    expect(dg.listenSpeechFrames).toBeGreaterThan(50);
    expect(p.loudFramesSent).toBeGreaterThan(50);

    await page.click('.softphone button.dial');
    await page.waitForSelector('.softphone[data-state="ended"]');
    await eventually(() => stack.server.activeCalls() === 0, 'the call ended on the server');
    expect(stack.events.some((e) => e.type === 'call.ended')).toBe(true);

    const measurements = {
      contextRate: p.contextRate,
      simFramesPerSecond: round(simFramesPerSecond),
      pageFramesPerSecond: round(pageFramesPerSecond),
      framesSent: p.framesSent,
      simSpeechFrames: dg.listenSpeechFrames,
      greetingAudioMs: greeting?.audioMs,
      greetingMarkEchoedAfterMs: round(markAfterMs),
      clearToSilenceMs: round(clearToSilenceMs),
      clearToHeardSilenceMs: clearToHeardSilenceMs === null ? null : round(clearToHeardSilenceMs),
      underruns: p.underruns,
      playedMs: round(p.playedMs),
    };
    fs.writeFileSync(path.join(RESULTS_DIR, 'softphone-measurements.json'), JSON.stringify(measurements, null, 2) + '\n');
    await page.context().close();
  });

  it('the keypad: clicked and typed keys reach the model as one turn ended by #, and its answer plays', { timeout: 45_000 }, async () => {
    // A silent microphone (its own browser): no speech turn can mix with the keys.
    const wav = path.join(RESULTS_DIR, 'softphone-silence.wav');
    writeWav(wav, speechSamples(4000, []));
    const quiet = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`]);
    try {
      const page = await loginToConsole(quiet, stack.server.localUrl, PASSWORD, '?probe');
      expect(await page.$('.softphone .keypad')).toBeNull(); // only during a call
      await page.click('.softphone button.dial');
      await page.waitForSelector('.softphone[data-state="in-call"] .keypad');
      await waitForProbe(page, (p) => (p.segments[0]?.echoedAt ?? null) !== null, 'the greeting played');
      const asked = sims(stack).llm.requests.length;

      await page.click('.keypad button[data-key="4"]');
      await page.click('.keypad button[data-key="2"]');
      await page.keyboard.press('7'); // focus is on the keypad, inside the softphone
      await page.click('.keypad button[data-key="#"]');
      expect(await page.textContent('.keypad .keys-typed')).toBe('427#');
      expect((await probe(page))?.keysSent).toBe(4);

      const turn = '[keypad: 4 2 7 #]';
      await eventually(() => sims(stack).llm.requests.slice(asked).some((r) => r.lastUserText === turn), 'the keys as the caller\'s turn', 10_000);
      expect(stack.events).toContainEqual(expect.objectContaining({ type: 'call.dtmf', digits: '427#' }));
      await eventually(() => stack.events.some((e) => e.type === 'call.turn' && e.userText === turn && !e.interrupted), 'the answer played out', 20_000);
      // …played in the page: a second segment after the greeting, its mark echoed as played.
      const p = await waitForProbe(page, (q) => q.segments.length > 1 && q.segments.every((seg) => seg.echoedAt !== null), 'the answer\'s marks echoed');
      expect(p.segments.some((seg) => seg.cleared)).toBe(false);
      expect(p.mediaBytesReceived).toBeGreaterThan(3120 * 8);
      await screenshot(page, 'console-softphone-keypad');

      await page.click('.softphone button.dial');
      await page.waitForSelector('.softphone[data-state="ended"]');
      expect(await page.$('.softphone .keypad')).toBeNull();
      await eventually(() => stack.server.activeCalls() === 0, 'the call ended on the server');
    } finally {
      await quiet.close();
    }
  });

  it('a refused microphone: the page says what to do, and no ticket is taken nor stream opened', { timeout: 30_000 }, async () => {
    // No --use-fake-ui-for-media-stream: headless Chromium dismisses the permission prompt, as a person saying no.
    const refusing = await launchChromium(['--use-fake-device-for-media-stream']);
    try {
      const page = await loginToConsole(refusing, stack.server.localUrl, PASSWORD);
      const tickets = stack.server.softphoneTickets.minted;
      await page.click('.softphone button.dial');
      await page.waitForSelector('.softphone[data-state="failed"]');
      expect(await page.textContent('.softphone .call-state')).toContain('Microphone access was denied: allow it for this page, then dial again.');
      expect(await page.textContent('.softphone button.dial')).toBe('Dial');
      expect(stack.server.softphoneTickets.minted).toBe(tickets);
      expect(stack.server.activeCalls()).toBe(0);
    } finally {
      await refusing.close();
    }
  });
});

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
