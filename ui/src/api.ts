// The app's commands, as the Rust side (`src-tauri/src/commands.rs`) defines them.
// Every screen talks to Rust through these functions and nothing else, so the UI tests can
// replace Rust with `mockIPC` command by command.

import { Channel, invoke } from "@tauri-apps/api/core";

/** Life-cycle states of the wallet (crates/wallet/src/lifecycle.rs). */
export type WalletState =
  | "not_enrolled"
  | "enrolling"
  | "active"
  | "renewal_due"
  | "renewing"
  | "expired"
  | "revoked";

/** What a code shows: `age_only` (an enrolled real person over 18, nothing else),
 *  `lightweight` (masked name and ID number, over 18) or `upgraded` (full details). */
export type Tier = "age_only" | "lightweight" | "upgraded";

/** Unused one-time credentials per tier (crates/wallet `OneTimeCounts`): each showing of
 *  these tiers uses one, so its codes cannot be linked to any other showing's. */
export interface OneTimeCounts {
  lightweight: number;
  age_only: number;
}

/** Liveness actions, in the issuer's words. */
export type Action = "front" | "left" | "right" | "blink";

/** Quality guidance codes from the face crate (crates/face/src/quality.rs). */
export type Guidance =
  | "no_face"
  | "multiple_faces"
  | "too_far"
  | "too_close"
  | "off_centre"
  | "too_dark"
  | "too_bright"
  | "blurry"
  | "turned_away";

/** What `wallet_status` returns: everything the home screen shows, nothing more. */
/** What a credential says about its device key (the issuer's word, from the attestation it
 *  checked): crates/credential KeyProtection. */
export type KeyProtection = "software" | "hardware" | "hardware_with_pin";

export interface WalletStatus {
  state: WalletState;
  /** Tiers that can be shown now (empty unless active / renewal due / renewing). */
  tiers: Tier[];
  /** Unix seconds; null when nothing is enrolled. */
  expires_at: number | null;
  pin_set: boolean;
  /** Masked as the lightweight QR shows them (e.g. "王*红", "110***********24"); null before enrolment. */
  masked_name: string | null;
  masked_id_number: string | null;
  /** Seconds before expiry at which renewal is offered. */
  renew_before: number;
  /** Unix seconds on the app's clock (the UI counts down from `expires_at - now`). */
  now: number;
  /** The issuer's clock minus this device's when last online (null: never read). */
  clock_offset_seconds: number | null;
  /** Whether that is beyond what desks allow (their codes would be refused for their time). */
  clock_off: boolean;
  /** Fresh codes left: one showing uses one; a refill tops them up when online. */
  one_time: OneTimeCounts;
  /** Where the device keys are: in software (the OS keystore) or in the TPM. */
  keys: "software" | "tpm";
  /** What the upgraded credential says about its key; null before enrolment. */
  key_protection: KeyProtection | null;
  /** The same for the one-time credentials (the lowest among them); null before enrolment. */
  one_time_key_protection: KeyProtection | null;
}

/** What `settings_get` returns and `settings_set` takes. */
export interface Settings {
  /** "zh-CN" or "en"; null follows the system locale. */
  language: "zh-CN" | "en" | null;
  /** null uses the embedded demo issuer. */
  issuer_url: string | null;
}

/** What `app_info` returns. */
export interface AppInfo {
  name: string;
  version: string;
  os: string;
  arch: string;
  /** The issuer in use: the configured URL, or the embedded demo issuer's loopback URL. */
  issuer_url: string;
  /** True when the embedded demo issuer is in use. */
  demo_issuer: boolean;
  /** Where frames come from: a camera, the bundled demo recording, or nothing. */
  frames: "camera" | "demo_recording" | "photo" | "none";
  /** The system locale as the OS reports it (e.g. "zh-CN", "en-US"), or null. */
  system_locale: string | null;
}

/** Streamed over a Channel while the camera is in use (enrol, renew, upgraded unlock). */
export type CaptureEvent =
  /** The actions the user must do, in order. */
  | { event: "challenge"; actions: Action[] }
  /** A preview frame (JPEG, base64) and the quality gates' verdict on it. */
  | { event: "frame"; jpeg: string; step: number; guidance: Guidance[] }
  /** Action number `step` (0-based) is now asked; `done` counts completed actions. */
  | { event: "step"; step: number; action: Action; done: number; total: number }
  /** All frames taken; checking on the device and (enrol/renew) sending to the issuer. */
  | { event: "checking" }
  | { event: "submitting" };

