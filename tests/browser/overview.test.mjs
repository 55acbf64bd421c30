// The overview in a real browser: hydrated (the year picker applies as soon as it changes) and
// with JavaScript off (the same picker works as a plain GET form).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, screenshot, worldBankGdp, billions, hydrated } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const usaCell = (page) => page.locator('[data-testid="large-economies"] tr[data-code="USA"] td.num');

test('hydrated: choosing a year applies at once, without the Show button', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
  assert.equal(await usaCell(page).textContent(), billions(worldBankGdp('USA', 2025)));
  await screenshot(page, 'overview-1280');

  await page.getByLabel('Year').selectOption('2020');
  await page.waitForURL(/[?&]year=2020\b/);
  await page.locator('[data-testid="large-economies"] caption', { hasText: '2020 · GDP' }).waitFor();
  assert.equal(await usaCell(page).textContent(), billions(worldBankGdp('USA', 2020)));
  // Each page is server HTML; its islands hydrate again after the navigation.
  await hydrated(page);
  assert.deepEqual(errors, []);
  await page.close();
});

test('without JavaScript: the page is complete and the year form submits', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(server.url);
  assert.equal(await page.locator('body[data-hydrated]').count(), 0);
  assert.equal(await usaCell(page).textContent(), billions(worldBankGdp('USA', 2025)));
  await screenshot(page, 'overview-390-nojs');

  await page.getByLabel('Year').selectOption('2020');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForURL(/[?&]year=2020\b/);
  assert.equal(await usaCell(page).textContent(), billions(worldBankGdp('USA', 2020)));
  await context.close();
});
