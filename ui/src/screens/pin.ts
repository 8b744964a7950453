import { setPin } from "../api";
import { ctx, screenFor } from "../app";
import { h, replace } from "../dom";
import { errorBox } from "../errors";
import { t } from "../i18n";
import { type Screen, go } from "../router";

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

// The first PIN after enrolment, or a change of PIN (which needs the current one: the wallet
// refuses a change without it, and a wrong one counts towards the wait).
export function pin(): Screen {
  const changing = ctx.status.pin_set;
  const [currentField, pinCurrent] = pinInput("pin-current", t("pin.current"), "current-password");
  const [newField, pinNew] = pinInput("pin-new", t("pin.new"));
  const [confirmField, pinConfirm] = pinInput("pin-confirm", t("pin.confirm"));
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
        go(screenFor(status) === "pin" ? "home" : screenFor(status));
      })
      .catch((err: unknown) => {
        save.disabled = false;
        fail(err);
      });
  });

  const el = h(
    "section",
    { class: "screen", "aria-labelledby": "pin-title" },
    h("h1", { id: "pin-title" }, t(changing ? "pin.changeTitle" : "pin.title")),
    h("p", { class: "lead" }, t(changing ? "pin.changeLead" : "pin.lead")),
    form,
  );
  return { el };
}
