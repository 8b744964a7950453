// Language (applied at once), issuer address, the PIN (changed with the current one), removing
// the ID, and the version.

import { appInfo, removeId, settingsSet } from "../api";
import { ctx } from "../app";
import { applyLanguage } from "../chrome";
import { button, h, replace, show } from "../dom";
import { errorBox } from "../errors";
import { t } from "../i18n";
import { type Screen, go } from "../router";
import { pinForm, pinInput, setPinButton } from "./pin";

function validIssuer(url: string): boolean {
  if (url === "") return true;
  try {
    const u = new URL(url);
    return u.protocol === "https:" || u.protocol === "http:";
  } catch {
    return false;
  }
}

/** The PIN panel: "Change PIN" opens the form (current PIN, new PIN twice) in place; a
 *  change says so when it is done. With no PIN set (an older install), the way to set one. */
function pinPanel(pinSet: boolean): HTMLElement {
  const title = h("h2", { id: "pin-section-title" }, t("settings.pinTitle"));
  const panel = (...children: HTMLElement[]): HTMLElement =>
    h("section", { class: "panel", "aria-labelledby": "pin-section-title" }, title, ...children);
  if (!pinSet) return panel(h("p", { class: "hint" }, t("settings.noPin")), setPinButton("settings"));

  // Said where focus goes once the PIN is changed (a status region that was hidden until
  // then would not be announced).
  const done = h("p", { class: "saved", id: "pin-changed", tabindex: -1 });
  const changeBtn = button({ id: "change-pin", class: "btn btn-secondary btn-block" }, t("settings.changePin"), () => open(true));
  const cancel = button({ id: "pin-cancel", class: "btn btn-ghost btn-block" }, t("pin.cancel"), () => {
    open(false);
    changeBtn.focus();
  });
  const change = pinForm(
    true,
    () => {
      open(false);
      done.textContent = t("pin.changed");
      show(done, true);
      done.focus();
    },
    cancel,
  );
  const box = h("div", { id: "pin-change", class: "stack" }, h("p", { class: "hint" }, t("pin.changeLead")), change.form);
  const open = (opening: boolean): void => {
    change.clear();
    show(box, opening);
    show(changeBtn, !opening);
    show(done, false);
    if (opening) box.querySelector<HTMLInputElement>("#pin-current")?.focus();
  };
  show(done, false);
  show(box, false);
  return panel(done, changeBtn, box);
}

