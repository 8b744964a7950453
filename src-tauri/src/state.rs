//! What the app holds while it runs: the wallet over the OS keystore, the settings file, the
//! face models (loaded once, in the background, shared with the embedded demo issuer), the
//! issuer in use, the upgraded-tier unlock and the open showing (memory only, never
//! stored), and the background refill of one-time credentials.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tessera_face::analysis::FaceAnalyzer;
use tessera_wallet::keys::TpmKeys;
use tessera_wallet::keystore::OsKeystore;
use tessera_wallet::trust::TrustAnchor;
use tessera_wallet::wallet::{Showing, UpgradedUnlock, Wallet};

use crate::capture::FramesMode;
use crate::error::CommandError;

/// The keystore service name the app's entries live under.
pub const KEYSTORE_SERVICE: &str = "org.tessera.wallet";

/// The person's choices, kept in `settings.json` in the app's data directory (nothing secret).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// `zh-CN` or `en`; `None` follows the system.
    pub language: Option<String>,
    /// `None` uses the embedded demo issuer.
    pub issuer_url: Option<String>,
}

impl Settings {
    /// Reads `path`; a missing or unreadable file gives the defaults (it holds preferences
    /// only, and the UI shows what is in effect).
    pub fn load(path: &Path) -> Settings {
        let mut s: Settings = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        // Saved by an older version, or edited by hand: an issuer URL that would not pass
        // today's check is not used.
        if s.issuer_url
            .as_deref()
            .is_some_and(|u| check_issuer_url(u).is_err())
        {
            tracing::warn!("the saved issuer URL is not acceptable; using the default issuer");
            s.issuer_url = None;
        }
        s
    }

    /// Checks and normalises what the UI sends.
    pub fn validated(mut self) -> Result<Settings, CommandError> {
        if let Some(lang) = &self.language
            && !matches!(lang.as_str(), "zh-CN" | "en")
        {
            return Err(CommandError::new(
                "invalid_input",
                format!("unsupported language {lang:?}: zh-CN or en"),
            ));
        }
        self.issuer_url = self.issuer_url.as_deref().and_then(normalised_issuer_url);
        if let Some(url) = &self.issuer_url
            && let Err(why) = check_issuer_url(url)
        {
            return Err(CommandError::new("invalid_input", why));
        }
        Ok(self)
    }

    /// Writes the settings atomically (a temporary file renamed over the old one).
    pub fn save(&self, path: &Path) -> Result<(), CommandError> {
        let fail =
            |e: std::io::Error| CommandError::new("internal", format!("{}: {e}", path.display()));
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        std::fs::write(&tmp, bytes).map_err(fail)?;
        std::fs::rename(&tmp, path).map_err(fail)
    }
}

/// `url` without surrounding spaces or trailing slashes; `None` if nothing is left.
pub fn normalised_issuer_url(url: &str) -> Option<String> {
    Some(url.trim().trim_end_matches('/').to_owned()).filter(|u| !u.is_empty())
}

/// Whether `url` may name the issuer: the wallet core's rule (`https://` with a host, or
/// plain `http://` only to a loopback address; no user name or password, query or
/// fragment; parsed, not prefix-matched), with the app's wording.
pub fn check_issuer_url(url: &str) -> Result<(), &'static str> {
    const WHY: &str = "the issuer URL must be https://HOST (plain http only to this device: http://127.0.0.1:PORT)";
    tessera_wallet::client::checked_issuer_url(url)
        .map(|_| ())
        .map_err(|_| WHY)
}

/// The embedded demo issuer, when no issuer URL is configured.
#[derive(Debug, Clone)]
pub struct DemoIssuer {
    /// Its loopback URL.
    pub url: String,
    /// Its trust-list key, handed over in process once it has opened its keys: the demo
    /// build's trust anchor, never learnt over HTTP from the URL.
    pub trust_anchor: Arc<OnceLock<TrustAnchor>>,
}

/// The ID authority's trust-list key built into the app (`TESSERA_AUTHORITY_TRUST_LIST_KEY`
/// at build time; see `build.rs`), the anchor for any configured issuer.
pub fn authority_trust_anchor() -> Option<TrustAnchor> {
    const PEM: &str = include_str!(concat!(env!("OUT_DIR"), "/authority-trust-list-key.pem"));
    if PEM.is_empty() {
        return None;
    }
    TrustAnchor::from_pem(PEM, "the built-in authority key").ok()
}

