/** Logging in to the console in real Chromium. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { has } from '../support/externals.js';
import type { Browser } from 'playwright-core';
import { startOfflineStack, type OfflineStack } from '../../src/harness/offline-stack.js';
import { launchChromium, loginToConsole, screenshot } from './browser.js';

const PASSWORD = 'browser-test-password-of-32-chars';

describe.skipIf(!has('chromium'))('console login in Chromium', () => {
  let stack: OfflineStack;
  let browser: Browser;
  beforeAll(async () => {
    [stack, browser] = await Promise.all([startOfflineStack({ env: { CONSOLE_PASSWORD: PASSWORD } }), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('shows an error for a wrong password, then logs in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.server.localUrl}/console/`);
    await page.fill('input[name=password]', 'not it');
    await page.click('button[type=submit]');
    await page.waitForSelector('.login .error');
    expect(await page.textContent('.login .error')).toContain('Wrong password');
    await screenshot(page, 'console-login-error');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('.layout');
    await context.close();
  });

  it('keeps the session across a reload', async () => {
    const page = await loginToConsole(browser, stack.server.localUrl, PASSWORD);
    await page.reload();
    await page.waitForSelector('.layout');
    await page.context().close();
  });
  it('says so after 5 failed attempts in a minute', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.server.localUrl}/console/`);
    for (let i = 0; i < 6; i++) {
      await page.fill('input[name=password]', `guess ${i}`);
      await page.click('button[type=submit]');
      await page.waitForFunction((n) => document.querySelector('.login .error')?.getAttribute('data-attempt') === String(n), i + 1);
    }
    expect(await page.textContent('.login .error')).toContain('Too many failed attempts');
    await context.close();
  });
});
