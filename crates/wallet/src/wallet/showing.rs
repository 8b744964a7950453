//! Showings (issue 14): one showing — from opening the Show screen until closing it, across
//! its 30-s regenerations, or one `tessera-wallet show` — uses one one-time credential, so
//! no two verifiers see the same `cti`, device key or status index. The credential is
//! counted as shown, in the vault, before its first code exists: a crash after that
//! never leads to showing it again as if it were fresh.

use serde::Serialize;
use tessera_credential::claims::Tier;
use tessera_credential::credential::Credential;
use tessera_credential::proof::{AuthMethods, HolderProof, ProofClaims, ProofRequest};
use tessera_credential::qr_text::Presentation;
use zeroize::Zeroizing;

use super::{
    FACE_MATCH_VALIDITY, HistoryEntry, OsRandomness, QR_LIFETIME, RENEW_BEFORE, Shown,
    UpgradedUnlock, Wallet, WalletError,
};
use crate::keystore::KeystoreError;
use crate::lifecycle::{self, State, TransitionError};
use crate::vault::{OneTime, Vault};

/// One showing: which credential its codes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Showing {
    /// The tier shown.
    pub tier: Tier,
    /// The one-time credential's `cti`; `None` for the upgraded tier's one credential.
    cti: Option<[u8; 8]>,
    /// The credential had been shown before (offline, none unused was left).
    pub linkable: bool,
}

/// Unused one-time credentials, per tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OneTimeCounts {
    /// Lightweight.
    pub lightweight: usize,
    /// Age only.
    pub age_only: usize,
}

impl OneTimeCounts {
    /// Counts the unused, valid one-time credentials of `vault` at `now`.
    pub fn of(vault: &Vault, now: u64) -> OneTimeCounts {
        let unused = |tier: Tier| {
            vault
                .one_time
                .iter()
                .filter(|o| o.tier == tier.name() && o.shown == 0 && usable(o, now))
                .count()
        };
        OneTimeCounts {
            lightweight: unused(Tier::Lightweight),
            age_only: unused(Tier::AgeOnly),
        }
    }

    /// The count of `tier` (0 for the upgraded tier, which has no batch).
    pub fn get(&self, tier: Tier) -> usize {
        match tier {
            Tier::Lightweight => self.lightweight,
            Tier::AgeOnly => self.age_only,
            Tier::Upgraded => 0,
        }
    }
}

fn parsed(bytes: &[u8]) -> Result<Credential, KeystoreError> {
    Credential::from_bytes(bytes).map_err(|e| KeystoreError::Corrupt {
        name: crate::vault::VAULT_ENTRY.into(),
        detail: e.to_string(),
    })
}

/// Whether a one-time credential can still be shown at `now` (not expired).
fn usable(o: &OneTime, now: u64) -> bool {
    Credential::from_bytes(&o.credential).is_ok_and(|c| now < c.claims.expires_at)
}

/// The credential and key a presentation of `tier` uses: the upgraded one, the one-time
/// credential `cti`, or (no `cti`) the least-shown valid one-time credential of the tier.
pub(super) fn held(
    vault: &Vault,
    tier: Tier,
    cti: Option<[u8; 8]>,
    now: u64,
) -> Result<(Credential, Zeroizing<Vec<u8>>), WalletError> {
    let not_enrolled = || TransitionError {
        action: "show",
        state: State::NotEnrolled,
    };
    if tier == Tier::Upgraded {
        let batch = vault.batch.as_ref().ok_or_else(not_enrolled)?;
        let key = Zeroizing::new(vault.device_key.clone().unwrap_or_default());
        return Ok((parsed(&batch.upgraded)?, key));
    }
    let mut best: Option<(&OneTime, Credential)> = None;
    for o in vault.one_time.iter().filter(|o| o.tier == tier.name()) {
        let c = parsed(&o.credential)?;
        let wanted = match cti {
            Some(cti) => c.claims.credential_id == cti,
            None => {
                now < c.claims.expires_at && best.as_ref().is_none_or(|(b, _)| o.shown < b.shown)
            }
        };
        if wanted {
            best = Some((o, c));
            if cti.is_some() {
                break;
            }
        }
    }
    let (o, c) = best.ok_or_else(|| {
        WalletError::Unlock(format!(
            "this wallet holds no {} credential: renew the ID online",
            tier.name()
        ))
    })?;
    Ok((c, Zeroizing::new(o.key.clone())))
}

impl Wallet {
    /// Begins a showing of `tier`: picks an unused one-time credential (or, offline with
    /// none left, the least-shown one, and says so), counts it as shown and records the
    /// showing in the history, before any code is made.
    pub fn begin_showing(&self, tier: Tier, now: u64) -> Result<Showing, WalletError> {
        let mut vault = self.vault()?;
        let state = lifecycle::state(Some(&vault), now, RENEW_BEFORE);
        if !matches!(state, State::Active | State::RenewalDue | State::Renewing) {
            return Err(TransitionError {
                action: "show a QR code",
                state,
            }
            .into());
        }
        let showing = if tier == Tier::Upgraded {
            Showing {
                tier,
                cti: None,
                linkable: false,
            }
        } else {
            let (credential, _) = held(&vault, tier, None, now)?;
            let cti = credential.claims.credential_id;
            let Some(o) = vault
                .one_time
                .iter_mut()
                .find(|o| parsed(&o.credential).is_ok_and(|c| c.claims.credential_id == cti))
            else {
                return Err(WalletError::Unlock("the credential vanished".into()));
            };
            let linkable = o.shown > 0;
            o.shown = o.shown.saturating_add(1);
            vault.save(&self.store)?;
            Showing {
                tier,
                cti: Some(cti),
                linkable,
            }
        };
        let entry = HistoryEntry {
            at: now,
            tier: tier.name().into(),
            linkable: showing.linkable,
        };
        crate::journal::append(&self.history_path(), &entry)?;
        Ok(showing)
    }

