//! Refills (issue 14): fresh one-time credentials from the issuer without a face check,
//! authenticated by a holder proof from a current credential over a fresh challenge, the
//! new keys and the credentials retired. Crash-safe: the keys and the request's contents
//! are in the vault before anything is sent; a repeat of the same request gets the same
//! answer from the issuer; the new credentials replace the retired ones in one vault write.

use serde::Serialize;
use tessera_credential::claims::Tier;
use tessera_credential::keys::spki_der;
use tessera_credential::proof::AuthMethods;
use tessera_credential::trust_list::TrustList;
use tessera_issuer_api::batch::{ONE_TIME_TIERS, refill_sha256};
use tessera_issuer_api::{
    BatchKey, HolderAuthPurpose, ProblemType, RefillRequest, RefillResponse, holder_auth_nonce,
};

use super::showing::held;
use super::{OneTimeCounts, Wallet, WalletError};
use crate::client::{IssuerClient, IssuerError};
use crate::lifecycle::{self, State};
use crate::trust::check_issued;
use crate::vault::{OneTime, PendingKey, PendingRefill, Vault};

/// A refill is due when fewer than this many unused credentials of a tier remain (the EU
/// reference wallet re-issues below 2; 3 leaves a margin for a day offline).
pub const REFILL_BELOW: usize = 3;

/// The batch size when the issuer does not say (its default).
const DEFAULT_BATCH: u32 = 10;

/// What a refill did.
#[derive(Debug, Clone, Serialize)]
pub struct Refilled {
    /// New credentials stored.
    pub issued: usize,
    /// Shown credentials retired.
    pub retired: usize,
    /// Unused credentials per tier afterwards.
    pub one_time: OneTimeCounts,
}

/// Unused one-time credentials are replaced this long before they expire, so that a wallet
/// that goes offline still holds codes for a while.
pub const REPLACE_BEFORE_EXPIRY: u64 = 14 * 86_400;

/// Whether `o` is unused but expires within [`REPLACE_BEFORE_EXPIRY`], and a refill could
/// give a later one (not when the enrolment itself ends first: then renewal is due).
fn due_for_replacement(o: &OneTime, vault: &Vault, now: u64) -> bool {
    let Ok(c) = tessera_credential::credential::Credential::from_bytes(&o.credential) else {
        return false;
    };
    let enrolment_end = vault.batch.as_ref().map_or(0, |b| b.expires_at);
    o.shown == 0
        && c.claims.expires_at < now + REPLACE_BEFORE_EXPIRY
        && c.claims.expires_at + 86_400 < enrolment_end
}

fn cti_hex(o: &OneTime) -> Option<String> {
    tessera_credential::credential::Credential::from_bytes(&o.credential)
        .ok()
        .map(|c| hex::encode(c.claims.credential_id))
}

impl Wallet {
    /// Reads the vault as it is now, changes it and writes it back: the refill's writes
    /// apply to the current vault, never to the copy read before a network round trip.
    fn update_vault(&self, change: impl FnOnce(&mut Vault)) -> Result<Vault, WalletError> {
        let mut v = self.vault()?;
        change(&mut v);
        v.save(&self.store)?;
        Ok(v)
    }

    /// Whether a refill is due: a usable ID with fewer than [`REFILL_BELOW`] unused
    /// credentials of a tier, or a refill cut off before it finished.
    pub fn refill_due(&self, now: u64) -> Result<bool, WalletError> {
        let vault = self.vault()?;
        if vault.refill.is_some() {
            return Ok(true);
        }
        let state = lifecycle::state(Some(&vault), now, 0);
        if !matches!(state, State::Active | State::RenewalDue) {
            return Ok(false);
        }
        let counts = OneTimeCounts::of(&vault, now);
        Ok(ONE_TIME_TIERS.iter().any(|t| counts.get(*t) < REFILL_BELOW)
            || vault
                .one_time
                .iter()
                .any(|o| due_for_replacement(o, &vault, now)))
    }

