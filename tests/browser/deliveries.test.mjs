// The deliveries page as an admin uses it: alerts of the default data are sent to a local
// webhook receiver that refuses them (400, a final answer), the admin opens the Deliveries page
// from the navigation, sees the failed messages with the receiver's answer, and resends one; the
// receiver, now accepting, gets it again with the same webhook-id and the page shows it sent.
// With JavaScript on and off, in English and Korean, the console clean. A viewer gets the 403
// page and no link.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, newContext, open, hydrated, seriousA11yViolations } from './harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

let server;
let browser;
let receiver;
let configDir;
/** Every request the receiver got: webhook-id and the status it answered. */
const received = [];
/** How many of the next requests the receiver accepts (all others: 400). */
let accept = 0;

before(async () => {
  receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const status = accept > 0 ? 200 : 400;
      if (status === 200) accept -= 1;
      received.push({ id: req.headers['webhook-id'], status });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'invalid payload');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const { port } = receiver.address();
  // rules.yml with a notify.yml beside it: the load's new alerts write their messages.
  configDir = mkdtempSync(path.join(tmpdir(), 'actionboard-notify-'));
  copyFileSync(path.join(root, 'config/rules.yml'), path.join(configDir, 'rules.yml'));
  writeFileSync(path.join(configDir, 'notify.yml'), `defaults: { language: en, base_url: 'http://127.0.0.1', timeout_seconds: 5 }
channels:
  - { id: ops-hook, kind: webhook, url: 'http://127.0.0.1:${port}/hook', secret_env: ACTIONBOARD_TEST_HOOK_SECRET }
routes:
  - match: { severity: [critical, high] }
    send: immediately
    to: [ops-hook]
`);
  server = await startServer({
    rules: path.join(configDir, 'rules.yml'),
    env: { ACTIONBOARD_TEST_HOOK_SECRET: SECRET },
  });
  browser = await launchBrowser();
  server.addUser('ada', 'admin', 'browser admin password');
  server.addUser('vic', 'viewer', 'browser viewer password');
  // The server's worker sends them within seconds; all are refused.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { messages } = deliveries();
    if (messages.length > 1 && messages.every((m) => m.status === 'failed' || m.status === 'cancelled')) break;
    assert.ok(Date.now() < deadline, `messages not sent: ${JSON.stringify(messages.slice(0, 3))}`);
    await new Promise((r) => setTimeout(r, 250));
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
  receiver?.close();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

function deliveries() {
  return JSON.parse(server.cli('notify', 'deliveries', '--format', 'json', '--limit', '1000'));
}

async function signIn(page, name, password, next, lang) {
  await page.goto(`${server.url}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel(lang === 'en' ? 'User name' : '사용자 이름').fill(name);
  await page.getByLabel(lang === 'en' ? 'Password' : '비밀번호').fill(password);
  await page.getByRole('button', { name: lang === 'en' ? 'Sign in' : '로그인', exact: true }).click();
  await page.waitForURL((u) => u.pathname === next.split('?')[0]);
}

for (const [js, lang] of [[true, 'en'], [false, 'ko']]) {
  test(`${js ? 'hydrated' : 'without JavaScript'} (${lang}): an admin sees a failed delivery and resends it`, async () => {
    const en = lang === 'en';
    const context = await newContext(browser, server.url, { lang, javaScriptEnabled: js });
    const consoleErrors = [];
    const { page, errors } = await open(context, server.url, '/');
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    await signIn(page, 'ada', 'browser admin password', '/', lang);
    // The navigation's link, for admins.
    await page.getByTestId('nav-deliveries').click();
    await page.waitForURL(/\/deliveries$/);
    if (js) await hydrated(page);
    assert.equal(await page.locator('h1').textContent(), en ? 'Deliveries' : '알림 전송');
    const channel = page.locator('[data-testid="channel"][data-channel="ops-hook"]');
    // Failing since the load's messages were refused, or working again once a resend was
    // delivered (a delivery ends a failing streak): as the outbox says.
    const health = deliveries().channels.find((c) => c.id === 'ops-hook');
    const failing = en
      ? /^ops-hook: failing since \d{4}-\d\d-\d\d \d\d:\d\d KST \(\d+ failed attempts in a row\)$/
      : /^ops-hook: 실패 시작 \d{4}-\d\d-\d\d \d\d:\d\d KST \(연속 \d+회 실패\)$/;
    assert.match(await channel.textContent(), health.failures > 0 ? failing : (en ? /^ops-hook: working$/ : /^ops-hook: 정상$/));

    // Only the failed ones, by the status filter (a plain GET form).
    await page.locator('#filter-status').selectOption('failed');
    await page.getByRole('button', { name: en ? 'Show' : '보기' }).click();
    await page.waitForURL(/status=failed/);
    const row = page.locator('[data-testid="delivery"][data-status="failed"]').first();
    await row.waitFor();
    const id = Number(await row.getAttribute('data-id'));
    assert.equal(await row.getByTestId('delivery-status').textContent(), en ? 'Failed (final)' : '실패(최종)');
    assert.equal(await row.getByTestId('delivery-answer').textContent(), '400 invalid payload');
    assert.ok(await row.locator('a[href^="/alerts/"]').count() === 1, 'the alert is linked');
    // (axe runs in the page: only with JavaScript.)
    if (js) assert.deepEqual(await seriousA11yViolations(page), []);
    const before = deliveries().messages.find((m) => m.id === id);
    assert.equal(before.status, 'failed');

    // Resend: back on the list with the result, and the receiver gets it again, same id.
    accept = 1;
    await row.getByTestId('resend').click();
    await page.waitForURL(new RegExp(`status=failed&resent=${id}$`));
    assert.match(await page.getByTestId('resent').textContent(), en ? new RegExp(`Message ${id} will be sent again`) : new RegExp(`${id}번 메시지를 곧 같은 webhook-id로 다시 보냅니다`));
    assert.equal(await page.locator(`[data-testid="delivery"][data-id="${id}"]`).count(), 0, 'no longer among the failed');
    const deadline = Date.now() + 30_000;
    let after;
    for (;;) {
      after = deliveries().messages.find((m) => m.id === id);
      if (after.status === 'delivered') break;
      assert.ok(Date.now() < deadline, `not resent: ${JSON.stringify(after)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(after.msg_id, before.msg_id);
    assert.equal(after.attempts, 2);
    assert.deepEqual(received.filter((r) => r.id === before.msg_id).map((r) => r.status), [400, 200]);
    await page.goto(`${server.url}/deliveries?status=delivered`);
    if (js) await hydrated(page);
    const sent = page.locator(`[data-testid="delivery"][data-id="${id}"]`);
    assert.equal(await sent.getByTestId('delivery-status').textContent(), en ? 'Sent' : '전송됨');
    assert.match(await sent.locator('time').last().textContent(), /^\d{4}-\d\d-\d\d \d\d:\d\d KST$/);
    assert.equal(await sent.getByTestId('resend').count(), 0, 'a sent message has no resend button');
    assert.deepEqual(errors, []);
    assert.deepEqual(consoleErrors, []);
    await context.close();
  });
}

test('a viewer gets the 403 page and no link to the deliveries', async () => {
  const context = await newContext(browser, server.url, { lang: 'en' });
  const { page } = await open(context, server.url, '/');
  await signIn(page, 'vic', 'browser viewer password', '/', 'en');
  assert.equal(await page.getByTestId('nav-deliveries').count(), 0);
  const response = await page.goto(`${server.url}/deliveries`);
  assert.equal(response.status(), 403);
  assert.match(await page.textContent('body'), /Your role does not allow this/);
  await context.close();
});
