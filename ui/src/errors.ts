// One way to show any failure: a role="alert" box tagged with the error kind, the person's
// next step in their language, and the English detail from Rust in small print. Rust sends a
// stable kind for every failure (src-tauri/src/error.rs): the kind is what gets translated;
// a kind this build does not know gets the general sentence. The detail is English only: in
// any other language it sits folded away under a label that says so, for support.

import { type CommandError, isCommandError } from "./api";
import { h } from "./dom";
import { formatList, hasKey, lang, t } from "./i18n";

/** Kinds the UI raises itself (never sent by Rust). */
export type LocalKind = "pin_mismatch" | "id_missing";
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

/** The English detail: a line in English, folded away (and marked as English, for screen
 *  readers' pronunciation) in another language. */
function detailOf(message: string): HTMLElement | null {
  if (!message) return null;
  if (lang() === "en") return h("p", { class: "alert-detail" }, t("error.detail", { message }));
  return h(
    "details",
    { class: "alert-more" },
    h("summary", {}, t("error.detailEnglish")),
    h("p", { class: "alert-detail", lang: "en" }, message),
  );
}

/** The alert box. Focusable so a screen can move focus onto it. */
export function errorBox(err: unknown): HTMLElement {
  const e = toUiError(err);
  return h(
    "div",
    { class: "alert", role: "alert", "data-error-kind": e.kind, tabindex: -1 },
    h("p", { class: "alert-text" }, errorText(e)),
    detailOf(e.message),
  );
}
