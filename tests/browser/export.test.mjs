// Exporting the action list from the inbox: an analyst acknowledges an alert, filters the inbox
// to acknowledged alerts, opens Export and downloads CSV and XLSX (plain links: with JavaScript
// and without). The files hold the inbox's rows for that filter, with the alert acknowledged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import {
  startServer, launchBrowser, newContext, open, hydrated, parseCsv,
} from './harness.mjs';

let server;
let browser;
let fingerprints;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  server.addUser('kim', 'analyst', 'browser analyst password');
  const inbox = JSON.parse(server.cli('alerts', 'list', '--format', 'json', '--limit', '1000'));
  fingerprints = inbox.map((r) => r.alert.fingerprint);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const alertPath = (fp) => `/alerts/${encodeURIComponent(fp).replaceAll('%3A', ':')}`;

async function signIn(page, name, password, next) {
  await page.goto(`${server.url}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((u) => u.pathname === next.split('?')[0]);
}

/** One file of a ZIP (an XLSX) as text: read from the central directory, inflated. */
function unzipEntry(buffer, name) {
  let end = buffer.length - 22;
  while (end >= 0 && buffer.readUInt32LE(end) !== 0x06054b50) end--;
  assert.ok(end >= 0, 'a ZIP file');
  const count = buffer.readUInt16LE(end + 10);
  let at = buffer.readUInt32LE(end + 16);
  for (let i = 0; i < count; i++) {
    const method = buffer.readUInt16LE(at + 10);
    const size = buffer.readUInt32LE(at + 20);
    const nameLength = buffer.readUInt16LE(at + 28);
    const extra = buffer.readUInt16LE(at + 30);
    const comment = buffer.readUInt16LE(at + 32);
    const local = buffer.readUInt32LE(at + 42);
    const entry = buffer.toString('utf8', at + 46, at + 46 + nameLength);
    if (entry === name) {
      const start = local + 30 + buffer.readUInt16LE(local + 26) + buffer.readUInt16LE(local + 28);
      const data = buffer.subarray(start, start + size);
      return (method === 8 ? inflateRawSync(data) : data).toString('utf8');
    }
    at += 46 + nameLength + extra + comment;
  }
  throw new Error(`no ${name} in the ZIP`);
}

/** Opens the Export menu and downloads one of its links; returns the download. */
async function download(page, format) {
  const menu = page.getByTestId('export-menu');
  if (!(await menu.evaluate((d) => d.open))) await menu.locator('summary').click();
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId(`export-${format}`).click(),
  ]);
  return file;
}

test('Export → CSV and → XLSX on a filtered inbox hold an alert acknowledged just before', async () => {
  const fp = fingerprints[0];
  const context = await newContext(browser, server.url);
  const { page, errors } = await open(context, server.url, '/alerts');
  await signIn(page, 'kim', 'browser analyst password', alertPath(fp));
  await hydrated(page);
  await page.getByTestId('form-acknowledge').getByRole('button').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="version"]')?.textContent === '2');

  await page.goto(`${server.url}/alerts?status=acknowledged`);
  await hydrated(page);
  const expected = JSON.parse(server.cli('alerts', 'list', '--status', 'acknowledged', '--format', 'json', '--limit', '1000'));
  assert.deepEqual(expected.map((r) => r.alert.fingerprint), [fp], 'the filter shows the alert acted on');
  const rowsExpected = Math.max(1, expected[0].alert.actions.length);

  const csvFile = await download(page, 'csv');
  assert.match(csvFile.suggestedFilename(), /^actionboard-actions-\d{8}-\d{4}\.csv$/);
  const bytes = readFileSync(await csvFile.path());
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a BOM for Excel');
  const [header, ...rows] = parseCsv(bytes.subarray(3).toString('utf8')).filter((r) => r.length > 1);
  const col = (k) => header.indexOf(k);
  assert.equal(rows.length, rowsExpected, 'one row per recommended action');
  for (const r of rows) {
    assert.equal(r[col('fingerprint')], fp);
    assert.equal(r[col('status_code')], 'acknowledged');
    assert.equal(r[col('status')], 'Acknowledged', 'the label in the reader\'s language');
    assert.ok(r[col('link')].endsWith(alertPath(fp)), r[col('link')]);
  }

  const xlsxFile = await download(page, 'xlsx');
  assert.match(xlsxFile.suggestedFilename(), /^actionboard-actions-\d{8}-\d{4}\.xlsx$/);
  const xlsx = readFileSync(await xlsxFile.path());
  assert.equal(xlsx.toString('latin1', 0, 2), 'PK', 'an XLSX (ZIP) file');
  const workbook = unzipEntry(xlsx, 'xl/workbook.xml');
  for (const sheet of ['Actions', 'History', 'About']) assert.ok(workbook.includes(`name="${sheet}"`), sheet);
  const sheet = unzipEntry(xlsx, 'xl/worksheets/sheet1.xml');
  assert.equal(sheet.split(`<t>${fp}</t>`).length - 1, rowsExpected, 'the alert on each of its rows');
  assert.ok(sheet.includes('<t>acknowledged</t>'));
  const history = unzipEntry(xlsx, 'xl/worksheets/sheet2.xml');
  assert.ok(history.includes('<t>kim</t>') && history.includes('<t>acknowledged</t>'), 'who acknowledged it');
  assert.deepEqual(errors, []);
  await context.close();
});

test('without JavaScript the Export menu opens and its CSV link downloads', async () => {
  const context = await newContext(browser, server.url, { javaScriptEnabled: false, lang: 'ko' });
  const { page } = await open(context, server.url, '/alerts?severity=high');
  assert.equal(await page.getByTestId('export-menu').locator('summary').textContent(), '내보내기');
  const file = await download(page, 'csv');
  const text = readFileSync(await file.path()).subarray(3).toString('utf8');
  const [header, ...rows] = parseCsv(text).filter((r) => r.length > 1);
  assert.ok(rows.length > 0);
  assert.ok(rows.every((r) => r[header.indexOf('severity_code')] === 'high'), 'the filter is kept');
  assert.ok(rows.every((r) => r[header.indexOf('severity')] === '높음'), 'severity in Korean');
  assert.ok(/[가-힣]/.test(text), 'Korean titles in a Korean reader\'s export');
  await context.close();
});
