// Shared set-up for the browser tests: a real `actionboard` server over a freshly loaded
// snapshot on a free loopback port, and Debian's Chromium driven by playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '../..');
export const BIN = process.env.ACTIONBOARD_BIN ?? path.join(root, 'target/debug/actionboard');
export const SITE_ROOT = process.env.LEPTOS_SITE_ROOT ?? path.join(root, 'target/site');
export const MIRROR = process.env.ACTIONBOARD_MIRROR ?? path.resolve(root, '../shared/data');
export const ARTIFACTS = path.join(root, 'tests/browser/artifacts');

/** Loads the default data into a temporary folder and serves it; `stop()` ends both. */
export async function startServer() {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'actionboard-browser-'));
  const env = { ...process.env, ACTIONBOARD_DATA_DIR: dataDir, LEPTOS_SITE_ROOT: SITE_ROOT };
  execFileSync(BIN, ['etl', 'run', '--mirror', MIRROR, '--config', path.join(root, 'config/sources.yml'),
    '--metrics', path.join(root, 'config/metrics.yml'), '--rules', path.join(root, 'config/rules.yml')], { env, stdio: 'pipe' });
  const child = spawn(BIN, ['serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
    /** Runs the CLI against this server's data folder; returns its stdout. */
    cli(...args) {
      return execFileSync(BIN, args, { env, encoding: 'utf8' });
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
function splitCsvLine(line) {
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
