// The front-desk page: three ways in (USB scanner typing into the focused field, image
// upload, webcam frames sent to the desk server, which decodes them with rxing), the
// verdict, the registry photo, check-in, staff login and the register. It never holds the
// issuer API key and never keeps QR texts.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const S = { csrf: '', staff: null, lang: 'en', last: null, camera: null };

  function pickLang() {
    const saved = localStorage.getItem('tessera.desk.lang');
    if (saved === 'en' || saved === 'zh-CN') return saved;
    return (navigator.language || '').toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
  }
  function t(key, vars) {
    const dict = window.TESSERA_I18N[S.lang];
    let s = dict[key] !== undefined ? dict[key] : window.TESSERA_I18N.en[key] || key;
    for (const k in vars || {}) s = s.replace('{' + k + '}', vars[k]);
    return s;
  }
  function reason(code, fallback) {
    const r = window.TESSERA_I18N[S.lang].reasons[code];
    return r || fallback || code;
  }
  function applyLang() {
    document.documentElement.lang = S.lang;
    document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
    $('lang').textContent = t('lang');
    document.title = t('title');
    renderSession();
    if (S.last) showVerdict(S.last);
  }

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
    S.csrf = r.body.csrf; S.staff = r.body.staff; S.session = r.body;
    renderSession();
  }
  function renderSession() {
    const s = S.session || {};
    $('cache').textContent = s.cache_age === null || s.cache_age === undefined ? t('noCache') : t('cacheLine', { n: s.cache_age });
    $('who').textContent = S.staff ? t('loggedInAs', { name: S.staff }) : '';
    $('logout').hidden = !S.staff;
    $('login-form').hidden = !!S.staff;
    $('register').hidden = !S.staff;
  }

  function fact(dl, label, value, testid) {
    const dt = document.createElement('dt'); dt.textContent = label;
    const dd = document.createElement('dd'); dd.textContent = value;
    if (testid) dd.dataset.field = testid;
    dl.append(dt, dd);
  }
  function showVerdict(v) {
    S.last = v;
    const box = $('verdict');
    box.hidden = false;
    box.className = v.valid ? 'valid' : 'invalid';
    box.dataset.code = v.code;
    $('verdict-banner').textContent = v.valid ? t('valid') : t('invalid');
    $('verdict-reason').textContent = reason(v.code, v.message || v.detail);
    const facts = $('verdict-facts'); facts.textContent = '';
    const claims = $('verdict-claims'); claims.textContent = '';
    if (v.tier) fact(facts, t('tier'), t(v.tier), 'tier');
    if (v.proof_age !== undefined && v.proof_age !== null) fact(facts, t('proofAge'), t('secondsAgo', { n: v.proof_age }), 'proof-age');
    if (v.status) fact(facts, t('status'), v.status === 'valid' ? t('statusValid') : t('statusNotChecked'), 'status');
    if (v.cache_age !== undefined && v.cache_age !== null) fact(facts, t('cacheAge'), t('secondsAgo', { n: v.cache_age }), 'cache-age');
    const c = v.claims;
    if (c && c.tier === 'lightweight') {
      fact(claims, t('maskedName'), c.masked_name, 'name');
      fact(claims, t('maskedIdNumber'), c.masked_id_number, 'id-number');
      fact(claims, t('ageOver18'), c.age_over_18 ? t('yes') : t('no'), 'over-18');
    } else if (c && c.tier === 'upgraded') {
      fact(claims, t('fullName'), c.full_name, 'name');
      fact(claims, t('idNumber'), c.id_number, 'id-number');
      fact(claims, t('dateOfBirth'), c.date_of_birth, 'date-of-birth');
      fact(claims, t('gender'), t(c.gender), 'gender');
    }
    $('portrait-box').hidden = !(v.portrait && S.staff);
    $('checkin-form').hidden = !(v.verification && S.staff);
  }
  function showProblem(p) {
    showVerdict({ valid: false, code: p.code || 'internal', detail: p.detail });
  }

  function rearm() {
    $('scan').value = '';
    $('scan').focus();
  }

  async function verifyText(text) {
    $('scan-status').textContent = t('working');
    const r = await api('/api/verify', { method: 'POST', json: { text: text } });
    $('scan-status').textContent = '';
    if (r.ok) showVerdict(r.body); else showProblem(r.problem);
    rearm();
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
    if (text.trim()) verifyText(text);
  });
  $('upload').addEventListener('change', async () => {
    const f = $('upload').files[0];
    $('upload').value = '';
    if (!f) return;
    const v = await verifyImage(f);
    if (v) showVerdict(v);
    rearm();
  });

  async function startCamera() {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
    } catch (e) { $('scan-status').textContent = t('cameraDenied'); return; }
    const video = $('camera');
    video.srcObject = stream; video.hidden = false;
    await video.play();
    $('camera-start').hidden = true; $('camera-stop').hidden = false;
    $('scan-status').textContent = t('cameraLooking');
    const canvas = document.createElement('canvas');
    S.camera = { stream: stream, running: true };
    const cam = S.camera;
    // One frame in flight at a time: the next is grabbed when the verdict for this one is in.
    while (cam.running) {
      if (video.videoWidth) {
        canvas.width = video.videoWidth; canvas.height = video.videoHeight;
        canvas.getContext('2d').drawImage(video, 0, 0);
        const blob = await new Promise((res) => canvas.toBlob(res, 'image/jpeg', 0.9));
        if (!cam.running) break;
        const v = blob ? await verifyImage(blob) : null;
        if (v && v.code !== 'no_qr_code') { stopCamera(); showVerdict(v); rearm(); break; }
        if (!v) { stopCamera(); break; }
      }
      await new Promise((res) => setTimeout(res, 150));
    }
  }
  function stopCamera() {
    if (!S.camera) return;
    S.camera.running = false;
    S.camera.stream.getTracks().forEach((tr) => tr.stop());
    S.camera = null;
    $('camera').hidden = true; $('camera-start').hidden = false; $('camera-stop').hidden = true;
    $('scan-status').textContent = '';
  }
  $('camera-start').addEventListener('click', startCamera);
  $('camera-stop').addEventListener('click', stopCamera);

  $('portrait-btn').addEventListener('click', async () => {
    if (!S.last || !S.last.verification) return;
    $('portrait-status').textContent = t('portraitLoading');
    const r = await api('/api/portrait/' + encodeURIComponent(S.last.verification));
    if (!r.ok) { $('portrait-status').textContent = reason(r.problem.code, r.problem.detail); return; }
    const blob = await r.response.blob();
    const img = $('portrait');
    if (img.src) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(blob); img.hidden = false;
    $('portrait-status').textContent = '';
  });

  $('checkin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await api('/api/checkins', { method: 'POST', json: {
      verification: S.last.verification, room: $('room').value,
      arrival: $('arrival').value, departure: $('departure').value } });
    $('checkin-status').textContent = r.ok ? t('checkedIn', { id: r.body.id }) : reason(r.problem.code, r.problem.detail);
    $('checkin-status').className = r.ok ? '' : 'error';
    if (r.ok) $('checkin-form').dataset.done = 'yes';
  });

  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await api('/api/login', { method: 'POST', json: { name: $('login-name').value, password: $('login-password').value } });
    $('login-password').value = '';
    if (!r.ok) { $('login-status').textContent = reason(r.problem.code, r.problem.detail); $('login-status').className = 'error'; return; }
    $('login-status').textContent = '';
    S.csrf = r.body.csrf; S.staff = r.body.staff;
    renderSession();
    if (S.last) showVerdict(S.last);
    rearm();
  });
  $('logout').addEventListener('click', async () => {
    await api('/api/logout', { method: 'POST' });
    S.staff = null; renderSession();
    if (S.last) showVerdict(S.last);
  });

  $('register-load').addEventListener('click', async () => {
    const r = await api('/api/checkins');
    const body = document.querySelector('#register-table tbody');
    body.textContent = '';
    if (!r.ok) { $('register-status').textContent = reason(r.problem.code, r.problem.detail); return; }
    $('register-status').textContent = r.body.length ? '' : t('registerEmpty');
    for (const g of r.body) {
      const tr = document.createElement('tr');
      for (const v of [g.room, g.full_name, g.id_number, g.arrival, g.departure]) {
        const td = document.createElement('td'); td.textContent = v; tr.append(td);
      }
      body.append(tr);
    }
  });

  $('lang').addEventListener('click', () => {
    S.lang = S.lang === 'en' ? 'zh-CN' : 'en';
    localStorage.setItem('tessera.desk.lang', S.lang);
    applyLang();
  });

  S.lang = pickLang();
  applyLang();
  loadSession().then(() => { rearm(); });
  setInterval(loadSession, 30000);
})();
