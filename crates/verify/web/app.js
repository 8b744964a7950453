// The front-desk page: three ways in (USB scanner typing into the scan field, image
// upload, webcam frames sent to the desk server, which decodes them with rxing), the
// verdict, the registry photo, the face check, check-in, staff login and the register.
// It never holds the issuer API key, never keeps QR texts and never logs personal data.
// One guest at a time: a new scan, "Next guest", logout or a few idle minutes clear the
// last guest's data from the screen.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
  const S = {
    csrf: '', staff: null, session: {}, lang: 'en', camera: null,
    guest: null, // { verdict, at: Date, portrait, face, faceBusy, faceMsg, checkin, checkinBusy, checkinMsg }
    seq: 0, scanMsg: null, loginMsg: null, registerRows: null, registerMsg: null, clearTimer: 0,
  };

  // ---- words ----
  function dict() { return window.TESSERA_I18N[S.lang]; }
  function t(key, vars) {
    let s = dict()[key] !== undefined ? dict()[key] : window.TESSERA_I18N.en[key] || key;
    for (const k in vars || {}) s = s.split('{' + k + '}').join(vars[k]);
    return s;
  }
  function reason(code, fallback) { return dict().reasons[code] || fallback || code; }
  // A status line: { key, vars } in the page's words, or { code, detail } from the server.
  function words(m) { return !m ? '' : m.key ? t(m.key, m.vars) : reason(m.code, m.detail); }
  // 42 → "42 seconds", 300 → "5 minutes", …
  function duration(secs) {
    const n = Math.max(0, Math.floor(secs));
    const [unit, v] = n < 60 ? ['s', n] : n < 3600 ? ['m', Math.floor(n / 60)]
      : n < 86400 ? ['h', Math.floor(n / 3600)] : ['d', Math.floor(n / 86400)];
    return dict().units[unit][v === 1 ? 0 : 1].replace('{n}', v);
  }
  function ago(secs) { return secs < 2 ? t('justNow') : t('ago', { d: duration(secs) }); }
  // Dates and times in the page's language (English in the browser's own English region).
  function locale() { return S.lang === 'en' && /^en-/i.test(navigator.language || '') ? navigator.language : S.lang; }
  function fmtTime(d) {
    return new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(d);
  }
  // "19900307" or "1990-03-07" → "7 March 1990" / "1990年3月7日"; anything else as is.
  function fmtDate(s, month) {
    const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(s || '');
    if (!m) return s;
    const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    return new Intl.DateTimeFormat(locale(), { timeZone: 'UTC', year: 'numeric', month: month || 'long', day: 'numeric' }).format(d);
  }
  function today() {
    const d = new Date();
    const p = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
  }

  function pickLang() {
    const saved = localStorage.getItem('tessera.desk.lang');
    if (saved === 'en' || saved === 'zh-CN') return saved;
    return (navigator.language || '').toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
  }
  function render() {
    document.documentElement.lang = S.lang;
    document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
    $('lang').textContent = t('lang');
    $('lang').lang = t('langTag');
    document.title = t('title');
    $('scan-status').textContent = words(S.scanMsg);
    renderSession();
    renderGuest();
    renderRegister();
  }

  // ---- the server ----
  async function api(path, opts) {
    const o = Object.assign({ method: 'GET', headers: {} }, opts || {});
    o.credentials = 'same-origin';
    if (o.method !== 'GET') o.headers['X-CSRF-Token'] = S.csrf;
    if (o.json !== undefined) { o.headers['Content-Type'] = 'application/json'; o.body = JSON.stringify(o.json); }
    let r;
    try { r = await fetch(path, o); } catch (e) { return { ok: false, problem: { code: 'network' } }; }
    const ct = r.headers.get('content-type') || '';
    if (r.ok && ct.startsWith('application/json')) return { ok: true, body: await r.json() };
    if (r.ok) return { ok: true, response: r };
    let problem = { code: 'internal' };
    if (ct.startsWith('application/problem+json')) problem = await r.json();
    return { ok: false, status: r.status, problem: problem };
  }

  async function loadSession() {
    const r = await api('/api/session');
    if (!r.ok) return;
    const was = S.staff;
    S.csrf = r.body.csrf; S.staff = r.body.staff; S.session = r.body; S.sessionAt = Date.now();
    if (was && !S.staff) loggedOut(); else renderSession();
    if (was !== S.staff) renderGuest();
  }
  function renderSession() {
    const s = S.session;
    const age = s.cache_age === null || s.cache_age === undefined ? null
      : s.cache_age + (Date.now() - (S.sessionAt || Date.now())) / 1000;
    $('cache').textContent = age === null ? t('noCache') : t('cacheLine', { ago: ago(age) });
    $('who').textContent = S.staff ? t('loggedInAs', { name: S.staff }) : '';
    $('logout').hidden = !S.staff;
    $('login-form').hidden = !!S.staff;
    $('register').hidden = !S.staff;
    $('login-status').textContent = words(S.loginMsg);
  }
  function clearSeconds() {
    const n = Number(S.session.verdict_clear_seconds);
    return n > 0 ? n : 120;
  }

  // ---- the scan field keeps the scanner's input ----
  function focusScan() { $('scan').focus({ preventScroll: true }); }
  function rearm() { $('scan').value = ''; focusScan(); }
  const TYPED = /^(text|password|search|email|tel|url|number|date|datetime-local|month|time|week)$/;
  function isTyping(el) {
    return !!el && (el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable ||
      (el.tagName === 'INPUT' && TYPED.test(el.type)));
  }
  // A scanner types much faster than a person: at least 12 keys, typically under 30 ms apart
  // (the median gap decides), then Enter. Such a burst in another field (room, login…) is
  // taken back out of it and checked as a scan. A pause of up to PAUSE ms does not end a
  // burst: a busy machine can hold key events back that long, and no person types a dozen
  // keys at a median of 30 ms.
  const PAUSE = 300;
  let burst = { el: null, keys: '', before: '', gaps: [], last: 0 };
  const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
  document.addEventListener('keydown', (e) => {
    const el = document.activeElement;
    if (el === $('scan') || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    const now = performance.now();
    if (isTyping(el)) {
      if (e.key.length === 1) {
        if (burst.el !== el || now - burst.last > PAUSE) burst = { el: el, keys: '', before: el.value, gaps: [], last: now };
        else burst.gaps.push(now - burst.last);
        burst.keys += e.key; burst.last = now;
      } else if (e.key === 'Enter' && burst.el === el && burst.keys.length >= 12 && now - burst.last < PAUSE &&
          median(burst.gaps) <= 30) {
        e.preventDefault();
        el.value = burst.before;
        const text = burst.keys;
        burst = { el: null, keys: '', before: '', gaps: [], last: 0 };
        $('scan').value = '';
        focusScan();
        verifyText(text);
      } else {
        burst.el = null;
      }
      return;
    }
    // Focus is on a button, a link or nothing: a printable key starts a scan. (A space keeps
    // pressing the focused button; no Tessera code starts with one.)
    if (e.key.length !== 1 || (e.key === ' ' && el && el !== document.body)) return;
    e.preventDefault();
    $('scan').value = e.key;
    focusScan();
  }, true);

  // ---- the verdict ----
  function fact(dl, label, value, testid) {
    const dt = document.createElement('dt'); dt.textContent = label;
    const dd = document.createElement('dd'); dd.textContent = value;
    if (testid) dd.dataset.field = testid;
    dl.append(dt, dd);
  }
  // A new verdict replaces the last guest's data entirely.
  function newGuest(v) {
    dropGuest();
    S.guest = { verdict: v, at: new Date(), portrait: null, portraitMsg: null, face: null, faceBusy: false,
      faceMsg: null, checkin: null, checkinBusy: false, checkinMsg: null };
    $('room').value = ''; $('arrival').value = today(); $('departure').value = '';
    renderGuest();
    armClear();
  }
  function dropGuest() {
    if (S.guest && S.guest.portrait) URL.revokeObjectURL(S.guest.portrait);
    S.guest = null;
    $('portrait').removeAttribute('src');
    $('room').value = ''; $('arrival').value = ''; $('departure').value = '';
  }
  function clearGuest() {
    dropGuest();
    renderGuest();
  }
  function renderGuest() {
    const g = S.guest;
    const box = $('verdict');
    box.hidden = !g;
    if (!g) {
      box.dataset.code = ''; box.className = '';
      ['verdict-facts', 'verdict-claims', 'checkin-status', 'face-result'].forEach((id) => { $(id).textContent = ''; });
      return;
    }
    const v = g.verdict;
    // A genuine code of someone under 18 must not read as a plain VALID at a bar.
    const under18 = !!(v.valid && v.claims && v.claims.age_over_18 === false);
    box.className = (v.valid ? 'valid' : 'invalid') + (under18 ? ' under-18' : '');
    box.dataset.code = v.code;
    box.dataset.age = under18 ? 'under-18' : '';
    $('verdict-banner').textContent = under18 ? t('notOver18') : v.valid ? t('valid') : t('invalid');
    $('verdict-reason').textContent = verdictWords(v);
    $('verdict-time').textContent = t('checkedAt', { time: fmtTime(g.at) }) + t('sep') +
      t('clearsAfter', { d: duration(clearSeconds()) });
    const facts = $('verdict-facts'); facts.textContent = '';
    const claims = $('verdict-claims'); claims.textContent = '';
    if (v.tier) fact(facts, t('tier'), t(v.tier), 'tier');
    if (v.proof_age !== undefined && v.proof_age !== null) fact(facts, t('proofAge'), t('beforeCheck', { d: duration(v.proof_age) }), 'proof-age');
    if (v.status) fact(facts, t('status'), v.status === 'valid' ? t('statusValid') : t('statusNotChecked'), 'status');
    if (v.key_protection) {
      const keyWords = { software: 'keySoftware', hardware: 'keyHardware', hardware_with_pin: 'keyHardwareWithPin' };
      fact(facts, t('keyProtection'), t(keyWords[v.key_protection] || 'keySoftware'), 'key-protection');
    }
    if (v.cache_age !== undefined && v.cache_age !== null) fact(facts, t('cacheAge'), t('beforeCheck', { d: duration(v.cache_age) }), 'cache-age');
    const c = v.claims;
    if (c && c.tier === 'age_only') {
      // No name, no ID number: the age answer is all there is.
      fact(claims, t('ageOver18'), c.age_over_18 ? t('yes') : t('noNotOver18'), 'over-18');
    } else if (c && c.tier === 'lightweight') {
      fact(claims, t('maskedName'), c.masked_name, 'name');
      fact(claims, t('maskedIdNumber'), c.masked_id_number, 'id-number');
      fact(claims, t('ageOver18'), c.age_over_18 ? t('yes') : t('noNotOver18'), 'over-18');
    } else if (c && c.tier === 'upgraded') {
      fact(claims, t('fullName'), c.full_name, 'name');
      fact(claims, t('idNumber'), c.id_number, 'id-number');
      fact(claims, t('dateOfBirth'), fmtDate(c.date_of_birth), 'date-of-birth');
      fact(claims, t('gender'), t(c.gender), 'gender');
    }
    const tools = !!(v.verification && S.staff);
    $('portrait-box').hidden = !(tools && v.portrait);
    $('face-box').hidden = !(tools && v.portrait);
    $('checkin-form').hidden = !tools;
    renderPortrait(); renderFace(); renderCheckin();
  }
  // A proof refused for its time names a wrong phone clock when it is minutes off.
  function verdictWords(v) {
    const off = v.clock_offset_seconds;
    if (typeof off === 'number' && off !== 0) {
      const n = Math.max(1, Math.round(Math.abs(off) / 60));
      return t(off > 0 ? 'clockAhead' : 'clockBehind', { n: n });
    }
    if (v.valid && v.claims && v.claims.age_over_18 === false) return t('genuineButUnder18');
    // The tier words follow this venue's policy (from the session).
    const accepted = S.session.accepted_tiers;
    if (v.code === 'tier_not_accepted' && Array.isArray(accepted) && accepted.length) {
      const names = accepted.map((tier) => t('quoted', { x: t(tier) }));
      return t('tierNotAccepted', { tiers: names.join(t('or')), first: t(accepted[0]) });
    }
    if (v.code === 'tier_requirement_not_met' && S.session.required_tier === 'lightweight') return t('needsBasic');
    return reason(v.code, v.message || v.detail);
  }
  function showProblem(p) {
    newGuest({ valid: false, code: p.code || 'internal', detail: p.detail });
  }

  // Any verdict clears itself after a few idle minutes (and the register with it); a key
  // or a click restarts the count while something personal is on the screen.
  function armClear() {
    clearTimeout(S.clearTimer);
    if (!S.guest && !S.registerRows) return;
    S.clearTimer = setTimeout(() => {
      clearGuest();
      S.registerRows = null; S.registerMsg = null; renderRegister();
    }, clearSeconds() * 1000);
  }
  ['keydown', 'pointerdown', 'input'].forEach((ev) => document.addEventListener(ev, () => {
    if (S.guest || S.registerRows) armClear();
  }, true));
  $('next-guest').addEventListener('click', () => { clearGuest(); rearm(); });

  // ---- the three ways in ----
  function setScanMsg(m) { S.scanMsg = m; $('scan-status').textContent = words(m); }
  async function verifyText(text) {
    const seq = ++S.seq;
    setScanMsg({ key: 'working' });
    const r = await api('/api/verify', { method: 'POST', json: { text: text } });
    if (seq !== S.seq) return; // a later scan overtook this one
    setScanMsg(null);
    if (r.ok) newGuest(r.body); else showProblem(r.problem);
    focusScan();
  }
  async function verifyImage(blob) {
    const r = await api('/api/verify-image', { method: 'POST', body: blob, headers: { 'Content-Type': blob.type || 'application/octet-stream' } });
    if (!r.ok) { showProblem(r.problem); return null; }
    return r.body;
  }

  // The scanner types the text and presses Enter: the form submits.
  $('scan-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('scan').value;
    $('scan').value = ''; // ready at once for the next scan, even before this verdict
    if (text.trim()) verifyText(text);
  });
  $('upload-btn').addEventListener('click', () => $('upload').click());
  $('upload').addEventListener('change', async () => {
    const f = $('upload').files[0];
    $('upload').value = '';
    if (!f) return;
    const seq = ++S.seq;
    const v = await verifyImage(f);
    if (v && seq === S.seq) newGuest(v);
    focusScan();
  });

  // The webcam: one stream for reading codes and for the face check.
  async function openCamera() {
    if (S.camera) return S.camera;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
    } catch (e) { return null; }
    const video = $('camera');
    video.srcObject = stream; video.hidden = false;
    try { await video.play(); } catch (e) { /* muted inline video: plays anyway */ }
    for (let i = 0; i < 60 && !video.videoWidth; i++) await sleep(50);
    S.camera = { stream: stream, scanning: false, paused: false };
    $('camera-start').hidden = true; $('camera-stop').hidden = false;
    return S.camera;
  }
  function closeCamera() {
    if (!S.camera) return;
    S.camera.scanning = false;
    S.camera.stream.getTracks().forEach((tr) => tr.stop());
    S.camera = null;
    $('camera').srcObject = null;
    $('camera').hidden = true; $('camera-start').hidden = false; $('camera-stop').hidden = true;
    if (S.scanMsg && S.scanMsg.key === 'cameraLooking') setScanMsg(null);
  }
  // The current frame as a JPEG, at most `maxSide` pixels on its long side.
  function grab(canvas, maxSide) {
    const video = $('camera');
    const w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) return Promise.resolve(null);
    const k = maxSide ? Math.min(1, maxSide / Math.max(w, h)) : 1;
    canvas.width = Math.round(w * k); canvas.height = Math.round(h * k);
    canvas.getContext('2d').drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((res) => canvas.toBlob(res, 'image/jpeg', 0.9));
  }
  async function scanWithCamera() {
    const cam = await openCamera();
    if (!cam) { setScanMsg({ key: 'cameraDenied' }); return; }
    cam.scanning = true;
    setScanMsg({ key: 'cameraLooking' });
    const canvas = document.createElement('canvas');
    // One frame in flight at a time: the next is grabbed when the verdict for this one is in.
    while (S.camera === cam && cam.scanning) {
      if (!cam.paused) {
        const blob = await grab(canvas);
        if (blob && S.camera === cam && cam.scanning && !cam.paused) {
          const seq = ++S.seq;
          const v = await verifyImage(blob);
          if (!v) { closeCamera(); break; }
          if (v.code !== 'no_qr_code' && seq === S.seq) { closeCamera(); newGuest(v); focusScan(); break; }
        }
      }
      await sleep(150);
    }
  }
  $('camera-start').addEventListener('click', scanWithCamera);
  $('camera-stop').addEventListener('click', () => { closeCamera(); focusScan(); });

  // ---- the registry photo ----
  function renderPortrait() {
    const g = S.guest;
    if (!g) return;
    $('portrait-figure').hidden = !g.portrait;
    if (g.portrait) $('portrait').src = g.portrait;
    $('portrait').alt = t('portraitCaption');
    $('portrait-status').textContent = words(g.portraitMsg);
    $('portrait-status').className = g.portraitMsg && g.portraitMsg.code ? 'error' : 'muted';
  }
  $('portrait-btn').addEventListener('click', async () => {
    const g = S.guest;
    if (!g || !g.verdict.verification) return;
    g.portraitMsg = { key: 'portraitLoading' }; renderPortrait();
    const r = await api('/api/portrait/' + encodeURIComponent(g.verdict.verification));
    if (S.guest !== g) return;
    if (!r.ok) { g.portraitMsg = r.problem; renderPortrait(); return; }
    const blob = await r.response.blob();
    if (S.guest !== g) return;
    if (g.portrait) URL.revokeObjectURL(g.portrait);
    g.portrait = URL.createObjectURL(blob); g.portraitMsg = null;
    renderPortrait();
  });

  // ---- the face check: four frames from the desk webcam, compared on the desk server ----
  const FACE_CLASS = { same_person: 'ok', not_same_person: 'bad', could_not_check: 'warn' };
  function renderFace() {
    const g = S.guest;
    if (!g) return;
    const f = g.face;
    const btn = $('face-btn');
    btn.textContent = f ? t('faceAgain') : t('faceBtn');
    btn.disabled = g.faceBusy;
    const res = $('face-result');
    res.hidden = !f;
    res.className = f ? 'notice ' + (FACE_CLASS[f.outcome] || 'warn') : '';
    res.dataset.outcome = f ? f.outcome : '';
    res.textContent = '';
    if (f) {
      const strong = document.createElement('strong');
      strong.textContent = f.outcome === 'same_person' ? t('faceSame')
        : f.outcome === 'not_same_person' ? t('faceDifferent')
          : t('faceCouldNot', { why: dict().faceReasons[f.reason] || f.message || '' });
      res.append(strong);
      if (f.checked_at) {
        const when = document.createElement('span');
        when.className = 'when';
        when.textContent = t('sep') + t('faceAt', { time: fmtTime(new Date(f.checked_at * 1000)) });
        res.append(when);
      }
    }
    $('face-status').textContent = words(g.faceMsg);
    $('face-status').className = g.faceMsg && g.faceMsg.code ? 'error' : 'muted';
  }
  function toBase64(blob) {
    return new Promise((res, rej) => {
      const rd = new FileReader();
      rd.onload = () => res(String(rd.result).replace(/^data:[^,]*,/, ''));
      rd.onerror = () => rej(rd.error);
      rd.readAsDataURL(blob);
    });
  }
  // Three frames: enough to tell a live camera from a still picture and to outvote one bad
  // frame (the server decides on the lower median), and the check stays within 200 ms on a
  // 2-core desk PC (crates/verify/benches/face_check.rs). 640 px is what the server's models
  // work at; larger frames would only cost upload time.
  const FACE_FRAMES = 3;
  async function captureFace() {
    const opened = !S.camera;
    const cam = await openCamera();
    if (!cam) return null;
    cam.paused = true; // a code-reading loop on the same stream waits meanwhile
    try {
      if (opened) await sleep(500); // a webcam just opened needs a moment for its exposure
      const canvas = document.createElement('canvas');
      const frames = [];
      for (let i = 0; i < FACE_FRAMES; i++) {
        if (i) await sleep(150);
        if (S.camera !== cam) return null;
        const blob = await grab(canvas, 640);
        if (!blob) return null;
        frames.push(await toBase64(blob));
      }
      return frames;
    } finally {
      cam.paused = false;
      if (opened) closeCamera();
    }
  }
  $('face-btn').addEventListener('click', async () => {
    const g = S.guest;
    if (!g || !g.verdict.verification || g.faceBusy) return;
    g.faceBusy = true; g.face = null; g.faceMsg = { key: 'faceLooking' }; renderFace();
    const path = '/api/face-check/' + encodeURIComponent(g.verdict.verification);
    // The server prepares the registry photo while the camera captures; the check then has
    // only the frames to judge. Its failures are the check's own, answered by the check.
    const prepared = api(path + '/reference', { method: 'POST' });
    const frames = await captureFace();
    await prepared;
    if (S.guest !== g) return;
    if (!frames) { g.faceBusy = false; g.faceMsg = { key: 'cameraDenied', code: 'camera' }; renderFace(); return; }
    g.faceMsg = { key: 'faceChecking' }; renderFace();
    const r = await api(path, { method: 'POST', json: { frames: frames } });
    if (S.guest !== g) return;
    g.faceBusy = false;
    if (r.ok) { g.face = r.body; g.faceMsg = null; } else { g.faceMsg = r.problem; }
    // A refusal for want of this check is answered by it: do not leave it on screen.
    if (g.checkinMsg && g.checkinMsg.code === 'face_check_required') { g.checkinMsg = null; renderCheckin(); }
    renderFace();
    armClear();
  });

  // ---- check-in ----
  function renderCheckin() {
    const g = S.guest;
    if (!g) return;
    const done = !!g.checkin;
    ['room', 'arrival', 'departure'].forEach((id) => { $(id).disabled = done; });
    const btn = $('checkin-btn');
    btn.disabled = done || g.checkinBusy;
    btn.textContent = done ? t('checkedInBtn') : g.checkinBusy ? t('checkingIn') : t('checkInBtn');
    $('checkin-form').dataset.done = done ? 'yes' : '';
    $('checkin-face-note').hidden = !S.session.require_face_match;
    const st = $('checkin-status');
    if (done) {
      const c = g.checkin;
      st.textContent = t('checkedIn', { room: c.room, arrival: fmtDate(c.arrival, 'short'), departure: fmtDate(c.departure, 'short'), id: c.id });
      st.className = 'notice ok';
    } else {
      st.textContent = words(g.checkinMsg);
      st.className = g.checkinMsg ? 'notice bad' : '';
    }
  }
  $('checkin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const g = S.guest;
    if (!g || !g.verdict.verification || g.checkin || g.checkinBusy) return;
    const req = { verification: g.verdict.verification, room: $('room').value, arrival: $('arrival').value, departure: $('departure').value };
    g.checkinBusy = true; g.checkinMsg = null; renderCheckin();
    const r = await api('/api/checkins', { method: 'POST', json: req });
    if (S.guest !== g) return;
    g.checkinBusy = false;
    if (r.ok) {
      g.checkin = { id: r.body.id, room: req.room.trim(), arrival: req.arrival, departure: req.departure };
      renderCheckin();
      focusScan();
    } else {
      g.checkinMsg = r.problem;
      renderCheckin();
    }
  });

  // ---- staff ----
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await api('/api/login', { method: 'POST', json: { name: $('login-name').value, password: $('login-password').value } });
    $('login-password').value = '';
    if (!r.ok) { S.loginMsg = r.problem; $('login-status').className = 'error'; renderSession(); return; }
    S.loginMsg = null;
    S.csrf = r.body.csrf; S.staff = r.body.staff;
    renderSession(); renderGuest();
    focusScan();
  });
  // The next person at the desk sees nothing of the last guest or the register.
  function loggedOut() {
    S.staff = null;
    clearGuest();
    S.registerRows = null; S.registerMsg = null;
    renderSession(); renderRegister();
  }
  $('logout').addEventListener('click', async () => {
    await api('/api/logout', { method: 'POST' });
    loggedOut();
    focusScan();
  });

  function renderRegister() {
    const body = document.querySelector('#register-table tbody');
    body.textContent = '';
    $('register-wrap').hidden = !S.registerRows || !S.registerRows.length;
    $('register-status').textContent = S.registerRows && !S.registerRows.length ? t('registerEmpty') : words(S.registerMsg);
    for (const g of S.registerRows || []) {
      const tr = document.createElement('tr');
      const face = g.face_check ? dict().faceShort[g.face_check] || g.face_check : '—';
      for (const v of [g.room, g.full_name, g.id_number, fmtDate(g.arrival, 'short'), fmtDate(g.departure, 'short'), face]) {
        const td = document.createElement('td'); td.textContent = v; tr.append(td);
      }
      body.append(tr);
    }
  }
  $('register-load').addEventListener('click', async () => {
    const r = await api('/api/checkins');
    S.registerRows = r.ok ? r.body : null;
    S.registerMsg = r.ok ? null : r.problem;
    renderRegister();
    armClear();
  });

  $('lang').addEventListener('click', () => {
    S.lang = S.lang === 'en' ? 'zh-CN' : 'en';
    localStorage.setItem('tessera.desk.lang', S.lang);
    render();
    focusScan();
  });

  S.lang = pickLang();
  render();
  // Focus the scan field once the session is known, unless the clerk has moved on already
  // (a scan typed meanwhile stays).
  loadSession().then(() => { if (!document.activeElement || document.activeElement === document.body) focusScan(); });
  setInterval(loadSession, 30000);
})();