export function settings(): Screen {
  let left = false;

  // --- language ---
  const langSelect = h(
    "select",
    { id: "lang-select", class: "input" },
    h("option", { value: "" }, t("settings.langSystem")),
    h("option", { value: "zh-CN", lang: "zh-CN" }, t("settings.langZh")),
    h("option", { value: "en", lang: "en" }, t("settings.langEn")),
  );
  langSelect.value = ctx.settings.language ?? "";
  langSelect.addEventListener("change", () => {
    const v = langSelect.value;
    const language = v === "zh-CN" || v === "en" ? v : null;
    const before = ctx.settings;
    ctx.settings = { ...ctx.settings, language };
    applyLanguage(); // rebuilds this screen in the new language
    document.getElementById("lang-select")?.focus();
    settingsSet(ctx.settings).catch((err: unknown) => {
      ctx.settings = before;
      // This screen was rebuilt by applyLanguage; show the error in the new one.
      const where = document.querySelector("[data-screen=settings] .lang-errors");
      if (where) replace(where, errorBox(err));
    });
  });

  // --- issuer ---
  const issuer = h("input", {
    id: "issuer-url",
    class: "input",
    type: "url",
    inputmode: "url",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "https://",
    "aria-describedby": "issuer-hint issuer-now",
  });
  issuer.value = ctx.settings.issuer_url ?? "";
  const issuerNow = h("p", { id: "issuer-now", class: "hint break" });
  const renderIssuerNow = (): void => {
    replace(
      issuerNow,
      t("settings.issuerNow", { url: ctx.info.issuer_url }),
      ctx.info.demo_issuer ? h("span", { class: "demo-badge demo-inline", id: "issuer-demo" }, t("settings.issuerDemo")) : null,
    );
  };
  renderIssuerNow();
  // Once a PIN is set, the wallet changes the issuer address only with it: the address decides
  // where the face and ID number go at enrolment and renewal.
  const pinSet = ctx.status.pin_set;
  const [issuerPinField, issuerPin] = pinInput("settings-pin", t("settings.pin"), "current-password");
  issuerPin.required = false;
  const saveStatus = h("div", { class: "errors", role: "status" });
  const save = h("button", { id: "settings-save", type: "submit", class: "btn btn-primary" }, t("settings.save"));
  const form = h(
    "form",
    { class: "form", novalidate: true },
    h(
      "div",
      { class: "field" },
      h("label", { for: "lang-select" }, t("settings.language")),
      langSelect,
      h("div", { class: "errors lang-errors" }),
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "issuer-url" }, t("settings.issuer")),
      issuer,
      h("p", { id: "issuer-hint", class: "hint" }, t("settings.issuerHint")),
      issuerNow,
    ),
    pinSet ? issuerPinField : null,
    saveStatus,
    save,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const url = issuer.value.trim();
    if (!validIssuer(url)) {
      issuer.setAttribute("aria-invalid", "true");
      const box = errorBox({ kind: "invalid_input", message: "" });
      box.querySelector(".alert-text")!.textContent = t("settings.issuerInvalid");
      replace(saveStatus, box);
      issuer.focus();
      return;
    }
    issuer.removeAttribute("aria-invalid");
    save.disabled = true;
    settingsSet({ language: ctx.settings.language, issuer_url: url === "" ? null : url }, issuerPin.value || undefined)
      .then(async (saved) => {
        ctx.settings = saved;
        issuerPin.value = "";
        ctx.info = await appInfo(); // the issuer in use may have changed
        if (left) return;
        renderIssuerNow();
        replace(saveStatus, h("p", { class: "saved" }, t("settings.saved")));
      })
      .catch((err: unknown) => {
        if (!left) replace(saveStatus, errorBox(err));
      })
      .finally(() => {
        save.disabled = false;
      });
  });

  // --- PIN: changed here, with the current one (set_pin refuses a change without it) ---
  const pinSection = ctx.status.state === "not_enrolled" ? null : pinPanel(pinSet);

  // --- remove ---
  const removeErrors = h("div", { class: "errors" });
  const [removePinField, removePin] = pinInput("remove-pin", t("settings.removePin"), "current-password");
  const confirmBox = h(
    "div",
    { class: "notice notice-danger", id: "remove-confirm-box" },
    h("p", { id: "remove-explain", tabindex: -1 }, t("settings.removeExplain")),
    pinSet ? removePinField : null,
    h(
      "div",
      { class: "row" },
      button({ id: "remove-confirm", class: "btn btn-danger" }, t("settings.removeConfirm"), () => {
        removeId(removePin.value || undefined)
          .then((status) => {
            ctx.status = status;
            go("welcome");
          })
          .catch((err: unknown) => {
            if (!left) replace(removeErrors, errorBox(err));
          });
      }),
      button({ id: "remove-cancel", class: "btn btn-ghost" }, t("settings.removeCancel"), () => {
        show(confirmBox, false);
        removeBtn.focus();
      }),
    ),
  );
  show(confirmBox, false);
  const removeBtn = button({ id: "remove-id", class: "btn btn-danger-outline btn-block" }, t("settings.remove"), () => {
    show(confirmBox, true);
    confirmBox.querySelector<HTMLElement>("#remove-explain")?.focus();
  });
  const removeSection =
    ctx.status.state === "not_enrolled"
      ? null
      : h(
          "section",
          { class: "panel", "aria-labelledby": "remove-title" },
          h("h2", { id: "remove-title" }, t("settings.removeTitle")),
          removeBtn,
          confirmBox,
          removeErrors,
        );

  // --- where the device keys are (issue 15) ---
  const s = ctx.status;
  const keysLine =
    s.keys === "tpm"
      ? s.key_protection === "hardware_with_pin" || s.pin_set
        ? "settings.keysTpmPin"
        : "settings.keysTpm"
      : "settings.keysSoftware";
  const keysSection = h(
    "section",
    { class: "panel", "aria-labelledby": "keys-title" },
    h("h2", { id: "keys-title" }, t("settings.keysTitle")),
    h("p", { id: "device-keys", class: "hint", "data-keys": s.keys }, t(keysLine)),
    // The keys are in the chip but the issuer did not attest them: the credential says so.
    s.keys === "tpm" && s.key_protection === "software"
      ? h("p", { id: "device-keys-credential", class: "hint" }, t("settings.keysNotAttested"))
      : null,
  );

  const i = ctx.info;
  const el = h(
    "section",
    { class: "screen", "aria-labelledby": "settings-title" },
    h("h1", { id: "settings-title" }, t("settings.title")),
    form,
    pinSection,
    removeSection,
    keysSection,
    h(
      "section",
      { class: "panel", "aria-labelledby": "about-title" },
      h("h2", { id: "about-title" }, t("settings.about")),
      h("p", { id: "about-version", class: "hint" }, t("settings.version", { name: i.name, version: i.version, os: i.os, arch: i.arch })),
    ),
  );
  return { el, dispose: () => (left = true) };
}
