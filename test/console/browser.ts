/**
 * Headless Chromium for the console tests: Debian's /usr/bin/chromium driven by playwright-core (it never downloads
 * a browser). One browser per test file; a fresh context (cookies) per test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startOfflineStack, type OfflineStack, type OfflineStackOptions } from '../../src/harness/offline-stack.js';

export { CHROMIUM_PATH as CHROMIUM } from '../support/externals.js';
import { CHROMIUM_PATH as CHROMIUM } from '../support/externals.js';
export const RESULTS_DIR = path.resolve(import.meta.dirname, '../../test-results');

/** `args`: extra Chromium flags, e.g. `--use-fake-device-for-media-stream`. */
export async function launchChromium(args: readonly string[] = []): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)`);
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', ...args] });
}

/** Opens the console at `serverUrl` in a new context and logs in; resolves once the logged-in layout shows. */
export async function loginToConsole(browser: Browser, serverUrl: string, password: string, hash = ''): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(10_000); // below the test's timeout, so a failure names the step that waited
  const page = await context.newPage();
  await page.goto(`${serverUrl}/console/${hash}`);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('.layout');
  return page;
}

/** A screenshot under test-results/ (not committed). */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * The console of an offline stack with call records in a temp dir, open in Chromium and logged in at `hash`: what the
 * console's browser tests start from. `close` ends all three.
 */
export async function consoleWithRecords(opts: { password: string; hash: string; stack: Omit<OfflineStackOptions, 'env'> }): Promise<{
  stack: OfflineStack;
  browser: Browser;
  page: Page;
  close: () => Promise<void>;
}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-'));
  const env = { CONSOLE_PASSWORD: opts.password, CALL_RECORDS: 'on', CALL_DB_PATH: path.join(dir, 'calls.db') };
  const [stack, browser] = await Promise.all([startOfflineStack({ ...opts.stack, env }), launchChromium()]);
  const page = await loginToConsole(browser, stack.server.localUrl, opts.password, opts.hash);
  return {
    stack,
    browser,
    page,
    async close() {
      await browser.close();
      await stack.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
