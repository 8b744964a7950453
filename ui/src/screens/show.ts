// Showing the ID: pick a tier; the upgraded tier needs the PIN and a face check first. One
// showing lasts from opening a tier's QR until closing it: its QR is regenerated every 30 s
// from the same one-time credential, and ending it lets the app refill fresh ones in the
// background. Nothing here touches the network.

import { type ShownQr, type Tier, cancelCapture, lockUpgraded, showBegin, showEnd, showQr, unlockUpgraded } from "../api";
import { ctx } from "../app";
import { createCapture } from "../capture";
import { button, h, replace, show } from "../dom";
import { errorBox, toUiError } from "../errors";
import { t } from "../i18n";
import { REFRESH_SECONDS, svgDataUrl } from "../qr";
import { type Screen, focusHeading, go } from "../router";
import { clockWarning } from "./home";
import { pinInput as pinField, setPinButton } from "./pin";

export function showScreen(): Screen {
  let tier: Tier | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let capturing = false;
  let left = false;
  // A showing is open in Rust (begun, not yet ended).
  let showing = false;

  const tierButton = (id: Tier, desc: string): HTMLButtonElement =>
    button(
      {
        id: `tier-${id}`,
        class: "tier",
        disabled: !ctx.status.tiers.includes(id),
        "aria-describedby": `tier-${id}-desc`,
      },
      [h("span", { class: "tier-name" }, t(`tier.${id}`)), h("span", { id: `tier-${id}-desc`, class: "tier-desc" }, desc)],
      () => (id !== "upgraded" ? startQr(id) : ctx.status.pin_set ? openUnlock() : view(noPinView)),
    );

  const pickView = h(
    "div",
    { class: "stack" },
    h("p", { class: "lead" }, t("show.lead")),
    clockWarning(),
    h(
      "div",
      { class: "tiers", role: "group", "aria-label": t("show.pickLabel") },
      tierButton("age_only", t("show.ageOnlyDesc")),
      tierButton("lightweight", t("show.lightweightDesc")),
      tierButton("upgraded", t("show.upgradedDesc")),
    ),
    button({ id: "show-back", class: "btn btn-ghost btn-block" }, t("show.back"), () => go("home")),
  );

  // --- unlocking the upgraded tier: PIN, then face check ---
  const [pinRow, pinInput] = pinField("unlock-pin", t("show.pinLabel"), "current-password");
  const unlockErrors = h("div", { class: "errors" });
  const unlockSubmit = h("button", { id: "unlock-submit", type: "submit", class: "btn btn-primary btn-block" }, t("show.unlock"));
  const unlockForm = h(
    "form",
    { class: "form", novalidate: true },
    pinRow,
    unlockSubmit,
    button({ id: "unlock-back", class: "btn btn-ghost btn-block" }, t("show.back"), () => view(pickView)),
  );
  const captureHolder = h("div", {});
  const unlockView = h(
    "div",
    { class: "stack" },
    h("h2", { id: "unlock-title" }, t("show.unlockTitle")),
    h("p", { class: "lead" }, t("show.unlockLead")),
    unlockErrors,
    unlockForm,
    captureHolder,
  );

  // --- no PIN set (an older install): full details lead to setting one, then back here ---
  const noPinView = h(
    "div",
    { class: "stack" },
    h("h2", { id: "no-pin-title" }, t("show.unlockTitle")),
    h("div", { class: "notice notice-warn", id: "no-pin" }, h("p", {}, t("show.pinNeeded"))),
    setPinButton("show"),
    button({ id: "no-pin-back", class: "btn btn-ghost btn-block" }, t("show.back"), () => view(pickView)),
  );

  // --- the QR ---
  const qrImg = h("img", { id: "qr", class: "qr-img", alt: "", width: 320, height: 320 });
  const qrTitle = h("h2", { id: "qr-title" });
  // Offline with no fresh credential left, the code reuses one shown before (announced through
  // `announce` below: a live region that was hidden is not reliably read out).
  const linkableNote = h(
    "div",
    { id: "qr-linkable", class: "notice notice-warn", hidden: true },
    h("p", {}, t("show.linkable")),
    h("p", { class: "hint" }, t("show.linkableHint")),
  );
  const countdown = h("p", { id: "qr-countdown", class: "countdown", "aria-live": "off" }, t("show.making"));
  // Announces a new code once per regeneration; the per-second countdown stays silent.
  const announce = h("p", { id: "qr-announce", class: "sr-only", "aria-live": "polite" });
  const qrErrors = h("div", { class: "errors" });
  const qrFrame = h("div", { class: "qr-frame" }, qrImg);
  const qrView = h(
    "div",
    { class: "stack qr-view" },
    qrTitle,
    linkableNote,
    qrFrame,
    h("p", { class: "hint center" }, t("show.qrHelp")),
    countdown,
    announce,
    qrErrors,
    button({ id: "qr-close", class: "btn btn-secondary btn-block" }, t("show.close"), () => close()),
  );

  const views = [pickView, unlockView, noPinView, qrView];
  const view = (which: HTMLElement): void => {
    for (const v of views) show(v, v === which);
    focusHeading(which.querySelector("h2") ? which : el);
  };

  const stopTimer = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };

  const fail = (where: HTMLElement, err: unknown): HTMLElement => {
    const box = errorBox(err);
    replace(where, box);
    box.focus();
    return box;
  };

  // Regenerates REFRESH_SECONDS after the QR was made. ShownQr.now is on the app's clock,
  // which may differ from the webview's, so the interval is measured locally from receipt.
  const schedule = (): void => {
    const refreshAt = Date.now() + REFRESH_SECONDS * 1000;
    const tick = (): void => {
      const left = Math.ceil((refreshAt - Date.now()) / 1000);
      if (left <= 0) {
        void makeQr(true);
        return;
      }
      countdown.textContent = t("show.countdown", { n: left });
      timer = setTimeout(tick, 1000);
    };
    tick();
  };

  const showLinkable = (linkable: boolean): void => {
    if (linkable === !linkableNote.hidden) return;
    show(linkableNote, linkable);
    if (linkable) announce.textContent = t("show.linkable");
  };

  const endShowing = (): void => {
    if (!showing) return;
    showing = false;
    showEnd().catch(() => undefined);
  };

  // The first QR of a showing begins it; later ones (and a retry) come from the same one.
  const makeQr = async (again: boolean): Promise<void> => {
    stopTimer();
    const want = tier;
    if (!want) return;
    try {
      let qr: ShownQr;
      if (showing) {
        qr = await showQr(want);
      } else {
        qr = await showBegin(want);
        showing = true;
        if (left) endShowing();
      }
      if (left || tier !== want) return;
      showLinkable(qr.linkable);
      qrImg.src = svgDataUrl(qr.svg);
      qrImg.alt = t("show.qrAlt", { tier: t(`tier.${want}`) });
      qrFrame.dataset.ready = "true";
      replace(qrErrors);
      if (again) {
        announce.textContent = "";
        announce.textContent = t("show.regenerated");
      }
      schedule();
    } catch (err) {
      if (left) return;
      const e = toUiError(err);
      if (e.kind === "showing_ended") showing = false;
      qrFrame.dataset.ready = "false";
      qrImg.removeAttribute("src");
      countdown.textContent = "";
      if (want === "upgraded" && (e.kind === "unlock_expired" || e.kind === "wrong_pin" || e.kind === "pin_locked")) {
        // The unlock lapsed: back to the PIN, with the reason shown there.
        openUnlock();
        fail(unlockErrors, e);
        return;
      }
      const box = fail(qrErrors, e);
      box.appendChild(button({ id: "qr-retry", class: "btn btn-secondary" }, t("app.retry"), () => void makeQr(false)));
    }
  };

  const startQr = (which: Tier): void => {
    // A new showing (Rust ends one still open of another tier).
    showing = false;
    tier = which;
    qrTitle.textContent = t(`show.heading.${which}`);
    showLinkable(false);
    countdown.textContent = t("show.making");
    view(qrView);
    void makeQr(false);
  };

  function openUnlock(): void {
    stopTimer();
    endShowing();
    tier = null;
    pinInput.value = "";
    replace(unlockErrors);
    replace(captureHolder);
    show(unlockForm, true);
    view(unlockView);
    pinInput.focus();
  }

  unlockForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const pin = pinInput.value;
    if (!/^\d{6}$/.test(pin)) {
      fail(unlockErrors, { kind: "pin_format", message: "" });
      return;
    }
    replace(unlockErrors);
    capturing = true;
    let cancelled = false;
    unlockSubmit.disabled = true;
    const capture = createCapture(() => {
      cancelled = true;
      cancelCapture().catch(() => undefined);
    });
    replace(captureHolder, capture.el);
    show(unlockForm, false);
    focusHeading(captureHolder);
    unlockUpgraded(pin, capture.onEvent)
      .then(() => {
        if (!left) startQr("upgraded");
      })
      .catch((err: unknown) => {
        if (left) return;
        replace(captureHolder);
        show(unlockForm, true);
        pinInput.value = "";
        if (cancelled) pinInput.focus();
        else if (toUiError(err).kind === "pin_not_set") view(noPinView);
        else fail(unlockErrors, err);
      })
      .finally(() => {
        capturing = false;
        unlockSubmit.disabled = false;
      });
  });

  const lockIfUpgraded = (): void => {
    if (tier === "upgraded") lockUpgraded().catch(() => undefined);
  };

  const close = (): void => {
    stopTimer();
    endShowing();
    lockIfUpgraded();
    tier = null;
    go("home");
  };

  const el = h(
    "section",
    { class: "screen", "aria-labelledby": "show-title" },
    h("h1", { id: "show-title" }, t("show.title")),
    pickView,
    unlockView,
    noPinView,
    qrView,
  );
  show(unlockView, false);
  show(noPinView, false);
  show(qrView, false);

  return {
    el,
    dispose: () => {
      left = true;
      stopTimer();
      endShowing();
      lockIfUpgraded();
      if (capturing) cancelCapture().catch(() => undefined);
    },
  };
}
