// The inbox's selection toolbar in a real browser, with JavaScript off and on: the alert page's
// buttons and disclosures (every label distinct, in both languages), acting on picked alerts,
// on a grouped card (all its alerts), and on all alerts matching the filter (with JavaScript: in
// place, a live progress count, per-item results). Expectations come from the CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, screenshot, seriousA11yViolations, newContext, hydrated } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  server.addUser('kim', 'analyst', 'browser analyst password');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const list = (...args) => JSON.parse(server.cli('alerts', 'list', '--format', 'json', '--limit', '1000', ...args));
const show = (fp) => JSON.parse(server.cli('alerts', 'show', fp, '--format', 'json'));

async function signIn(page, next, lang = 'en') {
  await page.goto(`${server.url}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel(lang === 'en' ? 'User name' : '사용자 이름').fill('kim');
  await page.getByLabel(lang === 'en' ? 'Password' : '비밀번호').fill('browser analyst password');
  await page.getByRole('button', { name: lang === 'en' ? 'Sign in' : '로그인', exact: true }).click();
  await page.waitForURL((u) => u.pathname === next.split('?')[0]);
}

/** The first grouped card whose alerts are all in `statuses`: the card and its alerts' fingerprints. */
async function groupIn(page, statuses) {
  const groups = page.locator('[data-testid="inbox"] > li.alert-group');
  const n = await groups.count();
  for (let i = 0; i < n; i++) {
    const card = groups.nth(i);
    const members = await card.locator('.group-signals li').evaluateAll((els) => els.map((e) => e.dataset.fingerprint));
    if (members.every((fp) => statuses.includes(show(fp).record.status))) return { card, members };
  }
  throw new Error(`no grouped card of ${statuses} alerts`);
}

for (const lang of ['en', 'ko']) {
  test(`without JavaScript, ${lang}: one toolbar of the alert page's actions, every label distinct`, async () => {
    const context = await newContext(browser, server.url, { lang, javaScriptEnabled: false });
    const page = await context.newPage();
    await signIn(page, '/alerts', lang);
    const bar = page.getByTestId('bulk');
    assert.equal(await bar.isVisible(), true, 'without JavaScript the toolbar is always there');
    assert.equal(await page.locator('form#bulk [data-testid="inbox"]').count(), 1, 'a plain form around the list');
    assert.deepEqual(await bar.locator('.act-primary button').allTextContents(),
      lang === 'en' ? ['Acknowledge', 'Resolve'] : ['확인', '해결']);
    assert.deepEqual(await bar.locator('details.act-more > summary').allTextContents(),
      lang === 'en' ? ['Assign…', 'Snooze…', 'Dismiss…'] : ['담당 지정…', '보류…', '무시…']);
    assert.equal(await bar.locator('details.act-more[open]').count(), 0, 'closed until opened');
    // The alert page's snooze presets, and its dismiss reasons.
    assert.deepEqual(await bar.locator('.snooze-presets button').allTextContents(),
      lang === 'en'
        ? ['1 hour', '4 hours', 'Tomorrow 9:00', 'Next Monday 9:00', 'Until the next load', 'Until 10 % worse']
        : ['1시간', '4시간', '내일 9:00', '다음 월요일 9:00', '다음 적재까지', '10% 악화될 때까지']);
    assert.equal(await bar.locator('select[name="reason"] option').count(), 4);
    // No two fields of the page share a label, and every field of the toolbar has one.
    const labels = (await page.locator('main label').allTextContents()).map((l) => l.trim()).filter((l) => l);
    assert.deepEqual(labels, [...new Set(labels)], `labels: ${labels.join(' | ')}`);
    const unlabelled = await bar.locator('input:not([type=hidden]), select, textarea').evaluateAll((els) => els
      .filter((el) => !(el.labels?.length) && !el.getAttribute('aria-label')).map((el) => el.outerHTML));
    assert.deepEqual(unlabelled, []);
    await screenshot(page, `inbox-toolbar-nojs-${lang}`);
    await context.close();
  });
}

