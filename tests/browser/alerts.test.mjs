// The alert inbox and an alert's page in a real browser, with JavaScript on and off, in both
// languages; expectations come from the CLI's JSON of the same inbox and from the mirror files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { startServer, launchBrowser, screenshot, seriousA11yViolations, MIRROR } from './harness.mjs';

async function assertAccessible(page, what) {
  assert.deepEqual(await seriousA11yViolations(page), [], `${what}: serious or critical accessibility violations`);
}

let server;
let browser;
let inbox;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  inbox = JSON.parse(server.cli('alerts', 'list', '--format', 'json', '--limit', '1000'));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const cards = (page) => page.locator('[data-testid="inbox"] > li');

async function hydratedPage(width = 1280) {
  const page = await browser.newPage({ viewport: { width, height: 900 }, locale: 'en-US' });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.errors = errors;
  return page;
}

// The inbox's cards when grouped (the default): the alerts of one entity and period together,
// the groups by their most urgent alert, in each the highest severity first, then by priority.
const SEVERITIES = ['critical', 'high', 'medium', 'low'];
function groupsOf(records) {
  const groups = new Map();
  for (const r of records) {
    const key = `${r.alert.entity}:${r.alert.period}`;
    if (!groups.has(key)) groups.set(key, { entity: r.alert.entity, period: r.alert.period, alerts: [] });
    groups.get(key).alerts.push(r);
  }
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  const top = (g) => Math.max(...g.alerts.map((r) => r.alert.priority));
  for (const g of groups.values()) {
    g.alerts.sort((a, b) => SEVERITIES.indexOf(a.alert.severity) - SEVERITIES.indexOf(b.alert.severity)
      || b.alert.priority - a.alert.priority || cmp(a.alert.fingerprint, b.alert.fingerprint));
  }
  return [...groups.values()].sort((a, b) => top(b) - top(a) || cmp(a.entity, b.entity) || cmp(a.period, b.period));
}

test('hydrated: the inbox is ordered by priority and filters by severity in the URL', async () => {
  assert.ok(inbox.length >= 10, `${inbox.length} alerts`);
  const page = await hydratedPage();
  // One card per alert, asked for: this test is about single alerts and their order.
  await page.goto(`${server.url}/alerts?group=none`);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
  const shown = await cards(page).evaluateAll((els) => els.map((e) => e.dataset.fingerprint));
  assert.deepEqual(shown, inbox.map((r) => r.alert.fingerprint), 'same alerts, same priority order');
  // Every card carries its first recommended action and a severity in words.
  assert.equal(await cards(page).locator('.action').count(), inbox.length);
  await screenshot(page, 'alerts-1280');
  await assertAccessible(page, 'inbox');

  const high = inbox.filter((r) => r.alert.severity === 'high');
  await page.getByLabel('Severity').selectOption('high');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/[?&]severity=high\b/);
  assert.match(page.url(), /[?&]group=none\b/, 'the choice of one card per alert is kept by the filters');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="inbox"] > li').length === n, high.length);
  const badges = await cards(page).locator('.badge.severity-high').count();
  assert.equal(badges, high.length);
  // The option says how many it shows.
  assert.match(await page.getByLabel('Severity').locator('option:checked').textContent(), new RegExp(`High \\(${high.length}\\)`));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('an alert page shows why, the evidence with its provenance, actions and history', async () => {
  const first = inbox[0].alert;
  const page = await hydratedPage();
  await page.goto(`${server.url}/alerts`);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
  await page.getByRole('link', { name: first.title.en }).click();
  await page.waitForURL(/\/alerts\/.+/);
  await page.getByTestId('alert-title').waitFor();
  assert.equal(await page.getByTestId('alert-title').textContent(), first.title.en);
  assert.equal(await page.getByTestId('explanation').textContent(), first.explanation.en);
  // The recorded checksum is the mirror file's.
  const mirrorFile = first.evidence.source.location;
  // The path actually read, resolved (the mirror folder may be reached through a link).
  assert.ok(mirrorFile.startsWith(realpathSync(MIRROR)), mirrorFile);
  const sha = createHash('sha256').update(readFileSync(mirrorFile)).digest('hex');
  assert.match(await page.getByTestId('provenance').textContent(), new RegExp(sha));
  assert.equal(await page.getByTestId('actions').locator('li').count(), first.actions.length);
  assert.match(await page.getByTestId('history').textContent(), /opened/);
  // The evidence chart is SVG from the server, with the compared years marked.
  const chart = page.getByTestId('evidence-chart');
  assert.ok(await chart.locator('g.point').count() >= 2);
  assert.deepEqual(
    await chart.locator('g.point.marked').evaluateAll((els) => els.map((e) => Number(e.dataset.year))),
    first.evidence.series.map((p) => p.period),
  );
  await screenshot(page, 'alert-1280');
  await assertAccessible(page, 'alert page');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('without JavaScript: the inbox, its filters and an alert page work', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 }, locale: 'en-US' });
  const page = await context.newPage();
  // Grouped by default: a card per entity and period.
  await page.goto(`${server.url}/alerts`);
  assert.equal(await cards(page).count(), groupsOf(inbox).length);
  await page.goto(`${server.url}/alerts?group=none`);
  assert.equal(await cards(page).count(), inbox.length);
  await screenshot(page, 'alerts-390-nojs');
  const issues = inbox.filter((r) => !r.alert.data_issue);
  await page.getByLabel('Kind').selectOption('no');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/[?&]data_issue=no\b/);
  assert.match(page.url(), /[?&]group=none\b/);
  assert.equal(await cards(page).count(), issues.length);
  await page.goto(`${server.url}/alerts?data_issue=no`);
  assert.equal(await cards(page).count(), groupsOf(issues).length, 'grouped, filtered');

  const fp = inbox[1].alert.fingerprint;
  const response = await page.goto(`${server.url}/alerts/${encodeURIComponent(fp)}`);
  assert.equal(response.status(), 200);
  assert.equal(await page.getByTestId('alert-title').textContent(), inbox[1].alert.title.en);
  await screenshot(page, 'alert-390-nojs');

  const missing = await page.goto(`${server.url}/alerts/no_such_rule:XXX:2025`);
  assert.equal(missing.status(), 404);
  assert.match(await page.getByRole('alert').textContent(), /No alert `no_such_rule:XXX:2025`/);
  await context.close();
});

