//! The commands the web UI may call (each gated by `capabilities/main-window.json`). They
//! only translate: arguments in, a wallet call, a result or a [`CommandError`] out. The UI
//! gets what its screens show and nothing more: masked name and ID number for the card, the
//! QR code and its expiry, times and tiers of past presentations.

use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager as _, State};
use tessera_credential::KeyProtection;
use tessera_credential::claims::Tier;
use tessera_wallet::client::IssuerClient;
use tessera_wallet::lifecycle::State as WalletState;
use tessera_wallet::wallet::{OneTimeCounts, RENEW_BEFORE, Showing};

use crate::capture::{AppCapture, CaptureEvent, FramesMode};
use crate::error::CommandError;
use crate::state::{AppState, Settings, lock};

type Result<T> = std::result::Result<T, CommandError>;

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What the UI shows about the running app.
#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    /// The product name.
    pub name: &'static str,
    /// The app's version (the workspace version).
    pub version: &'static str,
    /// The operating system, as Rust names it.
    pub os: &'static str,
    /// The CPU architecture.
    pub arch: &'static str,
    /// The issuer in use.
    pub issuer_url: String,
    /// Whether it is the embedded demo issuer.
    pub demo_issuer: bool,
    /// Where capture frames come from.
    pub frames: FramesMode,
    /// The system's locale (`LANG`-style, normalised to a BCP 47 tag), if known.
    pub system_locale: Option<String>,
}

/// The system locale from the environment (Linux desktops set `LC_ALL`/`LC_MESSAGES`/`LANG`);
/// the UI falls back to the webview's `navigator.language`.
pub fn system_locale() -> Option<String> {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .and_then(|v| locale_tag(&v))
}

/// `zh_CN.UTF-8` → `zh-CN`; the C/POSIX locales name no language.
fn locale_tag(posix: &str) -> Option<String> {
    Some(
        posix
            .split(['.', '@'])
            .next()
            .unwrap_or_default()
            .replace('_', "-"),
    )
    .filter(|tag| !tag.is_empty() && tag != "C" && tag != "POSIX")
}

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    let (issuer_url, demo_issuer) = state.issuer_url().unwrap_or_default();
    AppInfo {
        name: "Tessera",
        version: env!("CARGO_PKG_VERSION"),
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
        issuer_url,
        demo_issuer,
        frames: *lock(&state.frames),
        system_locale: system_locale(),
    }
}

/// What the home screen shows (`WalletStatus` in `ui/src/api.ts`).
#[derive(Debug, Clone, Serialize)]
pub struct WalletStatus {
    state: WalletState,
    tiers: Vec<&'static str>,
    expires_at: Option<u64>,
    pin_set: bool,
    masked_name: Option<String>,
    masked_id_number: Option<String>,
    renew_before: u64,
    now: u64,
    /// The issuer's clock minus the device's when last online; the UI warns when it is
    /// beyond the desks' skew.
    clock_offset_seconds: Option<i64>,
    clock_off: bool,
    /// Unused one-time credentials per tier: fresh codes left before showings become linkable
    /// (a refill tops them up when online).
    one_time: OneTimeCounts,
    /// Where the device keys are: `software` or `tpm` (the UI asks for the PIN before a
    /// renewal with `tpm`).
    keys: &'static str,
    /// What the upgraded credential says about its key (`software`, `hardware`,
    /// `hardware_with_pin`); null before enrolment.
    key_protection: Option<KeyProtection>,
    /// The same for the one-time credentials (the lowest among them).
    one_time_key_protection: Option<KeyProtection>,
}

