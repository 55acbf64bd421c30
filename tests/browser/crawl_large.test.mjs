// The crawl at a hundred times the default data: a generated World Bank–shaped source of 60,000
// entities (the project's own generator, testkit::world) loaded by the real CLI and served by the
// real server under an address-space limit, about 23,000 alerts. With JavaScript off, a crawler
// follows the links and GET forms reachable from `/` in both languages: every answer is 200, 303
// or 404 (never a 5xx), every page's HTML stays under 1 MB. With JavaScript on, Chromium pages
// through the inbox: the position is in the URL and survives a reload and a language switch.
// (A second pass beside crawl.test.mjs, which crawls the default data.)
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, largeWorld, launchBrowser, newContext, open } from './harness.mjs';

const ADDRESS_SPACE = 6 * 1024 ** 3;
const MAX_PAGES = 400;
const MAX_HTML_BYTES = 1024 ** 2;
const PAGE_TIMEOUT_MS = 20_000;
const CONCURRENCY = 4;

const decodeEntities = (s) => s.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#x27;', "'").replaceAll('&#39;', "'");

/** Internal links of a page (the pager's, the facets' forms are links too: one option each). */
function linksOf(html) {
  const out = new Set();
  for (const m of html.matchAll(/<a\b[^>]*\bhref="([^"]*)"/g)) out.add(decodeEntities(m[1]));
  for (const form of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    if (/method="post"/i.test(form[1])) continue;
    const action = decodeEntities(form[1].match(/action="([^"]*)"/)?.[1] ?? '');
    if (!action.startsWith('/')) continue;
    for (const select of form[2].matchAll(/<select\b[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
      for (const option of select[2].matchAll(/<option\b[^>]*value="([^"]*)"/g)) {
        out.add(`${action}?${encodeURIComponent(select[1])}=${encodeURIComponent(decodeEntities(option[1]))}`);
      }
    }
  }
  return [...out].filter((h) => h.startsWith('/') && !h.startsWith('//') && !h.startsWith('/pkg/') && !h.startsWith('/api/v1/actions/export'));
}

async function fetchPage(base, pathAndQuery, lang) {
  const started = Date.now();
  const res = await fetch(base + pathAndQuery, {
    headers: { cookie: `lang=${lang}` }, redirect: 'manual', signal: AbortSignal.timeout(PAGE_TIMEOUT_MS),
  });
  const body = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', bytes: Buffer.byteLength(body), body, ms: Date.now() - started };
}

describe('crawl of a large generated source', () => {
  let world;
  let server;
  before(async () => {
    world = largeWorld(60000);
    server = await startServer({ ...world.options, wrap: ['prlimit', `--as=${ADDRESS_SPACE}`, '--'] });
  });
  after(async () => {
    await server?.stop();
    world?.remove();
  });

  test('without JavaScript: every reachable page answers under 1 MB, in both languages', { timeout: 900_000 }, async () => {
    const seen = new Set();
    const queue = [];
    // The inbox's later pages and the overview's "all N" are reached by links; these start too.
    for (const lang of ['en', 'ko']) {
      for (const start of ['/', '/alerts', '/alerts?page=300', '/explore?page=2000']) {
        seen.add(`${lang} ${start}`);
        queue.push([lang, start]);
      }
    }
    const results = [];
    while (queue.length && results.length < MAX_PAGES) {
      const batch = queue.splice(0, CONCURRENCY);
      const pages = await Promise.all(batch.map(async ([lang, url]) => {
        try {
          return { lang, url, ...(await fetchPage(server.url, url, lang)) };
        } catch (e) {
          return { lang, url, status: 0, error: String(e), body: '', type: '', bytes: 0 };
        }
      }));
      for (const page of pages) {
        results.push(page);
        if (page.status !== 200 || !page.type.startsWith('text/html')) continue;
        for (const link of linksOf(page.body)) {
          const key = `${page.lang} ${link}`;
          if (!seen.has(key)) {
            seen.add(key);
            queue.push([page.lang, link]);
          }
        }
      }
    }
    // The editions page has nothing to compare on a source without forecast editions: it says so (400).
    const ok = (r) => [200, 303, 404].includes(r.status) || (r.status === 400 && r.url.startsWith('/editions'));
    const bad = results.filter((r) => !ok(r));
    assert.deepEqual(bad.map((r) => `${r.lang} ${r.url} → ${r.status} ${r.error ?? ''} ${r.body.slice(0, 200)}`), [], 'every answer is 200, 303 or 404');
    const big = results.filter((r) => r.bytes >= MAX_HTML_BYTES);
    assert.deepEqual(big.map((r) => `${r.lang} ${r.url}: ${r.bytes} bytes`), [], 'every page under 1 MB');
    assert.ok(server.alive(), `the server died:\n${server.stderr().slice(-2000)}`);
    assert.ok(results.length >= 200, `only ${results.length} pages were reached`);
    for (const needed of ['/alerts?page=2', '/explore']) {
      assert.ok(results.some((r) => r.url.startsWith(needed) && r.status === 200), `${needed} was not reached`);
    }
    assert.ok(results.some((r) => r.url.startsWith('/explore?year=') && r.url.includes('min=100')), 'the overview leads to explore for all ≥ 100 B');
    const slowest = results.reduce((a, b) => (b.ms > (a?.ms ?? 0) ? b : a), null);
    const largest = results.reduce((a, b) => (b.bytes > (a?.bytes ?? 0) ? b : a), null);
    console.log(`crawl (large): ${results.length} pages, slowest ${slowest.url} ${slowest.ms} ms, largest ${largest.url} ${largest.bytes} bytes`);
  });

  test('with JavaScript: the inbox pages in place, and its place survives a reload and a language switch', { timeout: 300_000 }, async () => {
    const browser = await launchBrowser();
    try {
      const context = await newContext(browser, server.url, { lang: 'en' });
      const errors = [];
      const { page, response } = await open(context, server.url, '/alerts?severity=high', errors);
      assert.equal(response.status(), 200);
      const cards = page.locator('[data-testid="inbox"] > li');
      assert.equal(await cards.count(), 50);
      const firstOnPage1 = await cards.first().getAttribute('data-fingerprint');
      // The next page loads in place: the window (and this mark on it) stays.
      await page.evaluate(() => { window.__sameDocument = true; });
      await page.locator('[data-testid="page-next"]').first().click();
      await page.waitForURL(/page=2/);
      assert.equal(await page.evaluate(() => window.__sameDocument === true), true, 'the next page loaded in place');
      await page.locator('[data-testid="page-position"]').first().waitFor();
      assert.match(await page.locator('[data-testid="page-position"]').first().textContent(), /Page 2 of \d+/);
      const firstOnPage2 = await cards.first().getAttribute('data-fingerprint');
      assert.notEqual(firstOnPage2, firstOnPage1);
      assert.match(await page.locator('[data-testid="inbox-count"]').textContent(), /^51–100 of \d+ cards \(\d+ matching alerts\)/, "grouped by default: cards, and the alerts they hold");
      // A reload keeps the place.
      await page.reload();
      assert.equal(await cards.first().getAttribute('data-fingerprint'), firstOnPage2);
      // So does switching the language.
      await page.locator('form.lang-switch button[value="ko"]').click();
      await page.waitForURL(/page=2/);
      await page.locator('html[lang="ko"]').waitFor();
      assert.match(await page.locator('[data-testid="page-position"]').first().textContent(), /중 2쪽/);
      assert.equal(await cards.first().getAttribute('data-fingerprint'), firstOnPage2);
      // The overview shows its first rows and leads to all of them on explore.
      const overview = await open(context, server.url, '/', errors);
      const all = overview.page.locator('[data-testid="large-all"] a');
      assert.match(await all.textContent(), /\d+/);
      await all.click();
      await overview.page.waitForURL(/\/explore\?/);
      assert.deepEqual(errors, [], 'no page error');
    } finally {
      await browser.close();
    }
  });
});
