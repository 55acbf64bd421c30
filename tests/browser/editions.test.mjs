// The IMF editions side by side: the year in the URL (default 2025), only countries in both
// editions, the biggest revisions first; checked against the two editions' files read here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  startServer, launchBrowser, screenshot, billions, parseCsv, unRegions, MIRROR,
  seriousA11yViolations, newContext, open, hydrated,
} from './harness.mjs';

let server;
let browser;
const regions = unRegions();
const ALIASES = { UVK: 'XKX', WBG: 'PSE' };
const canonical = (code) => ALIASES[code] ?? code;
const isCountry = (code) => regions.has(code) || code === 'XKX' || code === 'CHI';

/** code → US dollars of `year` in each edition's long file. */
function edition(file, codeCol, yearCol, valueCol, scale) {
  return (year) => {
    const out = new Map();
    for (const r of parseCsv(readFileSync(path.join(MIRROR, file), 'utf8')).slice(1)) {
      if (Number(r[yearCol]) === year && r[valueCol] !== '' && isCountry(canonical(r[codeCol]))) {
        out.set(canonical(r[codeCol]), Number(r[valueCol]) * scale);
      }
    }
    return out;
  };
}
const oct2024 = edition('imf_weo_2024oct/ngdpd_long.csv', 0, 1, 2, 1e9);
const apr2026 = edition('imf_weo_2026apr_subset/ngdpd_long.csv', 0, 3, 4, 1);

function revisions(year) {
  const a = oct2024(year);
  const b = apr2026(year);
  return [...a.keys()].filter((c) => b.has(c))
    .map((code) => ({ code, old: a.get(code), new: b.get(code), pct: (b.get(code) - a.get(code)) / a.get(code) * 100 }))
    .sort((x, y) => Math.abs(y.pct) - Math.abs(x.pct) || (x.code < y.code ? -1 : 1));
}

const rowCodes = (page) => page.locator('[data-testid="editions-table"] tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.code));

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('hydrated: 2025 by default, biggest revisions first; another year from the form', async () => {
  const context = await newContext(browser, server.url);
  const { page, errors } = await open(context, server.url, '/editions');
  await hydrated(page);
  const expected = revisions(2025);
  assert.deepEqual(await rowCodes(page), expected.map((r) => r.code));
  const first = page.locator(`[data-testid="editions-table"] tr[data-code="${expected[0].code}"]`);
  assert.equal(await first.locator('[data-col="old"]').textContent(), `${billions(expected[0].old)} B USD (projection)`);
  assert.equal(await first.locator('[data-col="new"]').textContent(), `${billions(expected[0].new)} B USD (actual)`);
  const sign = expected[0].pct < 0 ? '−' : '+';
  assert.equal(await first.locator('[data-col="pct"]').textContent(), `${sign}${Math.abs(expected[0].pct).toFixed(1)} %`);
  assert.match(await page.getByTestId('editions-intro').textContent(), new RegExp(`${expected.length} countries listed in both`));
  await screenshot(page, 'editions-1280');
  assert.deepEqual(await seriousA11yViolations(page), []);

  await page.getByLabel('Year').selectOption('2020');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForURL(/year=2020/);
  const e2020 = revisions(2020);
  await page.waitForFunction((code) => document.querySelector('[data-testid="editions-table"] tbody tr')?.dataset.code === code, e2020[0].code);
  assert.deepEqual(await rowCodes(page), e2020.map((r) => r.code));
  // Each page is server HTML; its islands hydrate again after the navigation.
  await hydrated(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, 'editions-390');
  assert.deepEqual(await seriousA11yViolations(page), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test('without JavaScript, in Korean; a year outside both editions is a clear message', async () => {
  const context = await newContext(browser, server.url, { lang: 'ko', javaScriptEnabled: false, width: 390 });
  const { page } = await open(context, server.url, '/editions?year=2026');
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'IMF 발표판 비교');
  assert.deepEqual(await rowCodes(page), revisions(2026).map((r) => r.code));
  await screenshot(page, 'editions-390-nojs-ko');
  await page.getByLabel('연도').selectOption('2025');
  await page.getByRole('button', { name: '보기' }).click();
  await page.waitForURL(/year=2025/);
  assert.equal(await page.locator('[data-testid="editions-table"] tbody tr').count(), revisions(2025).length);

  const bad = await open(context, server.url, '/editions?year=1970');
  assert.equal(bad.response.status(), 400, 'a year without figures is a bad request');
  assert.match(await bad.page.getByTestId('error-message').textContent(), /두 발표판에 1970년 공통 수치가 없습니다/);
  await context.close();
});