    /// Refills: retires the shown one-time credentials and tops each tier up to the
    /// issuer's batch size. Finishes a refill cut off by a crash first.
    pub async fn refill(&self, client: &IssuerClient, now: u64) -> Result<Refilled, WalletError> {
        let mut vault = self.vault()?;
        let state = lifecycle::state(Some(&vault), now, 0);
        if !matches!(state, State::Active | State::RenewalDue | State::Renewing) {
            return Err(lifecycle::TransitionError {
                action: "refill",
                state,
            }
            .into());
        }
        if let Some(pending) = vault.refill.clone() {
            let trust = client.trust_list().await?;
            match self.send_refill(client, &vault, &pending, now).await {
                Ok(answer) => return self.store_refill(&mut vault, answer, &trust, now),
                // The challenge expired unanswered, or the issuer refused: start over.
                Err(WalletError::Issuer(IssuerError::Refused(p)))
                    if p.kind() != Some(ProblemType::CredentialNotActive) =>
                {
                    vault = self.update_vault(|v| v.refill = None)?;
                }
                Err(e) => return self.refill_failed(&mut vault, e),
            }
        }
        // 1. What to retire: every shown one-time credential, and the unused ones near their
        //    expiry (replaced by fresh ones).
        let retire: Vec<String> = vault
            .one_time
            .iter()
            .filter(|o| o.shown > 0 || due_for_replacement(o, &vault, now))
            .filter_map(cti_hex)
            .collect();
        // 2. The first new key names the challenge; the issuer says the batch size.
        let first = self.keys.generate()?;
        let first_key = self.keys.signer(&first)?;
        let (challenge, trust) = client
            .challenge(&spki_der(&first_key.public_key()), now)
            .await?;
        let size = challenge.batch_size.unwrap_or(DEFAULT_BATCH).clamp(1, 50) as usize;
        let counts = OneTimeCounts::of(&vault, now);
        let mut keys = Vec::new();
        let mut first = Some(first);
        for tier in ONE_TIME_TIERS {
            let replaced = vault
                .one_time
                .iter()
                .filter(|o| o.tier == tier.name() && due_for_replacement(o, &vault, now))
                .count();
            let kept = counts.get(tier).saturating_sub(replaced);
            for _ in kept..size {
                let key = match first.take() {
                    Some(k) => k,
                    None => self.keys.generate()?,
                };
                keys.push(PendingKey {
                    tier: tier.name().into(),
                    key: key.to_vec(),
                });
            }
        }
        if keys.is_empty() {
            return Ok(Refilled {
                issued: 0,
                retired: 0,
                one_time: counts,
            });
        }
        // 3. Everything needed to send this request again, in the vault before it leaves.
        let pending = PendingRefill {
            challenge_id: challenge.challenge_id.clone(),
            challenge_nonce: challenge.nonce.clone(),
            keys,
            retire,
        };
        vault = self.update_vault(|v| v.refill = Some(pending.clone()))?;
        match self.send_refill(client, &vault, &pending, now).await {
            Ok(answer) => self.store_refill(&mut vault, answer, &trust, now),
            Err(e) => self.refill_failed(&mut vault, e),
        }
    }

    /// A refused refill is forgotten (a revoked ID is marked so); an unreachable issuer
    /// leaves it pending, to be sent again.
    fn refill_failed(&self, vault: &mut Vault, e: WalletError) -> Result<Refilled, WalletError> {
        if let WalletError::Issuer(i) = &e
            && matches!(i, IssuerError::Refused(_))
        {
            let revoked = i.kind() == Some(ProblemType::CredentialNotActive);
            *vault = self.update_vault(|v| {
                v.revoked |= revoked;
                v.refill = None;
            })?;
        }
        Err(e)
    }

    /// The request for `pending`, with a fresh holder proof, sent.
    async fn send_refill(
        &self,
        client: &IssuerClient,
        vault: &Vault,
        pending: &PendingRefill,
        now: u64,
    ) -> Result<RefillResponse, WalletError> {
        let mut keys = Vec::with_capacity(pending.keys.len());
        for k in &pending.keys {
            let tier: Tier = k.tier.parse().map_err(|e: String| WalletError::Frames(e))?;
            let signer = self.keys.signer(&k.key)?;
            keys.push(
                BatchKey::create(
                    tier,
                    signer.as_ref(),
                    &pending.challenge_id,
                    &pending.challenge_nonce,
                )
                .map_err(|e| WalletError::Unlock(e.to_string()))?,
            );
        }
        let purpose = HolderAuthPurpose::Refill {
            request_sha256: refill_sha256(&keys, &pending.retire),
        };
        let nonce = holder_auth_nonce(purpose, &pending.challenge_nonce);
        // The proof comes from a credential being retired when there is one (it gives the
        // issuer nothing new), else from any current lightweight one.
        let proving = vault
            .one_time
            .iter()
            .find(|o| cti_hex(o).is_some_and(|c| pending.retire.contains(&c)))
            .and_then(|o| {
                tessera_credential::credential::Credential::from_bytes(&o.credential)
                    .ok()
                    .map(|c| (o.tier.parse::<Tier>().ok(), c.claims.credential_id))
            });
        let (tier, cti) = match proving {
            Some((Some(t), cti)) => (t, Some(cti)),
            _ => (Tier::Lightweight, None),
        };
        held(vault, tier, cti, now)?;
        let presentation =
            self.presentation(vault, tier, cti, AuthMethods::USER, None, Some(nonce), now)?;
        let req = RefillRequest {
            challenge_id: pending.challenge_id.clone(),
            presentation: presentation.to_qr_text(),
            keys,
            retire: pending.retire.clone(),
        };
        Ok(client.refill(&req).await?)
    }

