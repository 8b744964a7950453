// The face check at the desk (issue 16 part 1): a desk registered with a real issuer (started
// by crates/verify/tests/browser.rs, Obama's photo in its registry, Obama enrolled), a venue
// that checks in only after "Same person", and Chromium's fake webcam playing Obama's
// committed front-facing liveness frames.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fx, startDesk, launchWithCamera, freshPage as open, scan, login, codes } from './support.js';

let desk, base, browser;
const next = codes(fx.face.codes);

before(async () => {
  const d = await startDesk({ dataDir: fx.face.dataDir, policy: fx.face.policy, extra: ['--issuer', fx.face.issuer] });
  desk = d.p; base = d.url;
  browser = await launchWithCamera(fx.face.webcamY4m);
});
after(async () => {
  await browser?.close();
  desk?.kill('SIGTERM');
});

const freshPage = (opts) => open(browser, base, opts);

// Presses the face check button and waits for its answer (or the page's own problem).
async function faceCheck(page, timeout = 30000) {
  await page.click('#face-btn');
  await page.waitForFunction(() => !document.getElementById('face-btn').disabled &&
    (!document.getElementById('face-result').hidden || document.getElementById('face-status').textContent !== ''),
  null, { timeout });
  return page.evaluate(() => {
    const r = document.getElementById('face-result');
    return {
      outcome: r.hidden ? null : r.dataset.outcome, cls: r.className,
      text: r.querySelector('strong')?.textContent, when: r.querySelector('.when')?.textContent,
      status: document.getElementById('face-status').textContent, button: document.getElementById('face-btn').textContent,
    };
  });
}

test('face check: what the page sends, and each answer in plain words (the answers mocked)', async () => {
  const { page, errors } = await freshPage();
  await login(page);
  await page.click('#scan');
  let v = await scan(page, next());
  assert.equal(v.code, 'valid', v.reason);
  await page.waitForSelector('#face-box', { state: 'visible' });
  assert.equal(await page.textContent('#face-btn'), 'Check the guest\'s face');

  const now = Math.floor(Date.now() / 1000);
  const answers = [
    { json: { outcome: 'not_same_person', reason: null, message: 'not the same person', similarity: 0.11, checked_at: now } },
    { json: { outcome: 'could_not_check', reason: 'too_dark', message: 'too dark', similarity: null, checked_at: now } },
    { json: { outcome: 'could_not_check', reason: 'something_new', message: 'Something new happened', similarity: null, checked_at: now } },
    { problem: { status: 409, code: 'no_issuer_key', detail: 'not registered' } },
    { json: { outcome: 'same_person', reason: null, message: 'same person', similarity: 0.71, checked_at: now } },
  ];
  const seen = [];
  // The registry photo is prepared while the camera captures, once per check.
  const prepares = [];
  await page.route('**/api/face-check/*/reference', (route) => {
    prepares.push({ method: route.request().method(), csrf: route.request().headers()['x-csrf-token'] });
    return route.fulfill({ status: 204 });
  });
  await page.route('**/api/face-check/*', (route) => {
    const req = route.request();
    seen.push({ path: new URL(req.url()).pathname, method: req.method(), headers: req.headers(), body: req.postDataJSON() });
    const a = answers[seen.length - 1];
    return a.json ? route.fulfill({ json: a.json }) : route.fulfill({
      status: a.problem.status, contentType: 'application/problem+json',
      body: JSON.stringify({ type: 'urn:tessera:desk:' + a.problem.code, title: 'x', ...a.problem }),
    });
  });

  let f = await faceCheck(page);
  assert.equal(f.outcome, 'not_same_person');
  assert.equal(f.cls, 'notice bad');
  assert.equal(f.text, 'Not the same person — check the ID by hand');
  assert.match(f.when, /^ Face checked at \d{1,2}:\d{2}:\d{2}( [AP]M)?\.$/);
  assert.equal(f.button, 'Check the face again');
  f = await faceCheck(page);
  assert.equal(f.outcome, 'could_not_check');
  assert.equal(f.cls, 'notice warn');
  assert.equal(f.text, 'Could not check: the picture is too dark. More light, please.');
  f = await faceCheck(page);
  assert.equal(f.text, 'Could not check: Something new happened', 'an unknown reason: the server\'s words');
  f = await faceCheck(page);
  assert.equal(f.outcome, null);
  assert.match(f.status, /not registered with the issuer for registry photos and face checks/);
  f = await faceCheck(page);
  assert.equal(f.outcome, 'same_person');
  assert.equal(f.cls, 'notice ok');
  assert.equal(f.text, 'Same person');
  await page.click('#lang');
  assert.equal(await page.textContent('#face-result strong'), '是同一人');
  assert.match(await page.textContent('#face-result .when'), /^人脸比对时间：\d{2}:\d{2}:\d{2}。$/);
  assert.equal(await page.textContent('#face-btn'), '重新比对人脸');
  await page.click('#lang');

  assert.equal(prepares.length, seen.length, 'one preparation per check');
  assert.ok(prepares.every((p) => p.method === 'POST' && p.csrf), 'POSTed with the CSRF header');
  // What went to the server: three JPEG frames, base64 without a data: prefix, with the
  // CSRF header, for this verification.
  for (const s of seen) {
    assert.equal(s.method, 'POST');
    assert.match(s.path, /^\/api\/face-check\/[^/]+$/);
    assert.ok(s.headers['x-csrf-token'], 'the CSRF header');
    assert.equal(s.headers['content-type'], 'application/json');
    assert.deepEqual(Object.keys(s.body), ['frames']);
    assert.equal(s.body.frames.length, 3);
    for (const b64 of s.body.frames) {
      assert.doesNotMatch(b64, /^data:/);
      const jpeg = Buffer.from(b64, 'base64');
      assert.deepEqual([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff], 'a JPEG');
    }
    assert.ok(new Set(s.body.frames).size > 1, 'the frames are not all the same picture');
  }
  assert.equal(new Set(seen.map((s) => s.path)).size, 1, 'all for the one verification');
  assert.equal(await page.isHidden('#camera'), true, 'the webcam the check opened is closed again');

  // The next guest starts without the last face check.
  v = await scan(page, next());
  assert.equal(v.code, 'valid');
  assert.equal(await page.isHidden('#face-result'), true);
  assert.equal(await page.textContent('#face-btn'), 'Check the guest\'s face');
  assert.deepEqual(errors, []);
});

