// Controls that respond in place: with JavaScript, the overview's year picker and the explore
// page's filters, sort and pages replace the content without a page load (a marker set on
// `window` survives), push the new URL (a shareable link), keep the keyboard focus on the control
// used, and Back/Forward restore the previous state. Without JavaScript the same controls are
// plain forms and links (the page is loaded anew).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newContext, open, hydrated } from './harness.mjs';

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

const marked = (page) => page.evaluate(() => window.__stillHere === true);
const rowCodes = (page) => page.locator('[data-testid="explore-table"] tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.code));

for (const lang of ['en', 'ko']) {
  test(`overview (${lang}): the year picker applies in place, keeps focus, and Back restores it`, async () => {
    const context = await newContext(browser, server.url, { lang });
    const { page, errors } = await open(context, server.url, '/');
    await hydrated(page);
    await page.evaluate(() => { window.__stillHere = true; });
    const heading = page.locator('#large-title, h2').filter({ hasText: /2025/ }).first();
    assert.ok(await heading.count(), 'the default year is 2025');

    await page.locator('#year').focus();
    await page.locator('#year').selectOption('2020');
    await page.waitForURL(/[?&]year=2020\b/);
    await page.waitForFunction(() => document.querySelector('#year')?.value === '2020'
      && [...document.querySelectorAll('h2')].some((h) => h.textContent.includes('2020')));
    assert.ok(await marked(page), 'no page load: the window is the same');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'year', 'the focus stays on the picker');

    await page.goBack();
    await page.waitForFunction(() => document.querySelector('#year')?.value === '2025');
    assert.ok(!/year=2020/.test(page.url()));
    assert.ok(await marked(page), 'Back restores in place too');
    await page.goForward();
    await page.waitForFunction(() => document.querySelector('#year')?.value === '2020');
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test('explore: filters, sort and pages in place; Back and Forward', async () => {
  const context = await newContext(browser, server.url);
  const { page, errors } = await open(context, server.url, '/explore');
  await hydrated(page);
  await page.evaluate(() => { window.__stillHere = true; });
  const first = await rowCodes(page);

  // A filter, applied with the button: in place.
  await page.getByLabel('Region').selectOption('Asia');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/region=Asia/);
  await page.waitForFunction((before) => {
    const codes = [...document.querySelectorAll('[data-testid="explore-table"] tbody tr')].map((r) => r.dataset.code);
    return codes.length > 0 && codes.join() !== before;
  }, first.join());
  const asia = await rowCodes(page);
  assert.ok(asia.includes('KOR') && !asia.includes('USA'));
  assert.ok(await marked(page));

  // Sort by name: the heading link, in place; the focus stays on that heading's link.
  await page.getByRole('link', { name: 'Country', exact: true }).click();
  await page.waitForURL(/sort=name/);
  await page.waitForSelector('th[aria-sort="ascending"]');
  const byName = await rowCodes(page);
  assert.notDeepEqual(byName, asia);
  assert.ok(await marked(page));
  assert.equal(await page.evaluate(() => document.activeElement?.dataset?.inPlace), 'sort-name');

  // The next page, in place.
  await page.getByRole('link', { name: 'Next page →' }).click();
  await page.waitForURL(/page=2/);
  await page.waitForFunction((before) => {
    const codes = [...document.querySelectorAll('[data-testid="explore-table"] tbody tr')].map((r) => r.dataset.code);
    return codes.join() !== before;
  }, byName.join());
  assert.ok(await marked(page));

  // Back: the first page sorted by name; again: the unsorted Asian countries.
  await page.goBack();
  await page.waitForFunction((want) => [...document.querySelectorAll('[data-testid="explore-table"] tbody tr')].map((r) => r.dataset.code).join() === want, byName.join());
  await page.goBack();
  await page.waitForFunction((want) => [...document.querySelectorAll('[data-testid="explore-table"] tbody tr')].map((r) => r.dataset.code).join() === want, asia.join());
  assert.ok(await marked(page), 'Back restored each state in place');
  await page.goForward();
  await page.waitForURL(/sort=name/);

  // The search box, typed in Korean and submitted with Enter: in place, the filters kept.
  await page.getByLabel('Country or code').fill('대한민국');
  await page.getByLabel('Country or code').press('Enter');
  await page.waitForURL(/q=/);
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="explore-table"] tbody tr')].map((r) => r.dataset.code).join() === 'KOR');
  assert.match(page.url(), /region=Asia/);
  assert.ok(await marked(page), 'searched in place');
  assert.deepEqual(errors, []);
  await context.close();
});

test('without JavaScript the same controls are forms and links that load the page', async () => {
  const context = await newContext(browser, server.url, { javaScriptEnabled: false });
  const { page } = await open(context, server.url, '/explore');
  await page.getByLabel('Region').selectOption('Asia');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/region=Asia/);
  await page.getByRole('link', { name: 'Country', exact: true }).click();
  await page.waitForURL(/sort=name/);
  assert.match(page.url(), /region=Asia/);
  const { page: overview } = await open(context, server.url, '/');
  await overview.locator('#year').selectOption('2020');
  await overview.getByRole('button', { name: 'Show' }).click();
  await overview.waitForURL(/[?&]year=2020\b/);
  await context.close();
});
