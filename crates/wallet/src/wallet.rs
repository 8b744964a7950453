//! The wallet: enrol, show, renew, history, reset — over the keystore, the face crate and
//! the issuer client. The CLI and the Tauri commands call these and nothing else.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

use serde::Serialize;
use tessera_credential::KeyProtection;
use tessera_credential::claims::{Identity, LightweightClaims, Tier};
use tessera_credential::credential::Credential;
use tessera_credential::keys::Randomness;
use tessera_face::analysis::{FaceAnalyzer, FaceError};
use tessera_face::liveness::{Action, Challenge};
use tessera_face::source::{decode_image_bytes, image_files};
use tessera_face::template::{MATCH_THRESHOLD, Template};
use tessera_issuer_api::ChallengeResponse;

use crate::client::IssuerError;
use crate::keys::{KeyHolder, KeyHolderError, SoftwareKeys, pin_auth_value};
use crate::keystore::{KeystoreError, SecretStore};
use crate::lifecycle::{self, State, TransitionError};
use crate::pin::{self, PinError};

mod enrolment;
mod refill;
mod showing;
mod sign_in;
use crate::vault::Vault;
pub use refill::{REFILL_BELOW, Refilled};
pub use showing::{OneTimeCounts, Showing};
pub use sign_in::{SignInConsent, SignInRecord};

/// How long a proof shown in a QR code lives (the app regenerates every 30 s).
pub const QR_LIFETIME: u64 = 60;
/// Renewal is offered this long before expiry.
pub const RENEW_BEFORE: u64 = 30 * 86_400;
/// A face match unlocks the upgraded tier for this long.
pub const FACE_MATCH_VALIDITY: u64 = 300;