test('face check against the real desk server: the registry person is the same person, then check-in', async () => {
  const { page, errors } = await freshPage();
  await login(page);
  await page.click('#scan');
  const v = await scan(page, next());
  assert.equal(v.code, 'valid', v.reason);

  // The registry photo, through the desk, with its caption.
  await page.waitForSelector('#portrait-box', { state: 'visible' });
  await page.click('#portrait-btn');
  await page.waitForFunction(() => {
    const img = document.getElementById('portrait');
    return (img.complete && img.naturalWidth > 0 && !document.getElementById('portrait-figure').hidden) ||
      document.getElementById('portrait-status').className === 'error';
  }, null, { timeout: 30000 });
  assert.equal(await page.textContent('#portrait-status'), '');
  assert.equal(await page.textContent('#portrait-figure figcaption'), 'Registry photo');
  assert.equal(await page.getAttribute('#portrait', 'alt'), 'Registry photo');

  // This venue checks the face first: the form says so, and a check-in before is refused.
  assert.equal(await page.isVisible('#checkin-face-note'), true);
  await page.fill('#room', '1208');
  await page.fill('#departure', '2099-01-02');
  await page.click('#checkin-btn');
  await page.waitForFunction(() => document.getElementById('checkin-status').textContent !== '');
  assert.match(await page.textContent('#checkin-status'), /face check must say “Same person”/);

  // The face at the webcam is the registry person's. (A debug build compares slowly.)
  const f = await faceCheck(page, 180000);
  assert.equal(f.outcome, fx.face.expected, `the desk answered: ${f.status || f.text}`);
  assert.equal(f.cls, 'notice ok');
  assert.equal(await page.textContent('#checkin-status'), '', 'the refusal the check answered is gone');
  // Screenshots for the docs, in both languages, when asked for (DESK_SCREENSHOTS=folder).
  if (process.env.DESK_SCREENSHOTS) {
    for (const lang of ['en', 'zh-CN']) {
      await page.screenshot({ path: `${process.env.DESK_SCREENSHOTS}/${lang}-desk-face-check.png`, fullPage: true });
      await page.click('#lang');
    }
  }

  await page.click('#checkin-btn');
  await page.waitForFunction(() => document.getElementById('checkin-form').dataset.done === 'yes');
  assert.match(await page.textContent('#checkin-status'), /^Checked in: room 1208/);
  // The register keeps the face check's outcome.
  await page.click('#register-load');
  await page.waitForSelector('#register-table tbody tr');
  const row = await page.$$eval('#register-table tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent))
    .find((cells) => cells[0] === '1208'));
  assert.equal(row[row.length - 1], 'same person');
  assert.deepEqual(errors, []);
});

// Another person, and a still picture, at the desk camera: each in its own Chromium (the fake
// webcam is fixed when the browser starts), against the real desk server.
for (const [what, y4m, outcome, text] of [
  ['another person is not the same person', () => fx.face.otherY4m, 'not_same_person', 'Not the same person — check the ID by hand'],
  ['a still picture cannot be checked', () => fx.face.stillY4m, 'could_not_check', /^Could not check: the face did not move at all/],
]) {
  test(`face check against the real desk server: ${what}`, async () => {
    const other = await launchWithCamera(y4m());
    try {
      const { page, errors } = await open(other, base);
      await login(page);
      await page.click('#scan');
      const v = await scan(page, next());
      assert.equal(v.code, 'valid', v.reason);
      await page.waitForSelector('#face-box', { state: 'visible' });
      const f = await faceCheck(page, 180000);
      assert.equal(f.outcome, outcome, `the desk answered: ${f.status || f.text}`);
      if (text instanceof RegExp) assert.match(f.text, text); else assert.equal(f.text, text);
      // This venue requires Same person: check-in stays refused.
      await page.fill('#room', '1209');
      await page.fill('#departure', '2099-01-02');
      await page.click('#checkin-btn');
      await page.waitForFunction(() => document.getElementById('checkin-status').textContent !== '');
      assert.match(await page.textContent('#checkin-status'), /face check must say “Same person”/);
      assert.deepEqual(errors, []);
    } finally {
      await other.close();
    }
  });
}
