// The desk page at a busy front desk (issue 16 part 3): the USB scanner keeps its input
// whatever was clicked last, the last guest's data leaves the screen, check-in happens once,
// the citizen app's words, dates per locale, keyboard and narrow screens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fx, startDesk, launch, freshPage as open, scan, verdictOf, login, codes } from './support.js';

let desk, base, browser;
const next = codes();

before(async () => {
  const d = await startDesk();
  desk = d.p; base = d.url;
  browser = await launch();
});
after(async () => {
  await browser?.close();
  desk?.kill('SIGTERM');
});

const freshPage = (opts) => open(browser, base, opts);
const lang = (page) => page.getAttribute('html', 'lang');

test('the scanner keeps its input after a click, and its Enter presses nothing else', async () => {
  const { page, errors } = await freshPage();
  // The language button, clicked: the scan that follows lands in the scan field, and its
  // Enter does not press the language button again.
  await page.click('#lang');
  assert.equal(await lang(page), 'zh-CN');
  let v = await scan(page, next());
  assert.equal(v.code, 'valid');
  assert.equal(v.banner, '有效');
  assert.equal(await lang(page), 'zh-CN', 'the language did not flip');
  assert.equal(v.focused, 'scan');

  // A button that keeps the focus (as after moving there with Tab): the first key of the
  // scan takes it to the scan field.
  await page.focus('#lang');
  v = await scan(page, fx.codes.garbage);
  assert.equal(v.code, 'malformed');
  assert.equal(await lang(page), 'zh-CN', 'the language did not flip');
  await page.click('#lang');
  assert.equal(await lang(page), 'en');

  // Logged in, "Show the register" keeps the focus after its click; the scan's Enter does
  // not load the register again.
  await login(page);
  let loads = 0;
  page.on('request', (r) => { if (r.method() === 'GET' && new URL(r.url()).pathname === '/api/checkins') loads++; });
  await page.click('#register-load');
  await page.waitForFunction(() => document.getElementById('register-status').textContent !== '' ||
    document.querySelector('#register-table tbody tr'));
  assert.equal(await page.evaluate(() => document.activeElement.id), 'register-load');
  v = await scan(page, next());
  assert.equal(v.code, 'valid');
  assert.equal(v.banner, 'VALID');
  assert.equal(loads, 1, 'the register button was not pressed by the scan');

  // Typing in a field (the login name): a scanner-speed burst ending in Enter is taken out
  // of the field and checked; what the clerk typed stays, and no login is attempted.
  await page.click('#logout');
  await page.waitForSelector('#login-form', { state: 'visible' });
  await page.fill('#login-name', '');
  await page.keyboard.type('ali', { delay: 150 });
  // The guest hands over the phone a moment later (a pause longer than any within a scan).
  await page.waitForTimeout(700);
  v = await scan(page, next());
  assert.equal(v.code, 'valid');
  assert.equal(await page.inputValue('#login-name'), 'ali');
  assert.equal(await page.textContent('#login-status'), '');
  assert.equal(v.focused, 'scan');
  assert.deepEqual(errors, []);
});

test('a new scan replaces the last guest, and Next guest clears the screen', async () => {
  const { page, errors } = await freshPage();
  await login(page);
  await page.click('#scan');
  let v = await scan(page, next());
  assert.equal(v.code, 'valid');
  const first = v.fields.name;
  await page.waitForSelector('#checkin-form', { state: 'visible' });
  await page.fill('#room', '1208');
  await page.fill('#departure', '2099-01-02');

  await page.click('#scan');
  v = await scan(page, next());
  assert.equal(v.code, 'valid');
  const today = await page.evaluate(() => {
    const d = new Date(); const p = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
  });
  assert.equal(await page.inputValue('#room'), '', 'the last guest\'s room is not kept');
  assert.equal(await page.inputValue('#departure'), '', 'nor the departure date');
  assert.equal(await page.inputValue('#arrival'), today, 'arrival starts at today');
  assert.match(v.time, /^Checked at \d{1,2}:\d{2}:\d{2}( [AP]M)?\. Cleared from the screen after 2 minutes without activity\.$/);

  // A refusal replaces it too: no claims of the guest before.
  v = await scan(page, fx.codes.garbage);
  assert.equal(v.code, 'malformed');
  assert.deepEqual(Object.keys(v.fields).filter((k) => k !== 'cache-age'), []);
  assert.equal(await page.isHidden('#checkin-form'), true);

  v = await scan(page, next());
  assert.equal(v.code, 'valid');
  await page.click('#next-guest');
  v = await verdictOf(page);
  assert.equal(v.hidden, true);
  assert.deepEqual(v.fields, {});
  assert.equal(v.focused, 'scan');
  assert.equal(await page.inputValue('#room'), '');
  assert.ok(!(await page.content()).includes(first), 'the name is gone from the page');
  assert.deepEqual(errors, []);
});

