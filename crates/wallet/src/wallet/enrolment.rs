//! Enrolment and renewal: a new device key named when the challenge is drawn (DESIGN §11),
//! the challenge and the credentials checked against the wallet's trust anchor, the face
//! checked on the device before anything is sent.

use std::time::Instant;

use tessera_credential::claims::Tier;
use tessera_credential::keys::{Es256Signer, spki_der};
use tessera_credential::proof::AuthMethods;
use tessera_credential::trust_list::TrustList;
use tessera_face::template::Template;
use tessera_issuer_api::binding::HolderAuthPurpose;
use tessera_issuer_api::{
    BatchKey, BatchKeys, BatchResponse, DeviceKey, DeviceKeyProof, EnrolRequest, ProblemType,
    RenewRequest, holder_auth_nonce,
};

use super::{Capture, Status, Wallet, WalletError, liveness_challenge};
use crate::client::{IssuerClient, IssuerError};
use crate::keystore::KeystoreError;
use crate::lifecycle;
use crate::trust::check_issued;
use crate::vault::{OneTime, Pending, PendingKey, StoredBatch, Vault};

/// The batch size when the issuer does not say (its default).
const DEFAULT_BATCH: u32 = 10;

/// The device key with its proof of possession for one challenge.
fn device_key(
    key: &dyn Es256Signer,
    challenge_id: &str,
    nonce: &[u8],
) -> Result<DeviceKey, WalletError> {
    let pop = DeviceKeyProof::create(key, challenge_id, nonce)
        .map_err(|e| WalletError::Frames(e.to_string()))?;
    Ok(DeviceKey {
        public_key: pop.key_der,
        proof: pop.signature,
    })
}

/// `now` (the time a long operation was started at, as given) moved on by the time since
/// `started`: a face capture and the issuer's own check can take a minute, and what is
/// checked after them (the answer's liveness, the holder proof sent, the credentials
/// received) must be checked at the time it happens, not at the start.
fn later(now: u64, started: Instant) -> u64 {
    now.saturating_add(started.elapsed().as_secs())
}

impl Wallet {
    /// New keys for a batch of `size` credentials of each one-time tier.
    fn batch_keys(&self, size: Option<u32>) -> Result<Vec<PendingKey>, WalletError> {
        let size = size.unwrap_or(DEFAULT_BATCH).clamp(1, 50);
        let mut keys = Vec::new();
        for tier in tessera_issuer_api::batch::ONE_TIME_TIERS {
            for _ in 0..size {
                keys.push(PendingKey {
                    tier: tier.name().into(),
                    key: self.keys.generate()?.to_vec(),
                });
            }
        }
        Ok(keys)
    }

    /// The batch part of a request: each key proven for the challenge, the list signed by
    /// the main device key.
    fn batch_request(
        &self,
        keys: &[PendingKey],
        main: &dyn Es256Signer,
        challenge_id: &str,
        nonce: &[u8],
    ) -> Result<BatchKeys, WalletError> {
        let mut proven = Vec::with_capacity(keys.len());
        for k in keys {
            let tier: Tier = k.tier.parse().map_err(|e: String| WalletError::Frames(e))?;
            let signer = self.keys.signer(&k.key)?;
            proven.push(
                BatchKey::create(tier, signer.as_ref(), challenge_id, nonce)
                    .map_err(|e| WalletError::Frames(e.to_string()))?,
            );
        }
        BatchKeys::create(proven, main, challenge_id, nonce)
            .map_err(|e| WalletError::Frames(e.to_string()))
    }