test('without JavaScript: the toolbar acts on a grouped card, on a picked alert, and on all matching', async () => {
  const context = await newContext(browser, server.url, { javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, '/alerts');
  // A grouped card's box: every alert of the group.
  const { card, members } = await groupIn(page, ['open']);
  assert.ok(members.length > 1);
  await card.locator('.alert-head input[name="pick"]').check();
  await page.getByTestId('bulk').getByRole('button', { name: 'Acknowledge', exact: true }).click();
  await page.waitForLoadState('load');
  assert.equal(await page.getByTestId('bulk-summary').textContent(),
    `Acknowledge: ${members.length} of ${members.length} alerts changed; 0 refused.`);
  for (const fp of members) assert.equal(show(fp).record.status, 'acknowledged', fp);

  // Dismiss… with its reason, on one picked alert.
  await page.goto(`${server.url}/alerts?group=none&status=open`);
  const fp = await page.locator('[data-testid="inbox"] > li').first().getAttribute('data-fingerprint');
  await page.locator(`[data-testid="inbox"] > li[data-fingerprint="${fp}"] input[name="pick"]`).check();
  await page.getByTestId('bulk-more-dismiss').locator('summary').click();
  await page.getByTestId('bulk').locator('select[name="reason"]').selectOption('duplicate');
  await page.getByTestId('bulk').getByRole('button', { name: 'Dismiss', exact: true }).click();
  await page.waitForLoadState('load');
  assert.equal(await page.getByTestId('bulk-summary').textContent(), 'Dismiss: 1 of 1 alerts changed; 0 refused.');
  assert.equal(show(fp).record.status, 'dismissed');
  assert.equal(show(fp).record.dismiss_reason, 'duplicate');

  // All matching a filter (not only the page's checked ones): snoozed with a preset.
  const high = list('--severity', 'high', '--status', 'open');
  assert.ok(high.length >= 2, `${high.length} open high alerts`);
  await page.goto(`${server.url}/alerts?severity=high&status=open`);
  await page.getByTestId('bulk-all').check();
  await page.getByTestId('bulk-more-snooze').locator('summary').click();
  await page.getByTestId('bulk').getByTestId('snooze-4h').click();
  await page.waitForLoadState('load');
  assert.equal(await page.getByTestId('bulk-summary').textContent(),
    `Snooze: ${high.length} of ${high.length} alerts changed; 0 refused.`);
  for (const r of high) assert.equal(show(r.alert.fingerprint).record.status, 'snoozed', r.alert.fingerprint);
  assert.deepEqual(list('--severity', 'high', '--status', 'open'), []);
  await context.close();
});

test('hydrated: the toolbar shows when something is selected, acts in place, and on all matching with a live count', async () => {
  const context = await newContext(browser, server.url);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page, '/alerts');
  await hydrated(page);
  await page.evaluate(() => { window.__samePage = true; });
  const bar = page.getByTestId('bulk');
  assert.equal(await bar.isVisible(), false, 'no toolbar until something is selected');

  // A single alert and a grouped card: the card's box checks each of its alerts.
  const single = page.locator('[data-testid="inbox"] > li:not(.alert-group)').filter({ hasText: /Open/ }).first();
  const singleFp = await single.getAttribute('data-fingerprint');
  await single.locator('input[name="pick"]').check();
  await bar.waitFor({ state: 'visible' });
  assert.equal(await page.getByTestId('bulk-count').textContent(), '1 alert selected');
  await single.locator('input[name="pick"]').uncheck();
  await bar.waitFor({ state: 'hidden' });
  await single.locator('input[name="pick"]').check();
  const { card, members } = await groupIn(page, ['open', 'acknowledged', 'snoozed']);
  await card.locator('.alert-head input[name="pick"]').check();
  assert.equal(await card.locator('.group-signals input[name="pick"]:checked').count(), members.length);
  const picked = members.length + 1;
  assert.equal(await page.getByTestId('bulk-count').textContent(), `${picked} alerts selected`);
  await screenshot(page, 'inbox-toolbar-selected-1280');
  assert.deepEqual(await seriousA11yViolations(page), []);
  await bar.getByRole('button', { name: 'Resolve', exact: true }).click();
  await page.getByTestId('bulk-summary').waitFor();
  assert.equal(await page.getByTestId('bulk-summary').textContent(), `Resolve: ${picked} of ${picked} alerts changed; 0 refused.`);
  for (const fp of [singleFp, ...members]) assert.equal(show(fp).record.status, 'resolved', fp);
  assert.equal(await page.evaluate(() => window.__samePage), true, 'no page load');
  // The inbox as it is now: the resolved ones are gone from it, the toolbar hidden again.
  assert.equal(await page.locator(`[data-testid="inbox"] li[data-fingerprint="${singleFp}"]`).count(), 0);
  assert.equal(await bar.isVisible(), false);

  // All matching: a live progress count, then per-item results (the acknowledged and snoozed
  // ones above are acknowledged or skipped as already in that state).
  const active = list();
  const already = active.filter((r) => r.status === 'acknowledged');
  await page.evaluate(() => {
    window.__progress = [];
    new MutationObserver(() => {
      const text = document.querySelector('[data-testid="bulk-progress"]')?.textContent;
      if (text && window.__progress.at(-1) !== text) window.__progress.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  await page.locator('[data-testid="inbox"] input[name="pick"]').first().check();
  await page.getByTestId('bulk-all').check();
  assert.equal(await page.getByTestId('bulk-count').textContent(), `All ${active.length} matching alerts selected`);
  await bar.getByRole('button', { name: 'Acknowledge', exact: true }).click();
  await page.getByTestId('bulk-summary').filter({ hasText: /^Acknowledge:/ }).waitFor();
  const changed = active.length - already.length;
  assert.equal(await page.getByTestId('bulk-summary').textContent(),
    `Acknowledge: ${changed} of ${active.length} alerts changed; ${already.length} refused.`);
  const progress = await page.evaluate(() => window.__progress);
  assert.ok(progress.includes(`0 of ${active.length} alerts done…`), `progress: ${progress.join(' | ')}`);
  if (already.length) {
    const skipped = page.locator('[data-testid="bulk-result"] li[data-reason="already_there"]');
    assert.equal(await skipped.getAttribute('data-count'), String(already.length));
    assert.match(await skipped.textContent(), /already in that state/);
    assert.equal(await skipped.locator('li[data-fingerprint]').count(), Math.min(5, already.length), 'the first few named');
  }
  assert.deepEqual(list('--status', 'open'), []);
  assert.equal(await page.evaluate(() => window.__samePage), true, 'no page load');
  assert.deepEqual(errors, []);
  await context.close();
});