/// Why a wallet operation failed. Nothing stored is lost by any of them.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The keystore.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// The issuer.
    #[error(transparent)]
    Issuer(#[from] IssuerError),
    /// The trust anchor, or something the issuer sent that it does not vouch for.
    #[error(transparent)]
    Trust(#[from] crate::trust::TrustError),
    /// Not possible in this state.
    #[error(transparent)]
    State(#[from] TransitionError),
    /// The PIN.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// Frames could not be read or used.
    #[error("{0}")]
    Frames(String),
    /// The camera could not be used (none, busy, not allowed, unplugged).
    #[error(transparent)]
    Camera(#[from] tessera_face::source::CaptureError),
    /// The person stopped the capture.
    #[error("the capture was cancelled")]
    Cancelled,
    /// The on-device liveness check failed.
    #[error("the liveness check failed ({0}): do the actions shown, in order, and try again")]
    Liveness(String),
    /// The first picture is not good enough to start (what to fix, most important first).
    #[error("the picture is not good enough: {}", .0.join(", "))]
    Quality(Vec<&'static str>),
    /// The face does not match the enrolled one.
    #[error("the face does not match the one enrolled on this device")]
    FaceMismatch,
    /// The upgraded tier needs what was not given.
    #[error("{0}")]
    Unlock(String),
    /// A sign-in link that cannot be used.
    #[error(transparent)]
    SignInLink(#[from] tessera_oidc::sign_in::SignInLinkError),
    /// The history file.
    #[error("the presentation history ({path}) cannot be used: {detail}")]
    History {
        /// Which file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
}

pub use crate::keys::OsRandomness;

impl From<KeyHolderError> for WalletError {
    /// The TPM's answers as the wallet's: its PIN refusals with the same errors (and so the
    /// same messages and waits in the UI) as the software PIN's.
    fn from(e: KeyHolderError) -> WalletError {
        use tessera_tpm::TpmError;
        match e {
            KeyHolderError::Keystore(k) => WalletError::Keystore(k),
            KeyHolderError::Tpm(TpmError::WrongPin { tries_left }) => {
                WalletError::Pin(PinError::Wrong {
                    remaining_before_lock: tries_left.unwrap_or(0),
                })
            }
            KeyHolderError::Tpm(TpmError::LockedOut { retry_after }) => {
                WalletError::Pin(PinError::LockedOut {
                    // No interval: only the machine owner's lockout authorisation ends it;
                    // say a day, as the software back-off's longest wait.
                    seconds: retry_after.map_or(86_400, |d| d.as_secs().max(1)),
                })
            }
            KeyHolderError::Tpm(TpmError::PinRequired) => WalletError::Pin(PinError::Required),
            KeyHolderError::Tpm(TpmError::NotThisTpm) => WalletError::Unlock(
                "this wallet's device keys were made by another TPM (or this TPM was cleared): \
                 they cannot sign on this device; remove the ID and enrol again here"
                    .into(),
            ),
            KeyHolderError::Tpm(other) => WalletError::Frames(format!("the TPM: {other}")),
            KeyHolderError::Unsupported(what) => WalletError::Unlock(what.into()),
        }
    }
}

/// The upgraded key's authValue (TPM keys), held in memory for the unlock's window: every
/// upgraded signature needs it. Keyed by the unlock's `face_verified_at`.
#[derive(Default)]
struct HeldAuth(std::sync::Mutex<Option<(u64, Zeroizing<Vec<u8>>)>>);

impl std::fmt::Debug for HeldAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeldAuth(…)")
    }
}

impl HeldAuth {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, Zeroizing<Vec<u8>>)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    OsRandomness.fill(&mut b);
    b
}

/// What `status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Life-cycle state.
    pub state: State,
    /// Tiers the wallet can show.
    pub tiers: Vec<&'static str>,
    /// When the batch expires.
    pub expires_at: Option<u64>,
    /// Whether a PIN is set (needed for the upgraded tier).
    pub pin_set: bool,
    /// Unused one-time credentials per tier (a refill tops them up when online).
    pub one_time: OneTimeCounts,
    /// The device's clock against the issuer's, when last online.
    pub clock: Option<crate::clock::ClockReading>,
    /// Where the device keys are: `software` or `tpm` (the vault's record, or for a wallet
    /// without keys yet the holder it would use).
    pub keys: &'static str,
    /// What the held credentials say about their keys (the issuer's word, from the
    /// attestation it checked): the upgraded credential's, `None` before enrolment.
    pub key_protection: Option<KeyProtection>,
    /// The same for the one-time (lightweight, age-only) credentials: the lowest among them.
    pub one_time_key_protection: Option<KeyProtection>,
}

/// One QR code's worth.
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    /// The `TS1:` text.
    pub text: String,
    /// When the proof expires.
    pub expires_at: u64,
    /// Which tier.
    pub tier: &'static str,
    /// The one-time credential had been shown before (offline, none unused was left): this
    /// code can be linked to the earlier ones until the wallet refills online.
    pub linkable: bool,
}

/// Proof that the PIN and a live face were checked, at a time. With TPM keys the PIN's
/// authValue, which every upgraded signature needs, stays inside the [`Wallet`] that made
/// the unlock (in memory, for [`FACE_MATCH_VALIDITY`]), so this stays a plain `Copy` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpgradedUnlock {
    /// When the face matched (Unix seconds).
    pub face_verified_at: u64,
}

/// One line of the history: one showing (never the code itself).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct HistoryEntry {
    /// Unix seconds.
    pub at: u64,
    /// Tier shown.
    pub tier: String,
    /// The credential had been shown before (see [`Shown::linkable`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub linkable: bool,
}

/// The most frames one answer may have (the issuer's limit too; the app's camera keeps 8
/// per action).
const MAX_ANSWER_FRAMES: usize = 48;

/// A liveness answer checked on the device.
struct CheckedFace {
    /// The face at the start of the answer.
    first: Template,
    /// The face at the end (facing front).
    last: Template,
    /// The frames to send: the answer's evidence
    /// ([`tessera_face::answer::AnswerReport::evidence`]), checked to pass on its own. Fewer
    /// frames are faster to upload and to check.
    evidence: Vec<Vec<u8>>,
}

/// The wallet.
#[derive(Debug)]
pub struct Wallet {
    store: crate::vault::VaultStore,
    keys: Box<dyn KeyHolder>,
    data_dir: PathBuf,
    faces: std::sync::OnceLock<Arc<FaceAnalyzer>>,
    unlocked: HeldAuth,
}

/// Where the frames answering a liveness challenge come from: recorded folders (the CLI,
/// the app's demo recording) or a live camera (the app, which also shows the person what to
/// do while it captures).
pub trait Capture: Send {
    /// JPEG or PNG frames answering `actions` (issuer names: `front`, `left`, `right`,
    /// `blink`), in order.
    fn answer(&mut self, actions: &[String]) -> Result<Vec<Vec<u8>>, WalletError>;
}

