// Shared set-up for the browser tests: a real `actionboard` server over a freshly loaded
// snapshot on a free loopback port, and Debian's Chromium driven by playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '../..');
export const BIN = process.env.ACTIONBOARD_BIN ?? path.join(root, 'target/debug/actionboard');
export const SITE_ROOT = process.env.LEPTOS_SITE_ROOT ?? path.join(root, 'target/site');
export const MIRROR = process.env.ACTIONBOARD_MIRROR ?? path.resolve(root, '../shared/data');
export const ARTIFACTS = path.join(root, 'tests/browser/artifacts');

/**
 * Loads the default data (or the sources of `config`, another sources.yml) into a temporary
 * folder and serves it; `stop()` ends both. `dataDir` and `env` let a test ask the CLI too.
 * `env` adds variables; `beforeServe(dataDir)` runs after the load, before the server starts.
 */
export async function startServer({
  config = path.join(root, 'config/sources.yml'), wrap = [], mirror = MIRROR,
  metrics = path.join(root, 'config/metrics.yml'), rules = path.join(root, 'config/rules.yml'),
  env: extra = {}, beforeServe,
} = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'actionboard-browser-'));
  // The same configuration for the first load and for runs started from the dashboard.
  const env = {
    ...process.env, ACTIONBOARD_DATA_DIR: dataDir, LEPTOS_SITE_ROOT: SITE_ROOT,
    ACTIONBOARD_MIRROR: mirror, ACTIONBOARD_CONFIG: config,
    ACTIONBOARD_METRICS: metrics, ACTIONBOARD_RULES: rules,
    // No scheduled jobs unless a test gives its own schedule: a tick due while a test runs (the
    // shipped file's 07:00 KST) would start a run the test did not ask for.
    ACTIONBOARD_SCHEDULE: path.join(dataDir, 'no-schedule.yml'),
    ...extra,
  };
  execFileSync(BIN, ['etl', 'run'], { env, stdio: 'pipe' });
  beforeServe?.(dataDir);
  // `wrap` runs the server under another command (e.g. `prlimit --as=…`, which execs it: the
  // child's pid is the server's).
  const [command, ...args] = [...wrap, BIN, 'serve', '--port', '0'];
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${stderr}`)), 30_000);
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/serving (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}):\n${stderr}`)); });
  });
  return {
    url,
    dataDir,
    env,
    pid: child.pid,
    /** Whether the server process is still running. */
    alive: () => child.exitCode === null && child.signalCode === null,
    /** What the server wrote to standard error so far. */
    stderr: () => stderr,
    /** Runs the CLI against this server's data folder; returns its stdout. */
    cli(...args) {
      return execFileSync(BIN, args, { env, encoding: 'utf8' });
    },
    /** Adds a person who may sign in (`actionboard users add`, the password on standard input). */
    addUser(name, role, password) {
      return execFileSync(BIN, ['users', 'add', name, '--role', role], { env, input: `${password}\n`, encoding: 'utf8' });
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Writes the large generated World Bank–shaped source (the project's own generator,
 * `testkit::world`, through `cargo run -p testkit --bin large_world`) into a temporary folder:
 * the options of `startServer` that load it, and `remove()`.
 */
export function largeWorld(entities = 60000) {
  const dir = mkdtempSync(path.join(tmpdir(), 'actionboard-large-'));
  execFileSync('cargo', ['run', '-q', '-p', 'testkit', '--bin', 'large_world', '--', dir, String(entities)],
    { cwd: root, stdio: 'pipe' });
  return {
    dir,
    options: {
      config: path.join(dir, 'sources.yml'), mirror: dir,
      metrics: path.join(dir, 'metrics.yml'), rules: path.join(dir, 'rules.yml'),
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Minimal RFC 4180 line splitter: enough for the World Bank long CSV (quoted names with commas). */
export function splitCsvLine(line) {
  const out = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { out.push(cur); cur = ''; }
    else cur += c;
  }
  out.push(cur);
  return out;
}

/** GDP in US dollars of `code` in `year`, read straight from the World Bank file. */
export function worldBankGdp(code, year) {
  const text = readFileSync(path.join(MIRROR, 'wb_wdi/ny.gdp.mktp.cd.csv'), 'utf8');
  for (const line of text.split('\n').slice(1)) {
    const [, c, y, v] = splitCsvLine(line);
    if (c === code && Number(y) === year) return Number(v);
  }
  throw new Error(`no World Bank GDP for ${code} ${year}`);
}

/** The dashboard's display of US dollars: billions, two decimals, thousands separators. */
export function billions(usd) {
  return (usd / 1e9).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** A whole CSV text as rows of fields (RFC 4180: quoted fields may hold commas, quotes, newlines). */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cur); cur = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cur); rows.push(row); row = []; cur = '';
    } else cur += c;
  }
  if (cur !== '' || row.length) { row.push(cur); rows.push(row); }
  return rows;
}