test('check-in happens once: the button is disabled after success, with a clear status', async () => {
  const { page, errors } = await freshPage();
  await login(page);
  let posts = 0;
  page.on('request', (r) => { if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/checkins') posts++; });
  await page.click('#scan');
  let v = await scan(page, next());
  assert.equal(v.code, 'valid');
  await page.fill('#room', ' 0815 ');
  await page.fill('#arrival', '2031-11-25');
  await page.fill('#departure', '2031-11-27');
  await page.click('#checkin-btn');
  await page.waitForFunction(() => document.getElementById('checkin-form').dataset.done === 'yes');
  assert.equal(await page.isDisabled('#checkin-btn'), true);
  assert.equal(await page.textContent('#checkin-btn'), 'Checked in');
  for (const id of ['#room', '#arrival', '#departure']) assert.equal(await page.isDisabled(id), true, id);
  const status = await page.$eval('#checkin-status', (el) => ({ text: el.textContent, cls: el.className, role: el.getAttribute('role') }));
  assert.match(status.text, /^Checked in: room 0815, Nov 25, 2031 – Nov 27, 2031 \(record \d+\)\.$/);
  assert.equal(status.cls, 'notice ok');
  assert.equal(status.role, 'status');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'scan', 'ready for the next scan');
  // A second submit (Enter in a field, a script) sends nothing.
  await page.$eval('#checkin-form', (f) => f.requestSubmit());
  await page.waitForTimeout(300);
  assert.equal(posts, 1);

  // A venue that checks the face first: the desk refuses with face_check_required (mocked
  // here; crates/verify/tests checks the server's side) and the page says what to do.
  await page.route('**/api/checkins', (route) => route.request().method() !== 'POST' ? route.continue() : route.fulfill({
    status: 409, contentType: 'application/problem+json',
    body: JSON.stringify({ type: 'urn:tessera:desk:face_check_required', title: 'Conflict', status: 409,
      detail: 'the face check must say same person first', code: 'face_check_required' }),
  }));
  v = await scan(page, next());
  assert.equal(v.code, 'valid');
  await page.fill('#room', '12');
  await page.fill('#departure', '2099-01-02');
  await page.click('#checkin-btn');
  await page.waitForFunction(() => document.getElementById('checkin-status').textContent !== '');
  assert.match(await page.textContent('#checkin-status'), /face check must say “Same person” before this guest can be checked in/);
  assert.equal(await page.isDisabled('#checkin-btn'), false, 'the clerk can try again after the face check');
  await page.click('#lang');
  assert.match(await page.textContent('#checkin-status'), /人脸比对结果为“是同一人”后才能登记入住/);
  await page.click('#lang');
  assert.deepEqual(errors, []);
});

test('the verdict clears itself after a while without activity, and at logout', async () => {
  const { page, errors } = await freshPage({ clock: true });
  await login(page);
  await page.click('#scan');
  let v = await scan(page, next());
  assert.equal(v.code, 'valid');
  await page.clock.fastForward(100_000);
  assert.equal((await verdictOf(page)).hidden, false, 'still there after 100 s');
  await page.clock.fastForward(21_000);
  v = await verdictOf(page);
  assert.equal(v.hidden, true, 'cleared after 120 s');
  assert.deepEqual(v.fields, {});

  // The clerk still typing keeps it on the screen.
  v = await scan(page, next());
  await page.clock.fastForward(100_000);
  await page.fill('#room', '12');
  await page.clock.fastForward(30_000);
  assert.equal((await verdictOf(page)).hidden, false, 'kept while the clerk works on it');
  await page.clock.fastForward(95_000);
  assert.equal((await verdictOf(page)).hidden, true);
  assert.equal(await page.inputValue('#room'), '');

  // Logout clears the verdict and the register.
  await page.click('#scan');
  v = await scan(page, next());
  await page.click('#register-load');
  await page.waitForFunction(() => document.getElementById('register-status').textContent !== '' ||
    document.querySelector('#register-table tbody tr'));
  await page.click('#logout');
  await page.waitForSelector('#login-form', { state: 'visible' });
  v = await verdictOf(page);
  assert.equal(v.hidden, true);
  assert.equal(await page.$$eval('#register-table tbody tr', (r) => r.length), 0);
  assert.deepEqual(errors, []);
});

test('the desk\'s verdict_clear_seconds sets how long a verdict stays', async () => {
  const { page, errors } = await freshPage({
    clock: true,
    setup: (p) => p.route('**/api/session', async (route) => {
      const r = await route.fetch();
      const json = await r.json();
      json.verdict_clear_seconds = 5;
      await route.fulfill({ response: r, json });
    }),
  });
  const v = await scan(page, next());
  assert.equal(v.code, 'valid');
  assert.match(v.time, /after 5 seconds without activity/);
  await page.clock.fastForward(3_000);
  assert.equal((await verdictOf(page)).hidden, false);
  await page.clock.fastForward(3_000);
  assert.equal((await verdictOf(page)).hidden, true);
  assert.deepEqual(errors, []);
});

test('the citizen app\'s tier names, dates per locale and plain words, in both languages', async () => {
  const { page, errors } = await freshPage();
  let v = await scan(page, next());
  assert.equal(v.fields.tier, 'Full details');
  assert.match(v.fields['date-of-birth'], /^[A-Z][a-z]+ \d{1,2}, \d{4}$/, 'not 19900307');
  assert.match(await page.textContent('#cache'), /^Issuer data updated (just now|\d+ (second|minute)s? ago)$/);
  v = await scan(page, fx.codes.wrongTier);
  assert.equal(v.code, 'tier_requirement_not_met');
  assert.match(v.reason, /needs Full details.*show “Full details”/);

  // A phone clock minutes off is named as such (the desk's clock_offset_seconds; mocked).
  await page.route('**/api/verify', (route) => route.fulfill({ json: { valid: false, code: 'proof_not_yet_valid',
    message: 'x', cache_age: 3, portrait: false, verify_ms: 1, clock_offset_seconds: 600 } }));
  v = await scan(page, fx.codes.garbage);
  assert.equal(v.reason, 'The QR code\'s clock is about 10 min ahead of this desk\'s: the guest should set the phone\'s date and time to automatic, then show a new code.');
  await page.unroute('**/api/verify');

  await page.click('#lang');
  v = await scan(page, next());
  assert.equal(v.fields.tier, '完整信息');
  assert.match(v.fields['date-of-birth'], /^\d{4}年\d{1,2}月\d{1,2}日$/);
  assert.match(v.fields['proof-age'], /^核验前 \d+ (秒|分钟)$/);
  assert.match(v.time, /^核验时间：\d{2}:\d{2}:\d{2}。无操作 2 分钟后自动从屏幕清除。$/);
  assert.match(await page.textContent('#cache'), /^签发方数据更新于 (刚刚|\d+ (秒|分钟)前)$/);
  v = await scan(page, fx.codes.wrongTier);
  assert.match(v.reason, /^本场所需要“完整信息”/);

  // Every English word has its Chinese, and the old tier names and jargon are gone.
  const check = await page.evaluate(() => {
    const values = [];
    const keys = (o, prefix) => Object.keys(o).flatMap((k) => {
      const v = o[k];
      if (typeof v === 'object' && !Array.isArray(v)) return keys(v, prefix + k + '.');
      values.push(...[].concat(v));
      return [prefix + k];
    }).sort();
    const en = keys(window.TESSERA_I18N.en, '');
    const zh = keys(window.TESSERA_I18N['zh-CN'], '');
    return { en, zh, values };
  });
  assert.deepEqual(check.zh, check.en);
  for (const s of check.values) assert.doesNotMatch(s, /lightweight|upgraded|简版|升级版|名单已|\d+ s ago|Proof made/i, s);
  await page.click('#lang');
  assert.deepEqual(errors, []);
});

test('keyboard upload, a button-like export, language tags, and no sideways scroll at 320 px', async () => {
  const { page, errors } = await freshPage({ viewport: { width: 320, height: 720 } });
  assert.equal(await page.getAttribute('#lang', 'lang'), 'zh-CN');
  // The upload is a focusable button: Tab from the scan field, Enter opens the file chooser.
  // (Listening first: Playwright intercepts the chooser only once it is asked to.)
  const choosing = page.waitForEvent('filechooser', { timeout: 15000 });
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'upload-btn');
  await page.evaluate(() => { document.getElementById('verdict').dataset.code = ''; });
  await page.waitForTimeout(200);
  await page.keyboard.press('Enter');
  const chooser = await choosing;
  await chooser.setFiles(fx.notAnImage);
  await page.waitForFunction(() => document.getElementById('verdict').dataset.code !== '');
  assert.equal(await page.getAttribute('#verdict', 'data-code'), 'not_an_image');

  // Every visible field has a label; every button has words.
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, button')]
    .filter((el) => el.type !== 'file' && !(el.labels && el.labels.length) && !el.textContent.trim()).map((el) => el.id));
  assert.deepEqual(unlabelled, []);

  await login(page);
  await page.click('#scan');
  const v = await scan(page, next());
  assert.equal(v.code, 'valid');
  await page.click('#register-load');
  await page.waitForSelector('#register-table tbody tr');
  const exp = await page.$eval('#export', (a) => {
    const s = getComputedStyle(a);
    const b = getComputedStyle(document.getElementById('register-load'));
    return { cls: a.className, border: s.borderTopWidth, decoration: s.textDecorationLine, padding: s.padding === b.padding,
      radius: s.borderRadius === b.borderRadius, color: s.color === b.color };
  });
  assert.deepEqual(exp, { cls: 'button', border: '1px', decoration: 'none', padding: true, radius: true, color: true });
  assert.equal(await page.textContent('#portrait-figure figcaption'), 'Registry photo');
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(await overflow(), 0, 'no sideways scroll in English');
  await page.click('#lang');
  assert.equal(await page.getAttribute('#lang', 'lang'), 'en');
  assert.equal(await page.textContent('#portrait-figure figcaption'), '登记照片');
  assert.equal(await overflow(), 0, 'no sideways scroll in Chinese');
  await page.click('#lang');
  assert.deepEqual(errors, []);
});
