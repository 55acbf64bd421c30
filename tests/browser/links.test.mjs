// Acting from a message, in a real browser: the server's worker sends the pipeline's new alerts
// to a webhook receiver started here; a message's "Acknowledge" link opens a confirmation page
// (in Korean and in English, with JavaScript on and off) that changes nothing; its button
// acknowledges the alert as the link's recipient, the alert's page says "via a message link",
// and the console stays clean. Pressing the same link again is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, copyFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, newContext } from './harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

let server;
let browser;
let receiver;
let configDir;
const messages = [];

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { messages.push(JSON.parse(body)); res.end('ok'); });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${receiver.address().port}/hook`;
  // notify.yml sits beside rules.yml: a copy of the shipped rules with a webhook whose links act
  // as kim.
  configDir = mkdtempSync(path.join(tmpdir(), 'actionboard-links-'));
  for (const f of ['rules.yml', 'metrics.yml']) copyFileSync(path.join(root, 'config', f), path.join(configDir, f));
  writeFileSync(path.join(configDir, 'notify.yml'), `defaults: { language: ko, base_url: 'http://board.invalid' }
channels:
  - { id: hook, kind: webhook, url: '${hook}', secret_env: ACTIONBOARD_TEST_LINK_HOOK, act_as: kim }
routes:
  - match: { severity: [critical, high] }
    to: [hook]
`);
  server = await startServer({
    rules: path.join(configDir, 'rules.yml'),
    metrics: path.join(configDir, 'metrics.yml'),
    env: { ACTIONBOARD_TEST_LINK_HOOK: SECRET },
  });
  server.addUser('kim', 'analyst', 'browser analyst password');
  browser = await launchBrowser();
  // The server's worker sends the load's messages within seconds.
  const started = Date.now();
  while (messages.length < 4 && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 250));
  assert.ok(messages.length >= 4, `messages arrived: ${messages.length}`);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  receiver?.close();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

/** The link on this server (the message names the configured base_url). */
const onServer = (url) => server.url + new URL(url).pathname;

const status = (fp) => JSON.parse(server.cli('alerts', 'show', fp, '--format', 'json')).record.status;

for (const [i, { js, lang }] of [{ js: true, lang: 'ko' }, { js: false, lang: 'en' }, { js: false, lang: 'ko' }, { js: true, lang: 'en' }].entries()) {
  test(`${js ? 'with' : 'without'} JavaScript, ${lang}: a message's Acknowledge link confirms, then acknowledges once`, async () => {
    const message = messages[i];
    assert.ok(message.links?.acknowledge, JSON.stringify(message).slice(0, 600));
    const fp = message.data.fingerprint;
    const link = onServer(message.links.acknowledge);
    assert.ok(message.links.snooze_tomorrow_9 && message.links.open, JSON.stringify(message.links));
    const context = await newContext(browser, server.url, { lang, javaScriptEnabled: js });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    const failed = [];
    page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });

    const response = await page.goto(link);
    assert.equal(response.status(), 200);
    assert.equal(await page.locator('html').getAttribute('lang'), lang);
    const heading = await page.locator('h1').textContent();
    assert.equal(heading, lang === 'ko' ? '작업 확인' : 'Confirm the action');
    const title = await page.getByTestId('link-alert').textContent();
    if (lang === 'ko') assert.equal(title, message.data.title, 'the message and the page name one alert');
    else assert.ok(title.length > 0);
    assert.equal(status(fp), 'open', 'opening the link changed nothing');
    // The other language, through the page's switch.
    await page.getByTestId('link-lang').click();
    await page.waitForURL((u) => u.pathname.startsWith('/act/'));
    assert.equal(await page.locator('h1').textContent(), lang === 'ko' ? 'Confirm the action' : '작업 확인');
    await page.getByTestId('link-lang').click();
    await page.waitForURL((u) => u.pathname.startsWith('/act/'));
    assert.equal(status(fp), 'open');

    await page.getByTestId('link-confirm').click();
    await page.getByTestId('link-done').waitFor();
    assert.equal(await page.getByTestId('link-status').textContent(), lang === 'ko' ? '확인함' : 'Acknowledged');
    assert.equal(status(fp), 'acknowledged');
    await page.getByRole('link', { name: lang === 'ko' ? 'Actionboard에서 열기' : 'Open in Actionboard' }).click();
    await page.getByTestId('via-link').first().waitFor();
    assert.equal((await page.getByTestId('via-link').count()), 1);

    assert.deepEqual(problems, [], 'a clean console');
    assert.deepEqual(failed, []);

    // The same link again: refused, in the reader's language, nothing changes.
    const again = await page.goto(link);
    assert.equal(again.status(), 409);
    assert.match(await page.getByTestId('link-refused').textContent(), lang === 'ko' ? /이미 사용/ : /already used/);
    await context.close();
  });
}
