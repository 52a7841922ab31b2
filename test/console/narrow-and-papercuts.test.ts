/**
 * The console's papercuts, in real Chromium against the offline stack: at 420 px the side panel (softphone) sits
 * below the call instead of over its header and the transcript and timeline keep their width; tool JSON wraps between
 * tokens, never inside one; Past calls lists ended calls only; the replay button is off when the server runs no
 * inspector and the advice shows once; a tool line stays on the live card after its turn (also when the page
 * reconnects). Screenshots go to test-results/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { has } from '../support/externals.js';
import type { Browser, Page } from 'playwright-core';
import { startOfflineStack, type OfflineStack } from '../../src/harness/offline-stack.js';
import type { SimulatedCall } from '../../offline/twilio-caller.js';
import { loadAgent } from '../../src/agent/agent-loader.js';
import { launchChromium, loginToConsole, screenshot } from './browser.js';

const PASSWORD = 'narrow-test-password-of-32-characters';

type Box = { x: number; y: number; width: number; height: number };
const intersects = (a: Box, b: Box): boolean => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** The boxes of an element's text as laid out (text overflowing its element's box included). */
async function textBoxes(page: Page, selector: string): Promise<Box[]> {
  return page.locator(selector).first().evaluate((el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return [...range.getClientRects()].map((r) => ({ x: r.x, y: r.y, width: r.width, height: r.height }));
  });
}

/** Each whitespace-separated token of the element's text, and how many line boxes it spans (1 = not broken). */
async function tokenLines(page: Page, selector: string): Promise<Array<{ token: string; lines: number }>> {
  return page.locator(selector).first().evaluate((el) => {
    const out: Array<{ token: string; lines: number }> = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
      const text = node.textContent ?? '';
      for (const m of text.matchAll(/\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        out.push({ token: m[0], lines: tops.size });
      }
    }
    return out;
  });
}

describe.skipIf(!has('chromium'))('console papercuts: narrow layout, tool JSON, past calls, replay, live tools', () => {
  let stack: OfflineStack;
  let browser: Browser;
  let page: Page;
  let dir: string;
  let ended = '';
  let held: SimulatedCall | undefined;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-narrow-'));
    const env = { CONSOLE_PASSWORD: PASSWORD, CALL_RECORDS: 'on', CALL_DB_PATH: path.join(dir, 'calls.db') };
    [stack, browser] = await Promise.all([startOfflineStack({ env, agent: await loadAgent() }), launchChromium()]);
    page = await loginToConsole(browser, stack.server.localUrl, PASSWORD, '#/live');
  });
  afterAll(async () => {
    held?.hangup();
    await browser?.close();
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a tool line on the live card after its turn ends, and after the page reconnects', async () => {
    await page.waitForSelector('.feed.live');
    held = stack.placeCall({
      from: '+15554445555',
      // Asks about an order (a tool), hears the answer, asks one more thing, then stays on the line.
      script: [{ waitForAgent: 'reply' }, { say: 'Where is my order 4271?' }, { waitForAgent: 'reply' }, { say: 'What are your opening hours?' }, { waitForAgent: 'reply' }, { pause: 60_000 }],
      maxDurationMs: 90_000,
    });
    const card = `.live-call[data-call-sid="${held.record.callSid}"]`;
    await page.waitForSelector(`${card} .tools li.tool-ok >> text=lookup_order`, { timeout: 20_000 });
    await page.waitForSelector(`${card} .transcript li.agent >> text=/open|hours/i`, { timeout: 20_000 });
    await page.waitForSelector(`${card} .state[data-state=listening]`, { timeout: 20_000 });
    expect(await page.locator(`${card} .tools li`).count()).toBe(1);
    // A console that connects now (reload) rebuilds the card from the call's history: the tool is still there.
    await page.reload();
    await page.waitForSelector(`${card} .transcript li.agent >> text=/open|hours/i`);
    expect(await page.locator(`${card} .tools li.tool-ok`).count()).toBe(1);
    expect(await page.textContent(`${card} .tools li`)).toContain('"order_number": "4271"');
  }, 60_000);

  it('lists only ended calls under Past calls (the call in progress is on Live calls)', async () => {
    const finished = stack.placeCall({ script: [{ waitForAgent: 'reply' }, { say: 'Where is my order 4271?' }, { waitForAgent: 'reply' }, { hangup: true }], maxDurationMs: 45_000 });
    ended = finished.record.callSid;
    await finished.done;
    const heldSid = held?.record.callSid ?? '';
    // The records API has both; the page asks for ended ones only.
    const all = await page.evaluate(async () => ((await (await fetch('/console/api/calls')).json()) as { calls: Array<{ callSid: string; status: string }> }).calls);
    expect(all.find((c) => c.callSid === heldSid)?.status).toBe('in-progress');
    await page.goto(`${stack.server.localUrl}/console/#/calls`);
    await page.waitForSelector(`tr[data-call-sid="${ended}"]`, { timeout: 15_000 });
    expect(await page.locator(`tr[data-call-sid="${heldSid}"]`).count()).toBe(0);
    expect(await page.locator('tr.in-progress').count()).toBe(0);
  }, 60_000);

  it('at 420 px: the side panel is below the call header, transcript and timeline keep their width, JSON wraps between tokens', async () => {
    await page.setViewportSize({ width: 420, height: 900 });
    await page.goto(`${stack.server.localUrl}/console/#/calls/${ended}`);
    await page.waitForSelector('.timeline .turn');
    await page.waitForSelector('.softphone');
    await screenshot(page, 'console-call-420px');
    const panel = await page.locator('.layout > aside').boundingBox();
    expect(panel).not.toBeNull();
    for (const header of ['.call-title', '.call-meta']) {
      const boxes = await textBoxes(page, header);
      expect(boxes.length).toBeGreaterThan(0);
      for (const box of boxes) if (panel) expect(intersects(panel, box), `${header} text under the side panel`).toBe(false);
    }
    // Nothing wider than the viewport (no sideways scrolling).
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(420);
    const said = await page.locator('.call .transcript .said').evaluateAll((els) => els.map((el) => el.getBoundingClientRect().width));
    expect(said.length).toBeGreaterThan(0);
    for (const width of said) expect(width).toBeGreaterThan(250);
    const lanes = await page.locator('.timeline .lanes').first().boundingBox();
    expect(lanes?.width ?? 0).toBeGreaterThan(250);
    // {"order_number":"4271"} as `{ "order_number": "4271" }`: every token whole on one line.
    const tokens = await tokenLines(page, '.tool-table td code.json');
    expect(tokens.map((t) => t.token).join(' ')).toContain('"order_number": "4271"');
    for (const t of tokens) expect(t, t.token).toMatchObject({ lines: 1 });
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('offers no replay in an inspector the server does not run, and shows the command once', async () => {
    await page.goto(`${stack.server.localUrl}/console/#/calls/${ended}`);
    await page.waitForSelector('.replay pre');
    expect(await page.locator('button.replay-start').isDisabled()).toBe(true);
    expect(await page.textContent('.replay-advice')).toContain('INSPECT=1');
    const replayText = (await page.textContent('.replay')) ?? '';
    expect(replayText.split('INSPECT=1').length - 1).toBe(1);
    expect(replayText.split(`npm run replay -- ${ended}`).length - 1).toBe(1);
    expect(await page.locator('.replay-refused').count()).toBe(0);
  });
});