    /// A code of `showing` (the first, or a regeneration); the upgraded tier needs an
    /// unlock from [`unlock_upgraded`](Self::unlock_upgraded) that is still fresh.
    pub fn show_in(
        &self,
        showing: &Showing,
        unlock: Option<&UpgradedUnlock>,
        now: u64,
    ) -> Result<Shown, WalletError> {
        let vault = self.vault()?;
        let state = lifecycle::state(Some(&vault), now, RENEW_BEFORE);
        if !matches!(state, State::Active | State::RenewalDue | State::Renewing) {
            return Err(TransitionError {
                action: "show a QR code",
                state,
            }
            .into());
        }
        let tier = showing.tier;
        let (auth, face_at) = match tier {
            Tier::Lightweight | Tier::AgeOnly => (AuthMethods::USER, None),
            Tier::Upgraded => {
                let u = unlock.ok_or_else(|| {
                    WalletError::Unlock("the upgraded tier needs the PIN and a face check".into())
                })?;
                if now.saturating_sub(u.face_verified_at) > FACE_MATCH_VALIDITY {
                    return Err(WalletError::Unlock(
                        "the face check is more than 5 minutes old: check the PIN and face again"
                            .into(),
                    ));
                }
                (
                    AuthMethods::USER
                        .with(AuthMethods::PIN)
                        .with(AuthMethods::FACE),
                    Some(u.face_verified_at),
                )
            }
        };
        let p = self.presentation(&vault, tier, showing.cti, auth, face_at, None, now)?;
        Ok(Shown {
            text: p.to_qr_text(),
            expires_at: p.proof.claims.expires_at,
            tier: tier.name(),
            linkable: showing.linkable,
        })
    }

    /// One showing with one code: what the CLI does per call.
    pub fn show_unlocked(
        &self,
        tier: Tier,
        unlock: Option<&UpgradedUnlock>,
        now: u64,
    ) -> Result<Shown, WalletError> {
        if tier == Tier::Upgraded && unlock.is_none() {
            // Refuse before a showing is counted.
            return Err(WalletError::Unlock(
                "the upgraded tier needs the PIN and a face check".into(),
            ));
        }
        let showing = self.begin_showing(tier, now)?;
        self.show_in(&showing, unlock, now)
    }

    /// Unlocks if needed and shows: what one CLI call does.
    pub fn show(
        &self,
        tier: Tier,
        pin_given: Option<&str>,
        face: Option<&mut dyn super::Capture>,
        now: u64,
    ) -> Result<Shown, WalletError> {
        let unlock = match tier {
            Tier::Upgraded => Some(self.unlock_upgraded(pin_given, face, now)?),
            Tier::Lightweight | Tier::AgeOnly => None,
        };
        self.show_unlocked(tier, unlock.as_ref(), now)
    }

    /// A presentation of `tier` from the credential [`held`] picks, signed by its key;
    /// `nonce` binds it to an issuer challenge (renewal, refill, sign-in), otherwise a
    /// random one is drawn.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn presentation(
        &self,
        vault: &Vault,
        tier: Tier,
        cti: Option<[u8; 8]>,
        auth: AuthMethods,
        face_at: Option<u64>,
        nonce: Option<[u8; 8]>,
        now: u64,
    ) -> Result<Presentation, WalletError> {
        let (credential, handle) = held(vault, tier, cti, now)?;
        // The upgraded key of a TPM wallet needs the PIN's authValue, held since the unlock
        // (without it the TPM refuses: no signature, no code).
        let key_auth = match (tier, face_at) {
            (Tier::Upgraded, Some(at)) => self.held_auth(at),
            _ => None,
        };
        let key = self.keys.signer_with_auth(&handle, key_auth)?;
        let proof = match nonce {
            Some(nonce) => HolderProof::sign(
                ProofClaims {
                    issued_at: now,
                    expires_at: now + QR_LIFETIME,
                    nonce,
                    tier,
                    auth,
                    face_verified_at: face_at,
                },
                &credential,
                key.as_ref(),
            ),
            None => HolderProof::create(
                &credential,
                key.as_ref(),
                ProofRequest {
                    now,
                    lifetime: QR_LIFETIME,
                    auth,
                    face_verified_at: face_at,
                },
                FACE_MATCH_VALIDITY,
                &mut OsRandomness,
            ),
        }
        .map_err(|e| WalletError::Unlock(e.to_string()))?;
        Ok(Presentation { credential, proof })
    }
}
