// One way to show any failure: a role="alert" box tagged with the error kind, the person's
// next step in their language, and the English detail from Rust in small print.

import { type CommandError, isCommandError } from "./api";
import { h } from "./dom";
import { formatList, hasKey, t } from "./i18n";

/** Kinds the UI raises itself (never sent by Rust). */
export type LocalKind = "pin_mismatch";
export type ErrorKind = CommandError["kind"] | LocalKind;

export interface UiError {
  kind: ErrorKind;
  message: string;
  remaining?: number;
  seconds?: number;
  guidance?: string[];
  reason?: string;
}

/** Anything thrown (a CommandError from Rust, a JS Error, a string) as a UiError. */
export function toUiError(err: unknown): UiError {
  if (isCommandError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return { kind: "internal", message };
}

export function errorText(e: UiError): string {
  switch (e.kind) {
    case "wrong_pin":
      // == null: Rust may send the field as null as well as leave it out.
      return e.remaining == null
        ? t("error.wrong_pin_unknown")
        : t("error.wrong_pin", { n: e.remaining });
    case "pin_locked":
      return t("error.pin_locked", { n: e.seconds ?? e.remaining ?? 0 });
    case "pin_weak": {
      // The reason says what to avoid; a reason this build does not know gets the general line.
      const key = `error.pin_weak.${e.reason ?? ""}`;
      return hasKey(key) ? t(key) : t("error.pin_weak");
    }
    case "quality": {
      const words = (e.guidance ?? []).map((g) => {
        const key = `guidance.${g}`;
        return hasKey(key) ? t(key) : g;
      });
      return t("error.quality", { guidance: formatList(words) });
    }
    default: {
      const key = `error.${e.kind}`;
      return hasKey(key) ? t(key) : t("error.internal");
    }
  }
}

/** The alert box. Focusable so a screen can move focus onto it. */
export function errorBox(err: unknown): HTMLElement {
  const e = toUiError(err);
  const detail = e.message ? h("p", { class: "alert-detail" }, t("error.detail", { message: e.message })) : null;
  return h(
    "div",
    { class: "alert", role: "alert", "data-error-kind": e.kind, tabindex: -1 },
    h("p", { class: "alert-text" }, errorText(e)),
    detail,
  );
}
