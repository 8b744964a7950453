// The front-desk page in headless Debian Chromium, against the real `tessera-verify serve`
// binary (DESK_BIN) and a data directory seeded by crates/verify/tests/browser.rs
// (DESK_FIXTURES). Run through `cargo test -p tessera-verify --test browser`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fx, startDesk, launch, launchWithCamera, freshPage as open, scan } from './support.js';

let desk, base, browser;

before(async () => {
  const d = await startDesk();
  desk = d.p; base = d.url;
  browser = await launch();
});
after(async () => {
  await browser?.close();
  desk?.kill('SIGTERM');
});

const freshPage = (b = browser) => open(b, base);

test('scanner input: valid, replayed, expired, revoked, wrong tier and garbage verdicts', async () => {
  const { page, errors } = await freshPage();
  let v = await scan(page, fx.codes.valid);
  assert.equal(v.code, 'valid');
  assert.equal(v.banner, 'VALID');
  assert.equal(v.fields.tier, 'Full details');
  assert.match(v.fields['proof-age'], /^\d+ (second|minute)s? before the check$/);
  assert.match(v.fields['cache-age'], /^\d+ (second|minute)s? before the check$/);
  assert.ok(v.fields.name && v.fields['id-number'], 'the upgraded claims are shown');
  assert.equal(v.fields['key-protection'], 'software keys on the device (not in a security chip)');
  assert.equal(v.focused, 'scan', 'the field is ready for the next guest');

  const expect = [
    [fx.codes.valid, 'replayed', /already used/],
    [fx.codes.expired, 'expired', /expired/],
    [fx.codes.revoked, 'revoked', /revoked/],
    [fx.codes.wrongTier, 'tier_requirement_not_met', /needs Full details/],
    [fx.codes.garbage, 'malformed', /not a Tessera code/],
  ];
  for (const [text, code, words] of expect) {
    v = await scan(page, text);
    assert.equal(v.code, code, text.slice(0, 20));
    assert.equal(v.banner, 'INVALID');
    assert.match(v.reason, words);
    assert.deepEqual(Object.keys(v.fields).filter((k) => k !== 'cache-age'), [], 'no claims on a refusal');
  }
  // The same page in Chinese.
  await page.click('#lang');
  await page.click('#scan');
  v = await scan(page, fx.codes.revoked);
  assert.equal(v.banner, '无效');
  assert.equal(v.reason, '证件已被吊销。');
  await page.click('#lang');
  assert.deepEqual(errors, []);
});

test('key protection: keys in the security chip with the PIN, in English and Chinese', async () => {
  const { page, errors } = await freshPage();
  let v = await scan(page, fx.codes.hardwarePin[0]);
  assert.equal(v.code, 'valid');
  assert.equal(v.fields['key-protection'], 'in the device\'s security chip, PIN-protected');
  await page.click('#lang');
  await page.click('#scan');
  v = await scan(page, fx.codes.hardwarePin[1]);
  assert.equal(v.code, 'valid');
  assert.equal(v.fields['key-protection'], '在设备的安全芯片中，受 PIN 码保护');
  await page.click('#lang');
  assert.deepEqual(errors, []);
});

test('image upload: a QR photo verifies, a non-image gets a clear message', async () => {
  const { page } = await freshPage();
  await page.evaluate(() => { document.getElementById('verdict').dataset.code = ''; });
  await page.setInputFiles('#upload', fx.uploadPng);
  await page.waitForFunction(() => document.getElementById('verdict').dataset.code !== '');
  assert.equal(await page.getAttribute('#verdict', 'data-code'), 'valid');
  await page.evaluate(() => { document.getElementById('verdict').dataset.code = ''; });
  await page.setInputFiles('#upload', fx.notAnImage);
  await page.waitForFunction(() => document.getElementById('verdict').dataset.code !== '');
  assert.equal(await page.getAttribute('#verdict', 'data-code'), 'not_an_image');
  assert.match(await page.textContent('#verdict-reason'), /not a PNG or JPEG/);
});