/// Everything the commands share.
#[derive(Debug)]
pub struct AppState {
    /// The wallet, or why the keystore cannot be used (every wallet command then says so).
    pub wallet: Result<Wallet, CommandError>,
    /// The app's data directory (settings, history; the demo issuer's files).
    pub data_dir: PathBuf,
    /// The person's settings.
    pub settings: Mutex<Settings>,
    /// The demo issuer, if one was started.
    pub demo_issuer: Option<DemoIssuer>,
    /// `TESSERA_ISSUER_URL`, which wins over the demo issuer but not over the settings.
    pub env_issuer_url: Option<String>,
    /// Where capture frames come from.
    pub frames: Mutex<FramesMode>,
    /// The photo chosen for demo use when there is no camera (memory only).
    pub photo: Mutex<Option<Arc<Vec<u8>>>>,
    /// The upgraded tier's unlock, while fresh.
    pub unlock: Mutex<Option<UpgradedUnlock>>,
    /// The showing open on the Show screen: every code until the screen closes comes from
    /// its one credential (issue 14).
    pub showing: Mutex<Option<Showing>>,
    /// The background refill of one-time credentials, while one runs.
    pub refill: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
    /// Held by the background refill from the moment it is started until it ends.
    pub refilling: Arc<tokio::sync::Mutex<()>>,
    /// A `tessera://sign-in` link the desktop handed over (argument or deep link), until the
    /// UI takes it.
    pub sign_in_link: Mutex<Option<String>>,
    /// The last link the UI took from `sign_in_link`: only such a link (from this device's
    /// own sign-in page) may carry the number to match.
    pub handed_over: Mutex<Option<String>>,
    /// The sign-in request checked and shown for consent, until approved or refused.
    pub sign_in: Mutex<Option<tessera_wallet::wallet::SignInConsent>>,
    /// Set to stop the running capture.
    pub cancel: Arc<AtomicBool>,
    /// One capture at a time.
    pub capture_lock: tokio::sync::Mutex<()>,
    faces: OnceLock<Result<Arc<FaceAnalyzer>, String>>,
}

impl AppState {
    /// The app's state over `data_dir`, the keystore under `service`.
    pub fn new(
        data_dir: PathBuf,
        service: &str,
        frames: FramesMode,
        demo_issuer: Option<DemoIssuer>,
        env_issuer_url: Option<String>,
    ) -> AppState {
        let settings = Settings::load(&data_dir.join("settings.json"));
        let wallet = OsKeystore::open(service)
            .map_err(CommandError::from)
            .and_then(|store| Wallet::open(Box::new(store), &data_dir).map_err(CommandError::from))
            .map(with_device_keys);
        AppState {
            wallet,
            data_dir,
            settings: Mutex::new(settings),
            demo_issuer,
            env_issuer_url,
            frames: Mutex::new(frames),
            photo: Mutex::new(None),
            unlock: Mutex::new(None),
            showing: Mutex::new(None),
            refill: Mutex::new(None),
            refilling: Arc::new(tokio::sync::Mutex::new(())),
            sign_in_link: Mutex::new(None),
            handed_over: Mutex::new(None),
            sign_in: Mutex::new(None),
            cancel: Arc::new(AtomicBool::new(false)),
            capture_lock: tokio::sync::Mutex::new(()),
            faces: OnceLock::new(),
        }
    }

    /// The wallet, or the keystore error.
    pub fn wallet(&self) -> Result<&Wallet, CommandError> {
        self.wallet.as_ref().map_err(Clone::clone)
    }

    /// The face models, loading them on first use (other callers wait for the same load).
    pub fn faces(&self) -> Result<Arc<FaceAnalyzer>, CommandError> {
        let loaded = self.faces.get_or_init(|| {
            FaceAnalyzer::load()
                .map(Arc::new)
                .map_err(|e| format!("the face models cannot be loaded: {e}"))
        });
        let faces = loaded
            .clone()
            .map_err(|e| CommandError::new("internal", e))?;
        if let Ok(w) = &self.wallet {
            w.share_faces(faces.clone());
        }
        Ok(faces)
    }

    /// The issuer in use: the settings' URL, else `TESSERA_ISSUER_URL`, else the demo issuer.
    pub fn issuer_url(&self) -> Result<(String, bool), CommandError> {
        let configured = lock(&self.settings).issuer_url.clone();
        if let Some(url) = configured.or_else(|| self.env_issuer_url.clone()) {
            return Ok((url, false));
        }
        self.demo_issuer
            .as_ref()
            .map(|d| (d.url.clone(), true))
            .ok_or_else(|| {
                CommandError::new(
                    "issuer_unreachable",
                    "no issuer is configured and the demo issuer did not start: set the issuer URL in the settings",
                )
            })
    }