    /// Checks the batch against the trust list and stores it with the pending key, in one
    /// vault write.
    fn store_batch(
        &self,
        vault: &mut Vault,
        batch: BatchResponse,
        trust: &TrustList,
        template: Option<Template>,
        now: u64,
    ) -> Result<(), WalletError> {
        let get = |tier: Tier| {
            batch
                .credentials
                .iter()
                .find(|c| c.tier == tier.name())
                .map(|c| c.credential.clone())
                .ok_or_else(|| {
                    IssuerError::BadAnswer(format!("no {} credential in the batch", tier.name()))
                })
        };
        let stored = StoredBatch {
            enrolment_id: batch.enrolment_id.clone(),
            issued_at: batch.issued_at,
            expires_at: batch.expires_at,
            lightweight: vec![],
            upgraded: get(Tier::Upgraded)?,
        };
        // Issued by a trusted key, for the key we are about to make current.
        let pending = vault.pending.clone();
        let pending_key = pending
            .as_ref()
            .map(|p| p.device_key.clone())
            .unwrap_or_default();
        let holder = self.keys.signer(&pending_key)?.public_key();
        check_issued(&stored.upgraded, Tier::Upgraded, trust, &holder, now)?;
        // Each one-time credential bound to one of the batch keys made for this request.
        let batch_keys = pending.map(|p| p.batch_keys).unwrap_or_default();
        let mut one_time = Vec::new();
        for issued in batch
            .credentials
            .iter()
            .filter(|c| c.tier != Tier::Upgraded.name())
        {
            let tier: Tier = issued
                .tier
                .parse()
                .map_err(|e: String| IssuerError::BadAnswer(format!("a batch credential: {e}")))?;
            let mut bound = None;
            for k in batch_keys.iter().filter(|k| k.tier == issued.tier) {
                let public = self.keys.signer(&k.key)?.public_key();
                if check_issued(&issued.credential, tier, trust, &public, now).is_ok() {
                    bound = Some(k);
                    break;
                }
            }
            let k = bound.ok_or_else(|| {
                IssuerError::BadAnswer(format!(
                    "a {} credential of the batch is not bound to a key this wallet made, or does not verify",
                    issued.tier
                ))
            })?;
            one_time.push(OneTime {
                tier: issued.tier.clone(),
                credential: issued.credential.clone(),
                key: k.key.clone(),
                shown: 0,
            });
        }
        if one_time.is_empty() {
            return Err(IssuerError::BadAnswer(
                "the batch has no one-time credentials: the issuer is older than this app".into(),
            )
            .into());
        }
        lifecycle::complete(vault, stored, one_time)?;
        if let Some(t) = template {
            vault.face_template = Some(t.to_bytes());
        }
        vault.save(&self.store)?;
        Ok(())
    }

    /// Enrols with recorded or captured frames: a new device key → a challenge bound to it
    /// and signed by a trusted issuer key → on-device liveness → submit → check → store. An
    /// enrolment cut off after it was sent is finished by calling this again.
    pub async fn enrol(
        &self,
        client: &IssuerClient,
        id_number: &str,
        capture: &mut dyn Capture,
        replace_existing: bool,
        now: u64,
    ) -> Result<Status, WalletError> {
        let started = Instant::now();
        let mut vault = self.vault()?;
        // Resume: the issuer answers a repeated request for a used challenge with the batch
        // it issued; if nothing was issued the challenge is still open and we start over.
        if let Some(p) = vault
            .pending
            .clone()
            .filter(|p| p.kind == "enrol" && p.id_number == id_number)
            && vault.batch.is_none()
        {
            let key = self.keys.signer(&p.device_key)?;
            let req = EnrolRequest {
                challenge_id: p.challenge_id.clone(),
                id_number: id_number.to_owned(),
                device_key: device_key(key.as_ref(), &p.challenge_id, &p.challenge_nonce)?,
                frames: vec![],
                replace_existing,
                batch: Some(self.batch_request(
                    &p.batch_keys,
                    key.as_ref(),
                    &p.challenge_id,
                    &p.challenge_nonce,
                )?),
                tpm: None,
            };
            if let Ok(batch) = client.enrol(&req).await {
                // The face kept is the one from the answer the issuer matched, saved with the
                // pending state; never a new capture that no liveness check or match saw. A
                // pending state from before that was saved has none: the upgraded tier then
                // waits for a renewal.
                let template = p
                    .face_template
                    .as_deref()
                    .map(Template::from_bytes)
                    .transpose()
                    .map_err(|e| KeystoreError::Corrupt {
                        name: crate::vault::VAULT_ENTRY.into(),
                        detail: format!("the pending face template: {e}"),
                    })?;
                let trust = client.trust_list().await?;
                let now = later(now, started);
                self.store_batch(&mut vault, batch, &trust, template, now)?;
                return self.status(now);
            }
        }
        let handle = self.keys.generate()?;
        let key = self.keys.signer(&handle)?;
        let (challenge, trust) = client.challenge(&spki_der(&key.public_key()), now).await?;
        let batch_keys = self.batch_keys(challenge.batch_size)?;
        let answer = capture.answer(&challenge.actions)?;
        let checked = self.check_face(
            &liveness_challenge(&challenge, now)?,
            &answer,
            later(now, started),
        )?;
        drop(answer);
        let now = later(now, started);
        let (template, frames) = (checked.first, checked.evidence);
        let pending = Pending {
            kind: "enrol".into(),
            challenge_id: challenge.challenge_id.clone(),
            challenge_nonce: challenge.nonce.clone(),
            id_number: id_number.to_owned(),
            device_key: handle.to_vec(),
            face_template: Some(template.to_bytes()),
            batch_keys: batch_keys.clone(),
        };
        lifecycle::begin_enrolment(&mut vault, pending, now)?;
        // Persist the new key before it leaves in a request: a crash after sending can
        // still collect the batch bound to it.
        vault.save(&self.store)?;
        let req = EnrolRequest {
            challenge_id: challenge.challenge_id.clone(),
            id_number: id_number.to_owned(),
            device_key: device_key(key.as_ref(), &challenge.challenge_id, &challenge.nonce)?,
            frames,
            replace_existing,
            batch: Some(self.batch_request(
                &batch_keys,
                key.as_ref(),
                &challenge.challenge_id,
                &challenge.nonce,
            )?),
            tpm: None,
        };
        match client.enrol(&req).await {
            Ok(batch) => {
                let now = later(now, started);
                self.store_batch(&mut vault, batch, &trust, Some(template), now)?;
                self.status(now)
            }
            Err(e @ IssuerError::Refused(_)) => {
                lifecycle::abandon(&mut vault);
                vault.save(&self.store)?;
                Err(e.into())
            }
            // Unreachable: keep the pending state; running enrol again resumes it.
            Err(e) => Err(e.into()),
        }
    }

