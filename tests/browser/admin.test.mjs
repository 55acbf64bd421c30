// Signing in and starting a pipeline run from the dashboard: a person added with the CLI signs in
// through the form, sees who they are, starts a run (admins only), watches it get published, and
// signs out. With JavaScript and without: everything here is plain forms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  startServer, launchBrowser, screenshot, seriousA11yViolations, newContext, open, hydrated,
} from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  server.addUser('ada', 'admin', 'browser admin password');
  server.addUser('vic', 'viewer', 'browser viewer password');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const current = () => readFileSync(path.join(server.dataDir, 'current'), 'utf8').trim();

async function signIn(page, name, password) {
  await page.getByRole('link', { name: 'Sign in as an admin' }).click();
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/pipeline$/);
}

test('hydrated: an admin signs in, starts a run, sees it published, and signs out', async () => {
  const before = current();
  const context = await newContext(browser, server.url);
  const { page, errors } = await open(context, server.url, '/pipeline');
  await hydrated(page);
  assert.equal(await page.getByRole('button', { name: 'Start a run now' }).count(), 0, 'no form before signing in');

  // A wrong password says so and keeps the reader on the form.
  await page.getByRole('link', { name: 'Sign in as an admin' }).click();
  await page.getByLabel('User name').fill('ada');
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').textContent(), /user name or the password is wrong/);
  await hydrated(page);
  await screenshot(page, 'login-error-1280');
  assert.deepEqual(await seriousA11yViolations(page), []);
  await page.goto(`${server.url}/pipeline`);

  await signIn(page, 'ada', 'browser admin password');
  assert.equal(await page.locator('.session .who').textContent(), 'ada · admin');
  await page.getByRole('button', { name: 'Start a run now' }).click();
  await page.waitForURL(/started=1/);
  assert.match(await page.getByTestId('run-started').textContent(), /A run has started/);

  // The run is published in the background; reloading shows it complete and served.
  const deadline = Date.now() + 120_000;
  while (current() === before) {
    assert.ok(Date.now() < deadline, 'the run started from the dashboard was not published');
    await new Promise((r) => setTimeout(r, 250));
  }
  const published = current();
  await page.goto(`${server.url}/pipeline`);
  await hydrated(page);
  assert.equal(await page.getByTestId('current-snapshot').textContent(), `Serving the snapshot of run ${published}.`);
  const newest = page.locator('[data-testid="runs"] tbody tr').first();
  assert.equal(await newest.getAttribute('data-run'), published);
  assert.equal(await newest.locator('td').first().textContent(), 'complete');
  assert.equal(readdirSync(path.join(server.dataDir, 'runs')).filter((n) => !n.startsWith('.')).length, 2);
  await screenshot(page, 'pipeline-admin-1280');
  assert.deepEqual(await seriousA11yViolations(page), []);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${server.url}/`);
  assert.equal(await page.getByRole('link', { name: 'Sign in', exact: true }).count(), 1);
  assert.deepEqual(errors, []);
  await context.close();
});

test('without JavaScript, in Korean: a viewer signs in and is told only admins start runs', async () => {
  const context = await newContext(browser, server.url, { lang: 'ko', javaScriptEnabled: false, width: 390 });
  const { page } = await open(context, server.url, '/pipeline');
  await page.getByRole('link', { name: '관리자로 로그인' }).click();
  await page.getByLabel('사용자 이름').fill('vic');
  await page.getByLabel('비밀번호').fill('browser viewer password');
  await page.getByRole('button', { name: '로그인' }).click();
  await page.waitForURL(/\/pipeline$/);
  assert.equal(await page.locator('.session .who').textContent(), 'vic · viewer');
  assert.match(await page.locator('main').textContent(), /관리자만 실행을 시작할 수 있습니다/);
  assert.equal(await page.getByRole('button', { name: '지금 실행 시작' }).count(), 0);
  await screenshot(page, 'pipeline-viewer-ko-390');
  await context.close();
});
