// What every screen may read: the three things loaded at start-up, kept current by the
// screens that change them (enrol, set PIN, renew, settings, remove).

import type { AppInfo, Settings, WalletStatus } from "./api";

export interface AppContext {
  info: AppInfo;
  settings: Settings;
  status: WalletStatus;
}

// Filled by main.ts before the first screen is shown.
export const ctx = {} as AppContext;

export type ScreenName =
  | "welcome"
  | "enrol"
  | "pin"
  | "home"
  | "show"
  | "renew"
  | "history"
  | "settings"
  | "signIn";

/** An ID is held but no PIN is set yet: enrolment is not finished until the PIN is set (also
 *  an older install, or an app closed at the PIN step). Nothing else is offered meanwhile. */
export function needsPin(status: WalletStatus): boolean {
  return !status.pin_set && status.state !== "not_enrolled" && status.state !== "enrolling" && status.state !== "revoked";
}

/** The screen that fits the wallet's state (start-up, and after enrol/remove). */
export function screenFor(status: WalletStatus): ScreenName {
  if (status.state === "not_enrolled") return "welcome";
  if (needsPin(status)) return "pin";
  return "home";
}

// Where the PIN screen goes once the PIN is set (home unless a screen asked to come back).
let afterPin: ScreenName | null = null;

export function returnAfterPin(name: ScreenName): void {
  afterPin = name;
}

export function takeAfterPin(): ScreenName {
  const next = afterPin ?? "home";
  afterPin = null;
  return next;
}
