// The pipeline page: runs with stage status and timings (checked against the run folder's
// manifests), rows per source (against the mirror files), sources with provenance (sha256 and size
// computed here), which snapshot is served, and a sample of rejects with reasons (a server over a
// copy of the World Bank file with two bad rows).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  startServer, launchBrowser, screenshot, MIRROR, BIN, customSources,
  seriousA11yViolations, newContext, open, hydrated,
} from './harness.mjs';

let server;
let browser;
let runId;
const WB_GDP = 'wb_wdi/ny.gdp.mktp.cd.csv';
const ROOT = path.resolve(import.meta.dirname, '../..');

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  runId = readFileSync(path.join(server.dataDir, 'current'), 'utf8').trim();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const manifest = (stage) => JSON.parse(readFileSync(path.join(server.dataDir, 'runs', runId, stage, 'manifest.json'), 'utf8'));

test('hydrated: the served run, its stages and timings, rows per source and provenance', async () => {
  const context = await newContext(browser, server.url);
  const { page, errors } = await open(context, server.url, '/pipeline');
  await hydrated(page);
  assert.equal(await page.getByTestId('current-snapshot').textContent(), `Serving the snapshot of run ${runId}.`);
  const run = page.locator(`[data-testid="runs"] tr[data-run="${runId}"]`);
  assert.match(await run.textContent(), /serving/);
  assert.equal(await run.locator('td').first().textContent(), 'complete');

  for (const stage of ['extract', 'transform', 'load']) {
    const row = page.locator(`[data-testid="stages"] tr[data-stage="${stage}"]`);
    const ms = manifest(stage).duration_ms;
    assert.equal(await row.locator('td').nth(0).textContent(), 'complete');
    assert.equal(await row.locator('td').nth(3).textContent(), `${ms.toLocaleString('en-US')} ms`);
  }

  // Rows in: the data lines of the mirror file, counted here.
  const lines = readFileSync(path.join(MIRROR, WB_GDP), 'utf8').split('\n').filter((l) => l.trim()).length - 1;
  const wb = page.locator('[data-testid="source-rows"] tr[data-source="wb_gdp"]');
  assert.equal(await wb.locator('[data-col="in"]').textContent(), lines.toLocaleString('en-US'));
  assert.equal(await wb.locator('[data-col="rejected"]').textContent(), '0');
  assert.ok(await page.getByTestId('no-rejects').isVisible());
  // The region table's rows out include the overrides from config/sources.yml, and say so.
  const added = manifest('transform').counts.un_m49_regions.added;
  assert.ok(added > 0);
  const regions = page.locator('[data-testid="source-rows"] tr[data-source="un_m49_regions"]');
  assert.equal(await regions.locator('[data-col="added"]').textContent(), ` (incl. ${added} from config)`);
  assert.equal(await wb.locator('[data-col="added"]').count(), 0);

  const bytes = readFileSync(path.join(MIRROR, WB_GDP));
  const sha = createHash('sha256').update(bytes).digest('hex');
  const src = page.locator('[data-testid="sources-table"] tr[data-source="wb_gdp"]');
  const text = await src.textContent();
  assert.ok(text.includes(sha), 'sha256 of the mirror file');
  assert.ok(text.includes(`${statSync(path.join(MIRROR, WB_GDP)).size.toLocaleString('en-US')} bytes`));
  assert.ok(text.includes('The World Bank, World Development Indicators'));
  assert.ok(text.includes('CC BY 4.0'));
  assert.ok(text.includes('WDI 2026-07-01'));
  // The path actually read, resolved (the mirror folder may be reached through a link).
  assert.equal(await src.locator('[data-col="location"]').textContent(), realpathSync(path.join(MIRROR, WB_GDP)));
  // Where the source is published, one click away, as configured in sources.yml.
  const published = src.getByRole('link', { name: /^https:\/\/raw\.githubusercontent\.com\/datasets\/world-development-indicators\// });
  assert.equal(await published.getAttribute('rel'), 'noopener noreferrer');
  assert.ok(readFileSync(path.join(ROOT, 'config/sources.yml'), 'utf8').includes(await published.getAttribute('href')));
  assert.ok(text.includes('read from the local mirror'));
  await screenshot(page, 'pipeline-1280');
  assert.deepEqual(await seriousA11yViolations(page), []);
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, 'pipeline-390');
  assert.deepEqual(await seriousA11yViolations(page), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test('without JavaScript, in Korean; an unknown run is a clear message', async () => {
  const context = await newContext(browser, server.url, { lang: 'ko', javaScriptEnabled: false, width: 390 });
  const { page } = await open(context, server.url, `/pipeline?run=${runId}`);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), '파이프라인');
  assert.match(await page.getByTestId('current-snapshot').textContent(), new RegExp(runId));
  assert.equal(await page.locator('[data-testid="stages"] tbody tr').count(), 3);
  await screenshot(page, 'pipeline-390-nojs-ko');
  for (const run of ['nope', '../etc']) {
    const bad = await open(context, server.url, `/pipeline?run=${encodeURIComponent(run)}`);
    assert.equal(bad.response.status(), 404);
    assert.equal(await bad.page.getByTestId('error-message').textContent(), `\`${run}\` 실행이 없습니다`);
  }
  await context.close();
});

test('rejected rows are shown with their reason', async () => {
  // Two bad values in a copy of the World Bank file: a negative GDP and a word.
  const bad = [];
  const sources = customSources({
    [WB_GDP]: (rows) => rows.map((r, i) => {
      if (i === 1) { bad.push({ code: r[1], year: r[2] }); return [r[0], r[1], r[2], '-5']; }
      if (i === 2) { bad.push({ code: r[1], year: r[2] }); return [r[0], r[1], r[2], 'lots']; }
      return r;
    }),
  });
  const custom = await startServer({ config: sources.config });
  try {
    const context = await newContext(browser, custom.url);
    const { page, errors } = await open(context, custom.url, '/pipeline');
    await hydrated(page);
    const wb = page.locator('[data-testid="source-rows"] tr[data-source="wb_gdp"]');
    assert.equal(await wb.locator('[data-col="rejected"]').textContent(), '2');
    const sample = page.locator('[data-testid="rejects-sample"] tbody tr');
    assert.equal(await sample.count(), 2);
    const texts = await sample.allTextContents();
    for (const [value, { code, year }] of [['-5', bad[0]], ['lots', bad[1]]]) {
      const row = texts.find((t) => t.includes(value) && t.includes(`${code} ${year}`));
      assert.ok(row, `a reject of ${value} for ${code} ${year}: ${texts.join(' | ')}`);
      assert.ok(row.includes('wb_gdp') && row.includes('ny.gdp.mktp.cd.csv'), row);
    }
    assert.equal(await page.locator('[data-testid="rejects-by-rule"] tbody tr').count() > 0, true);
    await screenshot(page, 'pipeline-rejects-1280');
    assert.deepEqual(await seriousA11yViolations(page), []);
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await custom.stop();
    sources.cleanup();
  }
});

// Last: it adds a run to the shared server's data folder.
test('a failed run shows where it stopped and why, while the previous snapshot keeps serving', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'actionboard-failing-'));
  try {
    const missing = path.join(dir, 'no-such-file.csv');
    const yml = readFileSync(path.resolve(import.meta.dirname, '../../config/sources.yml'), 'utf8')
      .replace(`mirror: ${WB_GDP}`, `mirror: ${missing}`);
    const config = path.join(dir, 'sources.yml');
    writeFileSync(config, yml);
    assert.throws(() => execFileSync(BIN, ['etl', 'run', '--mirror', MIRROR, '--config', config], { env: server.env, stdio: 'pipe' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const failed = readdirSync(path.join(server.dataDir, 'runs')).sort().at(-1);
  assert.notEqual(failed, runId);
  const context = await newContext(browser, server.url);
  const { page, errors } = await open(context, server.url, '/pipeline');
  await hydrated(page);
  assert.equal(await page.getByTestId('current-snapshot').textContent(), `Serving the snapshot of run ${runId}.`);
  const rows = page.locator('[data-testid="runs"] tbody tr');
  assert.equal(await rows.first().getAttribute('data-run'), failed, 'newest first');
  assert.equal(await rows.first().locator('td').first().textContent(), 'failed');
  assert.equal(await rows.first().locator('[data-stage="extract"] .badge').textContent(), 'failed');

  await rows.first().getByRole('link', { name: failed }).click();
  await page.waitForURL(new RegExp(`run=${failed.replace(/\./g, '\\.')}`));
  const detail = page.getByTestId('run-detail');
  await detail.locator('[role="alert"]').waitFor();
  assert.match(await detail.locator('[role="alert"]').textContent(), /no-such-file\.csv/);
  assert.match(await page.locator('main').textContent(), /This run has no snapshot/);
  await screenshot(page, 'pipeline-failed-1280');
  assert.deepEqual(await seriousA11yViolations(page), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the schedule: each job with its last ticks and why, and its next, in the job\'s zone, in both languages', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'actionboard-schedule-'));
  const schedule = path.join(dir, 'schedule.yml');
  writeFileSync(schedule, [
    'jobs:',
    '  - id: every_minute', '    kind: pipeline', '    cron: "* * * * *"', '    zone: Asia/Seoul',
    '  - id: morning_digest', '    kind: digest', '    cron: "0 8 * * *"', '    zone: America/New_York',
    '',
  ].join('\n'));
  // Known to the scheduler for an hour: at start-up the tick of this minute is due (its sources
  // are unchanged since the load) and the earlier ones were missed while no server ran.
  const since = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const seed = 'import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\n'
    + 'c.execute("INSERT INTO schedule_jobs (job, since) VALUES (\'every_minute\', ?)", (sys.argv[2],))\nc.commit()\n';
  const scheduled = await startServer({
    env: { ACTIONBOARD_SCHEDULE: schedule },
    beforeServe: (dataDir) => execFileSync('python3', ['-c', seed, path.join(dataDir, 'state/alerts.sqlite'), since]),
  });
  try {
    // The scheduler's first pass runs at start-up; its tick is done when it is no longer running.
    const deadline = Date.now() + 60_000;
    let jobs;
    for (;;) {
      jobs = JSON.parse(scheduled.cli('schedule', 'list', '--format', 'json'));
      const last = jobs.find((j) => j.id === 'every_minute').recent.find((t) => t.status !== 'missed');
      if (last && last.status !== 'running') break;
      assert.ok(Date.now() < deadline, `the tick did not finish: ${JSON.stringify(jobs)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    const minute = jobs.find((j) => j.id === 'every_minute');
    assert.equal(minute.recent.find((t) => t.status !== 'missed').status, 'unchanged');
    // No run started: the load before the start is still the only run.
    assert.equal(readdirSync(path.join(scheduled.dataDir, 'runs')).filter((r) => !r.startsWith('.')).length, 1);

    const context = await newContext(browser, scheduled.url);
    const { page, errors } = await open(context, scheduled.url, '/pipeline');
    await hydrated(page);
    const section = page.getByTestId('schedule');
    const row = section.locator('tr[data-job="every_minute"]');
    assert.match(await row.locator('th').textContent(), /every_minute pipeline/);
    assert.match(await row.locator('td').first().textContent(), /\* \* \* \* \* Asia\/Seoul/);
    const last = await row.getByTestId('schedule-last').textContent();
    assert.match(last, /^\d{4}-\d\d-\d\d \d\d:\d\d KST: checked \d\d:\d\d KST, unchanged: no source changed since the last extract/);
    assert.match(last, /missed while the server was down/);
    assert.match(await row.getByTestId('schedule-next').textContent(), /^\d{4}-\d\d-\d\d \d\d:\d\d KST$/);
    const digest = section.locator('tr[data-job="morning_digest"]');
    assert.equal(await digest.getByTestId('schedule-last').textContent(), 'not yet');
    // 08:00 in New York, named by the zone's abbreviation (EST in winter, EDT in summer).
    assert.match(await digest.getByTestId('schedule-next').textContent(), /^\d{4}-\d\d-\d\d 08:00 E[SD]T$/);
    assert.deepEqual(await seriousA11yViolations(page), []);
    assert.deepEqual(errors, []);
    await screenshot(page, 'pipeline-schedule-1280');
    await context.close();

    const ko = await newContext(browser, scheduled.url, { lang: 'ko', javaScriptEnabled: false, width: 390 });
    const korean = await open(ko, scheduled.url, '/pipeline');
    const koSection = korean.page.getByTestId('schedule');
    assert.equal(await koSection.getByRole('heading', { level: 2 }).textContent(), '일정');
    const koLast = await koSection.locator('tr[data-job="every_minute"]').getByTestId('schedule-last').textContent();
    assert.match(koLast, /KST 확인, 변경 없음/);
    assert.match(koLast, /서버가 꺼져 있는 동안 놓침/);
    assert.equal(await koSection.locator('tr[data-job="morning_digest"]').getByTestId('schedule-last').textContent(), '아직 없음');
    await screenshot(korean.page, 'pipeline-schedule-390-nojs-ko');
    await ko.close();
  } finally {
    await scheduled.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
