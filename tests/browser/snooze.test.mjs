// Snoozing the way people snooze: one click on a preset ("Tomorrow 9:00", "Next Monday 9:00",
// "1 hour", …) snoozes the alert, with JavaScript on and off, in Korean and English, and the
// alert shows when it wakes on the reader's clock with the zone named (Asia/Seoul, the
// dashboard's, or the zone a person chose on /settings). The custom time works as it stands.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newContext, hydrated, seriousA11yViolations } from './harness.mjs';

let server;
let browser;
let fingerprints;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  server.addUser('kim', 'analyst', 'browser analyst password');
  server.addUser('nyc', 'analyst', 'new york analyst password');
  const inbox = JSON.parse(server.cli('alerts', 'list', '--format', 'json', '--limit', '1000'));
  // Alerts with a value to watch (all presets offered), each used by one test.
  fingerprints = inbox.filter((r) => r.status === 'open').map((r) => r.alert.fingerprint);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const alertPath = (fp) => `/alerts/${encodeURIComponent(fp).replaceAll('%3A', ':')}`;

async function signIn(page, name, password, next, lang) {
  await page.goto(`${server.url}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel(lang === 'en' ? 'User name' : '사용자 이름').fill(name);
  await page.getByLabel(lang === 'en' ? 'Password' : '비밀번호').fill(password);
  await page.getByRole('button', { name: lang === 'en' ? 'Sign in' : '로그인', exact: true }).click();
  await page.waitForURL((u) => u.pathname === next.split('?')[0]);
}

/** `YYYY-MM-DD HH:MM` of the instant `iso` on the clock of `zone`. */
function wallClock(iso, zone) {
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).format(new Date(iso));
}

/** The date `days` after today on the clock of `zone`, `YYYY-MM-DD`, and its weekday (0 = Sunday). */
function dateAfter(days, zone, now = Date.now()) {
  const [y, m, d] = wallClock(new Date(now).toISOString(), zone).slice(0, 10).split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d + days));
  return { ymd: date.toISOString().slice(0, 10), weekday: date.getUTCDay() };
}

function storedSnooze(fp) {
  return JSON.parse(server.cli('alerts', 'show', fp, '--format', 'json')).record.snooze;
}

async function snoozeWithPreset(page, { js, lang, button }) {
  if (js) {
    await hydrated(page);
    await page.evaluate(() => { window.__samePage = true; });
  }
  assert.equal(await page.getByTestId('snooze').count(), 0, 'not snoozed yet');
  await page.getByTestId('more-snooze').locator('summary').click();
  // One click: nothing else is filled in or chosen.
  await page.getByTestId('form-snooze').getByRole('button', { name: button, exact: true }).click();
  await page.getByTestId('snooze').waitFor();
  assert.equal(await page.evaluate(() => window.__samePage), js ? true : undefined);
  return page.getByTestId('snooze').textContent();
}

for (const { js, lang } of [{ js: true, lang: 'en' }, { js: false, lang: 'ko' }, { js: false, lang: 'en' }, { js: true, lang: 'ko' }]) {
  test(`${js ? 'hydrated' : 'without JavaScript'}, ${lang}: "Tomorrow 9:00" snoozes in one click until 9:00 KST tomorrow`, async () => {
    const fp = fingerprints.shift();
    const context = await newContext(browser, server.url, { lang, javaScriptEnabled: js });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await signIn(page, 'kim', 'browser analyst password', alertPath(fp), lang);
    const text = await snoozeWithPreset(page, { js, lang, button: lang === 'en' ? 'Tomorrow 9:00' : '내일 9:00' });
    const tomorrow = dateAfter(1, 'Asia/Seoul').ymd;
    assert.equal(text, lang === 'en' ? `until ${tomorrow} 09:00 KST` : `${tomorrow} 09:00 KST까지`);
    // Stored in UTC: 09:00 in Seoul is midnight UTC.
    const stored = storedSnooze(fp);
    assert.equal(stored.kind, 'until');
    assert.equal(new Date(stored.at).toISOString(), `${tomorrow}T00:00:00.000Z`);
    if (js) {
      assert.deepEqual(await seriousA11yViolations(page), []);
    }
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test('hydrated: "1 hour" and "Until 10 % worse" snooze in one click; the history keeps UTC', async () => {
  const fp = fingerprints.shift();
  const context = await newContext(browser, server.url);
  const page = await context.newPage();
  await signIn(page, 'kim', 'browser analyst password', alertPath(fp), 'en');
  const before = Date.now();
  const text = await snoozeWithPreset(page, { js: true, lang: 'en', button: '1 hour' });
  const after = Date.now();
  const at = Date.parse(storedSnooze(fp).at);
  assert.ok(at >= before + 3_600_000 - 60_000 && at <= after + 3_600_000 + 1000, `${new Date(at).toISOString()}`);
  assert.equal(text, `until ${wallClock(new Date(at).toISOString(), 'Asia/Seoul')} KST`);
  // Snoozed again, now until it gets worse (the page was replaced in place: open Snooze… again).
  await page.getByTestId('more-snooze').locator('summary').click();
  await page.getByTestId('form-snooze').getByRole('button', { name: 'Until 10 % worse', exact: true }).click();
  await page.getByTestId('snooze').filter({ hasText: '10 %' }).waitFor();
  assert.equal(storedSnooze(fp).kind, 'worse');
  assert.equal(storedSnooze(fp).pct, 10);
  await context.close();
});

test('without JavaScript: the custom time works as it stands (tomorrow 9:00 on the reader\'s clock)', async () => {
  const fp = fingerprints.shift();
  const context = await newContext(browser, server.url, { javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, 'kim', 'browser analyst password', alertPath(fp), 'en');
  await page.getByTestId('more-snooze').locator('summary').click();
  await page.getByTestId('form-snooze').getByRole('button', { name: 'Snooze until this time' }).click();
  await page.getByTestId('snooze').waitFor();
  const tomorrow = dateAfter(1, 'Asia/Seoul').ymd;
  assert.equal(await page.getByTestId('snooze').textContent(), `until ${tomorrow} 09:00 KST`);
  await context.close();
});

for (const js of [true, false]) {
  test(`${js ? 'hydrated' : 'without JavaScript'}: a person in New York chooses their zone on /settings; "Next Monday 9:00" is 9:00 on their clock`, async () => {
    const fp = fingerprints.shift();
    const context = await newContext(browser, server.url, { javaScriptEnabled: js });
    const page = await context.newPage();
    await signIn(page, 'nyc', 'new york analyst password', '/settings', 'en');
    await page.getByLabel('Time zone of the times you see').selectOption('America/New_York');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('settings-saved').waitFor();
    assert.match(await page.getByTestId('settings-now').textContent(), /\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T/);
    await page.goto(server.url + alertPath(fp));
    const text = await snoozeWithPreset(page, { js, lang: 'en', button: 'Next Monday 9:00' });
    const at = storedSnooze(fp).at;
    const local = wallClock(at, 'America/New_York');
    assert.ok(local.endsWith(' 09:00'), local);
    // The next Monday after today, on the New York calendar.
    const days = (8 - dateAfter(0, 'America/New_York').weekday) % 7 || 7;
    assert.equal(local.slice(0, 10), dateAfter(days, 'America/New_York').ymd);
    assert.match(text, new RegExp(`^until ${local} E[SD]T$`));
    // The history and the CLI keep UTC.
    assert.ok(at.endsWith('Z') || at.endsWith('+00:00'), at);
    // Back to the dashboard's zone for the next test.
    await page.goto(`${server.url}/settings`);
    await page.getByLabel('Time zone of the times you see').selectOption('');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('settings-saved').waitFor();
    await context.close();
  });
}