/// Recorded frames: `dir/<action>/` holds the pictures for each action.
#[derive(Debug, Clone)]
pub struct RecordedFrames(pub PathBuf);

impl Capture for RecordedFrames {
    fn answer(&mut self, actions: &[String]) -> Result<Vec<Vec<u8>>, WalletError> {
        frames_for(&self.0, actions)
    }
}

/// The frames in `dir/<action>/` for each action, in order (JPEG or PNG bytes).
pub fn frames_for(dir: &Path, actions: &[String]) -> Result<Vec<Vec<u8>>, WalletError> {
    let mut out = Vec::new();
    for a in actions {
        let sub = dir.join(a);
        let files = image_files(&sub).map_err(|e| {
            WalletError::Frames(format!(
                "{}: {e} (expected recorded frames for the action {a:?})",
                sub.display()
            ))
        })?;
        for f in files {
            out.push(
                std::fs::read(&f)
                    .map_err(|e| WalletError::Frames(format!("{}: {e}", f.display())))?,
            );
        }
    }
    Ok(out)
}

/// Words for the quality guidance codes.
pub fn guidance_text(g: tessera_face::quality::Guidance) -> &'static str {
    use tessera_face::quality::Guidance as G;
    match g {
        G::NoFace => "no face found: look at the camera",
        G::MultipleFaces => "more than one face: only you may be in the picture",
        G::TooFar => "the face is too small: come closer",
        G::TooClose => "the face is too close: move back",
        G::OffCentre => "move your face to the centre",
        G::TooDark => "too dark: find more light",
        G::TooBright => "too bright: avoid strong light on or behind you",
        G::Blurry => "blurry: hold still and clean the lens",
        G::TurnedAway => "face the camera",
    }
}

fn parse_actions(actions: &[String]) -> Result<Vec<Action>, WalletError> {
    actions
        .iter()
        .map(|a| match a.as_str() {
            "front" => Ok(Action::Front),
            "left" => Ok(Action::TurnLeft),
            "right" => Ok(Action::TurnRight),
            "blink" => Ok(Action::Blink),
            other => Err(WalletError::Frames(format!("unknown action {other:?}"))),
        })
        .collect()
}

/// The liveness part of an issuer's challenge (already checked by the client).
fn liveness_challenge(c: &ChallengeResponse, now: u64) -> Result<Challenge, WalletError> {
    let nonce: [u8; 16] =
        c.nonce.as_slice().try_into().map_err(|_| {
            WalletError::Frames("the issuer's challenge has a malformed nonce".into())
        })?;
    Ok(Challenge {
        nonce,
        actions: parse_actions(&c.actions)?,
        issued_at: c.issued_at,
        expires_at: c.expires_at.max(now),
    })
}

impl Wallet {
    /// A wallet over `store`, with non-secret files (history) in `data_dir`.
    pub fn open(store: Box<dyn SecretStore>, data_dir: &Path) -> Result<Wallet, WalletError> {
        std::fs::create_dir_all(data_dir).map_err(|e| WalletError::History {
            path: data_dir.to_owned(),
            detail: e.to_string(),
        })?;
        Ok(Wallet {
            store: crate::vault::VaultStore::in_data_dir(store, data_dir),
            keys: Box::new(SoftwareKeys),
            data_dir: data_dir.to_owned(),
            faces: std::sync::OnceLock::new(),
            unlocked: HeldAuth::default(),
        })
    }

    /// Shares already-loaded face models (the app loads them once for the wallet and its
    /// embedded demo issuer). Ignored if the wallet already loaded its own.
    pub fn share_faces(&self, faces: Arc<FaceAnalyzer>) {
        let _ = self.faces.set(faces);
    }

