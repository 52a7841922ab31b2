/**
 * A conversation flow in the console, in real Chromium against the offline stack running the dental-flow example: one
 * call (identify → booking → done) is watched live — the card shows its step as it changes and its transcript marks
 * each change — then its page shows the flow path, the step marks at their place in the transcript, and the step of
 * each turn in the timeline. Screenshots go to test-results/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { has } from '../support/externals.js';
import type { OfflineStack } from '../../src/harness/offline-stack.js';
import { callerScript } from '../../offline/twilio-caller-script.js';
import agent from '../../agents/dental-flow.js';
import { consoleWithRecords, screenshot } from './browser.js';
import { SIM_SPEED } from '../support/sim-speed.js';
import { dentalFlowModel } from '../../src/harness/dental-flow-call.js';

const PASSWORD = 'flow-test-password-of-32-characters';


describe.skipIf(!has('chromium'))('console: a conversation flow, live and past', () => {
  let stack: OfflineStack;
  let page: Page;
  let closeConsole: (() => Promise<void>) | undefined;
  let callSid = '';

  beforeAll(async () => {
    ({ stack, page, close: closeConsole } = await consoleWithRecords({ password: PASSWORD, hash: '#/live', stack: { agent, speed: SIM_SPEED, simulators: { llm: { script: dentalFlowModel } } } }));
  });
  afterAll(async () => {
    await closeConsole?.();
  });

  it("shows the live call's step as the flow moves, and marks each change in its transcript", async () => {
    await page.waitForSelector('.feed.live');
    // Every step the card showed and every step line its transcript had, as the page rendered them (the call is short).
    await page.evaluate(() => {
      const seen = { steps: [] as string[], lines: [] as string[] };
      (window as unknown as { seenFlow: typeof seen }).seenFlow = seen;
      new MutationObserver(() => {
        const step = document.querySelector('.live-call .flow-step')?.getAttribute('data-step');
        if (step != null && seen.steps.at(-1) !== step) seen.steps.push(step);
        for (const li of document.querySelectorAll('.live-call .transcript li.step')) {
          const text = li.textContent ?? '';
          if (!seen.lines.includes(text)) seen.lines.push(text);
        }
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    const call = stack.placeCall({
      script: callerScript(['I would like an appointment.', 'Lovelace, born 1815-12-10.', 'Tuesday at 9 please.', 'Thanks, bye!']),
      maxDurationMs: 45000,
    });
    callSid = call.record.callSid;
    const card = `.live-call[data-call-sid="${callSid}"]`;
    await page.waitForSelector(card);
    const record = await call.done;
    expect(record.endedBy).toBe('server');
    await page.waitForSelector(card, { state: 'detached' });
    const seen = await page.evaluate(() => (window as unknown as { seenFlow: { steps: string[]; lines: string[] } }).seenFlow);
    expect(seen.steps).toEqual(['identify', 'booking', 'done']);
    expect(seen.lines).toEqual(['step→ booking (VERIFIED)', 'step→ done (BOOKED)']);
  }, 60000);

  it("shows the call's flow path, its step marks in the transcript, and each turn's step in the timeline", async () => {
    await page.goto(`${stack.server.localUrl}/console/#/calls/${callSid}`);
    await page.waitForSelector('.timeline .turn');
    expect(await page.textContent('.call .flow-path')).toBe('Flow: identify → booking → done');
    // The step marks sit where the flow moved: after the caller's words that moved it, before the reply from the new step.
    const lines = await page.locator('.call .transcript li').evaluateAll((els) => els.map((el) => `${el.className}: ${el.querySelector('.said')?.textContent ?? ''}`));
    const at = (start: string): number => lines.findIndex((l) => l.startsWith(start));
    expect(at('step: → booking (VERIFIED)')).toBeGreaterThan(at('caller: Lovelace, born 1815-12-10.'));
    expect(at('step: → booking (VERIFIED)')).toBe(lines.findIndex((l) => l.startsWith('agent:') && l.includes('Tuesday 9:00 is free.')) - 1);
    expect(at('step: → done (BOOKED)')).toBeGreaterThan(at('caller: Tuesday at 9 please.'));
    expect(lines.filter((l) => l.startsWith('step:'))).toHaveLength(2);
    const turns = await page.locator('.timeline .turn').evaluateAll((els) =>
      els.map((el) => [el.querySelector('.turn-step')?.textContent ?? '', el.querySelector('.step-change')?.textContent ?? ''].join(' | ')),
    );
    expect(turns).toEqual([
      'identify | ',
      'booking | → step booking (from identify, VERIFIED)',
      'done | → step done (from booking, BOOKED)',
      'done | ',
    ]);
    await screenshot(page, 'console-flow');
  });
});