fn status(state: &AppState) -> Result<WalletStatus> {
    let wallet = state.wallet()?;
    let now = now();
    let s = wallet.status(now)?;
    let holder = wallet.holder()?;
    Ok(WalletStatus {
        state: s.state,
        tiers: s.tiers,
        expires_at: s.expires_at,
        pin_set: s.pin_set,
        masked_name: holder.as_ref().map(|h| h.masked_name.clone()),
        masked_id_number: holder.map(|h| h.masked_id_number),
        renew_before: RENEW_BEFORE,
        now,
        clock_offset_seconds: s.clock.map(|c| c.offset_seconds),
        clock_off: s.clock.is_some_and(|c| c.is_off()),
        one_time: s.one_time,
        keys: s.keys,
        key_protection: s.key_protection,
        one_time_key_protection: s.one_time_key_protection,
    })
}

#[tauri::command(async)]
pub fn wallet_status(state: State<'_, AppState>) -> Result<WalletStatus> {
    status(&state)
}

#[tauri::command]
pub fn settings_get(state: State<'_, AppState>) -> Settings {
    lock(&state.settings).clone()
}

/// Saves the settings; a change of the issuer URL needs `pin` once a PIN is set.
#[tauri::command]
pub fn settings_set(
    state: State<'_, AppState>,
    settings: Settings,
    pin: Option<String>,
) -> Result<Settings> {
    apply_settings(&state, settings, pin.as_deref(), now())
}

fn apply_settings(
    state: &AppState,
    settings: Settings,
    pin: Option<&str>,
    now: u64,
) -> Result<Settings> {
    let settings = settings.validated()?;
    // The issuer URL decides where the face and the ID number go at enrolment and renewal:
    // a page (or a person) that does not know the PIN may not change it. The language may.
    if settings.issuer_url != lock(&state.settings).issuer_url {
        state.stop_refill();
        state.wallet()?.authorise_change(pin, now)?;
    }
    settings.save(&state.settings_path())?;
    *lock(&state.settings) = settings.clone();
    Ok(settings)
}

#[tauri::command]
pub fn check_id_number(id_number: String) -> Option<CommandError> {
    id_number_error(&id_number)
}

fn id_number_error(id_number: &str) -> Option<CommandError> {
    tessera_issuer_api::ids::IdNumber::parse(id_number)
        .err()
        .map(|e| CommandError::new("invalid_id_number", e.to_string()))
}

#[tauri::command]
pub fn use_demo_recording(state: State<'_, AppState>) -> Result<AppInfo> {
    if !cfg!(feature = "demo") {
        return Err(CommandError::new(
            "no_camera",
            "this build has no demo recording: connect a camera",
        ));
    }
    *lock(&state.frames) = FramesMode::DemoRecording;
    Ok(app_info(state))
}

/// Largest photo accepted by `use_photo` (base64 of it is a third larger).
const MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;

