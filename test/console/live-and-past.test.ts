/**
 * The console in real Chromium against the offline stack: calls placed by the caller simulator appear live, their
 * state changes and transcript lines show up as they happen, they move to past calls at hangup, search finds them,
 * and a call's page renders its timeline. Screenshots of each view go to test-results/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { has } from '../support/externals.js';
import type { Page } from 'playwright-core';
import type { OfflineStack } from '../../src/harness/offline-stack.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';
import { demoCallerScript } from '../../agents/front-desk-caller-script.js';
import { loadAgent } from '../../src/agent/agent-loader.js';
import { consoleWithRecords, screenshot } from './browser.js';
import { fastCaller, fastSimulators, simMs } from '../support/sim-speed.js';

const PASSWORD = 'live-test-password-of-32-characters';

describe.skipIf(!has('chromium'))('console: live calls, past calls, timeline', () => {
  let stack: OfflineStack;
  let page: Page;
  let closeConsole: (() => Promise<void>) | undefined;
  let callSid = '';

  beforeAll(async () => {
    ({ stack, page, close: closeConsole } = await consoleWithRecords({ password: PASSWORD, hash: '#/live', stack: { agent: await loadAgent(), simulators: fastSimulators() } }));
  });
  afterAll(async () => {
    await closeConsole?.();
  });

  it('shows a call live: its states, its transcript as it grows, its tool; it leaves at hangup', async () => {
    await page.waitForSelector('.feed.live');
    // Every state the card shows, as the page renders it.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seenStates: string[] }).seenStates = seen;
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('.live-call .state')) {
          const state = el.getAttribute('data-state') ?? '';
          if (seen.at(-1) !== state) seen.push(state);
        }
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    const call = placeSimulatedCall({
      serverUrl: stack.server.localUrl,
      authToken: stack.config.twilioAuthToken,
      script: demoCallerScript(),
      maxDurationMs: 45000,
      // The page must show exactly one barge-in (the scripted one): the caller waits for the agent to be quiet for
      // longer than a loaded machine's gap between two sentences of one answer, so it never talks over the next one.
      ...fastCaller({ quietMs: 1500 }),
    });
    const hours = placeSimulatedCall({
      serverUrl: stack.server.localUrl,
      authToken: stack.config.twilioAuthToken,
      from: '+15553334444',
      script: [{ waitForAgent: 'reply' }, { say: 'What are your opening hours?' }, { waitForAgent: 'reply' }, { pause: simMs(4000) }, { say: 'Thanks, bye!' }, { waitForAgent: 'reply' }],
      maxDurationMs: 45000,
      ...fastCaller(),
    });
    callSid = call.record.callSid;
    const card = `.live-call[data-call-sid="${callSid}"]`;
    await page.waitForSelector(card);
    await page.waitForSelector(`${card} .transcript li.agent >> text=Thanks for calling`);
    await page.waitForSelector(`${card} .transcript li.caller >> text=order 4271`, { timeout: 15000 });
    await page.waitForSelector(`${card} .tools li.tool-ok >> text=lookup_order`, { timeout: 15000 });
    await page.waitForSelector(`${card} .transcript li.agent >> text=pasta maker`, { timeout: 15000 });
    await page.waitForSelector(`${card} .latency`);
    await screenshot(page, 'console-live');
    await page.waitForSelector(`${card} .transcript del`, { timeout: 20000 }); // the interrupted story, cut part struck
    const record = await call.done;
    await hours.done;
    expect(record.endedBy).toBe('server');
    await page.waitForSelector(card, { state: 'detached' });
    const seen = await page.evaluate(() => (window as unknown as { seenStates: string[] }).seenStates);
    for (const state of ['greeting', 'listening', 'thinking', 'speaking', 'interrupted']) expect(seen).toContain(state);
  }, 60000);

  it('lists the call under past calls, finds it by number and by words said', async () => {
    await page.click('nav a[href="#/calls"]');
    const row = `tr[data-call-sid="${callSid}"]`;
    await page.waitForSelector(row);
    expect(await page.locator('tr[data-call-sid]').count()).toBe(2);
    await screenshot(page, 'console-past');
    await page.fill('input[name=search]', 'story of your company');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-call-sid]').length === 1);
    await page.waitForSelector(row);
    await page.fill('input[name=search]', '+15553334444');
    await page.waitForFunction((sid) => document.querySelectorAll('tr[data-call-sid]').length === 1 && !document.querySelector(`tr[data-call-sid="${sid}"]`), callSid);
    await page.fill('input[name=search]', 'no call said this');
    await page.waitForSelector('.calls .empty');
    await page.fill('input[name=search]', callSid);
    await page.waitForSelector(row);
  });

  it("opens a call's page: transcript with the cut part, tools, timeline bars, the replay button and command", async () => {
    await page.click(`tr[data-call-sid="${callSid}"] a`);
    await page.waitForSelector('.timeline .turn');
    expect(await page.locator('.timeline .turn').count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator('.timeline .bar.p-llm').count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator('.timeline .bar.p-tool').count()).toBe(2); // lookup_order, end_call
    const width = await page.locator('.timeline .bar.p-llm').first().evaluate((el) => el.getBoundingClientRect().width);
    expect(width).toBeGreaterThan(5);
    expect(await page.locator('.timeline .barge-in').count()).toBe(1);
    expect(await page.locator('.call .transcript del').count()).toBe(1);
    expect(await page.textContent('.tool-table')).toContain('lookup_order');
    expect(await page.textContent('.replay pre')).toBe(`npm run replay -- ${callSid} --inspect`);
    await screenshot(page, 'console-timeline');
    // This server runs no inspector: the button is off, the advice says how to get one, and the command stays.
    expect(await page.locator('button.replay-start').isDisabled()).toBe(true);
    expect(await page.textContent('.replay-advice')).toContain('INSPECT=1');
    expect(await page.textContent('.replay pre')).toBe(`npm run replay -- ${callSid} --inspect`);
  });
});
