import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots land here (gitignored); CI keeps the folder as the run's artifacts. */
export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');

/**
 * Debian's Chromium, headless, driven by playwright-core (no browser download). Playwright gives every launch a new
 * empty profile directory. The flags keep Chromium off the network it would otherwise call home to: this machine
 * has none, and refused connections by the dozen only slow the tests down.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}