/** Rows as CSV text, quoting what needs it. */
export function toCsv(rows) {
  const field = (f) => (/[",\n\r]/.test(f) ? `"${f.replaceAll('"', '""')}"` : f);
  return rows.map((r) => r.map(field).join(',')).join('\n') + '\n';
}

/** World Bank long CSV (`wb_wdi/<file>`) as a Map code → Map year → value (empty values left out). */
export function worldBankSeries(file) {
  const text = readFileSync(path.join(MIRROR, 'wb_wdi', file), 'utf8');
  const out = new Map();
  for (const line of text.split('\n').slice(1)) {
    if (!line.trim()) continue;
    const [, code, year, value] = splitCsvLine(line);
    if (value === '' || value === undefined) continue;
    if (!out.has(code)) out.set(code, new Map());
    out.get(code).set(Number(year), Number(value));
  }
  return out;
}

/** ISO codes of the UN M49 region table, with their region (the countries the dashboard knows). */
export function unRegions() {
  const rows = parseCsv(readFileSync(path.join(MIRROR, 'regions/un_m49_country-codes.csv'), 'utf8'));
  const header = rows[0];
  const code = header.indexOf('ISO3166-1-Alpha-3');
  const region = header.indexOf('Region Name');
  const name = header.indexOf('CLDR display name');
  const out = new Map();
  for (const r of rows.slice(1)) if (r[code]) out.set(r[code], { region: r[region], name: r[name] });
  return out;
}

/** A page's accessibility problems of impact serious or critical, found by axe-core. */
export async function seriousA11yViolations(page) {
  // Evaluated through the DevTools protocol, not as an inline <script> (which the site's
  // Content-Security-Policy rightly refuses).
  await page.evaluate(readFileSync(path.join(root, 'node_modules/axe-core/axe.min.js'), 'utf8'));
  const result = await page.evaluate(async () => window.axe.run());
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

/** A browser context whose pages are in `lang` (the language cookie), JavaScript on or off. */
export async function newContext(browser, url, { lang = 'en', javaScriptEnabled = true, width = 1280 } = {}) {
  const context = await browser.newContext({ javaScriptEnabled, viewport: { width, height: 900 } });
  await context.addCookies([{ name: 'lang', value: lang, url }]);
  return context;
}

/** Opens `pathAndQuery`; with JavaScript, waits for hydration and collects page errors in `errors`. */
export async function open(context, url, pathAndQuery, errors = []) {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  const response = await page.goto(url + pathAndQuery);
  return { page, response, errors };
}

export async function hydrated(page) {
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
}

/**
 * A copy of config/sources.yml whose sources read modified copies of mirror files, written to a
 * temporary folder (never into the shared mirror). `edits` maps a mirror path (as in the config,
 * e.g. `regions/un_m49_country-codes.csv`) to a function from CSV rows to CSV rows.
 * Returns the config path and `cleanup()`.
 */
export function customSources(edits) {
  const dir = mkdtempSync(path.join(tmpdir(), 'actionboard-sources-'));
  let yml = readFileSync(path.join(root, 'config/sources.yml'), 'utf8');
  for (const [mirrorPath, edit] of Object.entries(edits)) {
    const rows = parseCsv(readFileSync(path.join(MIRROR, mirrorPath), 'utf8'));
    const copy = path.join(dir, path.basename(mirrorPath));
    writeFileSync(copy, toCsv(edit(rows)));
    const line = `mirror: ${mirrorPath}`;
    if (!yml.includes(line)) throw new Error(`config/sources.yml has no "${line}"`);
    yml = yml.replace(line, `mirror: ${copy}`);
  }
  const config = path.join(dir, 'sources.yml');
  writeFileSync(config, yml);
  return { config, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
