// Korean readers see countries named in Korean (Unicode CLDR, by ISO code) on every page that
// names them, and in alert titles; English readers keep the data's names.
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
}

test('English readers keep the data\'s names', async () => {
  const context = await newContext(browser, server.url, { lang: 'en', javaScriptEnabled: false });
  const { page } = await open(context, server.url, '/country/KOR');
  assert.match(await page.locator('h1').textContent(), /^Korea, Rep\. \(KOR\)|^South Korea \(KOR\)|KOR/);
  assert.ok(!(await page.locator('h1').textContent()).includes(KO.KOR));
  await context.close();
});