    /// Renews: a new device key named in the challenge, fresh liveness, a holder proof bound
    /// to the challenge and the new key; the issuer revokes the old batch.
    pub async fn renew(
        &self,
        client: &IssuerClient,
        capture: &mut dyn Capture,
        now: u64,
    ) -> Result<Status, WalletError> {
        let started = Instant::now();
        let mut vault = self.vault()?;
        let handle = self.keys.generate()?;
        let key = self.keys.signer(&handle)?;
        let key_der = spki_der(&key.public_key());
        let (challenge, trust) = client.challenge(&key_der, now).await?;
        let batch_keys = self.batch_keys(challenge.batch_size)?;
        let answer = capture.answer(&challenge.actions)?;
        let checked = self.check_face(
            &liveness_challenge(&challenge, now)?,
            &answer,
            later(now, started),
        )?;
        drop(answer);
        let now = later(now, started);
        let (template, frames) = (checked.first, checked.evidence);
        let nonce = holder_auth_nonce(HolderAuthPurpose::renew(&key_der), &challenge.nonce);
        let presentation = self.presentation(
            &vault,
            Tier::Lightweight,
            None,
            AuthMethods::USER,
            None,
            Some(nonce),
            now,
        )?;
        let pending = Pending {
            kind: "renew".into(),
            challenge_id: challenge.challenge_id.clone(),
            challenge_nonce: challenge.nonce.clone(),
            id_number: String::new(),
            device_key: handle.to_vec(),
            face_template: Some(template.to_bytes()),
            batch_keys: batch_keys.clone(),
        };
        lifecycle::begin_renewal(&mut vault, pending, now)?;
        vault.save(&self.store)?;
        let req = RenewRequest {
            challenge_id: challenge.challenge_id.clone(),
            presentation: presentation.to_qr_text(),
            device_key: device_key(key.as_ref(), &challenge.challenge_id, &challenge.nonce)?,
            frames,
            batch: Some(self.batch_request(
                &batch_keys,
                key.as_ref(),
                &challenge.challenge_id,
                &challenge.nonce,
            )?),
            tpm: None,
        };
        match client.renew(&req).await {
            Ok(batch) => {
                let now = later(now, started);
                self.store_batch(&mut vault, batch, &trust, Some(template), now)?;
                self.status(now)
            }
            Err(e) => {
                if e.kind() == Some(ProblemType::CredentialNotActive) {
                    vault.revoked = true;
                }
                if matches!(e, IssuerError::Refused(_)) {
                    lifecycle::abandon(&mut vault);
                    vault.save(&self.store)?;
                }
                Err(e.into())
            }
        }
    }
}
