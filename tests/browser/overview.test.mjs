// The overview in a real browser: hydrated (the year picker applies as soon as it changes) and
// with JavaScript off (the same picker works as a plain GET form).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, screenshot, worldBankGdp, billions, hydrated, customSources,
} from './harness.mjs';

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

// The overview's pictures: world GDP over the years (complete years solid, partial years dashed
// and named provisional) and the regions' top-5 averages as bars, drawn on the server (in the
// HTML before any script runs), each with its figures in text for screen readers.
for (const { js, lang } of [{ js: true, lang: 'en' }, { js: false, lang: 'ko' }, { js: false, lang: 'en' }, { js: true, lang: 'ko' }]) {
  test(`${js ? 'hydrated' : 'without JavaScript'}, ${lang}: the world and region charts are server HTML with a text equivalent`, async () => {
    // The HTML as the server sends it.
    const html = await (await fetch(server.url, { headers: { cookie: `lang=${lang}` } })).text();
    assert.match(html, /<figure[^>]*data-testid="world-chart"[^>]*>\s*<svg[^>]*role="img"/);
    assert.match(html, /<figure[^>]*data-testid="region-chart"[^>]*>\s*<svg[^>]*role="img"/);
    assert.match(html, /<table[^>]*data-testid="world-series-table"/);

    const context = await browser.newContext({ javaScriptEnabled: js, viewport: { width: 1280, height: 900 } });
    await context.addCookies([{ name: 'lang', value: lang, url: server.url }]);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    if (js) await hydrated(page);
    // One point per year of the picker; the provisional years (so labelled in the picker) dashed.
    const options = await page.locator('#year option').allTextContents();
    const provisionalMark = lang === 'en' ? '(provisional)' : '(잠정)';
    const partial = options.filter((o) => o.includes(provisionalMark)).map((o) => Number.parseInt(o, 10));
    const world = page.getByTestId('world-chart');
    assert.equal(await world.locator('g.point').count(), options.length);
    const dashed = (await world.locator('g.point.projection').evaluateAll((gs) => gs.map((g) => Number(g.dataset.year)))).sort();
    assert.deepEqual(dashed, [...partial].sort());
    if (partial.length) {
      assert.match(await world.locator('figcaption').textContent(), lang === 'en' ? /Provisional/ : /잠정치/);
    }
    // The year shown in the KPI is the same figure in the chart and in its table.
    const year = Number(await page.locator('#year option[selected]').getAttribute('value'));
    const kpi = await page.getByTestId('world-gdp').textContent();
    assert.ok((await world.locator(`g.point[data-year="${year}"] title`).textContent()).startsWith(`${year}: ${kpi}`));
    const row = page.getByTestId('world-series-table').locator('tr', { has: page.locator(`th:text-is("${year}")`) });
    assert.equal(await row.locator('td').first().textContent(), kpi);
    assert.equal(await page.getByTestId('world-series-table').locator('tbody tr').count(), options.length);
    // A bar per region, each naming the region and the average the table shows.
    const tableRows = page.getByTestId('region-top5').locator('tbody tr');
    const bars = page.getByTestId('region-chart').locator('g.bar');
    assert.equal(await bars.count(), await tableRows.count());
    assert.ok(await bars.count() >= 5);
    for (let i = 0; i < await bars.count(); i++) {
      const [region, average] = await tableRows.nth(i).locator('td').allTextContents();
      const bar = await bars.nth(i).locator('title').textContent();
      assert.ok(bar.startsWith(`${region}: `), `${bar} vs ${region}`);
      const usd = Number(await bars.nth(i).getAttribute('data-value'));
      assert.ok(Math.abs(usd / 1e9 - Number(average.replaceAll(',', ''))) < 0.006, `${region}: ${usd} vs ${average}`);
    }
    const desc = await page.locator('#region-chart-desc').textContent();
    assert.equal(desc.split('; ').length, await bars.count());
    await screenshot(page, `overview-charts-${lang}-${js ? 'js' : 'nojs'}`);
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test('a partial new year is drawn dashed and named provisional; the complete years stay solid', async () => {
  // The next release as it starts: 2026 reported by the first 30 countries of the file only.
  const sources = customSources({
    'wb_wdi/ny.gdp.mktp.cd.csv': (rows) => {
      const [header, ...body] = rows;
      const year = header.indexOf('Year');
      const code = header.indexOf('Country Code');
      const early = new Set([...new Set(body.map((r) => r[code]))].slice(0, 30));
      const next = body.filter((r) => r[year] === '2025' && early.has(r[code])).map((r) => r.map((f, i) => (i === year ? '2026' : f)));
      return [header, ...body, ...next];
    },
  });
  const partialServer = await startServer({ config: sources.config });
  try {
    for (const lang of ['en', 'ko']) {
      const context = await browser.newContext({ javaScriptEnabled: false });
      await context.addCookies([{ name: 'lang', value: lang, url: partialServer.url }]);
      const page = await context.newPage();
      await page.goto(partialServer.url);
      const world = page.getByTestId('world-chart');
      assert.deepEqual(await world.locator('g.point.projection').evaluateAll((gs) => gs.map((g) => g.dataset.year)), ['2026']);
      assert.equal(await world.locator('g.point.actual[data-year="2025"]').count(), 1, '2025 is complete: solid');
      assert.equal(await world.locator('polyline.line.projection').count(), 1, 'a dashed line to the partial year');
      assert.match(await world.locator('figcaption').textContent(), lang === 'en' ? /Provisional/ : /잠정치/);
      const row = page.getByTestId('world-series-table').locator('tbody tr').first();
      assert.equal(await row.locator('th').textContent(), '2026');
      assert.equal(await row.locator('td').nth(1).textContent(), lang === 'en' ? 'provisional' : '잠정');
      await context.close();
    }
  } finally {
    await partialServer.stop();
    sources.cleanup();
  }
});