    /// Checks every credential received (trusted issuer, its tier, bound to one of the new
    /// keys, valid now), then swaps the retired credentials for the new ones in one write.
    fn store_refill(
        &self,
        vault: &mut Vault,
        answer: RefillResponse,
        trust: &TrustList,
        now: u64,
    ) -> Result<Refilled, WalletError> {
        let pending = vault.refill.clone().unwrap_or(PendingRefill {
            challenge_id: String::new(),
            challenge_nonce: vec![],
            keys: vec![],
            retire: vec![],
        });
        let mut fresh = Vec::with_capacity(answer.credentials.len());
        for issued in &answer.credentials {
            let tier: Tier = issued.tier.parse().map_err(|e: String| {
                IssuerError::BadAnswer(format!("a refilled credential: {e}"))
            })?;
            let mut bound = None;
            for k in pending.keys.iter().filter(|k| k.tier == issued.tier) {
                let public = self.keys.signer(&k.key)?.public_key();
                if check_issued(&issued.credential, tier, trust, &public, now).is_ok() {
                    bound = Some(k);
                    break;
                }
            }
            let k = bound.ok_or_else(|| {
                IssuerError::BadAnswer(format!(
                    "a refilled {} credential is not bound to a key this wallet made, or does not verify",
                    issued.tier
                ))
            })?;
            fresh.push(OneTime {
                tier: issued.tier.clone(),
                credential: issued.credential.clone(),
                key: k.key.clone(),
                shown: 0,
            });
        }
        let issued = fresh.len();
        // Applied to the vault as it is now, not as it was when the refill began: a showing
        // counted meanwhile (the app shows while a refill runs) must not be undone.
        let mut retired = 0;
        *vault = self.update_vault(|v| {
            retired = v
                .one_time
                .iter()
                .filter(|o| cti_hex(o).is_some_and(|c| answer.retired.contains(&c)))
                .count();
            v.one_time
                .retain(|o| !cti_hex(o).is_some_and(|c| answer.retired.contains(&c)));
            v.one_time.extend(fresh);
            v.refill = None;
        })?;
        Ok(Refilled {
            issued,
            retired,
            one_time: OneTimeCounts::of(vault, now),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::StoredBatch;

    #[test]
    fn unused_credentials_are_replaced_near_expiry_unless_the_enrolment_ends_first() {
        let w = tessera_vectors::Wallet::standard();
        let exp = w.lightweight.claims.expires_at;
        let one = OneTime {
            tier: "lightweight".into(),
            credential: w.lightweight.to_tagged_bytes(),
            key: w.device.secret_bytes().to_vec(),
            shown: 0,
        };
        let mut vault = Vault::default();
        vault.batch = Some(StoredBatch {
            enrolment_id: "e".into(),
            issued_at: 0,
            expires_at: exp + 200 * 86_400,
            lightweight: vec![],
            upgraded: vec![],
        });
        vault.one_time = vec![one.clone()];
        assert!(!due_for_replacement(&one, &vault, exp - 20 * 86_400));
        assert!(due_for_replacement(&one, &vault, exp - 10 * 86_400));
        // Shown ones are retired anyway, not "replaced".
        let shown = OneTime {
            shown: 1,
            ..one.clone()
        };
        assert!(!due_for_replacement(&shown, &vault, exp - 10 * 86_400));
        // The enrolment ends the same day: a refill could not do better; renewal is due.
        vault.batch.as_mut().unwrap().expires_at = exp;
        assert!(!due_for_replacement(&one, &vault, exp - 10 * 86_400));
    }
}