/** Every command failure: a stable kind the UI translates, plus an English detail. */
export interface CommandError {
  kind:
    | "no_camera"
    | "camera"
    | "issuer_unreachable"
    | "issuer_untrusted"
    | "face_mismatch"
    | "liveness_failed"
    | "quality"
    | "wrong_pin"
    | "pin_locked"
    | "pin_format"
    | "pin_not_set"
    | "pin_required"
    | "pin_weak"
    | "invalid_id_number"
    | "unknown_id_number"
    | "already_enrolled"
    | "rate_limited"
    | "challenge_expired"
    | "revoked"
    | "not_enrolled"
    | "unlock_expired"
    | "keystore"
    | "issuer_refused"
    | "invalid_input"
    | "sign_in_link"
    | "no_sign_in_code"
    | "cancelled"
    | "sign_in_ended"
    | "wrong_match_code"
    | "tier_too_low"
    | "no_credential"
    | "showing_ended"
    | "internal";
  /** English, for the details line; the UI shows its own words for `kind`. */
  message: string;
  /** wrong_pin: tries left before a wait. pin_locked: seconds to wait. */
  remaining?: number;
  seconds?: number;
  /** quality: the guidance codes of the first frame. */
  guidance?: Guidance[];
  /** pin_weak: why the new PIN was refused. */
  reason?: WeakPinReason;
}

/** Why a new PIN is refused (`WeakPin::name` in crates/wallet/src/pin_policy.rs). */
export type WeakPinReason = "same_digit" | "sequence" | "repeated" | "birth_date" | "common";

export function isCommandError(e: unknown): e is CommandError {
  return typeof e === "object" && e !== null && typeof (e as { kind?: unknown }).kind === "string";
}

/** A QR code to show: `svg` is a complete SVG document (render it as an image). */
export interface ShownQr {
  tier: Tier;
  svg: string;
  /** Unix seconds: the proof's expiry (60 s after issue). */
  expires_at: number;
  /** Unix seconds on the app's clock when made; the UI regenerates 30 s after this. */
  now: number;
  /** The credential behind the code was shown before (offline, no fresh one was left): the
   *  code can be linked to the earlier ones until the app is online again. */
  linkable: boolean;
}

/** One showing (when, which tier; never the code). */
export interface HistoryEntry {
  at: number;
  tier: Tier;
  /** It reused a credential shown before (see `ShownQr.linkable`). */
  linkable?: boolean;
}

export interface UpgradedUnlock {
  /** Unix seconds until which the upgraded tier can be shown without unlocking again. */
  valid_until: number;
}

export const appInfo = (): Promise<AppInfo> => invoke("app_info");
export const walletStatus = (): Promise<WalletStatus> => invoke("wallet_status");
export const settingsGet = (): Promise<Settings> => invoke("settings_get");
/** Saves the settings; changing the issuer address needs `pin` once a PIN is set. */
export const settingsSet = (settings: Settings, pin?: string): Promise<Settings> =>
  invoke("settings_set", { settings, pin: pin ?? null });
/** Checks an ID number's format and check digit locally; resolves to null or an error. */
export const checkIdNumber = (idNumber: string): Promise<CommandError | null> =>
  invoke("check_id_number", { idNumber });
/** Uses the bundled demo recording instead of a camera (demo use only). */
export const useDemoRecording = (): Promise<AppInfo> => invoke("use_demo_recording");
/** Uses one chosen photo (JPEG/PNG, base64) instead of a camera: demo use only; a still photo
 *  shows the capture guidance but cannot pass the liveness check, so the enrol screen does not
 *  offer it. */
