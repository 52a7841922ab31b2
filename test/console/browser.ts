/**
 * Headless Chromium for the console tests: Debian's /usr/bin/chromium driven by playwright-core (it never downloads
 * a browser). One browser per test file; a fresh context (cookies) per test.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

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
