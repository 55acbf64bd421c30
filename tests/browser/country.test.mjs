// A country's page: SVG charts rendered by the server (points with source and run on hover, IMF
// projections dashed and hollow with a legend in words), the figures as a table, the country's
// alerts linking to their pages, and a 404 for an unknown code. Values are checked against the
// mirror files and the CLI, read here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  startServer, launchBrowser, screenshot, billions, worldBankSeries, unRegions, parseCsv, MIRROR, BIN,
  seriousA11yViolations, newContext, open, hydrated,
} from './harness.mjs';

let server;
let browser;
let runId;
const YEAR = 2025;
const gdp = worldBankSeries('ny.gdp.mktp.cd.csv');
const regions = unRegions();
const isCountry = (code) => regions.has(code) || code === 'XKX' || code === 'CHI';

/** The April 2026 IMF edition's projections for `code` after the last World Bank year. */
function imfProjections(code) {
  const rows = parseCsv(readFileSync(path.join(MIRROR, 'imf_weo_2026apr_subset/ngdpd_long.csv'), 'utf8'));
  const lastActual = Math.max(...gdp.get(code).keys());
  return rows.slice(1)
    .filter((r) => r[0] === code && r[4] !== '' && Number(r[3]) > lastActual && (Number(r[3]) >= 2026 || r[5] === 'true'))
    .map((r) => ({ year: Number(r[3]), usd: Number(r[4]) }));
}

function rankOf(code, year) {
  const list = [...gdp.entries()].filter(([c, s]) => isCountry(c) && s.has(year))
    .sort((a, b) => b[1].get(year) - a[1].get(year));
  return list.findIndex(([c]) => c === code) + 1;
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  runId = readFileSync(path.join(server.dataDir, 'current'), 'utf8').trim();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('hydrated: charts with sources on hover, projections distinct, figures table', async () => {
  const context = await newContext(browser, server.url);
  const { page, errors } = await open(context, server.url, '/country/KOR');
  await hydrated(page);
  assert.equal(await page.getByTestId('country-name').textContent(), `${regions.get('KOR').name} (KOR)`);
  const kor = gdp.get('KOR');
  assert.equal(await page.getByTestId('latest-gdp').textContent(), `${billions(kor.get(YEAR))} B USD`);

  const chart = page.getByTestId('chart-gdp');
  assert.equal(await chart.locator('g.point.actual').count(), kor.size);
  const projections = imfProjections('KOR');
  assert.ok(projections.length > 0);
  assert.equal(await chart.locator('g.point.projection').count(), projections.length);
  // Projections are dashed and hollow, and the legend says so in words (colour is never the only signal).
  assert.equal(await chart.locator('polyline.projection').getAttribute('stroke-dasharray'), '6 4');
  const hollow = await chart.locator('g.point.projection .dot').first().evaluate((e) => getComputedStyle(e).fill);
  assert.equal(hollow, 'rgb(255, 255, 255)');
  assert.match(await chart.locator('.legend').textContent(), /Projection: dashed line, hollow points/);

  const title2025 = await chart.locator(`g.point.actual[data-year="${YEAR}"] > title`).textContent();
  assert.ok(title2025.startsWith(`${YEAR}: ${billions(kor.get(YEAR))} B USD (actual)`), title2025);
  assert.match(title2025, /World Bank/);
  assert.ok(title2025.endsWith(`run ${runId}`), title2025);
  const last = projections.at(-1);
  const projTitle = await chart.locator(`g.point.projection[data-year="${last.year}"] > title`).textContent();
  assert.ok(projTitle.startsWith(`${last.year}: ${billions(last.usd)} B USD (projection)`), projTitle);
  assert.match(projTitle, /April 2026/);

  const rankTitle = await page.getByTestId('chart-rank').locator(`g.point[data-year="${YEAR}"] > title`).textContent();
  assert.match(rankTitle, new RegExp(`^${YEAR}: #${rankOf('KOR', YEAR)} `));

  // The same figures in a table, behind a disclosure that works with the keyboard.
  await page.getByText('Figures as a table').focus();
  await page.keyboard.press('Enter');
  const row = page.locator(`[data-testid="country-figures"] tr[data-year="${YEAR}"]`);
  await row.waitFor();
  assert.equal(await row.locator('td').first().textContent(), `${billions(kor.get(YEAR))} B USD`);
  assert.equal(await page.locator(`[data-testid="country-figures"] tr[data-year="${last.year}"] td`).nth(1).textContent(), 'Projection');
  await screenshot(page, 'country-1280');
  assert.deepEqual(await seriousA11yViolations(page), []);
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, 'country-390');
  assert.deepEqual(await seriousA11yViolations(page), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the country's alerts, whatever their status, link to their pages", async () => {
  const json = execFileSync(BIN, ['alerts', 'list', '--format', 'json', '--limit', '1000',
    ...['open', 'acknowledged', 'snoozed', 'resolved', 'dismissed', 'cleared'].flatMap((s) => ['--status', s])],
  { env: server.env }).toString();
  const expected = JSON.parse(json).filter((r) => r.alert.entity === 'IRN').map((r) => r.alert.fingerprint).sort();
  assert.ok(expected.length > 0, 'the default data has alerts about Iran');
  const context = await newContext(browser, server.url);
  const { page, errors } = await open(context, server.url, '/country/IRN');
  await hydrated(page);
  const items = page.locator('[data-testid="country-alerts"] li');
  const shown = (await items.evaluateAll((lis) => lis.map((li) => li.dataset.fingerprint))).sort();
  assert.deepEqual(shown, expected);
  for (const fp of expected) {
    const href = await page.locator(`[data-testid="country-alerts"] li[data-fingerprint="${fp}"] a`).getAttribute('href');
    assert.equal(href, `/alerts/${fp}`);
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test('without JavaScript and in Korean: the charts are in the HTML; an unknown code is a 404', async () => {
  const context = await newContext(browser, server.url, { lang: 'ko', javaScriptEnabled: false, width: 390 });
  const { page } = await open(context, server.url, '/country/KOR');
  assert.equal(await page.locator('body[data-hydrated]').count(), 0);
  assert.equal(await page.getByTestId('chart-gdp').locator('g.point.actual').count(), gdp.get('KOR').size);
  assert.match(await page.getByTestId('chart-gdp').locator('.legend').textContent(), /전망치: 점선, 속이 빈 점/);
  await page.getByText('표로 보기').click();
  assert.ok(await page.locator('[data-testid="country-figures"]').isVisible());
  await screenshot(page, 'country-390-nojs-ko');

  const missing = await open(context, server.url, '/country/XXX');
  assert.equal(missing.response.status(), 404);
  assert.match(await missing.page.getByTestId('country-not-found').textContent(), /“XXX” 코드의 국가가 없습니다/);
  const en = await newContext(browser, server.url, { javaScriptEnabled: false });
  const r = await open(en, server.url, '/country/zz9');
  assert.equal(r.response.status(), 404);
  assert.match(await r.page.getByTestId('country-not-found').textContent(), /No country has the code “zz9”/);
  await en.close();
  await context.close();
});
