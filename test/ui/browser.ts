import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/**
 * The browser side of the UI tests: a real headless Chromium (Debian's, at /usr/bin/chromium;
 * CI installs it) driving the built UI served by a real Herald.
 */
export const CHROMIUM = process.env.HERALD_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`UI browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set HERALD_TEST_CHROMIUM)`);
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SHOTS = join(ROOT, 'docs/img');

export async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

export interface Watched {
  context: BrowserContext;
  page: Page;
  /** alert/confirm/prompt dialogs the page opened (an XSS would) */
  dialogs: string[];
  /** requests to anywhere but the Herald under test (the UI makes none) */
  external: string[];
  /** uncaught exceptions and console errors */
  errors: string[];
}

/** A fresh browser profile (own cookies) with one page, watched for dialogs, errors and requests off this Herald. */
export async function openPage(browser: Browser, base: string, viewport = { width: 1280, height: 860 }): Promise<Watched> {
  const context = await browser.newContext({ viewport, colorScheme: 'light', reducedMotion: 'reduce' });
  const page = await context.newPage();
  const w: Watched = { context, page, dialogs: [], external: [], errors: [] };
  page.on('dialog', (d) => {
    w.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => w.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A 401/403 the test provokes on purpose shows up as a failed resource load: not an error of the UI.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) w.errors.push(`console: ${m.text()}`);
  });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base) || url.startsWith('data:')) return route.continue();
    w.external.push(url);
    return route.abort();
  });
  return w;
}

/** A screenshot for docs/dashboard.md. */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}

/** The widest the page can scroll sideways (0: no horizontal scroll). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}
