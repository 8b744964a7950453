// Runs inside the page (injected by harness.mjs before the app loads). A fake wallet behind
// the real mockIPC from @tauri-apps/api/mocks. Capture commands stream CaptureEvents over the
// command's real Channel via __TAURI_INTERNALS__.runCallback, the same path Rust's messages take.
// Config: window.__TESSERA_MOCK_CONFIG__ (see harness.mjs). Test hooks: window.__mock.
(() => {
  const cfg = window.__TESSERA_MOCK_CONFIG__;
  const { mockIPC } = window.__TAURI_MOCKS__;
  const overrides = JSON.parse(JSON.stringify(cfg.overrides || {}));
  const state = {
    info: cfg.info,
    settings: cfg.settings,
    status: cfg.status,
    history: cfg.history || [],
    calls: [],
    qrCount: 0,
    // The open showing ({ tier, linkable }) between show_begin and show_end.
    showing: null,
    pending: null,
    signInLink: cfg.signInLink || null,
    signIns: cfg.signIns || [],
    // The PIN as the wallet would check it: cfg.pin, or the one set through set_pin; null
    // while unknown (a status that says a PIN is set, with no cfg.pin: any 6 digits pass).
    pin: cfg.pin ?? null,
    pinFailures: 0,
  };

  // Emits one event on a Channel, with the index Channel uses to keep order.
  function send(pending) {
    const message = pending.events[pending.index];
    window.__TAURI_INTERNALS__.runCallback(pending.channelId, { index: pending.index, message });
    pending.index += 1;
  }

  function channelId(arg) {
    // The Channel object itself reaches the mock (no serialisation); its id is the callback id.
    return arg && typeof arg.id === "number" ? arg.id : null;
  }

  // Streams `events`, then resolves with complete(). With manual, the test drives it.
  function capture(args, events, complete, manual) {
    const pending = { channelId: channelId(args.onEvent), events, index: 0 };
    if (pending.channelId === null) throw { kind: "internal", message: "mock: no onEvent channel" };
    return new Promise((resolve, reject) => {
      pending.resolve = () => {
        try {
          resolve(complete());
        } catch (e) {
          reject(e);
        }
      };
      pending.reject = reject;
      if (manual) {
        state.pending = pending;
        return;
      }
      const delay = cfg.eventDelay ?? 5;
      const step = () => {
        if (pending.index < events.length) {
          send(pending);
          setTimeout(step, delay);
        } else {
          pending.resolve();
        }
      };
      setTimeout(step, delay);
    });
  }

  // crates/wallet/src/pin.rs: 3 free tries, then a wait; a right PIN clears the count. The
  // messages are PinError's (Display), the kinds src-tauri/src/error.rs's.
  const FREE_TRIES = 3;
  function verifyPin(given) {
    if (state.pinFailures >= FREE_TRIES) throw { kind: "pin_locked", message: "too many wrong PINs: try again in 30 s", seconds: 30 };
    if (!state.status.pin_set) throw { kind: "pin_not_set", message: "no PIN is set" };
    const ok = /^\d{6}$/.test(given) && (state.pin === null || given === state.pin);
    if (ok) {
      state.pinFailures = 0;
      return;
    }
    state.pinFailures += 1;
    throw { kind: "wrong_pin", message: "wrong PIN", remaining: Math.max(0, FREE_TRIES - state.pinFailures) };
  }
  // `authorise`: nothing to check before a PIN is set; then it is required and verified.
  function authorise(given) {
    if (!state.status.pin_set) return;
    if (!given) throw { kind: "pin_required", message: "enter the current PIN to do this" };
    verifyPin(given);
  }

  function qr(tier) {
    state.qrCount += 1;
    const n = state.qrCount;
    const now = state.status.now + (n - 1) * 30;
    // A comment per call so each QR's bytes differ, as real (fresh-nonce) QRs do.
    const svg = cfg.qrVary ? cfg.qrSvg.replace("</svg>", `<!-- ${n} --></svg>`) : cfg.qrSvg;
    return { tier, svg, expires_at: now + 60, now, linkable: state.showing ? state.showing.linkable : false };
  }

  const defaults = {
    app_info: () => state.info,
    settings_get: () => state.settings,
    // As the wallet core: once a PIN is set, changing the issuer address, changing the PIN and
    // removing a held ID need it (crates/wallet/src/pin.rs `authorise`).
    settings_set: (a) => {
      if (a.settings.issuer_url !== state.settings.issuer_url) authorise(a.pin);
      return (state.settings = a.settings);
    },
    wallet_status: () => state.status,
    check_id_number: () => null,
    use_demo_recording: () => (state.info = { ...state.info, frames: "demo_recording" }),
    use_photo: () => (state.info = { ...state.info, frames: "photo" }),
    enrol: (a, spec) =>
      capture(a, cfg.captureEvents, () => (state.status = { ...cfg.enrolledStatus }), spec.manual),
    // `change_pin`: the current PIN first (when one is set), then the new one's format. The
    // weak-PIN policy is not modelled (tests send pin_weak through overrides).
    set_pin: (a) => {
      authorise(a.currentPin);
      if (!/^\d{6}$/.test(a.pin)) throw { kind: "pin_format", message: "the PIN is 6 digits" };
      state.pin = a.pin;
      return (state.status = { ...state.status, pin_set: true });
    },
    unlock_upgraded: (a, spec) => {
      verifyPin(a.pin);
      return capture(
        a,
        cfg.captureEvents,
        () => {
          state.unlocked = true;
          return { valid_until: state.status.now + 300 };
        },
        spec.manual,
      );
    },
    // As src-tauri/src/commands.rs: a showing uses one credential (cfg.linkable: it had been
    // shown before) and adds one history entry; show_qr regenerates within it.
    show_begin: (a) => {
      if (a.tier === "upgraded" && !state.unlocked)
        throw { kind: "unlock_expired", message: "the upgraded tier needs the PIN and a fresh face check" };
      state.showing = { tier: a.tier, linkable: !!cfg.linkable };
      state.history.push({ at: state.status.now, tier: a.tier, ...(cfg.linkable ? { linkable: true } : {}) });
      return qr(a.tier);
    },
    show_qr: (a) => {
      if (!state.showing || state.showing.tier !== a.tier)
        throw { kind: "showing_ended", message: `no showing of the ${a.tier} tier is open` };
      return qr(a.tier);
    },
    show_end: () => {
      state.showing = null;
      return null;
    },
    lock_upgraded: () => {
      state.unlocked = false;
      return null;
    },
    renew: (a, spec) => {
      // crates/wallet renew_with_pin: with TPM keys and a PIN set, the PIN is needed (checked
      // by the TPM before anything else); with software keys it is not asked for.
      if (state.status.keys === "tpm" && state.status.pin_set) {
        if (!a.pin) throw { kind: "unlock_expired", message: "this wallet's keys are in the TPM with the PIN: renewing needs the PIN" };
        verifyPin(a.pin);
      }
      return capture(
        a,
        cfg.captureEvents,
        () =>
          (state.status = {
            ...state.status,
            state: "active",
            tiers: ["age_only", "lightweight", "upgraded"],
            expires_at: state.status.now + 365 * 86400,
          }),
        spec.manual,
      );
    },
    cancel_capture: () => {
      // As WalletError::Cancelled reaches the UI.
      if (state.pending) state.pending.reject({ kind: "cancelled", message: "the capture was cancelled" });
      state.pending = null;
      return null;
    },
    history: () => state.history,
    // Sign in with Tessera: a link handed over once (cfg.signInLink), the request it names
    // (cfg.signInView), approvals recorded in the sign-in history.
    sign_in_pending: () => {
      const link = state.signInLink;
      state.signInLink = null;
      return link;
    },
    sign_in_open: (a) => {
      if (!String(a.link).startsWith("tessera://sign-in?"))
        throw { kind: "sign_in_link", message: "not a Tessera sign-in link" };
      return cfg.signInView;
    },
    sign_in_approve: (a) => {
      const v = cfg.signInView;
      if (v.match_choices.length && a.matchCode !== cfg.signInMatchCode)
        throw { kind: "wrong_match_code", message: "the number picked is not the one the page shows" };
      const record = { at: state.status.now, client_name: v.client_name, client_id: "rp_demo", claims: v.claims.map((c) => c.name), tier: v.tier };
      state.signIns.push(record);
      return record;
    },
    sign_in_refuse: () => null,
    sign_in_scan: () => {
      if (!cfg.signInScanned) throw { kind: "no_sign_in_code", message: "no Tessera sign-in QR code was found" };
      return cfg.signInScanned;
    },
    sign_in_history: () => state.signIns,
    remove_id: (a) => {
      if (state.status.state !== "not_enrolled") authorise(a.pin);
      state.pin = null;
      return (state.status = {
        ...state.status,
        state: "not_enrolled",
        tiers: [],
        expires_at: null,
        masked_name: null,
        masked_id_number: null,
        pin_set: false,
      });
    },
  };

  mockIPC(async (cmd, args) => {
    state.calls.push({ cmd, args: args ? JSON.parse(JSON.stringify(args)) : null });
    const queue = overrides[cmd];
    const spec = (queue && queue.length ? queue.shift() : null) || {};
    if (spec.events) {
      const id = channelId(args && args.onEvent);
      for (let i = 0; i < spec.events.length; i++) {
        await new Promise((r) => setTimeout(r, cfg.eventDelay ?? 5));
        window.__TAURI_INTERNALS__.runCallback(id, { index: i, message: spec.events[i] });
      }
    }
    if (spec.hang) return new Promise(() => {});
    if (spec.error) throw spec.error;
    if ("ok" in spec) return spec.ok;
    const fn = defaults[cmd];
    if (!fn) throw { kind: "internal", message: `mock: unknown command ${cmd}` };
    return fn(args || {}, spec);
  });

  window.__mock = {
    state,
    calls: (cmd) => state.calls.filter((c) => !cmd || c.cmd === cmd),
    /** Sends the next n events of a manual capture. */
    next(n = 1) {
      for (let i = 0; i < n && state.pending && state.pending.index < state.pending.events.length; i++) {
        send(state.pending);
      }
    },
    /** Sends what is left and completes the manual capture. */
    finish() {
      const p = state.pending;
      if (!p) throw new Error("no manual capture pending");
      while (p.index < p.events.length) send(p);
      state.pending = null;
      p.resolve();
    },
  };
})();
