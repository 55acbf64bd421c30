// Explore in a real browser: filters, sort and page in the URL (plain GET forms and links, with
// JavaScript on or off), leaderboards, and values checked against the
// World Bank files read here, independently of the app.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, screenshot, billions, worldBankSeries, unRegions,
  seriousA11yViolations, newContext, open, hydrated,
} from './harness.mjs';

let server;
let browser;
const YEAR = 2025;
const gdp = worldBankSeries('ny.gdp.mktp.cd.csv');
const population = worldBankSeries('sp.pop.totl.csv');
const regions = unRegions();
// The dashboard's countries: the region table's codes plus the configured overrides.
const isCountry = (code) => regions.has(code) || code === 'XKX' || code === 'CHI';
const regionOf = (code) => regions.get(code)?.region ?? 'Europe';

/** Countries with GDP in `year`, largest first (ties by code), as the default view orders them. */
function byGdp(year, keep = () => true) {
  return [...gdp.entries()]
    .filter(([code, s]) => isCountry(code) && s.has(year) && keep(code))
    .map(([code, s]) => ({ code, gdp: s.get(year) }))
    .sort((a, b) => b.gdp - a.gdp || (a.code < b.code ? -1 : 1));
}

function changes(year) {
  return byGdp(year)
    .filter(({ code }) => gdp.get(code).has(year - 1))
    .map(({ code, gdp: v }) => ({ code, pct: (v / gdp.get(code).get(year - 1) - 1) * 100 }))
    .sort((a, b) => b.pct - a.pct);
}

const rowCodes = (page) => page.locator('[data-testid="explore-table"] tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.code));

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('hydrated: default view; filters, sort and pages change the URL', async () => {
  const context = await newContext(browser, server.url);
  const { page, errors } = await open(context, server.url, '/explore');
  await hydrated(page);

  const all = byGdp(YEAR);
  assert.deepEqual(await rowCodes(page), all.slice(0, 25).map((c) => c.code));
  assert.match(await page.getByTestId('explore-summary').textContent(), new RegExp(`^${all.length} countries match`));
  const kor = page.locator('[data-testid="explore-table"] tr[data-code="KOR"] [data-col="gdp"]');
  assert.equal(await kor.textContent(), `${billions(gdp.get('KOR').get(YEAR))} B USD`);

  // Leaderboards: the largest rise and fall of the year, computed here from the file.
  const ch = changes(YEAR);
  assert.equal(await page.locator('[data-testid="movers-up"] li').first().getAttribute('data-code'), ch[0].code);
  assert.equal(await page.locator('[data-testid="movers-down"] li').first().getAttribute('data-code'), ch.at(-1).code);
  assert.equal(await page.locator('[data-testid="movers-up"] li').count(), 5);
  await screenshot(page, 'explore-1280');
  assert.deepEqual(await seriousA11yViolations(page), []);

  await page.getByLabel('Region').selectOption('Asia');
  await page.getByLabel("Minimum value (in the metric's unit)").fill('1000');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/region=Asia/);
  assert.match(page.url(), /[?&]min=1000\b/);
  const asiaBig = byGdp(YEAR, (c) => regionOf(c) === 'Asia' && gdp.get(c).get(YEAR) >= 1000e9).map((c) => c.code);
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="explore-table"] tbody tr').length === n, asiaBig.length);
  assert.deepEqual(await rowCodes(page), asiaBig);

  // Sort by name: a link in the heading; the filters stay.
  await page.getByRole('link', { name: 'Country', exact: true }).click();
  await page.waitForURL(/sort=name/);
  assert.match(page.url(), /region=Asia/);
  assert.equal(await page.locator('th[aria-sort="ascending"]').textContent(), 'Country ▲');
  const names = await page.locator('[data-testid="explore-table"] tbody th[scope="row"]').allTextContents();
  assert.deepEqual(names, [...names].sort());
  // Each page is server HTML; its islands hydrate again after the navigation.
  await hydrated(page);

  // Pages: reset the filters, then the second page starts at the 26th country.
  await page.getByRole('link', { name: 'Reset' }).click();
  await page.waitForURL((u) => u.pathname === '/explore' && u.search === '');
  await page.getByRole('link', { name: 'Next page →' }).click();
  await page.waitForURL(/page=2/);
  await page.waitForFunction((code) => document.querySelector('[data-testid="explore-table"] tbody tr')?.dataset.code === code, all[25].code);
  assert.deepEqual(await rowCodes(page), all.slice(25, 50).map((c) => c.code));

  // Each country links to its page.
  await page.goto(`${server.url}/explore?region=Asia`);
  await hydrated(page);
  await page.locator('[data-testid="explore-table"] tr[data-code="KOR"] a').click();
  await page.waitForURL(/\/country\/KOR$/);
  await page.getByTestId('country-name').waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('without JavaScript: the URL alone gives the view and the GET form submits', async () => {
  const context = await newContext(browser, server.url, { javaScriptEnabled: false, width: 390 });
  const { page } = await open(context, server.url, '/explore?region=Europe&metric=population&min=50');
  assert.equal(await page.locator('body[data-hydrated]').count(), 0);
  // European countries of 50 million people or more, by population (the metric's default order).
  const expected = [...population.entries()]
    .filter(([c, s]) => isCountry(c) && regionOf(c) === 'Europe' && (s.get(YEAR) ?? 0) >= 50e6 && gdp.get(c)?.has(YEAR))
    .sort((a, b) => b[1].get(YEAR) - a[1].get(YEAR))
    .map(([c]) => c);
  assert.deepEqual(await rowCodes(page), expected);
  await screenshot(page, 'explore-390-nojs');

  await page.getByLabel('Year', { exact: true }).selectOption('2020');
  await page.getByLabel("Minimum value (in the metric's unit)").fill('80');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/year=2020/);
  assert.match(page.url(), /min=80/);
  const deu = page.locator('[data-testid="explore-table"] tr[data-code="DEU"] [data-col="population"]');
  assert.equal(await deu.textContent(), Math.round(population.get('DEU').get(2020)).toLocaleString('en-US'));

  // Sorting is a plain link too.
  await page.getByRole('link', { name: 'GDP', exact: true }).click();
  await page.waitForURL(/sort=gdp/);
  assert.equal(await page.locator('th[aria-sort]').getAttribute('aria-sort'), 'descending');
  await context.close();
});

