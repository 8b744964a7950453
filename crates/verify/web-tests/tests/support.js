// Shared by the browser test files: the fixtures written by crates/verify/tests/browser.rs
// (DESK_FIXTURES), a real `tessera-verify serve` (DESK_BIN) and Debian's Chromium.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const fx = JSON.parse(readFileSync(process.env.DESK_FIXTURES, 'utf8'));
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// The desk on a free loopback port; `extra` are more `serve` arguments.
export function startDesk({ dataDir = fx.dataDir, policy = fx.policy, extra = [] } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.env.DESK_BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir,
      '--venue-policy', policy, ...extra], { stdio: ['ignore', 'pipe', 'ignore'] });
    p.on('error', reject);
    createInterface({ input: p.stdout }).once('line', (line) => {
      const m = /^listening on (http:\/\/\S+)$/.exec(line);
      if (m) resolve({ p, url: m[1] }); else reject(new Error('unexpected: ' + line));
    });
  });
}

export async function launch(extra = []) {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: [...ARGS, ...extra] });
}

// A browser launched with Chromium's fake webcam playing `y4m`.
export function launchWithCamera(y4m) {
  return launch(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--use-file-for-fake-video-capture=' + y4m]);
}

// A new page on `base`, ready for a scan. `clock`: install Playwright's clock first (time
// still flows; `page.clock.fastForward` jumps ahead). `viewport`, `locale` as Playwright's;
// `setup(page)` runs before the page loads (routes).
export async function freshPage(browser, base, { clock = false, viewport, locale = 'en-US', setup } = {}) {
  const ctx = await browser.newContext({ locale, viewport });
  if (clock) await ctx.clock.install();
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/40[1349]|415|422|409|502/.test(m.text())) errors.push(m.text());
  });
  if (setup) await setup(page);
  await page.goto(base);
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'scan');
  return { page, errors };
}

// What the verdict shows now.
export function verdictOf(page) {
  return page.evaluate(() => ({
    code: document.getElementById('verdict').dataset.code,
    hidden: document.getElementById('verdict').hidden,
    banner: document.getElementById('verdict-banner').textContent,
    reason: document.getElementById('verdict-reason').textContent,
    time: document.getElementById('verdict-time').textContent,
    focused: document.activeElement.id,
    fields: Object.fromEntries([...document.querySelectorAll('#verdict dd')].map((d) => [d.dataset.field, d.textContent])),
  }));
}

// Like a USB scanner: the text typed wherever the focus is, then Enter. `typed: false`
// fills the scan field instead (faster, for long runs).
export async function scan(page, text, { typed = true } = {}) {
  await page.evaluate(() => { document.getElementById('verdict').dataset.code = ''; });
  if (typed) await page.keyboard.type(text, { delay: 0 });
  else await page.fill('#scan', text);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('verdict').dataset.code !== '');
  return verdictOf(page);
}

export async function login(page) {
  await page.fill('#login-name', fx.staff.name);
  await page.fill('#login-password', fx.staff.password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#register', { state: 'visible' });
}

// The fresh single-use valid codes, handed out one by one across a test file.
export function codes(list = fx.codes.fresh) {
  let i = 0;
  return () => {
    if (i >= list.length) throw new Error('out of fresh codes: make more in browser.rs');
    return list[i++];
  };
}