    /// What the lightweight tier discloses about the holder (masked name and ID number), to
    /// show on the app's ID card; `None` before enrolment.
    pub fn holder(&self) -> Result<Option<LightweightClaims>, WalletError> {
        let Some(vault) = Vault::load(&self.store)? else {
            return Ok(None);
        };
        let Some(held) = vault
            .one_time
            .iter()
            .find(|o| o.tier == Tier::Lightweight.name())
        else {
            return Ok(None);
        };
        let credential =
            Credential::from_bytes(&held.credential).map_err(|e| KeystoreError::Corrupt {
                name: "wallet-vault".into(),
                detail: e.to_string(),
            })?;
        Ok(match credential.claims.identity {
            Identity::Lightweight(claims) => Some(claims),
            Identity::Upgraded(_) | Identity::AgeOnly(_) => None,
        })
    }

    /// Keeps device keys in `keys` (e.g. [`crate::keys::TpmKeys`]) instead of software. A
    /// vault whose keys another holder made is refused when it is used.
    pub fn with_key_holder(mut self, keys: Box<dyn KeyHolder>) -> Wallet {
        self.keys = keys;
        self
    }

    /// The holder this wallet's keys are in: `software` or `tpm`.
    pub fn key_holder(&self) -> &'static str {
        self.keys.name()
    }

    /// The holder that made the stored vault's keys (`None`: no vault, or one without
    /// keys), to pick the holder before opening it (`--keys auto`).
    pub fn stored_key_holder(&self) -> Result<Option<String>, WalletError> {
        Ok(Vault::load(&self.store)?
            .filter(Vault::has_keys)
            .map(|v| v.key_holder().to_owned()))
    }

    /// The upgraded key's authValue held for the unlock made at `face_verified_at`.
    fn held_auth(&self, face_verified_at: u64) -> Option<Zeroizing<Vec<u8>>> {
        self.unlocked
            .lock()
            .as_ref()
            .filter(|(at, _)| *at == face_verified_at)
            .map(|(_, a)| a.clone())
    }

    /// Forgets the held authValue (a changed PIN, a new key, a reset).
    fn forget_unlock(&self) {
        *self.unlocked.lock() = None;
    }

    /// Whether the PIN of this vault is the TPM-enforced one (or will be, once set).
    fn tpm_pin_vault(&self, vault: &Vault) -> bool {
        self.keys.enforces_auth()
            && vault.key_holder() == self.keys.name()
            && vault.device_key.is_some()
            && (vault.tpm_pin || vault.device_key_auth.is_some())
    }

    /// Checks `pin` by the TPM: one signature with the upgraded key under the PIN's
    /// authValue, so a wrong PIN counts against the TPM's own lockout. Returns the value.
    fn check_tpm_pin(&self, vault: &Vault, pin: &str) -> Result<Zeroizing<Vec<u8>>, WalletError> {
        if !vault.tpm_pin {
            return Err(PinError::NotSet.into());
        }
        // The format is checked first: it says nothing about the PIN and spends no try.
        pin::check_new_pin_format(pin)?;
        let salt = vault.pin_salt.as_deref().ok_or(PinError::Damaged)?;
        let handle = vault.device_key.as_deref().ok_or(PinError::NotSet)?;
        let auth = pin_auth_value(salt, pin);
        self.keys.check_auth(handle, &auth)?;
        Ok(auth)
    }

    /// Sets or changes the TPM-enforced PIN: TPM2_ObjectChangeAuth of the upgraded key from
    /// the placeholder (first PIN) or the current PIN's value to the new PIN's; the new
    /// blob replaces the old one and the placeholder is deleted, in one vault write.
    fn set_tpm_pin(
        &self,
        mut vault: Vault,
        current: Option<&str>,
        new_pin: &str,
        now: u64,
    ) -> Result<(), WalletError> {
        let old = if vault.tpm_pin {
            self.check_tpm_pin(&vault, current.ok_or(PinError::Required)?)?
        } else {
            // A PIN set before the keys were made (an Argon2 verifier) is checked as before,
            // once, and then replaced by the TPM's.
            let checked = pin::authorise(&mut vault, current, now);
            if checked.is_err() {
                vault.save(&self.store)?;
            }
            checked?;
            Zeroizing::new(vault.device_key_auth.clone().ok_or(PinError::Damaged)?)
        };
        pin::check_new_pin(new_pin, crate::pin_policy::birth_date(&vault).as_deref())?;
        let salt = match vault.pin_salt.clone() {
            Some(s) => s,
            None => random::<16>().to_vec(),
        };
        let new = pin_auth_value(&salt, new_pin);
        let handle = vault.device_key.clone().ok_or(PinError::Damaged)?;
        let blob = self.keys.change_auth(&handle, &old, &new)?;
        vault.device_key = Some(blob.to_vec());
        vault.device_key_auth = None;
        vault.tpm_pin = true;
        vault.pin_salt = Some(salt);
        vault.pin_verifier = None;
        vault.save(&self.store)?;
        self.forget_unlock();
        Ok(())
    }

    fn faces(&self) -> Result<Arc<FaceAnalyzer>, WalletError> {
        if let Some(f) = self.faces.get() {
            return Ok(f.clone());
        }
        let f = Arc::new(
            FaceAnalyzer::load().map_err(|e| WalletError::Frames(format!("face models: {e}")))?,
        );
        Ok(self.faces.get_or_init(|| f).clone())
    }

    fn vault(&self) -> Result<Vault, WalletError> {
        let vault = Vault::load(&self.store)?.unwrap_or_default();
        if vault.has_keys() && vault.key_holder() != self.keys.name() {
            return Err(WalletError::Unlock(format!(
                "this wallet's device keys are {} keys, and it was opened with {} keys: open it with --keys {} (TESSERA_WALLET_KEYS)",
                vault.key_holder(),
                self.keys.name(),
                vault.key_holder()
            )));
        }
        Ok(vault)
    }

    /// The state, tiers and expiry.
    pub fn status(&self, now: u64) -> Result<Status, WalletError> {
        let vault = Vault::load(&self.store)?;
        let state = lifecycle::state(vault.as_ref(), now, RENEW_BEFORE);
        let usable = matches!(state, State::Active | State::RenewalDue | State::Renewing);
        Ok(Status {
            state,
            tiers: if usable {
                vec!["age_only", "lightweight", "upgraded"]
            } else {
                vec![]
            },
            one_time: vault
                .as_ref()
                .map(|v| OneTimeCounts::of(v, now))
                .unwrap_or_default(),
            expires_at: vault
                .as_ref()
                .and_then(|v| v.batch.as_ref())
                .map(|b| b.expires_at),
            pin_set: vault.as_ref().is_some_and(Vault::pin_set),
            clock: crate::clock::load(&self.clock_path()),
            keys: match vault
                .as_ref()
                .filter(|v| v.has_keys())
                .map(Vault::key_holder)
            {
                Some("tpm") => "tpm",
                Some(_) => "software",
                None => self.keys.name(),
            },
            key_protection: vault
                .as_ref()
                .and_then(|v| v.batch.as_ref())
                .and_then(|b| Credential::from_bytes(&b.upgraded).ok())
                .map(|c| c.claims.key_protection),
            one_time_key_protection: vault.as_ref().and_then(|v| {
                v.one_time
                    .iter()
                    .filter_map(|o| Credential::from_bytes(&o.credential).ok())
                    .map(|c| c.claims.key_protection)
                    .min()
            }),
        })
    }

    /// Where the issuer clients of this wallet keep the clock reading
    /// ([`crate::client::IssuerClient::remembering_clock_in`]).
    pub fn clock_path(&self) -> PathBuf {
        self.data_dir.join(crate::clock::CLOCK_FILE)
    }

    /// Sets the first PIN, or changes it given the `current` one. The rules (weak PINs
    /// refused, a wrong current PIN counted, the wait kept) are [`pin::change_pin`]'s.
    pub fn set_pin(
        &self,
        current: Option<&str>,
        new_pin: &str,
        now: u64,
    ) -> Result<(), WalletError> {
        let vault = self.vault()?;
        if self.tpm_pin_vault(&vault) {
            return self.set_tpm_pin(vault, current, new_pin, now);
        }
        self.with_pin_check(|vault| pin::change_pin(vault, current, new_pin, &random::<16>(), now))
    }

    /// Checks the PIN for a change that needs it once one is set (the app's issuer URL):
    /// [`pin::authorise`], through the same back-off as the upgraded unlock.
    pub fn authorise_change(&self, pin_given: Option<&str>, now: u64) -> Result<(), WalletError> {
        let vault = self.vault()?;
        if self.tpm_pin_vault(&vault) && vault.tpm_pin {
            return self
                .check_tpm_pin(&vault, pin_given.ok_or(PinError::Required)?)
                .map(drop);
        }
        self.with_pin_check(|vault| pin::authorise(vault, pin_given, now))
    }

    /// Runs a PIN check on the vault and saves what it changed (a failure counted, a new
    /// verifier) before answering: a caller that stops listening still pays for a wrong try.
    fn with_pin_check(
        &self,
        check: impl FnOnce(&mut Vault) -> Result<(), PinError>,
    ) -> Result<(), WalletError> {
        let before = self.vault()?;
        let mut vault = before.clone();
        let checked = check(&mut vault);
        if vault != before {
            vault.save(&self.store)?;
        }
        checked.map_err(WalletError::from)
    }

    /// Checks the answer on the device before anything is sent: the quality gates on the
    /// first picture, then liveness over the whole answer.
    fn check_face(
        &self,
        ch: &Challenge,
        frames: &[Vec<u8>],
        now: u64,
    ) -> Result<CheckedFace, WalletError> {
        let faces = self.faces()?;
        // The capture screen's gates, on the first (front-facing) picture: an answer that
        // starts badly is not worth sending.
        let first = frames
            .first()
            .ok_or_else(|| WalletError::Frames("no frames".into()))?;
        let first = decode_image_bytes(first).map_err(WalletError::Frames)?;
        let (_, quality) = faces
            .quality(&first)
            .map_err(|e| WalletError::Frames(e.to_string()))?;
        if !quality.is_good() {
            return Err(WalletError::Quality(
                quality.guidance.iter().map(|g| guidance_text(*g)).collect(),
            ));
        }
        // A whole answer is decoded at once: keep a recording from taking the device's memory.
        if frames.len() > MAX_ANSWER_FRAMES {
            return Err(WalletError::Frames(format!(
                "the answer has {} frames; at most {MAX_ANSWER_FRAMES} are checked: record fewer",
                frames.len()
            )));
        }
        let report = faces
            .check_answer(ch, frames, now)
            .map_err(|e| WalletError::Frames(e.to_string()))?;
        if !report.verdict.passed {
            let reasons = serde_json::to_string(&report.verdict.failures).unwrap_or_default();
            return Err(WalletError::Liveness(reasons));
        }
        let evidence = report.evidence.iter().map(|&i| frames[i].clone()).collect();
        let no_face = |e: FaceError| WalletError::Frames(format!("no usable face: {e}"));
        let first = report.first.map_err(no_face)?.template;
        let last = report.last.map_err(no_face)?.template;
        Ok(CheckedFace {
            first,
            last,
            evidence,
        })
    }

    /// Unlocks the upgraded tier: the PIN (wrong tries back off) and a fresh face check
    /// with liveness against the enrolled template. The unlock is valid for
    /// [`FACE_MATCH_VALIDITY`]; the app keeps it in memory and regenerates codes with it.
    pub fn unlock_upgraded(
        &self,
        pin_given: Option<&str>,
        face: Option<&mut dyn Capture>,
        now: u64,
    ) -> Result<UpgradedUnlock, WalletError> {
        let mut vault = self.vault()?;
        let pin_given = pin_given
            .ok_or_else(|| WalletError::Unlock("the upgraded tier needs the PIN".into()))?;
        // With TPM keys the TPM checks the PIN (its lockout counts wrong ones, whoever
        // copies the vault); otherwise the Argon2 verifier with the vault's back-off.
        let auth = if self.tpm_pin_vault(&vault) {
            Some(self.check_tpm_pin(&vault, pin_given)?)
        } else {
            let checked = pin::verify_pin(&mut vault, pin_given, now);
            vault.save(&self.store)?;
            checked?;
            None
        };
        let face =
            face.ok_or_else(|| WalletError::Unlock("the upgraded tier needs a face check".into()))?;
        self.face_check(&vault, face, now)?;
        *self.unlocked.lock() = auth.map(|a| (now, a));
        Ok(UpgradedUnlock {
            face_verified_at: now,
        })
    }

    /// A local liveness challenge answered by `capture`, and a match with the stored template.
    fn face_check(
        &self,
        vault: &Vault,
        capture: &mut dyn Capture,
        now: u64,
    ) -> Result<(), WalletError> {
        let stored = vault
            .face_template
            .as_deref()
            .ok_or_else(|| WalletError::Unlock("no face was enrolled on this device".into()))?;
        let stored = Template::from_bytes(stored).map_err(|e| KeystoreError::Corrupt {
            name: "wallet-vault".into(),
            detail: e.to_string(),
        })?;
        let ch = Challenge::from_random(random::<17>(), now, 120);
        let actions: Vec<String> = ch.actions.iter().map(|a| a.name().to_owned()).collect();
        let frames = capture.answer(&actions)?;
        let live = self.check_face(&ch, &frames, now)?;
        drop(frames);
        // The stored face at the start and at the end of the answer, as the issuer checks.
        if live
            .first
            .similarity(&stored)
            .min(live.last.similarity(&stored))
            < MATCH_THRESHOLD
        {
            return Err(WalletError::FaceMismatch);
        }
        Ok(())
    }

    fn history_path(&self) -> PathBuf {
        self.data_dir.join("history.jsonl")
    }

    /// Every presentation, oldest first (time and tier only).
    pub fn history(&self) -> Result<Vec<HistoryEntry>, WalletError> {
        crate::journal::read(&self.history_path())
    }

    /// Removes everything this wallet stored. While an ID is held (any state but not
    /// enrolled) this needs the PIN, if one was set ([`authorise_change`](Self::authorise_change)):
    /// removing is how someone holding the unlocked device would clear a PIN they do not know.
    /// With no PIN set yet there is nothing to check (whoever holds the device could set a
    /// first PIN and use it), and a damaged vault holds no verifier to check: removing it is
    /// the only way out, and whoever could damage the entry could delete it.
    pub fn reset(&self, pin_given: Option<&str>, now: u64) -> Result<(), WalletError> {
        match Vault::load(&self.store) {
            Ok(Some(v)) if lifecycle::state(Some(&v), now, 0) != State::NotEnrolled => {
                // A vault whose TPM keys another TPM made (a copy, or this TPM was cleared)
                // can never check its PIN here, nor sign: nothing to protect, and removing
                // it is the only way out.
                let foreign = self.keys.enforces_auth()
                    && v.key_holder() == self.keys.name()
                    && v.one_time.first().is_some_and(|o| {
                        matches!(
                            self.keys.probe(&o.key),
                            Err(KeyHolderError::Tpm(tessera_tpm::TpmError::NotThisTpm))
                        )
                    });
                if !foreign {
                    self.authorise_change(pin_given, now)?;
                }
            }
            Ok(_) | Err(KeystoreError::Corrupt { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        self.store.delete()?;
        self.forget_unlock();
        crate::journal::remove(&self.history_path())?;
        crate::journal::remove(&self.sign_ins_path())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tessera_tpm::TpmError;

    #[test]
    fn the_tpms_pin_answers_are_the_wallets_pin_errors() {
        let e = WalletError::from(KeyHolderError::Tpm(TpmError::WrongPin {
            tries_left: Some(2),
        }));
        assert!(matches!(
            e,
            WalletError::Pin(PinError::Wrong {
                remaining_before_lock: 2
            })
        ));
        let e = WalletError::from(KeyHolderError::Tpm(TpmError::LockedOut {
            retry_after: Some(Duration::from_secs(600)),
        }));
        assert!(matches!(
            e,
            WalletError::Pin(PinError::LockedOut { seconds: 600 })
        ));
        assert_eq!(e.to_string(), "too many wrong PINs: try again in 600 s");
        let e = WalletError::from(KeyHolderError::Tpm(TpmError::LockedOut {
            retry_after: None,
        }));
        assert!(matches!(
            e,
            WalletError::Pin(PinError::LockedOut { seconds: 86_400 })
        ));
        let e = WalletError::from(KeyHolderError::Tpm(TpmError::NotThisTpm));
        assert!(e.to_string().contains("another TPM"), "{e}");
    }

    #[test]
    fn the_pin_value_depends_on_the_salt_and_the_pin() {
        let a = pin_auth_value(&[1; 16], "246810");
        assert_eq!(a.len(), 32);
        assert_eq!(a, pin_auth_value(&[1; 16], "246810"));
        assert_ne!(a, pin_auth_value(&[2; 16], "246810"));
        assert_ne!(a, pin_auth_value(&[1; 16], "246811"));
    }
}
