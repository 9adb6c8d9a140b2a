import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, screenshot } from './support/browser';
import { waitFor, type Harness } from './support/harness';
import { startBatonWithSso, type OidcProviderHandle } from './support/oidc';
import { startReceiver } from './support/receiver';

let h: Harness;
let idp: OidcProviderHandle;
let browser: Browser;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

before(async () => {
  ({ h, idp } = await startBatonWithSso());

  receiver = await startReceiver(() => ({ status: 500 }));
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await receiver?.close();
  await h?.close();
  await idp?.close();
});

/** A fresh browser profile context; console errors and failed requests are collected, to assert none happened. */
async function person(): Promise<{ page: Page; problems: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  // Failed loads are judged by URL below; other console errors (a CSP violation, a script error) are problems.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  // Bull Board's page asks Google for its web fonts; this machine has no way out, and the fonts are optional. A request
  // the page itself dropped (net::ERR_ABORTED: Bull Board's queue poll in flight when the test navigates away) is not a
  // failure of the server; a refused, reset or empty answer still is.
  page.on('requestfailed', (r) => {
    const reason = r.failure()?.errorText ?? '';
    if (/^https:\/\/fonts\.(googleapis|gstatic)\.com\//.test(r.url()) || reason === 'net::ERR_ABORTED') return;
    problems.push(`request: ${r.url()} ${reason}`);
  });
  page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
  return { page, problems, close: () => context.close() };
}

/** A task that failed for good (its URL answers 500, one attempt): its BullMQ job sits in `failed`. */
async function failedTask(): Promise<string> {
  const task = await h.request('POST', '/v1/tasks', {
    key: h.adminKey,
    body: { handler: 'http', payload: { url: `${receiver.url}/down` }, maxAttempts: 1 },
  });
  assert.equal(task.status, 202);
  const id = task.body.id as string;
  const job = () => h.runtime.producer.queue('tasks').getJob(id);
  await waitFor(async () => (await (await job())?.getState()) === 'failed', 15_000, 'the task to fail');
  return id;
}

/** Bull Board's tooltips (base-ui popups: positioned, with a side). */
const TOOLTIP = '[role=tooltip], [data-side]';

/** Bull Board's job actions are icon buttons named only by a tooltip: hover each to read it. */
async function actionNames(page: Page): Promise<string[]> {
  const buttons = page.locator('main button:not([role=tab])');
  const names: string[] = [];
  for (let i = 0; i < (await buttons.count()); i++) {
    await buttons.nth(i).hover();
    const tip = page.locator(TOOLTIP).first();
    names.push(await tip.innerText({ timeout: 1_000 }).catch(() => ''));
    await page.mouse.move(0, 0);
    await tip.waitFor({ state: 'hidden', timeout: 1_000 }).catch(() => undefined);
  }
  return names.filter((n) => n !== '');
}

async function clickAction(page: Page, name: string): Promise<void> {
  const buttons = page.locator('main button:not([role=tab])');
  const names = await actionNames(page);
  assert.ok(names.includes(name), `no ${name} among ${names.join(', ')}`);
  for (let i = 0; i < (await buttons.count()); i++) {
    await buttons.nth(i).hover();
    if (
      (await page
        .locator(TOOLTIP)
        .first()
        .innerText({ timeout: 1_000 })
        .catch(() => '')) === name
    ) {
      await buttons.nth(i).click();
      return;
    }
  }
}

/** Through the provider's own login and consent pages, as a person would. */
async function signInAs(page: Page, login: string, startPath = '/admin/queues'): Promise<void> {
  await page.goto(`${h.url}${startPath}`);
  await page.waitForURL(/\/admin\/login\?next=/);
  await page.click('#sso');
  await page.waitForSelector('input[name="login"]');
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', 'any password');
  await page.click('button[type="submit"]');
  // The provider asks for consent the first time.
  const consent = page.locator('button:has-text("Continue")');
  await Promise.race([
    consent.waitFor({ timeout: 10_000 }).then(() => consent.click()),
    page.waitForURL((u) => u.origin === h.url, { timeout: 10_000 }),
  ]);
  await page
    .waitForURL((u) => u.origin === h.url && !u.pathname.startsWith('/admin/login'), { timeout: 10_000 })
    .catch(() => undefined);
}

describe('the operator console in a browser', () => {
  test('signed out: sent to the sign-in page', async () => {
    const { page, close } = await person();
    await page.goto(`${h.url}/admin/queues`);
    assert.match(page.url(), /\/admin\/login\?next=%2Fadmin%2Fqueues$/);
    assert.ok(await page.isVisible('#sso'));
    assert.ok(await page.isVisible('input[name="apiKey"]'));
    await screenshot(page, '01-signed-out');
    await close();
  });

  test('an admin signs in through the provider, sees the queues, opens a failed job and retries it', async (t) => {
    const id = await failedTask();
    const job = () => h.runtime.producer.queue('tasks').getJob(id);
    await h.stopWorker(); // the retried job then waits where the test can see it
    t.after(() => h.startWorker()); // even when an assertion below fails: the next tests need their tasks to run

    const { page, problems, close } = await person();
    await signInAs(page, 'alice');
    assert.match(page.url(), /\/admin\/queues$/);
    for (const name of ['tasks', 'batches', 'cluster', 'maintenance']) {
      await page.getByText(name, { exact: true }).first().waitFor({ timeout: 10_000 });
    }
    await screenshot(page, '02-admin-queues');

    await page.goto(`${h.url}/admin/queues/queue/tasks/${id}`);
    await page.getByText(id).first().waitFor({ timeout: 10_000 });
    await page
      .getByText(/answered 500/)
      .first()
      .waitFor({ timeout: 10_000 }); // the job's error, as the worker saw it
    await screenshot(page, '03-admin-failed-job');
    await clickAction(page, 'Retry');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await waitFor(async () => (await (await job())?.getState()) !== 'failed', 10_000, 'the job to leave failed');
    // Back in line to run again (tasks carry a priority, so BullMQ files them as prioritized rather than waiting).
    assert.ok(['waiting', 'prioritized'].includes((await (await job())?.getState()) as string));
    await screenshot(page, '04-admin-retried');
    assert.deepEqual(problems, []);
    await close();
  });

  test('a viewer sees the queues read-only', async () => {
    const failed = await failedTask();
    const { page, close } = await person();
    await signInAs(page, 'victor');
    assert.match(page.url(), /\/admin\/queues$/);
    await page.getByText('tasks', { exact: true }).first().waitFor({ timeout: 10_000 });
    await page.goto(`${h.url}/admin/queues/queue/tasks?status=failed`);
    await page.getByText(failed).first().waitFor({ timeout: 10_000 }); // the list has loaded
    await screenshot(page, '05-viewer-read-only');
    assert.equal(await page.getByRole('button', { name: /^retry/i }).count(), 0, 'no retry-all button for a viewer');
    await page.goto(`${h.url}/admin/queues/queue/tasks/${failed}`);
    await page
      .getByText(/answered 500/)
      .first()
      .waitFor({ timeout: 10_000 }); // the job has loaded
    assert.deepEqual(await actionNames(page), [], 'no job actions for a viewer');
    const put = await page.evaluate(
      async () => (await fetch('/admin/queues/api/queues/tasks/pause', { method: 'PUT' })).status,
    );
    assert.equal(put, 403);
    await close();
  });

  test('a member is refused', async () => {
    const { page, close } = await person();
    await signInAs(page, 'mallory');
    assert.match(await page.content(), /may not use the operator console: your role is member/);
    await screenshot(page, '06-member-refused');
    const res = await page.goto(`${h.url}/admin/queues`);
    assert.match(page.url(), /\/admin\/login/, 'no session was made');
    assert.equal(res?.status(), 200);
    await close();
  });

  test('the operator views page shows the ops answers', async () => {
    const { page, problems, close } = await person();
    await signInAs(page, 'alice', '/admin');
    assert.match(page.url(), /\/admin$/);
    for (const id of ['#queues', '#dead-letters']) await page.locator(id).waitFor();
    assert.match(await page.locator('#dead-letters').innerText(), /task\s+[1-9]/);
    await screenshot(page, '07-operator-views');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/admin\/login$/);
    assert.deepEqual(problems, []);
    await close();
  });
});
