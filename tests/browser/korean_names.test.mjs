// Korean readers see countries named in Korean (Unicode CLDR, by ISO code) and regions (by UN M49
// code) on every page that names them, and in alert titles; names sort in Korean order and can
// be searched in either language; English readers keep the data's names.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, launchBrowser, newContext, open, hydrated, screenshot } from './harness.mjs';

let server;
let browser;

// CLDR's Korean names, read here from the CLDR package itself (not from the app's table).
const root = path.resolve(import.meta.dirname, '../..');
const cldr = JSON.parse(readFileSync(path.join(root, 'node_modules/cldr-localenames-full/main/ko/territories.json'), 'utf8'))
  .main.ko.localeDisplayNames.territories;
const KO = { USA: cldr.US, KOR: cldr.KR, EGY: cldr.EG, CHN: cldr.CN };
const KO_REGION = { Asia: cldr['142'], Americas: cldr['019'], Europe: cldr['150'], 'Eastern Asia': cldr['030'] };
const collator = new Intl.Collator('ko');

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

for (const javaScriptEnabled of [true, false]) {
  test(`Korean country names on every page that names countries (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    const context = await newContext(browser, server.url, { lang: 'ko', javaScriptEnabled });
    const check = async (url, selector, name) => {
      const { page } = await open(context, server.url, url);
      if (javaScriptEnabled) await hydrated(page);
      const text = await page.locator(selector).first().textContent();
      assert.ok(text.includes(name), `${url}: ${text}`);
      return page;
    };
    const overview = await check('/', 'main', KO.USA);
    assert.equal(await overview.getByRole('link', { name: KO.USA, exact: true }).count() > 0, true);
    assert.equal(await overview.getByRole('link', { name: 'United States', exact: true }).count(), 0);
    await check('/explore?region=Asia', '[data-testid="explore-table"] tr[data-code="KOR"] th', KO.KOR);
    const country = await check('/country/KOR', 'h1', KO.KOR);
    if (javaScriptEnabled) {
      assert.ok((await country.title()).startsWith(KO.KOR));
      await screenshot(country, 'country-ko-names');
    }
    await check('/editions', '[data-testid="editions-table"] tr[data-code="CHN"] th', KO.CHN);
    // An alert's title and the inbox name the country in Korean.
    await check('/alerts/gdp_fall:EGY:2025', 'h1', KO.EGY);
    await check('/alerts', '[data-testid="inbox"]', KO.EGY);
    await context.close();
  });

  test(`Korean region names on every page that names regions (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    const context = await newContext(browser, server.url, { lang: 'ko', javaScriptEnabled });
    const text = async (url, selector) => {
      const { page } = await open(context, server.url, url);
      if (javaScriptEnabled) await hydrated(page);
      return { page, text: await page.locator(selector).first().textContent() };
    };
    const top5 = await text('/', '[data-testid="region-top5"]');
    for (const en of ['Asia', 'Americas', 'Europe']) {
      assert.ok(top5.text.includes(KO_REGION[en]), `overview top 5: ${top5.text}`);
      assert.ok(!top5.text.includes(`${en}`), `no English region ${en}: ${top5.text}`);
    }
    assert.ok(top5.text.includes(KO.USA), 'top 5 countries in Korean too');
    assert.ok((await text('/', '[data-testid="large-economies"] tr[data-code="KOR"]')).text.includes(KO_REGION.Asia));
    const explore = await text('/explore', '[data-testid="explore-table"] tr[data-code="KOR"]');
    assert.ok(explore.text.includes(KO_REGION.Asia), explore.text);
    const option = explore.page.locator('#explore-region option[value="Asia"]');
    assert.equal((await option.textContent()).trim(), KO_REGION.Asia);
    const country = await text('/country/KOR', 'main');
    assert.ok(country.text.includes(KO_REGION.Asia) && country.text.includes(KO_REGION['Eastern Asia']), 'country page region and sub-region');
    assert.ok((await text('/editions', '[data-testid="editions-table"] tr[data-code="CHN"]')).text.includes(KO_REGION.Asia));
    // The inbox's region filter is labelled in Korean (its value stays the data's name).
    const inbox = await text('/alerts', 'main');
    assert.ok(inbox.text.includes(KO_REGION.Asia) || inbox.text.includes(KO_REGION.Europe), 'inbox regions in Korean');
    await context.close();
  });
}

test('Korean readers sort names in Korean order and search in either language', async () => {
  const context = await newContext(browser, server.url, { lang: 'ko', javaScriptEnabled: false });
  const names = async (url) => {
    const { page } = await open(context, server.url, url);
    return page.locator('[data-testid="explore-table"] tbody th').allTextContents();
  };
  const sorted = (await names('/explore?region=Asia&sort=name&dir=asc')).map((s) => s.trim());
  assert.ok(sorted.length >= 20, `a full page: ${sorted.length}`);
  assert.deepEqual(sorted, [...sorted].sort(collator.compare), 'ICU Korean collation');
  assert.ok(sorted.includes(KO.KOR), 'ㄷ is on the first page');
  const desc = (await names('/explore?region=Asia&sort=name&dir=desc')).map((s) => s.trim());
  assert.deepEqual(desc, [...desc].sort(collator.compare).reverse());
  // One country found by its Korean name, its English name or its code.
  for (const q of [KO.KOR, 'south korea', 'KOR']) {
    const found = (await names(`/explore?q=${encodeURIComponent(q)}`)).map((s) => s.trim());
    assert.deepEqual(found, [KO.KOR], q);
  }
  // A region typed in Korean filters as the English one does.
  assert.deepEqual(
    await names(`/explore?region=${encodeURIComponent(KO_REGION.Asia)}&sort=gdp`),
    await names('/explore?region=Asia&sort=gdp'),
  );
  // The search box is a labelled form field that keeps what was typed.
  const { page } = await open(context, server.url, '/explore');
  await page.getByLabel('국가 또는 코드').fill('미국');
  await page.getByRole('button', { name: '적용' }).click();
  await page.waitForURL(/q=/);
  assert.deepEqual((await page.locator('[data-testid="explore-table"] tbody th').allTextContents()).map((s) => s.trim()), [KO.USA]);
  assert.equal(await page.getByLabel('국가 또는 코드').inputValue(), '미국');
  await context.close();
});

test('English readers keep the data\'s names', async () => {
  const context = await newContext(browser, server.url, { lang: 'en', javaScriptEnabled: false });
  const { page } = await open(context, server.url, '/country/KOR');
  assert.match(await page.locator('h1').textContent(), /^Korea, Rep\. \(KOR\)|^South Korea \(KOR\)|KOR/);
  assert.ok(!(await page.locator('h1').textContent()).includes(KO.KOR));
  await context.close();
});
