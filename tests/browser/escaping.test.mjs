// Source text is data, never markup: a region table whose country name carries a script and an
// image with an onerror handler is shown literally on every page that shows the name, and
// nothing runs (with JavaScript on, after hydration).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, customSources, newContext, open, hydrated, screenshot,
} from './harness.mjs';

const EVIL = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2">';
let server;
let browser;
let sources;

before(async () => {
  sources = customSources({
    'regions/un_m49_country-codes.csv': (rows) => {
      const code = rows[0].indexOf('ISO3166-1-Alpha-3');
      const name = rows[0].indexOf('CLDR display name');
      return rows.map((r) => (r[code] === 'KOR' ? r.map((f, i) => (i === name ? EVIL : f)) : r));
    },
  });
  server = await startServer({ config: sources.config });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  sources?.cleanup();
});

const pages = [
  ['/explore?region=Asia', '[data-testid="explore-table"] tr[data-code="KOR"] th'],
  ['/country/KOR', '[data-testid="country-name"]'],
  ['/editions', '[data-testid="editions-table"] tr[data-code="KOR"] th'],
];

for (const javaScriptEnabled of [true, false]) {
  test(`the name is shown as text and never runs (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    const context = await newContext(browser, server.url, { javaScriptEnabled });
    for (const [url, selector] of pages) {
      const { page, errors } = await open(context, server.url, url);
      if (javaScriptEnabled) await hydrated(page);
      const text = await page.locator(selector).textContent();
      assert.ok(text.includes(EVIL), `${url}: ${text}`);
      assert.equal(await page.locator('img[src="x"]').count(), 0, url);
      // No script element was made of the name (also not by breaking out of serialized data).
      const injected = await page.evaluate(() => [...document.scripts].some((s) => s.textContent.trim().startsWith('window.__pwned')));
      assert.equal(injected, false, url);
      if (javaScriptEnabled) {
        // Give a loaded image's onerror a moment to fire, had one been created.
        await page.waitForTimeout(300);
        assert.equal(await page.evaluate(() => typeof window.__pwned), 'undefined', url);
        assert.deepEqual(errors, [], url);
      }
      if (url === '/country/KOR') {
        // The document title carries the name too.
        if (javaScriptEnabled) assert.ok((await page.title()).includes(EVIL));
        await screenshot(page, `escaping-country-js-${javaScriptEnabled ? 'on' : 'off'}`);
      }
      await page.close();
    }
    await context.close();
  });
}