    /// The trust anchor for the issuer in use: the demo issuer's own key (in process), else
    /// the authority key built into the app. Never a key fetched from the issuer URL.
    pub async fn trust_anchor(&self, demo: bool) -> Result<TrustAnchor, CommandError> {
        if demo {
            // The demo issuer opens its keys once the face models are loaded (seconds after
            // the window shows); a request meanwhile waits for it, as its socket would.
            let started = std::time::Instant::now();
            loop {
                if let Some(a) = self
                    .demo_issuer
                    .as_ref()
                    .and_then(|d| d.trust_anchor.get().cloned())
                {
                    return Ok(a);
                }
                if self.demo_issuer.is_none() || started.elapsed().as_secs() >= 120 {
                    return Err(CommandError::new(
                        "issuer_unreachable",
                        "the demo issuer did not start: restart the app",
                    ));
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        authority_trust_anchor().ok_or_else(|| {
            CommandError::new(
                "issuer_untrusted",
                "this build of the app carries no ID authority key, so it cannot check any issuer but its demo one: install the app from your ID authority",
            )
        })
    }

    /// Stops a background refill before anything else writes the vault: the refill works on
    /// its own copy of the vault and would write it back over the other change (a showing
    /// counted, a new PIN, a renewal). Stopping it is safe: a refill keeps its request in the
    /// vault before sending it and finishes it next time, as after a crash. Returns once the
    /// refill has let go (it stops at its next await, at once while it waits on the network).
    pub fn stop_refill(&self) {
        if let Some(task) = lock(&self.refill).take() {
            task.abort();
        }
        let wait = || {
            let started = Instant::now();
            while self.refilling.try_lock().is_err() && started.elapsed() < STOP_REFILL_WAIT {
                std::thread::sleep(Duration::from_millis(2));
            }
        };
        // Inside the async runtime (async commands) the wait must not hold up a worker the
        // refill task may need in order to stop.
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait);
            }
            _ => wait(),
        }
    }

    /// The settings file.
    pub fn settings_path(&self) -> PathBuf {
        self.data_dir.join("settings.json")
    }
}

/// `wallet` with its device keys where the CLI's `--keys auto` puts them: the holder that
/// made the stored vault; with no vault, the TPM when `TPM2TOOLS_TCTI` is set or
/// `/dev/tpmrm0` exists, else software. A TPM that cannot be opened leaves the software keys
/// (with the reason logged): the wallet keeps working, and a vault made by the TPM then says
/// so when it is used.
fn with_device_keys(wallet: Wallet) -> Wallet {
    let use_tpm = match wallet.stored_key_holder() {
        Ok(Some(holder)) => holder == "tpm",
        Ok(None) => TpmKeys::available(),
        Err(e) => {
            tracing::warn!("the stored vault cannot be read to pick the device keys: {e}");
            TpmKeys::available()
        }
    };
    if !use_tpm {
        return wallet;
    }
    match TpmKeys::open() {
        Ok(keys) => {
            tracing::info!("device keys: in the TPM");
            wallet.with_key_holder(Box::new(keys))
        }
        Err(e) => {
            tracing::warn!("the TPM cannot be opened, so the device keys stay in software: {e}");
            wallet
        }
    }
}

/// The longest [`AppState::stop_refill`] waits for the refill to stop (it stops within
/// milliseconds unless it is in the middle of making keys).
const STOP_REFILL_WAIT: Duration = Duration::from_secs(10);

/// Locks `m`, recovering from a panic in another holder (the data are plain values).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_validated_and_normalised() {
        let s = Settings {
            language: Some("en".into()),
            issuer_url: Some(" https://id.example.gov/ ".into()),
        }
        .validated()
        .expect("valid");
        assert_eq!(s.issuer_url.as_deref(), Some("https://id.example.gov"));
        let blank = Settings {
            language: None,
            issuer_url: Some("  ".into()),
        }
        .validated()
        .expect("valid");
        assert_eq!(blank.issuer_url, None);
        for bad in [
            Settings {
                language: Some("fr".into()),
                issuer_url: None,
            },
            Settings {
                language: None,
                issuer_url: Some("http://id.example.gov".into()),
            },
        ] {
            assert_eq!(bad.validated().expect_err("refused").kind, "invalid_input");
        }
        for ok in [
            "https://id.example.gov",
            "http://127.0.0.1:8443",
            "https://[2001:db8::1]:8443/issuer",
        ] {
            assert_eq!(check_issuer_url(ok), Ok(()), "{ok}");
        }
        // Parsed, not prefix-matched.
        for bad in [
            "http://127.0.0.1.example.com",
            "http://127.0.0.1@evil.example",
            "https://user:pw@id.example.gov",
            "https://id.example.gov/?x=1",
            "ftp://id.example.gov",
            "https://",
            "not a url",
        ] {
            assert!(check_issuer_url(bad).is_err(), "{bad}");
            let bad = Settings {
                language: None,
                issuer_url: Some(bad.into()),
            };
            assert_eq!(bad.validated().expect_err("refused").kind, "invalid_input");
        }
    }

    #[test]
    fn settings_round_trip_through_the_file_and_damage_gives_defaults() {
        let dir = std::env::temp_dir().join(format!("tessera-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("settings.json");
        let s = Settings {
            language: Some("zh-CN".into()),
            issuer_url: None,
        };
        s.save(&path).expect("saved");
        assert_eq!(Settings::load(&path), s);
        std::fs::write(&path, b"{not json").expect("write");
        assert_eq!(Settings::load(&path), Settings::default());
        // A URL an older version let through is not used.
        std::fs::write(
            &path,
            br#"{"language":"en","issuer_url":"http://127.0.0.1.example.com"}"#,
        )
        .expect("write");
        let loaded = Settings::load(&path);
        assert_eq!(loaded.issuer_url, None);
        assert_eq!(loaded.language.as_deref(), Some("en"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
