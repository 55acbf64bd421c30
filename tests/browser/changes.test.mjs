// Data over time in the browser: the real data, then a next World Bank release built here from
// the real file (early 2026 figures for every fourth country, Korea's 2025 revised down 6.2 %,
// Chile's 2025 withdrawn). The overview stays on 2025 and labels 2026 provisional; the Changes
// page lists what changed, with JavaScript and without; any page can be seen as of the first run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, screenshot, customSources, seriousA11yViolations, newContext, open, hydrated,
} from './harness.mjs';

let server;
let browser;
let next;
let first;
let second;

const runIds = (text) => [...text.matchAll(/Published run (\S+) to/g)].map((m) => m[1]);

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  first = JSON.parse(server.cli('etl', 'status', '--format', 'json')).serving;
  next = customSources({
    'wb_wdi/ny.gdp.mktp.cd.csv': (rows) => {
      const out = [];
      let n = 0;
      for (const r of rows) {
        if (r[1] === 'CHL' && r[2] === '2025') continue;
        if (r[1] === 'KOR' && r[2] === '2025') { out.push([r[0], r[1], r[2], String(Number(r[3]) * 0.938)]); continue; }
        out.push(r);
        if (r[2] === '2025' && r[1] !== 'WLD' && ++n % 4 === 0) out.push([r[0], r[1], '2026', String(Number(r[3]) * 1.03)]);
      }
      return out;
    },
  });
  [second] = runIds(server.cli('etl', 'run', '--config', next.config));
  assert.ok(second && second !== first, 'a second run was published');
});

after(async () => {
  await browser?.close();
  await server?.stop();
  next?.cleanup();
});

test('the overview stays on 2025; 2026 is provisional and unranked', async () => {
  const context = await newContext(browser, server.url);
  const errors = [];
  const { page } = await open(context, server.url, '/', errors);
  await hydrated(page);
  assert.equal(await page.locator('#year').inputValue(), '2025');
  assert.equal(await page.getByTestId('provisional').count(), 0);
  await page.locator('#year').selectOption('2026');
  await page.waitForURL(/year=2026/);
  assert.match(await page.getByTestId('provisional').textContent(), /^provisional: \d+ of 184 countries, \d+ % of 2025's total$/);
  const numbers = await page.locator('[data-testid="large-economies"] tbody tr td:first-child').allTextContents();
  assert.ok(numbers.length > 0 && numbers.every((n) => n.trim() === ''), `a provisional year is not numbered: ${JSON.stringify(numbers)}`);
  assert.deepEqual(errors, []);
  await screenshot(page, 'overview-provisional-1280');
  await context.close();
});

test('the Changes page lists the revision and the withdrawal, with JavaScript', async () => {
  const context = await newContext(browser, server.url);
  const errors = [];
  const { page, response } = await open(context, server.url, '/changes', errors);
  assert.equal(response.status(), 200);
  await hydrated(page);
  assert.match(await page.getByTestId('changes-intro').textContent(), new RegExp(`From run ${first} to run ${second}: 1 values revised, \\d+ added, 1 withdrawn`));
  const firstRow = page.locator('[data-testid="changes-table"] tbody tr').first();
  assert.equal(await firstRow.getAttribute('data-code'), 'CHL');
  const kor = page.locator('[data-testid="changes-table"] tr[data-code="KOR"][data-year="2025"]');
  assert.equal(await kor.locator('[data-col="pct"]').textContent(), '−6.2 %');
  assert.deepEqual(await seriousA11yViolations(page), []);
  await screenshot(page, 'changes-1280');
  // The revision is an alert in the inbox.
  const alerts = await open(context, server.url, '/alerts?rule=wb_revision');
  assert.match(await alerts.page.content(), /World Bank revised South Korea(’|'|&#x27;|&#39;)s 2025 GDP, by up to −6\.2 %/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('without JavaScript, in Korean, the form filters by country and size', async () => {
  const context = await newContext(browser, server.url, { lang: 'ko', javaScriptEnabled: false, width: 390 });
  const { page } = await open(context, server.url, '/changes?country=KOR');
  assert.match(await page.getByTestId('changes-intro').textContent(), /수정 1건, 추가 0건, 철회 0건/);
  await page.locator('#changes-min').fill('7');
  await page.getByRole('button', { name: '보기' }).click();
  await page.waitForURL(/min=7/);
  assert.match(await page.getByTestId('changes-intro').textContent(), /수정 0건/);
  await screenshot(page, 'changes-390-nojs-ko');
  await context.close();
});

test('as of the first run: its figures, a banner, and a way back', async () => {
  const context = await newContext(browser, server.url, { javaScriptEnabled: false });
  const { page } = await open(context, server.url, '/pipeline');
  await page.locator(`tr[data-run="${first}"] [data-testid="as-of-link"]`).click();
  await page.waitForURL(new RegExp(`as_of=${first}`));
  assert.match(await page.getByTestId('as-of').textContent(), new RegExp(`as of run ${first}`));
  assert.match(await page.locator('[data-testid="large-economies"] tr[data-code="KOR"]').textContent(), /1,872\.37/);
  await page.getByRole('link', { name: 'Back to the current data' }).click();
  await page.waitForURL((u) => !u.search.includes('as_of'));
  assert.equal(await page.getByTestId('as-of').count(), 0);
  assert.match(await page.locator('[data-testid="large-economies"] tr[data-code="KOR"]').textContent(), /1,756\.29/);
  await context.close();
});