/// Uses one chosen photo instead of a camera (demo use only; the UI says a photo cannot pass
/// the liveness check). The photo stays in memory and is never stored.
#[tauri::command]
pub fn use_photo(state: State<'_, AppState>, photo: String) -> Result<AppInfo> {
    use base64::Engine as _;
    if photo.len() > MAX_PHOTO_BYTES / 3 * 4 + 4 {
        return Err(CommandError::new(
            "invalid_input",
            "the photo is larger than 8 MB: choose a smaller one",
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(photo.trim())
        .map_err(|_| CommandError::new("invalid_input", "the photo could not be read"))?;
    tessera_face::source::decode_image_bytes(&bytes).map_err(|e| {
        CommandError::new(
            "invalid_input",
            format!("the file is not a JPEG or PNG photo ({e})"),
        )
    })?;
    *lock(&state.photo) = Some(std::sync::Arc::new(bytes));
    *lock(&state.frames) = FramesMode::Photo;
    Ok(app_info(state))
}

pub(crate) async fn client(state: &AppState) -> Result<IssuerClient> {
    let (url, demo) = state.issuer_url()?;
    let clock_file = state.wallet()?.clock_path();
    IssuerClient::new(&url, state.trust_anchor(demo).await?)
        .map(|c| c.remembering_clock_in(clock_file))
        .map_err(|e| CommandError::from(tessera_wallet::wallet::WalletError::from(e)))
}

pub(crate) fn capture(state: &AppState, channel: Channel<CaptureEvent>) -> Result<AppCapture> {
    state.cancel.store(false, Ordering::SeqCst);
    Ok(AppCapture {
        mode: *lock(&state.frames),
        channel,
        faces: state.faces()?,
        cancel: state.cancel.clone(),
        photo: lock(&state.photo).clone(),
    })
}

#[tauri::command]
pub async fn enrol(
    state: State<'_, AppState>,
    id_number: String,
    replace_existing: bool,
    on_event: Channel<CaptureEvent>,
) -> Result<WalletStatus> {
    if let Some(e) = id_number_error(&id_number) {
        return Err(e);
    }
    let _one = state.capture_lock.lock().await;
    let client = client(&state).await?;
    let mut capture = capture(&state, on_event)?;
    state.stop_refill();
    state
        .wallet()?
        .enrol(&client, &id_number, &mut capture, replace_existing, now())
        .await?;
    status(&state)
}

/// Sets the first PIN, or changes it given `current_pin` (the wallet core's rules).
#[tauri::command(async)]
pub fn set_pin(
    state: State<'_, AppState>,
    pin: String,
    current_pin: Option<String>,
) -> Result<WalletStatus> {
    state.stop_refill();
    state
        .wallet()?
        .set_pin(current_pin.as_deref(), &pin, now())?;
    status(&state)
}

/// When an upgraded unlock ends (`UpgradedUnlock` in `ui/src/api.ts`).
#[derive(Debug, Clone, Serialize)]
pub struct UnlockInfo {
    valid_until: u64,
}

#[tauri::command]
pub async fn unlock_upgraded(
    state: State<'_, AppState>,
    pin: String,
    on_event: Channel<CaptureEvent>,
) -> Result<UnlockInfo> {
    let _one = state.capture_lock.lock().await;
    let mut capture = capture(&state, on_event)?;
    // A wrong PIN is counted in the vault.
    state.stop_refill();
    let unlock = state
        .wallet()?
        .unlock_upgraded(Some(&pin), Some(&mut capture), now())?;
    *lock(&state.unlock) = Some(unlock);
    Ok(UnlockInfo {
        valid_until: unlock.face_verified_at + tessera_wallet::wallet::FACE_MATCH_VALIDITY,
    })
}

/// A QR code to show (`ShownQr` in `ui/src/api.ts`). Only the picture goes to the web layer:
/// it has no use for the text.
#[derive(Debug, Clone, Serialize)]
pub struct ShownQr {
    tier: &'static str,
    svg: String,
    expires_at: u64,
    now: u64,
    /// The credential behind this code was shown before (offline, no unused one was left):
    /// the code can be linked to the earlier ones until the wallet refills online.
    linkable: bool,
}

fn parse_tier(tier: &str) -> Result<Tier> {
    match tier {
        "age_only" => Ok(Tier::AgeOnly),
        "lightweight" => Ok(Tier::Lightweight),
        "upgraded" => Ok(Tier::Upgraded),
        other => Err(CommandError::new(
            "invalid_input",
            format!("unknown tier {other:?}"),
        )),
    }
}

/// One code of the open showing of `tier`.
fn code(state: &AppState, showing: &Showing, now: u64) -> Result<ShownQr> {
    let unlock = *lock(&state.unlock);
    let shown = state.wallet()?.show_in(showing, unlock.as_ref(), now)?;
    let qr = tessera_qr::encode(&shown.text)
        .map_err(|e| CommandError::new("internal", format!("cannot draw the QR code: {e}")))?;
    Ok(ShownQr {
        tier: shown.tier,
        svg: qr.to_svg(8),
        expires_at: shown.expires_at,
        now,
        linkable: shown.linkable,
    })
}

/// Begins a showing of `tier` (ending any open one) and makes its first code. The upgraded
/// tier is refused without a fresh unlock before anything is counted or recorded.
fn begin(state: &AppState, tier: Tier, now: u64) -> Result<ShownQr> {
    *lock(&state.showing) = None;
    if tier == Tier::Upgraded {
        let fresh = lock(&state.unlock).is_some_and(|u| {
            now.saturating_sub(u.face_verified_at) <= tessera_wallet::wallet::FACE_MATCH_VALIDITY
        });
        if !fresh {
            return Err(CommandError::new(
                "unlock_expired",
                "the upgraded tier needs the PIN and a fresh face check",
            ));
        }
    }
    state.stop_refill();
    let showing = state.wallet()?.begin_showing(tier, now).map_err(|e| {
        let e = CommandError::from(e);
        // For a one-time tier the wallet's "unlock" error means it holds no credential of
        // that tier at all (an ID from before that tier existed, or every one expired).
        if tier != Tier::Upgraded && e.kind == "unlock_expired" {
            CommandError::new("no_credential", e.message)
        } else {
            e
        }
    })?;
    let first = code(state, &showing, now)?;
    *lock(&state.showing) = Some(showing);
    Ok(first)
}

/// The next code of the open showing, which must be of `tier`.
fn regenerate(state: &AppState, tier: Tier, now: u64) -> Result<ShownQr> {
    let showing = lock(&state.showing)
        .clone()
        .filter(|s| s.tier == tier)
        .ok_or_else(|| {
            CommandError::new(
                "showing_ended",
                format!("no showing of the {} tier is open", tier.name()),
            )
        })?;
    code(state, &showing, now)
}

/// Ends the open showing; whether a refill is due now.
fn end(state: &AppState, now: u64) -> bool {
    lock(&state.showing).take();
    state
        .wallet()
        .and_then(|w| w.refill_due(now).map_err(CommandError::from))
        .inspect_err(|e| tracing::warn!(kind = e.kind, error = %e.message, "refill check"))
        .unwrap_or(false)
}

/// Tops up the one-time credentials in the background if a refill is due and none runs
/// already: online, no face check, never holding up the UI. A failure (offline, most
/// often) is only logged; the next showing that ends tries again.
pub(crate) fn refill_in_background(app: &AppHandle, now: u64) {
    let state = app.state::<AppState>();
    let mut slot = lock(&state.refill);
    // One at a time; holding it from here means `stop_refill` cannot miss a refill that
    // has been started but has not run yet.
    let Ok(running) = state.refilling.clone().try_lock_owned() else {
        return;
    };
    let handle = app.clone();
    *slot = Some(tauri::async_runtime::spawn(async move {
        let _running = running;
        let state = handle.state::<AppState>();
        let refilled = async {
            let client = client(&state).await?;
            Ok::<_, CommandError>(state.wallet()?.refill(&client, now).await?)
        }
        .await;
        match refilled {
            Ok(r) => tracing::info!(
                issued = r.issued,
                retired = r.retired,
                lightweight = r.one_time.lightweight,
                age_only = r.one_time.age_only,
                "one-time credentials refilled"
            ),
            Err(e) => {
                tracing::warn!(kind = e.kind, error = %e.message, "refill failed; trying again after the next showing");
            }
        }
    }));
}

/// Begins a showing when the Show screen opens a tier (or switches to another): one
/// one-time credential, counted as shown, and one history entry; the first code.
#[tauri::command(async)]
pub fn show_begin(app: AppHandle, state: State<'_, AppState>, tier: String) -> Result<ShownQr> {
    let tier = parse_tier(&tier)?;
    let now = now();
    let shown = begin(&state, tier, now);
    if shown.as_ref().is_err_and(|e| e.kind == "no_credential") && end(&state, now) {
        refill_in_background(&app, now);
    }
    shown
}

/// A fresh code within the open showing (every 30 s while the Show screen is open).
#[tauri::command(async)]
pub fn show_qr(state: State<'_, AppState>, tier: String) -> Result<ShownQr> {
    regenerate(&state, parse_tier(&tier)?, now())
}

/// Ends the showing when the Show screen closes; then refills in the background if due.
#[tauri::command(async)]
pub fn show_end(app: AppHandle, state: State<'_, AppState>) {
    let now = now();
    if end(&state, now) {
        refill_in_background(&app, now);
    }
}

#[tauri::command]
pub fn lock_upgraded(state: State<'_, AppState>) {
    *lock(&state.unlock) = None;
}

#[tauri::command]
/// Renews; `pin` is needed when the device keys are in the TPM and a PIN is set (the new
/// upgraded key is made with it), and unused with software keys.
pub async fn renew(
    state: State<'_, AppState>,
    on_event: Channel<CaptureEvent>,
    pin: Option<String>,
) -> Result<WalletStatus> {
    let _one = state.capture_lock.lock().await;
    let client = client(&state).await?;
    let mut capture = capture(&state, on_event)?;
    state.stop_refill();
    state
        .wallet()?
        .renew_with_pin(&client, &mut capture, pin.as_deref(), now())
        .await?;
    // The old device key and batch are gone: an unlock or a showing made with them means
    // nothing now.
    *lock(&state.unlock) = None;
    *lock(&state.showing) = None;
    status(&state)
}

#[tauri::command]
pub fn cancel_capture(state: State<'_, AppState>) {
    state.cancel.store(true, Ordering::SeqCst);
}

/// One past showing (when and which tier; never the code).
#[derive(Debug, Clone, Serialize)]
pub struct HistoryItem {
    at: u64,
    tier: String,
    /// Its credential had been shown before (see [`ShownQr::linkable`]).
    linkable: bool,
}

#[tauri::command(async)]
pub fn history(state: State<'_, AppState>) -> Result<Vec<HistoryItem>> {
    Ok(state
        .wallet()?
        .history()?
        .into_iter()
        .rev()
        .map(|h| HistoryItem {
            at: h.at,
            tier: h.tier,
            linkable: h.linkable,
        })
        .collect())
}

/// Removes the ID; needs `pin` while an ID is held and a PIN is set (the wallet core's rule).
#[tauri::command(async)]
pub fn remove_id(state: State<'_, AppState>, pin: Option<String>) -> Result<WalletStatus> {
    state.stop_refill();
    state.wallet()?.reset(pin.as_deref(), now())?;
    *lock(&state.unlock) = None;
    *lock(&state.showing) = None;
    status(&state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_wallet::keystore::OsKeystore;

    #[test]
    fn id_numbers_are_checked_before_anything_is_sent() {
        assert_eq!(check_id_number("110101199003071524".into()), None);
        let wrong = check_id_number("110101199003071525".into()).expect("refused");
        assert_eq!(wrong.kind, "invalid_id_number");
        assert!(check_id_number("abc".into()).is_some());
    }

    /// The settings command's path over the real keystore (run under
    /// scripts/with-keyring.sh): once a PIN is set, a new issuer URL needs it and a wrong one
    /// counts; the language alone needs nothing.
    #[test]
    fn changing_the_issuer_url_needs_the_pin_once_one_is_set() {
        let service = format!("tessera-app-settings-{}", std::process::id());
        let dir = std::env::temp_dir().join(&service);
        std::fs::create_dir_all(&dir).expect("dir");
        let state = AppState::new(dir.clone(), &service, FramesMode::None, None, None);
        let wallet = state.wallet().unwrap_or_else(|e| {
            panic!("{e}\n(run the tests through scripts/with-keyring.sh, as scripts/test.sh does)")
        });
        let now = 1_800_000_000;
        let url = |u: &str| Settings {
            language: None,
            issuer_url: Some(u.into()),
        };
        apply_settings(&state, url("https://a.example"), None, now).expect("no PIN set yet");
        wallet.set_pin(None, "246810", now).expect("first PIN");
        let refused =
            apply_settings(&state, url("https://b.example"), None, now).expect_err("needs the PIN");
        assert_eq!(refused.kind, "pin_required");
        let wrong = apply_settings(&state, url("https://b.example"), Some("135790"), now)
            .expect_err("wrong PIN");
        assert_eq!((wrong.kind, wrong.remaining), ("wrong_pin", Some(2)));
        let kept = Some("https://a.example");
        assert_eq!(lock(&state.settings).issuer_url.as_deref(), kept);
        assert_eq!(
            Settings::load(&state.settings_path()).issuer_url.as_deref(),
            kept
        );
        let language = Settings {
            language: Some("zh-CN".into()),
            issuer_url: kept.map(Into::into),
        };
        apply_settings(&state, language, None, now).expect("the language needs no PIN");
        apply_settings(&state, url("https://b.example"), Some("246810"), now).expect("right PIN");
        assert_eq!(
            lock(&state.settings).issuer_url.as_deref(),
            Some("https://b.example")
        );
        wallet.reset(None, now).expect("nothing enrolled");
        let _ = std::fs::remove_dir_all(&dir);
    }

    const NOW: u64 = 1_800_000_000;

    /// A keystore entry of its own for test `name` (the real Secret Service: run the tests
    /// through scripts/with-keyring.sh, as scripts/test.sh does).
    fn keystore(name: &str) -> (OsKeystore, String, std::path::PathBuf) {
        let service = format!("tessera-app-{name}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&service);
        let _ = std::fs::remove_dir_all(&dir);
        let store = OsKeystore::open(&service).unwrap_or_else(|e| {
            panic!("{e}\n(run the tests through scripts/with-keyring.sh, as scripts/test.sh does)")
        });
        (store, service, dir)
    }

    fn clean_up(state: &AppState) {
        state
            .wallet()
            .expect("wallet")
            .reset(None, NOW)
            .expect("removed");
        let _ = std::fs::remove_dir_all(&state.data_dir);
    }

    /// An enrolled wallet (as enrolment leaves it) holding `age_only` and `lightweight`
    /// one-time credentials, each on its own device key, issued by a test key.
    fn enrolled(name: &str, age_only: usize, lightweight: usize) -> AppState {
        use tessera_credential::claims::{AgeOnlyClaims, Identity, LightweightClaims};
        use tessera_credential::{CredentialClaims, Es256Signer as _, SoftwareKey, StatusRef};
        use tessera_wallet::vault::{OneTime, StoredBatch, Vault};
        let mut rng = tessera_wallet::wallet::OsRandomness;
        let issuer = SoftwareKey::generate(&mut rng);
        let expires_at = NOW + 200 * 86_400;
        let mut vault = Vault::default();
        vault.batch = Some(StoredBatch {
            enrolment_id: "enr_test".into(),
            issued_at: NOW - 86_400,
            expires_at,
            lightweight: vec![],
            upgraded: vec![],
        });
        let tiers = std::iter::repeat_n(Tier::AgeOnly, age_only)
            .chain(std::iter::repeat_n(Tier::Lightweight, lightweight));
        for (i, tier) in tiers.enumerate() {
            let key = SoftwareKey::generate(&mut rng);
            let identity = match tier {
                Tier::AgeOnly => Identity::AgeOnly(AgeOnlyClaims { age_over_18: true }),
                _ => Identity::Lightweight(LightweightClaims {
                    masked_name: "王*红".into(),
                    masked_id_number: "110***********24".into(),
                    age_over_18: true,
                }),
            };
            let idx = u64::try_from(i).unwrap_or_default();
            let credential = tessera_credential::Credential::issue(
                CredentialClaims {
                    issuer: "CN".into(),
                    issued_at: NOW - 86_400,
                    not_before: NOW - 86_400,
                    expires_at,
                    credential_id: (idx + 1).to_be_bytes(),
                    holder_key: key.public_key(),
                    status: StatusRef { list: 1, idx },
                    identity,
                    key_protection: tessera_credential::KeyProtection::Software,
                },
                &issuer,
            )
            .expect("issued");
            vault.one_time.push(OneTime {
                tier: tier.name().into(),
                credential: credential.to_tagged_bytes(),
                key: key.secret_bytes().to_vec(),
                shown: 0,
            });
        }
        // Written as one keystore entry, the vault's first format, which the wallet reads
        // however it stores vaults itself.
        use tessera_wallet::keystore::SecretStore as _;
        vault.version = tessera_wallet::vault::VAULT_VERSION;
        let json = serde_json::to_vec(&vault).expect("json");
        let (store, service, dir) = keystore(name);
        store
            .put(tessera_wallet::vault::VAULT_ENTRY, &json)
            .expect("saved");
        AppState::new(dir, &service, FramesMode::None, None, None)
    }

    /// Unused one-time credentials of `tier`, as the wallet reports them.
    fn unused(state: &AppState, tier: Tier) -> usize {
        let status = state.wallet().expect("wallet").status(NOW).expect("status");
        status.one_time.get(tier)
    }

    #[test]
    fn tiers_are_named_as_the_ui_names_them() {
        assert_eq!(parse_tier("age_only").ok(), Some(Tier::AgeOnly));
        assert_eq!(parse_tier("lightweight").ok(), Some(Tier::Lightweight));
        assert_eq!(parse_tier("upgraded").ok(), Some(Tier::Upgraded));
        assert_eq!(
            parse_tier("age-only").expect_err("no").kind,
            "invalid_input"
        );
    }

    /// The status the UI gets says where the device keys are and what the credentials say
    /// about them (software here: no TPM in the tests).
    #[test]
    fn the_status_says_where_the_device_keys_are() {
        if tessera_wallet::keys::TpmKeys::available() {
            return; // the app would pick the TPM for a new wallet on this machine
        }
        let state = enrolled("keys", 1, 1);
        let json = serde_json::to_value(status(&state).expect("status")).expect("json");
        clean_up(&state);
        assert_eq!(json["keys"], "software");
        // The fixture's credentials are software ones (or, for the upgraded tier, none).
        for field in ["key_protection", "one_time_key_protection"] {
            let v = json.get(field).expect("sent to the UI");
            assert!(v.is_null() || v == "software", "{field}: {v}");
        }
    }

    /// The Show screen's commands over the wallet core: one showing uses one credential,
    /// however many codes it regenerates; ending it asks for a refill once few are left;
    /// with none left the code says it can be linked.
    #[test]
    fn a_showing_uses_one_credential_across_its_codes() {
        let state = enrolled("showing", 3, 3);
        let first = begin(&state, Tier::AgeOnly, NOW).expect("first code");
        assert_eq!((first.tier, first.linkable), ("age_only", false));
        assert!(first.svg.starts_with("<?xml") || first.svg.contains("<svg"));
        for n in 1..=3 {
            let again = regenerate(&state, Tier::AgeOnly, NOW + 30 * n).expect("regenerated");
            assert_eq!((again.tier, again.linkable), ("age_only", false));
            assert_ne!(again.svg, first.svg, "a fresh proof each time");
        }
        assert_eq!(
            unused(&state, Tier::AgeOnly),
            2,
            "one credential for the showing"
        );
        assert_eq!(unused(&state, Tier::Lightweight), 3);
        let wallet = state.wallet().expect("wallet");
        let history = wallet.history().expect("history");
        assert_eq!(history.len(), 1, "one entry per showing, not per code");
        assert_eq!(
            (history[0].tier.as_str(), history[0].linkable),
            ("age_only", false)
        );
        // Another tier is not this showing.
        let other = regenerate(&state, Tier::Lightweight, NOW + 100).expect_err("not open");
        assert_eq!(other.kind, "showing_ended");
        // Two fresh age-only credentials left, fewer than the wallet keeps: refill due.
        assert!(end(&state, NOW + 120), "a refill is due after the showing");
        assert!(lock(&state.showing).is_none());
        let ended = regenerate(&state, Tier::AgeOnly, NOW + 150).expect_err("ended");
        assert_eq!(ended.kind, "showing_ended");

        // Use up the rest; offline, the next showing reuses one and says so.
        for _ in 0..2 {
            begin(&state, Tier::AgeOnly, NOW + 200).expect("showing");
            end(&state, NOW + 200);
        }
        assert_eq!(unused(&state, Tier::AgeOnly), 0);
        let reused = begin(&state, Tier::AgeOnly, NOW + 300).expect("a reused credential");
        assert!(reused.linkable);
        assert!(
            regenerate(&state, Tier::AgeOnly, NOW + 330)
                .expect("again")
                .linkable
        );
        let history = wallet.history().expect("history");
        assert_eq!(history.len(), 4);
        assert!(history[3].linkable && !history[2].linkable);

        // Switching tiers begins a new showing of the other tier.
        let basic = begin(&state, Tier::Lightweight, NOW + 400).expect("lightweight");
        assert_eq!((basic.tier, basic.linkable), ("lightweight", false));
        assert_eq!(
            regenerate(&state, Tier::AgeOnly, NOW + 430)
                .expect_err("ended")
                .kind,
            "showing_ended"
        );
        assert_eq!(unused(&state, Tier::Lightweight), 2);

        // The upgraded tier without a fresh unlock is refused before anything is recorded.
        *lock(&state.unlock) = None;
        let locked = begin(&state, Tier::Upgraded, NOW + 500).expect_err("locked");
        assert_eq!(locked.kind, "unlock_expired");
        *lock(&state.unlock) = Some(tessera_wallet::wallet::UpgradedUnlock {
            face_verified_at: NOW + 500 - 301,
        });
        let stale = begin(&state, Tier::Upgraded, NOW + 500).expect_err("stale");
        assert_eq!(stale.kind, "unlock_expired");
        assert_eq!(wallet.history().expect("history").len(), 5);
        clean_up(&state);
    }

    #[test]
    fn a_tier_with_no_credential_says_so_and_nothing_is_held() {
        let state = enrolled("none", 0, 3);
        let none = begin(&state, Tier::AgeOnly, NOW).expect_err("no age-only credential");
        assert_eq!(none.kind, "no_credential");
        assert!(lock(&state.showing).is_none());
        assert!(end(&state, NOW), "the refill fetches them");
        clean_up(&state);

        // Nothing enrolled: nothing to show, and no refill.
        let (_store, service, dir) = keystore("empty");
        let state = AppState::new(dir, &service, FramesMode::None, None, None);
        assert_eq!(
            begin(&state, Tier::Lightweight, NOW)
                .expect_err("nothing")
                .kind,
            "not_enrolled"
        );
        assert!(!end(&state, NOW));
        clean_up(&state);
    }

    /// A running refill is stopped (and has let go) before another vault write goes ahead.
    #[test]
    fn a_background_refill_is_stopped_before_other_vault_writes() {
        let state = enrolled("stop", 3, 3);
        state.stop_refill(); // none running: returns at once
        let running = state.refilling.clone().try_lock_owned().expect("free");
        *lock(&state.refill) = Some(tauri::async_runtime::spawn(async move {
            let _running = running;
            // Waiting on the network, as a refill does.
            std::future::pending::<()>().await;
        }));
        assert!(state.refilling.try_lock().is_err(), "the refill holds it");
        let started = std::time::Instant::now();
        begin(&state, Tier::AgeOnly, NOW).expect("a showing");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(state.refilling.try_lock().is_ok(), "the refill let go");
        assert!(lock(&state.refill).is_none());
        clean_up(&state);
    }

    #[test]
    fn posix_locales_become_language_tags() {
        assert_eq!(locale_tag("zh_CN.UTF-8").as_deref(), Some("zh-CN"));
        assert_eq!(locale_tag("en_US").as_deref(), Some("en-US"));
        assert_eq!(locale_tag("de_DE@euro").as_deref(), Some("de-DE"));
        assert_eq!(locale_tag("C.UTF-8"), None);
        assert_eq!(locale_tag("POSIX"), None);
        assert_eq!(locale_tag(""), None);
    }
}
