// The PIN: the last step of enrolment (the first PIN, without which the app offers nothing
// else), and the form Settings uses to change it (which needs the current PIN: the wallet
// refuses a change without it, and a wrong one counts towards the wait).

import { type WalletStatus, setPin } from "../api";
import { ctx, returnAfterPin, type ScreenName, takeAfterPin } from "../app";
import { button, h, replace } from "../dom";
import { errorBox } from "../errors";
import { t } from "../i18n";
import { type Screen, go } from "../router";
import { enrolSteps } from "./enrol";

export function pinInput(id: string, label: string, autocomplete = "new-password"): [HTMLElement, HTMLInputElement] {
  const input = h("input", {
    id,
    type: "password",
    inputmode: "numeric",
    autocomplete,
    maxlength: 6,
    pattern: "[0-9]{6}",
    required: true,
    class: "input input-pin",
  });
  return [h("div", { class: "field" }, h("label", { for: id }, label), input), input];
}

export interface PinForm {
  form: HTMLFormElement;
  /** Empties the fields and the errors (when the form is hidden or shown again). */
  clear: () => void;
}

/** New PIN twice (and the current one when `changing`), checked here for format and
 *  match before `set_pin` is asked; `onSaved` gets the wallet's new status. */
export function pinForm(changing: boolean, onSaved: (status: WalletStatus) => void, extra?: HTMLElement): PinForm {
  const [currentField, pinCurrent] = pinInput("pin-current", t("pin.current"), "current-password");
  const [newField, pinNew] = pinInput("pin-new", t("pin.new"));
  const [confirmField, pinConfirm] = pinInput("pin-confirm", t("pin.confirm"));
  pinNew.setAttribute("aria-describedby", "pin-rules");
  const errors = h("div", { class: "errors" });
  const save = h("button", { id: "pin-save", type: "submit", class: "btn btn-primary btn-block" }, t("pin.save"));
  const form = h(
    "form",
    { class: "form", novalidate: true },
    changing ? currentField : null,
    newField,
    confirmField,
    h("p", { id: "pin-rules", class: "hint" }, t("pin.rules")),
    errors,
    save,
    extra,
  );

  const fail = (err: unknown): void => {
    const box = errorBox(err);
    replace(errors, box);
    box.focus();
  };

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const a = pinNew.value;
    const b = pinConfirm.value;
    const current = changing ? pinCurrent.value : undefined;
    if (current !== undefined && !/^\d{6}$/.test(current)) return fail({ kind: "pin_format", message: "" });
    if (!/^\d{6}$/.test(a)) return fail({ kind: "pin_format", message: "" });
    if (a !== b) return fail({ kind: "pin_mismatch", message: "" });
    save.disabled = true;
    setPin(a, current)
      .then((status) => {
        ctx.status = status;
        onSaved(status);
      })
      .catch((err: unknown) => fail(err))
      .finally(() => {
        save.disabled = false;
      });
  });

  const clear = (): void => {
    for (const input of [pinCurrent, pinNew, pinConfirm]) input.value = "";
    replace(errors);
  };
  return { form, clear };
}

/** A button to the PIN screen, for a screen that found no PIN set (an older install): the
 *  person sets one there and comes back to `returnTo`. */
export function setPinButton(returnTo: ScreenName): HTMLButtonElement {
  return button({ id: "set-pin-first", class: "btn btn-primary btn-block" }, t("pin.setAction"), () => {
    ctx.status = { ...ctx.status, pin_set: false };
    returnAfterPin(returnTo);
    go("pin");
  });
}

// The screen: the first PIN, as the last step of enrolment. No way around it: the nav stays
// hidden until it is set (chrome.ts). Reached with a PIN already set, it changes it instead.
export function pin(): Screen {
  const changing = ctx.status.pin_set;
  const back = changing
    ? button({ id: "pin-back", class: "btn btn-ghost btn-block" }, t("show.back"), () => go("settings"))
    : undefined;
  const { form } = pinForm(changing, () => go(changing ? "settings" : takeAfterPin()), back);
  const el = h(
    "section",
    { class: "screen", "aria-labelledby": "pin-title" },
    h("h1", { id: "pin-title" }, t(changing ? "pin.changeTitle" : "pin.title")),
    changing ? null : enrolSteps("pin", true),
    h("p", { class: "lead" }, t(changing ? "pin.changeLead" : "pin.lead")),
    form,
  );
  return { el };
}
