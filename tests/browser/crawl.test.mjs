// No visitor can stop the service. The real server runs under an address-space limit
// (`prlimit --as`) while a crawler follows every internal link and GET form reachable from `/`,
// in both languages, on the default data and on data of extreme shapes; then every query
// parameter and path segment of every route gets hostile values. Every answer must be 200, 303
// or a 4xx page (never a 5xx), arrive within a time limit, show no internals, and the process
// must stay alive with its peak memory under a stated bound. Then a browser pass opens every
// page the crawl reached, in both languages, with JavaScript on: no console error, no
// Content-Security-Policy violation and no failed request on any of them.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, customSources, launchBrowser, newContext, hydrated } from './harness.mjs';

// The server's whole address space: a page that loops or balloons is killed at this size
// instead of taking the machine (the rank-chart loop grew to ~24 GB).
const ADDRESS_SPACE = 6 * 1024 ** 3;
// Peak resident memory allowed over the whole crawl.
const MAX_PEAK_RSS = 1024 ** 3;
const MAX_PAGES = 2500;
const PAGE_TIMEOUT_MS = 20_000;
const CONCURRENCY = 4;
// Browser tabs per language in the browser pass.
const TABS = 2;

function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(status.match(new RegExp(`${name}:\\s+(\\d+) kB`))[1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

async function fetchPage(base, pathAndQuery, lang) {
  const started = Date.now();
  const res = await fetch(base + pathAndQuery, {
    headers: { cookie: `lang=${lang}` },
    redirect: 'manual',
    signal: AbortSignal.timeout(PAGE_TIMEOUT_MS),
  });
  const body = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', body, ms: Date.now() - started };
}

const decodeEntities = (s) => s.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#x27;', "'").replaceAll('&#39;', "'");

/** Internal links and GET form submissions (each option of each select) of a page. */
function linksOf(html) {
  const out = new Set();
  for (const m of html.matchAll(/<a\b[^>]*\bhref="([^"]*)"/g)) out.add(decodeEntities(m[1]));
  for (const form of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const attrs = form[1];
    if (/method="post"/i.test(attrs)) continue;
    const action = decodeEntities(attrs.match(/action="([^"]*)"/)?.[1] ?? '');
    if (!action.startsWith('/')) continue;
    for (const select of form[2].matchAll(/<select\b[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
      for (const option of select[2].matchAll(/<option\b[^>]*value="([^"]*)"/g)) {
        out.add(`${action}?${encodeURIComponent(select[1])}=${encodeURIComponent(decodeEntities(option[1]))}`);
      }
    }
  }
  return [...out].filter((h) => h.startsWith('/') && !h.startsWith('//') && !h.startsWith('/pkg/'));
}

/** Marks of internals that must never reach a visitor. */
function leaks(body, server) {
  const marks = [server.dataDir, 'Binder Error', 'Catalog Error', 'Parser Error', 'Conversion Error',
    'rusqlite', 'SqliteFailure', 'panicked at', 'RUST_BACKTRACE', '/root/', '/home/'];
  return marks.filter((m) => body.includes(m));
}

/** Crawls breadth-first from `/` in both languages; returns what was seen. */
async function crawl(server) {
  const seen = new Set();
  const queue = [];
  for (const lang of ['en', 'ko']) {
    seen.add(`${lang} /`);
    queue.push([lang, '/']);
  }
  const results = [];
  while (queue.length && results.length < MAX_PAGES) {
    const batch = queue.splice(0, CONCURRENCY);
    const pages = await Promise.all(batch.map(async ([lang, url]) => {
      try {
        return { lang, url, ...(await fetchPage(server.url, url, lang)) };
      } catch (e) {
        return { lang, url, status: 0, error: String(e), body: '', type: '' };
      }
    }));
    for (const page of pages) {
      results.push(page);
      if (page.status !== 200 || !page.type.startsWith('text/html')) continue;
      for (const link of linksOf(page.body)) {
        const key = `${page.lang} ${link}`;
        if (!seen.has(key) && seen.size < MAX_PAGES * 2) {
          seen.add(key);
          queue.push([page.lang, link]);
        }
      }
    }
  }
  return results;
}

async function checkCrawl(server, results, { minPages, mustVisit = [] }) {
  // Pages of the extreme shapes answer in both languages, whether or not a link reached them.
  for (const url of mustVisit) {
    for (const lang of ['en', 'ko']) {
      if (!results.some((r) => r.url === url && r.lang === lang)) {
        results.push({ lang, url, ...(await fetchPage(server.url, url, lang)) });
      }
    }
  }
  const bad = results.filter((r) => ![200, 303, 404].includes(r.status));
  assert.deepEqual(bad.map((r) => `${r.lang} ${r.url} → ${r.status} ${r.error ?? ''}`), [], 'every answer is 200, 303 or 404');
  assert.ok(server.alive(), `the server died:\n${server.stderr().slice(-2000)}`);
  assert.ok(results.length >= minPages, `only ${results.length} pages were reached`);
  for (const url of mustVisit) {
    assert.ok(results.some((r) => r.url === url && r.status === 200), `${url} did not answer 200`);
  }
  const leaking = results.flatMap((r) => leaks(r.body, server).map((m) => `${r.url}: ${m}`));
  assert.deepEqual(leaking, [], 'no page shows internals');
  const { peak } = memory(server.pid);
  assert.ok(peak < MAX_PEAK_RSS, `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB over ${MAX_PEAK_RSS / 2 ** 20} MiB`);
  const slowest = results.reduce((a, b) => (b.ms > (a?.ms ?? 0) ? b : a), null);
  return { pages: results.length, peakMiB: Math.round(peak / 2 ** 20), slowest: `${slowest?.url} ${slowest?.ms} ms` };
}

/**
 * Opens every HTML page of `results` (200, in its language) in Chromium with JavaScript on and
 * returns what went wrong on each: console errors (which include the CSP's own reports), CSP
 * violations seen by the page (`securitypolicyviolation`), page errors, failed requests and
 * answers of 400 or more, and pages whose islands did not hydrate.
 */
async function browserPass(server, results) {
  const pages = results.filter((r) => r.status === 200 && r.type.startsWith('text/html'));
  const browser = await launchBrowser();
  const problems = [];
  try {
    const queues = { en: [], ko: [] };
    for (const r of pages) queues[r.lang].push(r.url);
    const tab = async (context, lang) => {
      const page = await context.newPage();
      let current = '';
      const report = (what) => problems.push(`${lang} ${current}: ${what}`);
      page.on('console', (m) => { if (m.type() === 'error') report(`console error: ${m.text()}`); });
      page.on('pageerror', (e) => report(`page error: ${e.message}`));
      page.on('requestfailed', (r) => report(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
      page.on('response', (r) => { if (r.status() >= 400) report(`${r.status()} for ${r.url()}`); });
      while (queues[lang].length) {
        current = queues[lang].shift();
        await page.goto(server.url + current, { waitUntil: 'load', timeout: PAGE_TIMEOUT_MS });
        try {
          await hydrated(page);
        } catch {
          report('the islands did not hydrate');
        }
        // Violations are reported by an event after the element was refused: let it arrive.
        const seen = await page.evaluate(() => new Promise((resolve) => {
          setTimeout(() => resolve(window.__cspViolations ?? []), 50);
        }));
        for (const v of seen) report(`CSP violation: ${v}`);
      }
      await page.close();
    };
    await Promise.all(['en', 'ko'].map(async (lang) => {
      const context = await newContext(browser, server.url, { lang });
      // Runs before any of the page's own scripts, so a refused inline script is seen too.
      await context.addInitScript(() => {
        window.__cspViolations = [];
        document.addEventListener('securitypolicyviolation', (e) => {
          window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
        });
      });
      await Promise.all(Array.from({ length: TABS }, () => tab(context, lang)));
      await context.close();
    }));
  } finally {
    await browser.close();
  }
  return { opened: pages.length, problems };
}

const prlimit = ['prlimit', `--as=${ADDRESS_SPACE}`, '--'];

describe('crawl of the default data', () => {
  let server;
  let reached;
  before(async () => { server = await startServer({ wrap: prlimit }); });
  after(async () => { await server?.stop(); });

  test('every page reachable from / answers, in both languages, under a memory cap', { timeout: 900_000 }, async () => {
    const results = await crawl(server);
    const countries = new Set(results.filter((r) => r.url.startsWith('/country/')).map((r) => r.url));
    const summary = await checkCrawl(server, results, {
      minPages: 400,
      // The pages that once never answered: always first, and always in the top ranks.
      mustVisit: ['/country/USA', '/country/DEU', '/country/CHN', '/pipeline', '/explore', '/alerts', '/editions', '/rules', '/changes'],
    });
    assert.ok(countries.size >= 180, `only ${countries.size} country pages were reached`);
    console.log(`crawl (default data): ${JSON.stringify(summary)}, ${countries.size} country pages`);
    reached = results;
  });

  test('with JavaScript on, every reached page keeps the console clean, in both languages', { timeout: 1_800_000 }, async () => {
    assert.ok(reached, 'the crawl ran');
    const started = Date.now();
    const { opened, problems } = await browserPass(server, reached);
    assert.ok(opened >= 400, `only ${opened} pages were opened`);
    for (const lang of ['en', 'ko']) {
      assert.ok(reached.some((r) => r.lang === lang && r.status === 200), `no ${lang} page`);
    }
    assert.deepEqual(problems.slice(0, 50), [], `${problems.length} problems in the browser`);
    console.log(`browser pass: ${opened} pages in ${Math.round((Date.now() - started) / 1000)} s, console clean`);
  });

  // Hostile values for every parameter and path segment of every route.
  const HOSTILE = ['', 'x'.repeat(6000), '-1', '-99999999999999999999', '99999999999999999999', '0', '1e309',
    'NaN', 'abc', '한국어', "'", '"><script>alert(1)</script>', '../../../etc/passwd', '%00', '%FF', '%', '\u0000',
    '/\t/evil.example', '//evil.example', 'https://evil.example', '\r\nSet-Cookie: x=1'];
  const ROUTES = [
    ['/', ['year', 'as_of']],
    ['/alerts', ['status', 'severity', 'rule', 'region', 'owner', 'data_issue', 'mine']],
    ['/rules', ['zzz']],
    ['/rules/gdp_fall', ['zzz']],
    ['/api/v1/alerts', ['status', 'severity', 'rule', 'region', 'owner', 'data_issue', 'mine']],
    ['/api/v1/actions/export', ['format', 'bom', 'history', 'lang', 'status', 'severity', 'overdue', 'period', 'mine']],
    ['/api/openapi.json', ['zzz']],
    ['/api/docs', ['zzz']],
    ['/explore', ['year', 'region', 'metric', 'min', 'sort', 'dir', 'page', 'as_of', 'q']],
    ['/country/KOR', ['year', 'as_of']],
    ['/pipeline', ['run', 'started']],
    ['/editions', ['year', 'as_of']],
    ['/changes', ['from', 'to', 'country', 'min']],
    ['/login', ['next', 'error']],
    ['/lang', ['to', 'back']],
    ['/api/get_overview', ['year', 'as_of']],
    ['/api/get_editions', ['year']],
    ['/api/get_changes', ['from', 'to', 'country', 'min']],
    ['/api/get_pipeline', ['run']],
    ['/api/get_explore', ['params[year]', 'params[page]', 'params[min]', 'params[sort]', 'params[q]', 'params[region]']],
    ['/api/get_alert', ['fingerprint']],
    ['/api/list_alerts', ['filter[status]', 'filter[severity]']],
    ['/api/get_country', ['code']],
  ];
  const SEGMENTS = ['/alerts/', '/country/', '/pipeline/', '/rules/', '/api/v1/alerts/', '/'];

  test('hostile parameters and path segments get a 4xx page in the reader\'s language, never a 5xx', { timeout: 900_000 }, async () => {
    const urls = [];
    for (const [route, params] of ROUTES) {
      for (const param of params) {
        for (const value of HOSTILE) {
          const sep = route.includes('?') ? '&' : '?';
          // Raw `%` sequences are sent as they are (a broken escape is itself a test).
          const encoded = value.startsWith('%') ? value : encodeURIComponent(value);
          urls.push(`${route}${sep}${encodeURIComponent(param)}=${encoded}`);
        }
      }
      // Repeated and unknown parameters.
      urls.push(`${route}?${params[0]}=1&${params[0]}=2`, `${route}?zzz=1`);
    }
    for (const prefix of SEGMENTS) {
      for (const value of HOSTILE) {
        if (value === '') continue;
        const encoded = value.startsWith('%') ? value : encodeURIComponent(value);
        urls.push(prefix + encoded);
      }
    }
    const failures = [];
    let i = 0;
    for (let start = 0; start < urls.length; start += CONCURRENCY) {
      const batch = urls.slice(start, start + CONCURRENCY);
      await Promise.all(batch.map(async (url) => {
        const lang = (i++ % 2) ? 'ko' : 'en';
        let page;
        try {
          page = await fetchPage(server.url, url, lang);
        } catch (e) {
          failures.push(`${url}: ${e}`);
          return;
        }
        if (page.status >= 500 || page.status < 200) failures.push(`${url} → ${page.status}: ${page.body.slice(0, 200)}`);
        if (page.status >= 400 && page.type.startsWith('text/html')) {
          // A full page in the reader's language, or a short message page in both.
          const full = page.body.match(/<html lang="(\w+)"/)?.[1];
          if (full && full !== lang) failures.push(`${url} (${lang}) → page in ${full}`);
          if (!full && !/[가-힣]/.test(page.body)) failures.push(`${url} → no Korean in the message`);
        }
        const leaked = leaks(page.body, server);
        if (leaked.length) failures.push(`${url} shows ${leaked.join(', ')}`);
      }));
    }
    assert.deepEqual(failures, []);
    assert.ok(server.alive(), `the server died:\n${server.stderr().slice(-2000)}`);
    // The redirect guard: none of the hostile `back` values leaves the site.
    for (const value of HOSTILE) {
      const res = await fetch(`${server.url}/lang?to=en&back=${encodeURIComponent(value)}`, { redirect: 'manual' });
      assert.equal(res.status, 303, value);
      const location = res.headers.get('location');
      assert.ok(location.startsWith('/') && !location.startsWith('//') && !/[\\\t\r\n]/.test(location), `${value} → ${location}`);
    }
    console.log(`fuzz: ${urls.length} hostile URLs, none answered 5xx`);
  });
});

/**
 * Data of extreme shapes from the real World Bank file: a country always first with a constant
 * value, a country with one year, one with every other year missing, tiny and huge values, and
 * a constant series among the top ranks.
 */
function extremeShapes(rows) {
  const [header, ...body] = rows;
  const code = header.indexOf('Country Code');
  const year = header.indexOf('Year');
  const value = header.indexOf('Value');
  return [header, ...body.flatMap((r) => {
    const c = r[code];
    const y = Number(r[year]);
    if (c === 'USA') return [r.map((f, i) => (i === value ? '30000000000000' : f))];
    if (c === 'DEU') return [r.map((f, i) => (i === value ? '4000000000000' : f))];
    if (c === 'TUV') return y === 2020 ? [r] : [];
    if (c === 'FRA') return y % 2 === 0 ? [r] : [];
    if (c === 'NRU') return [r.map((f, i) => (i === value && f !== '' ? '1' : f))];
    if (c === 'LUX') return y >= 2024 ? [r] : [];
    return [r];
  })];
}

/** Only Korea, and only 2025 (every aggregate dropped too). */
function oneCountryOneYear(rows) {
  const [header, ...body] = rows;
  const code = header.indexOf('Country Code');
  const year = header.indexOf('Year');
  return [header, ...body.filter((r) => r[code] === 'KOR' && r[year] === '2025')];
}

for (const [name, edit, mustVisit] of [
  ['extreme shapes', extremeShapes, ['/country/USA', '/country/DEU', '/country/TUV', '/country/FRA', '/country/NRU']],
  ['one country, one year', oneCountryOneYear, ['/country/KOR']],
]) {
  describe(`crawl of data with ${name}`, () => {
    let server;
    let sources;
    before(async () => {
      sources = customSources({ 'wb_wdi/ny.gdp.mktp.cd.csv': edit });
      server = await startServer({ config: sources.config, wrap: prlimit });
    });
    after(async () => {
      await server?.stop();
      sources?.cleanup();
    });

    test('every page answers under the memory cap', { timeout: 900_000 }, async () => {
      const results = await crawl(server);
      const summary = await checkCrawl(server, results, { minPages: 20, mustVisit });
      console.log(`crawl (${name}): ${JSON.stringify(summary)}`);
    });
  });
}
