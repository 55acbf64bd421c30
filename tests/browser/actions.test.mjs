// Acting on alerts in the browser: an analyst signs in and acknowledges, comments on and
// resolves an alert, with JavaScript on and off (plain forms either way); a `<script>` comment
// stays inert text; a viewer sees no action forms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, screenshot, seriousA11yViolations, newContext, open, hydrated,
} from './harness.mjs';

let server;
let browser;
let fingerprints;
let inbox;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  server.addUser('kim', 'analyst', 'browser analyst password');
  server.addUser('vic', 'viewer', 'browser viewer password');
  inbox = JSON.parse(server.cli('alerts', 'list', '--format', 'json', '--limit', '1000'));
  fingerprints = inbox.map((r) => r.alert.fingerprint);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const alertPath = (fp) => `/alerts/${encodeURIComponent(fp).replaceAll('%3A', ':')}`;

async function signIn(page, name, password, next, lang = 'en') {
  await page.goto(`${server.url}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel(lang === 'en' ? 'User name' : '사용자 이름').fill(name);
  await page.getByLabel(lang === 'en' ? 'Password' : '비밀번호').fill(password);
  await page.getByRole('button', { name: lang === 'en' ? 'Sign in' : '로그인', exact: true }).click();
  await page.waitForURL((u) => u.pathname === next.split('?')[0]);
}

const SCRIPT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

async function actOnOneAlert(page, fp, { js, label }) {
  const status = () => page.locator('.alert-head .badge[class*="status-"]').first().textContent();
  const version = (n) => page.waitForFunction((v) => document.querySelector('[data-testid="version"]')?.textContent === v, String(n));
  if (js) {
    await hydrated(page);
    // With JavaScript the forms answer in place: this marker survives only if no page loads.
    await page.evaluate(() => { window.__samePage = true; });
  }
  assert.equal(await page.getByTestId('version').textContent(), '1');

  await page.getByTestId('form-acknowledge').getByRole('button').click();
  await version(2);
  assert.equal(await status(), label.acknowledged);

  await page.getByTestId('form-comment').locator('textarea').fill(SCRIPT);
  await page.getByTestId('form-comment').getByRole('button').click();
  await version(3);
  const history = await page.getByTestId('history').textContent();
  assert.ok(history.includes(SCRIPT), `the comment shows as typed text: ${history}`);
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'nothing in the comment ran');

  await page.getByTestId('form-resolve').locator('input[name="note"]').fill('budget moved');
  await page.getByTestId('form-resolve').getByRole('button').click();
  await version(4);
  assert.equal(await status(), label.resolved);
  assert.equal(await page.getByTestId('form-reopen').count(), 1, 'a resolved alert can be reopened');
  assert.equal(await page.getByTestId('form-acknowledge').count(), 0, 'and not acknowledged');
  assert.equal(await page.evaluate(() => window.__samePage), js ? true : undefined,
    js ? 'no page load with JavaScript' : 'ordinary page loads without');
  const cli = JSON.parse(server.cli('alerts', 'show', fp, '--format', 'json'));
  assert.deepEqual(cli.history.map((e) => `${e.actor}:${e.kind}`),
    ['system:opened', 'kim:acknowledged', 'kim:commented', 'kim:resolved']);
}

test('hydrated: an analyst acknowledges, comments on and resolves an alert', async () => {
  const fp = fingerprints[0];
  const context = await newContext(browser, server.url);
  const { page, errors } = await open(context, server.url, '/alerts');
  await signIn(page, 'kim', 'browser analyst password', alertPath(fp));
  await actOnOneAlert(page, fp, { js: true, label: { acknowledged: 'Acknowledged', resolved: 'Resolved' } });
  await hydrated(page);
  await screenshot(page, 'alert-actions-1280');
  assert.deepEqual(await seriousA11yViolations(page), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test('without JavaScript, in Korean: the same forms work', async () => {
  const fp = fingerprints[1];
  const context = await newContext(browser, server.url, { lang: 'ko', javaScriptEnabled: false, width: 390 });
  const page = await context.newPage();
  await signIn(page, 'kim', 'browser analyst password', alertPath(fp), 'ko');
  await actOnOneAlert(page, fp, { js: false, label: { acknowledged: '확인함', resolved: '해결' } });
  await screenshot(page, 'alert-actions-ko-390');
  await context.close();
});

test('hydrated: an analyst assigns and snoozes an alert, then bulk-acknowledges a filtered set', async () => {
  const fp = fingerprints[2];
  const context = await newContext(browser, server.url);
  const { page, errors } = await open(context, server.url, '/alerts');
  await signIn(page, 'kim', 'browser analyst password', alertPath(fp));
  await hydrated(page);
  // Assign… and Snooze… are disclosures: opened first.
  await page.getByTestId('more-assign').locator('summary').click();
  const assign = page.getByTestId('form-assign');
  await assign.locator('input[name="owner"]').fill('kim');
  await assign.locator('input[name="due"]').fill('2099-12-31');
  await assign.getByRole('button').click();
  await page.getByTestId('assignee').filter({ hasText: 'kim' }).waitFor();
  assert.equal(await page.getByTestId('assignee').textContent(), 'kim');
  assert.match(await page.getByTestId('due').textContent(), /^2099-12-31/);
  await page.getByTestId('more-snooze').locator('summary').click();
  const snooze = page.getByTestId('form-snooze');
  await snooze.getByRole('button', { name: 'Until the next load' }).click();
  await page.getByTestId('snooze').waitFor();
  assert.equal(await page.getByTestId('snooze').textContent(), 'until the next load');
  await page.goto(`${server.url}/alerts?mine=1`);
  assert.equal(await page.locator('[data-testid="inbox"] > li').count(), 1, 'assigned to me');

  // A filtered set: the severity with the fewest active alerts (at least two).
  const counts = new Map();
  for (const r of inbox) counts.set(r.alert.severity, (counts.get(r.alert.severity) ?? 0) + 1);
  const [severity] = [...counts].filter(([, n]) => n >= 2).sort((a, b) => a[1] - b[1])[0];
  // One card per alert (asked for): the count below is of alerts.
  await page.goto(`${server.url}/alerts?severity=${severity}&group=none`);
  await hydrated(page);
  const shown = await page.locator('[data-testid="inbox"] > li').count();
  await screenshot(page, 'inbox-bulk-1280');
  assert.deepEqual(await seriousA11yViolations(page), []);
  const bulk = page.getByTestId('bulk');
  // The selection keeps a live count; the toolbar shows only while something is selected.
  await page.locator('input[name="pick"]').first().check();
  await page.getByTestId('bulk-count').filter({ hasText: '1 alert selected' }).waitFor();
  await page.locator('input[name="pick"]').first().uncheck();
  await bulk.waitFor({ state: 'hidden' });
  assert.equal(await page.getByTestId('bulk-count').textContent(), '0 alerts selected');
  await page.locator('input[name="pick"]').first().check();
  await page.getByTestId('bulk-all').check();
  await page.getByTestId('bulk-count').filter({ hasText: `All ${shown} matching alerts selected` }).waitFor();
  await bulk.getByRole('button', { name: 'Acknowledge', exact: true }).click();
  await page.getByTestId('bulk-summary').waitFor();
  const summary = await page.getByTestId('bulk-summary').textContent();
  const m = summary.match(/^Acknowledge: (\d+) of (\d+) alerts changed; (\d+) refused\.$/);
  assert.ok(m, summary);
  assert.equal(Number(m[2]), shown);
  assert.equal(Number(m[1]) + Number(m[3]), shown);
  await page.goto(`${server.url}/alerts?severity=${severity}&status=open`);
  assert.equal(await page.locator('[data-testid="inbox"] > li').count(), 0, 'none left open');
  assert.deepEqual(errors, []);
  await context.close();
});

test('hydrated: a change made from a stale page is refused inline with what changed meanwhile', async () => {
  const fp = fingerprints[3];
  const context = await newContext(browser, server.url);
  const { page, errors } = await open(context, server.url, '/alerts');
  await signIn(page, 'kim', 'browser analyst password', alertPath(fp));
  await hydrated(page);
  // Someone else comments on it meanwhile.
  server.cli('alerts', 'comment', fp, '--as', 'kim', 'from the other desk');
  await page.getByTestId('form-comment').locator('textarea').fill('my stale comment');
  await page.getByTestId('form-comment').getByRole('button').click();
  const refusal = page.getByTestId('inline-refusal');
  await refusal.waitFor();
  assert.equal(await refusal.getAttribute('data-status'), '409');
  const text = await refusal.textContent();
  assert.match(text, /Someone changed this alert after you opened it/);
  assert.match(text, /commented — from the other desk/);
  assert.equal(await page.getByTestId('form-comment').locator('textarea').inputValue(), 'my stale comment', 'nothing typed is lost');
  const cli = JSON.parse(server.cli('alerts', 'show', fp, '--format', 'json'));
  assert.ok(!cli.history.some((e) => e.note === 'my stale comment'), 'the stale comment was not saved');
  assert.deepEqual(errors, []);
  await context.close();
});

test('hydrated: the inbox filters update the list in place, the URL follows, Back returns', async () => {
  const context = await newContext(browser, server.url);
  // One card per alert, so the cards count the CLI's alerts.
  const { page, errors } = await open(context, server.url, '/alerts?group=none');
  await hydrated(page);
  await page.evaluate(() => { window.__samePage = true; });
  const cards = page.locator('[data-testid="inbox"] > li');
  const all = await cards.count();
  const high = JSON.parse(server.cli('alerts', 'list', '--severity', 'high', '--format', 'json', '--limit', '1000')).length;
  assert.ok(high > 0 && high < all);
  await page.getByLabel('Severity').selectOption('high');
  await page.getByRole('button', { name: 'Apply', exact: true }).click();
  await page.waitForURL(/[?&]severity=high\b/);
  assert.match(page.url(), /[?&]group=none\b/, 'the grouping choice stays in the URL');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="inbox"] > li').length === n, high);
  assert.match(await page.getByTestId('inbox-count').textContent(), new RegExp(`of ${high} matching alerts?`));
  assert.equal(await page.evaluate(() => window.__samePage), true, 'no page load');
  await page.goBack();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="inbox"] > li').length === n, all);
  assert.equal(await page.getByLabel('Severity').inputValue(), '');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a viewer sees the alert and its history, and no action forms', async () => {
  const context = await newContext(browser, server.url, { javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, 'vic', 'browser viewer password', alertPath(fingerprints[0]));
  assert.ok((await page.getByTestId('history').textContent()).includes('kim'));
  assert.equal(await page.locator('form.act-form').count(), 0);
  assert.match(await page.getByTestId('act-hint').textContent(), /Your role reads alerts/);
  await page.goto(`${server.url}/alerts`);
  assert.equal(await page.getByTestId('bulk').count(), 0, 'no bulk form either');
  assert.equal(await page.locator('input[name="pick"]').count(), 0);
  await context.close();
});

for (const lang of ['en', 'ko']) {
  test(`without JavaScript, ${lang}: primary actions are buttons, the others one disclosure each, every label distinct`, async () => {
    const fp = fingerprints[5 + (lang === 'en' ? 0 : 1)];
    const context = await newContext(browser, server.url, { lang, javaScriptEnabled: false });
    const page = await context.newPage();
    await signIn(page, 'kim', 'browser analyst password', alertPath(fp), lang);
    const act = page.getByTestId('act');
    // Acknowledge and Resolve are at hand; Assign…, Snooze…, Dismiss… are closed disclosures.
    const primary = await act.locator('.act-primary button').allTextContents();
    assert.deepEqual(primary, lang === 'en' ? ['Acknowledge', 'Resolve'] : ['확인', '해결']);
    const summaries = await act.locator('details.act-more > summary').allTextContents();
    assert.deepEqual(summaries, lang === 'en' ? ['Assign…', 'Snooze…', 'Dismiss…'] : ['담당 지정…', '보류…', '무시…']);
    assert.equal(await act.locator('details.act-more[open]').count(), 0, 'closed until opened');
    assert.equal(await page.getByTestId('form-assign').isVisible(), false);
    // The comment box is apart, after the disclosures.
    assert.equal(await act.locator('.act-comment [data-testid="form-comment"]').count(), 1);
    // No two fields share a label, and every field has one.
    const labels = (await act.locator('label').allTextContents()).map((l) => l.trim());
    assert.deepEqual(labels, [...new Set(labels)], `labels: ${labels.join(' | ')}`);
    const unlabelled = await act.locator('input:not([type=hidden]), select, textarea').evaluateAll((els) => els
      .filter((el) => !(el.labels?.length) && !el.getAttribute('aria-label')).map((el) => el.outerHTML));
    assert.deepEqual(unlabelled, []);
    // A disclosure opens without JavaScript and its form posts as a plain form.
    await page.getByTestId('more-dismiss').locator('summary').click();
    await page.getByTestId('form-dismiss').locator('select[name="reason"]').selectOption('duplicate');
    await page.getByTestId('form-dismiss').getByRole('button').click();
    await page.waitForLoadState('load');
    assert.equal(await page.locator('.alert-head .badge[class*="status-"]').first().textContent(), lang === 'en' ? 'Dismissed' : '무시');
    await context.close();
  });
}