test('webcam: Chromium fake camera showing a real QR', async () => {
  const cam = await launchWithCamera(fx.webcamY4m);
  try {
    const { page, errors } = await freshPage(cam);
    const timings = [];
    page.on('response', async (r) => {
      if (r.url().endsWith('/api/verify-image')) {
        try { const b = await r.json(); timings.push({ decode: b.decode_ms, verify: b.verify_ms, code: b.code }); } catch { /* not JSON */ }
      }
    });
    const started = Date.now();
    await page.click('#camera-start');
    // A wait, not a timing goal (the bench measures speed): debug-built rxing on a loaded
    // CI machine can take a while per frame.
    await page.waitForFunction(() => document.getElementById('verdict').dataset.code, null, { timeout: 90000 });
    const elapsed = Date.now() - started;
    assert.equal(await page.getAttribute('#verdict', 'data-code'), 'valid');
    assert.equal(await page.isHidden('#camera'), true, 'the camera stops after a verdict');
    const last = timings[timings.length - 1];
    console.log(`webcam: verdict ${elapsed} ms after start; ${timings.length} frame(s) sent; ` +
      `server decode ${last?.decode?.toFixed(2)} ms + verify ${last?.verify?.toFixed(2)} ms for the last frame`);
    assert.deepEqual(errors, []);
  } finally {
    await cam.close();
  }
});

test('staff login is required for the register, check-in and the export', async () => {
  const { page } = await freshPage();
  assert.equal(await page.isHidden('#register'), true);
  const anon = await page.evaluate(async () => Promise.all(
    ['/api/checkins', '/api/checkins.csv'].map(async (p) => (await fetch(p)).status)));
  assert.deepEqual(anon, [401, 401]);

  // Wrong password first.
  await page.fill('#login-name', fx.staff.name);
  await page.fill('#login-password', 'wrong password!!');
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('login-status').textContent !== '');
  assert.match(await page.textContent('#login-status'), /Wrong name or password/);

  await page.fill('#login-password', fx.staff.password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#register', { state: 'visible' });
  await page.click('#scan');
  const v = await scan(page, fx.codes.checkin, { typed: false });
  assert.equal(v.code, 'valid');
  await page.waitForSelector('#checkin-form', { state: 'visible' });
  await page.fill('#room', '1208');
  await page.fill('#arrival', '2026-11-25');
  await page.fill('#departure', '2026-11-27');
  await page.click('#checkin-form button[type=submit]');
  await page.waitForFunction(() => /Checked in/.test(document.getElementById('checkin-status').textContent));
  assert.equal(await page.isDisabled('#checkin-btn'), true, 'a second check-in is not possible');

  await page.click('#register-load');
  await page.waitForSelector('#register-table tbody tr');
  assert.equal(await page.textContent('#register-table tbody tr td'), '1208');
  const csv = await page.evaluate(async () => {
    const r = await fetch('/api/checkins.csv');
    return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
  });
  assert.equal(csv.status, 200);
  assert.match(csv.type, /text\/csv/);
  assert.match(csv.text, /^checked_in_at,room,arrival,departure,full_name,id_number/);
  assert.match(csv.text, /1208,2026-11-25,2026-11-27/);

  await page.click('#logout');
  await page.waitForSelector('#register', { state: 'hidden' });
  const after = await page.evaluate(async () => (await fetch('/api/checkins.csv')).status);
  assert.equal(after, 401);
});

test('three hundred random texts through the scanner field: a clear verdict each time', async () => {
  const { page, errors } = await freshPage();
  let seed = 42;
  const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:汉字';
  for (let i = 0; i < 300; i++) {
    let text = 'X';
    const len = rnd() % 300;
    for (let j = 0; j < len; j++) text += alphabet[rnd() % alphabet.length];
    if (i % 3 === 0) text = 'TS1:' + text;
    const v = await scan(page, text, { typed: false });
    assert.equal(v.code, 'malformed', text);
    assert.equal(v.banner, 'INVALID');
    assert.equal(v.reason, 'This is not a Tessera code.');
  }
  assert.deepEqual(errors, []);
});