export const usePhoto = (photo: string): Promise<AppInfo> => invoke("use_photo", { photo });
export const enrol = (
  idNumber: string,
  replaceExisting: boolean,
  onEvent: (e: CaptureEvent) => void,
): Promise<WalletStatus> => {
  const channel = new Channel<CaptureEvent>();
  channel.onmessage = onEvent;
  return invoke("enrol", { idNumber, replaceExisting, onEvent: channel });
};
/** Sets the first PIN, or changes it (then `currentPin` is needed). Weak PINs are refused. */
export const setPin = (pin: string, currentPin?: string): Promise<WalletStatus> =>
  invoke("set_pin", { pin, currentPin: currentPin ?? null });
export const unlockUpgraded = (
  pin: string,
  onEvent: (e: CaptureEvent) => void,
): Promise<UpgradedUnlock> => {
  const channel = new Channel<CaptureEvent>();
  channel.onmessage = onEvent;
  return invoke("unlock_upgraded", { pin, onEvent: channel });
};
/** Begins a showing of `tier` (the Show screen opened it, or switched to it) and returns its
 *  first QR: one credential for the whole showing, one history entry. Upgraded needs a live
 *  unlock. */
export const showBegin = (tier: Tier): Promise<ShownQr> => invoke("show_begin", { tier });
/** The next QR of the open showing of `tier` (every 30 s); `showing_ended` if none is open. */
export const showQr = (tier: Tier): Promise<ShownQr> => invoke("show_qr", { tier });
/** Ends the showing (when the QR screen closes); the app then refills fresh codes in the
 *  background if it is running low and online. */
export const showEnd = (): Promise<void> => invoke("show_end");
/** Forgets the upgraded unlock (when the QR screen closes). */
export const lockUpgraded = (): Promise<void> => invoke("lock_upgraded");
/** Renews; `pin` is needed when the device keys are in the TPM and a PIN is set. */
export const renew = (onEvent: (e: CaptureEvent) => void, pin?: string): Promise<WalletStatus> => {
  const channel = new Channel<CaptureEvent>();
  channel.onmessage = onEvent;
  return invoke("renew", { onEvent: channel, pin: pin ?? null });
};
export const cancelCapture = (): Promise<void> => invoke("cancel_capture");
export const history = (): Promise<HistoryEntry[]> => invoke("history");
/** Removes the ID from this device (keystore entries and history); needs `pin` once a PIN is set. */
export const removeId = (pin?: string): Promise<WalletStatus> => invoke("remove_id", { pin: pin ?? null });

/** A claim a website can receive (crates/oidc/src/claims.rs). */
export type ClaimName = "age_over_18" | "masked_name" | "name" | "birthdate" | "gender" | "id_number";

/** What the sign-in consent screen shows (`SignInView` in src-tauri/src/sign_in.rs): the
 *  website's registered name and exactly what it will receive, as the issuer signed them. */
export interface SignInView {
  request_id: string;
  client_name: string;
  client_name_zh: string | null;
  claims: { name: ClaimName }[];
  tier: Tier;
  /** The numbers to pick from (the sign-in page shows one); empty for a same-device link. */
  match_choices: number[];
  expires_at: number;
  now: number;
}

/** One approved sign-in. */
export interface SignInRecord {
  at: number;
  client_name: string;
  client_id: string;
  claims: ClaimName[];
  tier: Tier;
}

/** A tessera:// sign-in link the desktop handed over, if any (asked once). */
export const signInPending = (): Promise<string | null> => invoke("sign_in_pending");
/** Fetches and checks the sign-in request a link names. */
export const signInOpen = (link: string): Promise<SignInView> => invoke("sign_in_open", { link });
/** Scans the sign-in page's QR code with the camera (previews over `onEvent`); the link. */
export const signInScan = (onEvent: (e: CaptureEvent) => void): Promise<string> => {
  const channel = new Channel<CaptureEvent>();
  channel.onmessage = onEvent;
  return invoke("sign_in_scan", { onEvent: channel });
};
/** Approves (upgraded: after `unlockUpgraded`); `matchCode` is the number picked, if asked. */
export const signInApprove = (requestId: string, matchCode: number | null): Promise<SignInRecord> =>
  invoke("sign_in_approve", { requestId, matchCode });
export const signInRefuse = (requestId: string): Promise<void> => invoke("sign_in_refuse", { requestId });
export const signInHistory = (): Promise<SignInRecord[]> => invoke("sign_in_history");
