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

/** The screen that fits the wallet's state (start-up, and after enrol/remove). */
export function screenFor(status: WalletStatus): ScreenName {
  if (status.state === "not_enrolled") return "welcome";
  // A credential exists but no PIN yet (enrolment finished, app closed before the PIN step).
  if (!status.pin_set && status.state !== "enrolling" && status.state !== "revoked") return "pin";
  return "home";
}
