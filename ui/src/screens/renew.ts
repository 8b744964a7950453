// Renewal: explain what happens, then a fresh face check; Rust makes a new device key and
// the issuer revokes the old credential.

import { cancelCapture, renew as renewCmd } from "../api";
import { ctx } from "../app";
import { createCapture } from "../capture";
import { button, h, replace, show } from "../dom";
import { errorBox } from "../errors";
import { formatDate, t } from "../i18n";
import { type Screen, focusHeading, go } from "../router";
import { pinInput } from "./pin";

export function renew(): Screen {
  let running = false;
  let left = false;
  let cancelled = false;

  const errors = h("div", { class: "errors" });
  // With the device keys in the TPM and a PIN set, the chip needs the PIN to make the new key
  // (crates/wallet renew_with_pin): asked for here, before the face check.
  const needsPin = ctx.status.keys === "tpm" && ctx.status.pin_set;
  const [pinField, pinBox] = pinInput("renew-pin", t("renew.pin"), "current-password");
  const confirm = button({ id: "renew-confirm", class: "btn btn-primary btn-block" }, t("renew.confirm"), () => void start());
  const introView = h(
    "div",
    { class: "stack" },
    h("p", { class: "lead" }, t("renew.lead")),
    h(
      "ul",
      { class: "points" },
      h("li", {}, t("renew.point1")),
      h("li", {}, t("renew.point2")),
      h("li", {}, t("renew.point3")),
    ),
    ctx.info.frames === "demo_recording" || ctx.info.frames === "photo"
      ? h("p", { class: "demo-badge" }, t(ctx.info.frames === "photo" ? "enrol.photoNote" : "enrol.demoNote"))
      : null,
    needsPin ? pinField : null,
    errors,
    confirm,
    button({ id: "renew-back", class: "btn btn-ghost btn-block" }, t("show.back"), () => go("home")),
  );
  const captureView = h("div", {});
  const result = h("div", { id: "renew-result", class: "result", tabindex: -1 });
  const resultView = h(
    "div",
    { class: "stack" },
    result,
    button({ id: "renew-home", class: "btn btn-primary btn-block" }, t("renew.home"), () => go("home")),
  );
  show(captureView, false);
  show(resultView, false);
  const view = (which: HTMLElement): void => {
    for (const v of [introView, captureView, resultView]) show(v, v === which);
  };

  async function start(): Promise<void> {
    if (running) return;
    const pin = needsPin ? pinBox.value : undefined;
    if (pin !== undefined && !/^\d{6}$/.test(pin)) {
      const box = errorBox({ kind: "pin_format", message: "" });
      replace(errors, box);
      pinBox.setAttribute("aria-invalid", "true");
      pinBox.focus();
      return;
    }
    pinBox.removeAttribute("aria-invalid");
    running = true;
    replace(errors);
    cancelled = false;
    const capture = createCapture(() => {
      cancelled = true;
      cancelCapture().catch(() => undefined);
    });
    replace(captureView, capture.el);
    view(captureView);
    focusHeading(captureView);
    try {
      const status = await renewCmd(capture.onEvent, pin);
      if (left) return;
      ctx.status = status;
      result.className = "result result-ok";
      replace(result, h("p", {}, t("renew.success", { date: status.expires_at === null ? "—" : formatDate(status.expires_at) })));
      view(resultView);
      result.focus();
    } catch (err) {
      if (left) return;
      if (cancelled) {
        view(introView);
        confirm.focus();
        return;
      }
      // The failure is the result: shown in #renew-result too, so it is one place to look.
      result.className = "result result-fail";
      const box = errorBox(err);
      replace(result, box);
      view(resultView);
      box.focus();
      show(introView, true);
      replace(errors);
    } finally {
      pinBox.value = "";
      running = false;
    }
  }

  const el = h(
    "section",
    { class: "screen", "aria-labelledby": "renew-title" },
    h("h1", { id: "renew-title" }, t("renew.title")),
    resultView, // first: after a failure the reason sits above the retry button
    introView,
    captureView,
  );
  return {
    el,
    dispose: () => {
      left = true;
      if (running) cancelCapture().catch(() => undefined);
    },
  };
}
