// Sign in with Tessera: a website asks (by a tessera:// link handed over by the desktop, or
// pasted here); the app fetches the request from its own issuer, which signed it, and shows
// who asks and exactly what they will receive. The person picks the number the sign-in page
// shows (when the link came from another device's page), approves (the upgraded tier after
// the PIN and a face check) or refuses.

import {
  type SignInView,
  cancelCapture,
  lockUpgraded,
  signInApprove,
  signInOpen,
  signInRefuse,
  signInScan,
  unlockUpgraded,
} from "../api";
import { ctx } from "../app";
import { createCapture } from "../capture";
import { button, h, replace, show } from "../dom";
import { errorBox, toUiError } from "../errors";
import { type Key, lang, t } from "../i18n";
import { type Screen, focusHeading, go } from "../router";
import { pinInput as pinField, setPinButton } from "./pin";

let offered: string | null = null;

/** A link the desktop handed over: the sign-in screen opens it when it is next shown. */
export function offerSignInLink(link: string): void {
  offered = link;
}

export function signIn(): Screen {
  let left = false;
  let capturing = false;
  let request: SignInView | null = null;
  let picked: number | null = null;

  const errors = h("div", { class: "errors" });
  const fail = (err: unknown): void => {
    const box = errorBox(err);
    replace(errors, box);
    box.focus();
  };

  // --- paste a link ---
  const linkInput = h("input", { id: "sign-in-link", class: "input", type: "text", autocomplete: "off", spellcheck: false });
  const linkForm = h(
    "form",
    { class: "form", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "sign-in-link" }, t("signIn.linkLabel")), linkInput),
    h("button", { id: "sign-in-open", type: "submit", class: "btn btn-primary btn-block" }, t("signIn.open")),
    button({ id: "sign-in-cancel", class: "btn btn-ghost btn-block" }, t("signIn.back"), () => go("home")),
  );
  // --- or scan the sign-in page's QR code (another device's screen) ---
  const canScan = ctx.info.frames === "camera" || ctx.info.frames === "photo";
  const scanPreview = h("img", { id: "scan-preview", class: "scan-preview", alt: "", width: 320, height: 240 });
  const scanStop = button({ id: "sign-in-scan-stop", class: "btn btn-ghost btn-block" }, t("signIn.scanCancel"), () => {
    cancelCapture().catch(() => undefined);
  });
  const scanning = h("div", { class: "stack", role: "status" }, h("p", {}, t("signIn.scanning")), scanPreview, scanStop);
  show(scanning, false);
  const scanBtn = canScan
    ? button({ id: "sign-in-scan", class: "btn btn-secondary btn-block" }, t("signIn.scan"), () => void scan())
    : null;
  const pasteView = h("div", { class: "stack" }, h("p", { class: "lead" }, t("signIn.pasteLead")), scanBtn, scanning, linkForm);

  const scan = async (): Promise<void> => {
    replace(errors);
    show(scanning, true);
    if (scanBtn) show(scanBtn, false);
    capturing = true;
    try {
      const link = await signInScan((e) => {
        if (e.event === "frame") scanPreview.src = `data:image/jpeg;base64,${e.jpeg}`;
      });
      capturing = false;
      if (!left) void open(link);
    } catch (err) {
      capturing = false;
      if (left) return;
      if (toUiError(err).kind !== "cancelled") fail(err);
    } finally {
      show(scanning, false);
      if (scanBtn) show(scanBtn, true);
      scanPreview.removeAttribute("src");
    }
  };
  const loadingView = h("div", { class: "stack" }, h("p", { class: "hint", role: "status" }, t("signIn.checking")));

  // --- consent ---
  const consentView = h("div", { class: "stack" });
  // --- upgraded: PIN and face ---
  const [pinRow, pinInput] = pinField("sign-in-pin", t("show.pinLabel"), "current-password");
  const unlockForm = h(
    "form",
    { class: "form", novalidate: true },
    pinRow,
    h("button", { id: "sign-in-unlock", type: "submit", class: "btn btn-primary btn-block" }, t("signIn.approve")),
  );
  const captureHolder = h("div", {});
  const unlockView = h(
    "div",
    { class: "stack" },
    h("h2", { id: "sign-in-unlock-title" }, t("signIn.unlockTitle")),
    h("p", { class: "lead" }, t("show.unlockLead")),
    unlockForm,
    captureHolder,
  );
  // --- outcome ---
  const doneView = h("div", { class: "stack" });

  const views = [pasteView, loadingView, consentView, unlockView, doneView];
  const view = (which: HTMLElement): void => {
    for (const v of views) show(v, v === which);
    focusHeading(which.querySelector("h2") ? which : el);
  };

  const name = (r: SignInView): string => (lang() === "zh-CN" && r.client_name_zh ? r.client_name_zh : r.client_name);

  const finish = (text: string): void => {
    replace(
      doneView,
      h("h2", { id: "sign-in-outcome" }, text),
      button({ id: "sign-in-done", class: "btn btn-primary btn-block" }, t("signIn.done"), () => go("home")),
    );
    view(doneView);
  };

  const approve = async (): Promise<void> => {
    if (!request) return;
    replace(errors);
    try {
      await signInApprove(request.request_id, picked);
      if (!left) finish(t("signIn.approved", { name: name(request) }));
    } catch (err) {
      if (!left) {
        view(consentView);
        fail(err);
      }
    }
  };

  const refuse = async (): Promise<void> => {
    if (!request) return;
    const r = request;
    try {
      await signInRefuse(r.request_id);
    } catch {
      // Already ended at the issuer: nothing is shared either way.
    }
    if (!left) finish(t("signIn.refused", { name: name(r) }));
  };

  const renderConsent = (r: SignInView): void => {
    picked = null;
    const approveBtn = button(
      { id: "sign-in-approve", class: "btn btn-primary btn-block", disabled: r.match_choices.length > 0 },
      t("signIn.approve"),
      () => (r.tier === "upgraded" ? openUnlock() : void approve()),
    );
    const choices =
      r.match_choices.length === 0
        ? null
        : h(
            "div",
            { class: "stack" },
            h("p", { id: "sign-in-pick-lead" }, t("signIn.pickLead")),
            h(
              "div",
              { class: "match-choices", role: "radiogroup", "aria-label": t("signIn.pickLabel") },
              ...r.match_choices.map((n) => {
                const b = button(
                  { id: `match-${n}`, class: "btn btn-secondary match-choice", role: "radio", "aria-checked": "false" },
                  String(n),
                  () => {
                    picked = n;
                    for (const other of b.parentElement?.querySelectorAll("button") ?? []) {
                      other.setAttribute("aria-checked", other === b ? "true" : "false");
                    }
                    approveBtn.disabled = false;
                  },
                );
                return b;
              }),
            ),
          );
    const claims =
      r.claims.length === 0
        ? [h("li", {}, t("signIn.onlyPseudonym"))]
        : r.claims.map((c) => h("li", { "data-claim": c.name }, t(`claim.${c.name}` as Key)));
    replace(
      consentView,
      h("h2", { id: "sign-in-asks" }, t("signIn.asks", { name: name(r) })),
      h("p", {}, t("signIn.willReceive")),
      h("ul", { id: "sign-in-claims", class: "claims" }, ...claims),
      r.tier === "upgraded" ? h("p", { class: "notice" }, t("signIn.upgradedNote")) : null,
      choices,
      h("p", { class: "hint" }, t("signIn.warn")),
      errors,
      approveBtn,
      button({ id: "sign-in-refuse", class: "btn btn-ghost btn-block" }, t("signIn.refuse"), () => void refuse()),
    );
    view(consentView);
  };

  const open = async (link: string): Promise<void> => {
    replace(errors);
    view(loadingView);
    try {
      request = await signInOpen(link.trim());
      if (!left) renderConsent(request);
    } catch (err) {
      if (left) return;
      view(pasteView);
      pasteView.prepend(errors);
      fail(err);
    }
  };

  linkForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void open(linkInput.value);
  });

  function openUnlock(): void {
    pinInput.value = "";
    replace(captureHolder);
    show(unlockForm, true);
    unlockView.prepend(errors);
    replace(errors);
    view(unlockView);
    pinInput.focus();
  }

  unlockForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const pin = pinInput.value;
    if (!/^\d{6}$/.test(pin)) {
      fail({ kind: "pin_format", message: "" });
      return;
    }
    replace(errors);
    capturing = true;
    let cancelled = false;
    const capture = createCapture(() => {
      cancelled = true;
      cancelCapture().catch(() => undefined);
    });
    replace(captureHolder, capture.el);
    show(unlockForm, false);
    unlockUpgraded(pin, capture.onEvent)
      .then(() => (left ? undefined : approve()))
      .catch((err: unknown) => {
        if (left) return;
        replace(captureHolder);
        show(unlockForm, true);
        pinInput.value = "";
        if (cancelled) {
          pinInput.focus();
          return;
        }
        fail(err);
        // No PIN set (an older install): the way to set one, instead of a dead end.
        if (toUiError(err).kind === "pin_not_set") errors.firstElementChild?.appendChild(setPinButton("home"));
      })
      .finally(() => {
        capturing = false;
      });
  });

  const el = h(
    "section",
    { class: "screen", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, t("signIn.title")),
    pasteView,
    loadingView,
    consentView,
    unlockView,
    doneView,
  );
  pasteView.prepend(errors);
  view(pasteView);
  if (offered) {
    const link = offered;
    offered = null;
    void open(link);
  }
  return {
    el,
    dispose: () => {
      left = true;
      if (capturing) cancelCapture().catch(() => undefined);
      lockUpgraded().catch(() => undefined);
    },
  };
}