test('the language switch works without JavaScript and is remembered', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false, locale: 'en-US' });
  const page = await context.newPage();
  await page.goto(`${server.url}/alerts?severity=high`);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Alerts');
  await page.getByRole('button', { name: '한국어' }).click();
  await page.waitForURL(/\/alerts\?severity=high$/);
  assert.equal(await page.locator('html').getAttribute('lang'), 'ko');
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), '알림');
  assert.equal(await page.getByRole('button', { name: '한국어' }).getAttribute('aria-pressed'), 'true');
  // Remembered on the next page, and titles come in Korean.
  await page.goto(server.url);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), '개요');
  assert.match(await page.getByTestId('top-alerts').textContent(), new RegExp(inbox[0].alert.title.ko.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  await page.getByRole('button', { name: 'English' }).click();
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Overview');
  await context.close();
});

test('hydrated Korean pages at phone width', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'ko-KR' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}/alerts`);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), '알림');
  await screenshot(page, 'alerts-390-ko');
  await page.goto(`${server.url}/alerts/${encodeURIComponent(inbox[0].alert.fingerprint)}`);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
  assert.equal(await page.getByTestId('alert-title').textContent(), inbox[0].alert.title.ko);
  await screenshot(page, 'alert-390-ko');
  await assertAccessible(page, 'alert page (ko, 390)');
  assert.deepEqual(errors, []);
  await context.close();
});

for (const js of [true, false]) {
  test(`${js ? 'hydrated' : 'without JavaScript'}: related alerts of one country and period are one card, most severe first, expandable, counted`, async () => {
    const groups = groupsOf(inbox);
    const related = groups.filter((g) => g.alerts.length > 1);
    assert.ok(related.length > 0 && groups.length < inbox.length, `${groups.length} groups of ${inbox.length} alerts`);
    const context = await browser.newContext({ javaScriptEnabled: js, locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(`${server.url}/alerts`);
    if (js) await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
    // A card per group, in the groups' order, each led by its most severe alert and counting its signals.
    const shown = await cards(page).evaluateAll((els) => els.map((e) => [e.dataset.fingerprint, Number(e.dataset.signals)]));
    assert.deepEqual(shown, groups.map((g) => [g.alerts[0].alert.fingerprint, g.alerts.length]));
    assert.equal(shown.reduce((n, [, s]) => n + s, 0), inbox.length, 'every alert on one card');
    assert.match(await page.getByTestId('inbox-count').textContent(),
      new RegExp(`of ${groups.length} cards? \\(${inbox.length} matching alerts\\)`));
    const g = related[0];
    const card = cards(page).and(page.locator(`[data-fingerprint="${g.alerts[0].alert.fingerprint}"]`));
    assert.equal(await card.getByTestId('group-count').textContent(), `+${g.alerts.length - 1} related`);
    // Its signals listed, closed until opened; the most severe first.
    const signals = card.getByTestId('group-signals');
    assert.equal(await signals.getAttribute('open'), null);
    assert.equal(await signals.locator('li').first().isVisible(), false);
    await signals.locator('summary').click();
    await signals.locator('li').first().waitFor({ state: 'visible' });
    assert.deepEqual(await signals.locator('li').evaluateAll((els) => els.map((e) => e.dataset.fingerprint)),
      g.alerts.map((r) => r.alert.fingerprint));
    for (const r of g.alerts) {
      assert.equal(await signals.getByRole('link', { name: r.alert.title.en, exact: true }).count(), 1, r.alert.fingerprint);
    }
    // Turned off, one card per alert; the choice survives a language switch (it is in the URL).
    await page.getByTestId('group-off').click();
    await page.waitForURL(/[?&]group=none\b/);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="inbox"] > li').length === n, inbox.length);
    await page.getByRole('button', { name: '한국어' }).click();
    await page.waitForURL(/\/alerts\?group=none$/);
    assert.equal(await page.locator('html').getAttribute('lang'), 'ko');
    assert.equal(await cards(page).count(), inbox.length);
    await page.getByTestId('group-on').click();
    await page.waitForURL((u) => u.pathname === '/alerts' && !u.search.includes('group='));
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="inbox"] > li').length === n, groups.length);
    assert.match(await page.getByTestId('inbox-count').textContent(), new RegExp(`카드 ${groups.length}개`));
    await context.close();
  });
}