test('bad parameters give a clear message, not a server error; Korean labels and numbers', async () => {
  const en = await newContext(browser, server.url, { javaScriptEnabled: false });
  const ko = await newContext(browser, server.url, { lang: 'ko' });
  const pages = Math.ceil(byGdp(YEAR).length / 25);
  for (const [query, english, korean] of [
    ['?year=abc', '`abc` is not a year', '`abc`은(는) 연도가 아닙니다'],
    ['?region=Atlantis', 'no region is called `Atlantis`', '`Atlantis` 지역이 없습니다'],
    ['?page=99', `page 99 does not exist: the filters match ${pages} page(s)`, `99 페이지가 없습니다: 조건에 맞는 페이지는 ${pages}개입니다`],
    ['?min=lots', '`lots` is not a number', '`lots`은(는) 숫자가 아닙니다'],
    ['?sort=colour', '`colour` is not a column to sort by', '`colour` 열로는 정렬할 수 없습니다'],
  ]) {
    for (const [context, message] of [[en, english], [ko, korean]]) {
      const { page, response } = await open(context, server.url, `/explore${query}`);
      assert.equal(response.status(), 400, query);
      assert.ok((await page.getByTestId('error-message').textContent()).includes(message), `${query}: ${message}`);
      await page.close();
    }
  }
  await en.close();
  const context = ko;
  const { page, errors } = await open(context, server.url, '/explore?region=Asia');
  await hydrated(page);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), '탐색');
  const eok = Math.round(gdp.get('KOR').get(YEAR) / 1e8);
  const korean = `${Math.floor(eok / 1e4)}조 ${(eok % 1e4).toLocaleString('en-US')}억 달러`;
  assert.equal(await page.locator('tr[data-code="KOR"] [data-col="gdp"]').textContent(), korean);
  await page.getByLabel('지역').waitFor();
  await screenshot(page, 'explore-1280-ko');
  // axe needs JavaScript: the narrow layout is checked here.
  await page.setViewportSize({ width: 390, height: 844 });
  assert.deepEqual(await seriousA11yViolations(page), []);
  assert.deepEqual(errors, []);
  await context.close();
});
