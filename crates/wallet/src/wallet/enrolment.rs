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

use tessera_issuer_api::ChallengeResponse;
use tessera_issuer_api::tpm::{TpmAttestationStart, TpmKeyAttestation, TpmKeyCertification};
use tessera_tpm::{AkBlob, KeyBlob};
use zeroize::Zeroizing;

use super::{Capture, Status, Wallet, WalletError, liveness_challenge, random};
use crate::client::{IssuerClient, IssuerError};
use crate::keys::{BoxSigner, KeyHolderError};
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

/// A new main device key: its handle, its signer and, for a TPM key made before the PIN is
/// known, the random placeholder authValue it was made with.
struct MainKey {
    handle: Zeroizing<Vec<u8>>,
    signer: BoxSigner,
    auth: Option<Zeroizing<Vec<u8>>>,
    placeholder: bool,
}

fn tpm_error(e: tessera_tpm::TpmError) -> WalletError {
    KeyHolderError::from(e).into()
}

impl Wallet {
    /// A new main device key. With a TPM it needs an authValue for every use: the PIN's
    /// (`pin_auth`, a renewal after the PIN was set) or a random placeholder that the first
    /// PIN replaces ([`Wallet::set_pin`]).
    fn main_key(&self, pin_auth: Option<Zeroizing<Vec<u8>>>) -> Result<MainKey, WalletError> {
        if !self.keys.enforces_auth() {
            let handle = self.keys.generate()?;
            let signer = self.keys.signer(&handle)?;
            return Ok(MainKey {
                handle,
                signer,
                auth: None,
                placeholder: false,
            });
        }
        let (auth, placeholder) = match pin_auth {
            Some(a) => (a, false),
            None => (Zeroizing::new(random::<32>().to_vec()), true),
        };
        let handle = self.keys.generate_with_auth(&auth)?;
        let signer = self.keys.signer_with_auth(&handle, Some(auth.clone()))?;
        Ok(MainKey {
            handle,
            signer,
            auth: Some(auth),
            placeholder,
        })
    }

    /// The TPM's EK certificate and a new attestation key, to draw the challenge with.
    fn attestation_start(&self) -> Result<Option<(AkBlob, TpmAttestationStart)>, WalletError> {
        let Some(tpm) = self.keys.tpm() else {
            return Ok(None);
        };
        let s = tpm.attestation_start().map_err(tpm_error)?;
        Ok(Some((
            s.ak,
            TpmAttestationStart {
                ek_certificate: s.ek_certificate,
                ak_public: s.ak_public,
            },
        )))
    }

    /// The key attestation for a challenge drawn with the TPM: the challenge's credential
    /// activated (only this TPM, holding that AK, can), then TPM2_Certify of the main key
    /// and of every batch key (in the request's order) over SHA-256("tessera-tpm-certify-v1"
    /// ‖ nonce ‖ secret). `None` when the issuer sent no activation (it checks no TPM
    /// attestations: the credentials then say software).
    fn attest(
        &self,
        ak: Option<&AkBlob>,
        challenge: &ChallengeResponse,
        main: &MainKey,
        batch_keys: &[PendingKey],
    ) -> Result<Option<TpmKeyAttestation>, WalletError> {
        let (Some(tpm), Some(ak), Some(act)) =
            (self.keys.tpm(), ak, challenge.tpm_activation.as_ref())
        else {
            return Ok(None);
        };
        let secret = tpm
            .activate(ak, &act.id_object, &act.encrypted_secret)
            .map_err(tpm_error)?;
        let secret: [u8; 32] = secret.as_slice().try_into().map_err(|_| {
            IssuerError::BadAnswer("the TPM activation's secret is not 32 bytes".into())
        })?;
        let qualifying = Zeroizing::new(tessera_tpm_attestation::qualifying_data(
            &challenge.nonce,
            &secret,
        ));
        let certify =
            |handle: &[u8], auth: Option<&[u8]>| -> Result<TpmKeyCertification, WalletError> {
                let blob = KeyBlob::from_bytes(handle).map_err(tpm_error)?;
                let c = tpm
                    .certify(ak, &blob, auth, qualifying.as_slice())
                    .map_err(tpm_error)?;
                Ok(TpmKeyCertification {
                    key_public: c.key_public,
                    certify_info: c.certify_info,
                    signature: c.signature,
                })
            };
        let device_key = certify(&main.handle, main.auth.as_deref().map(|a| a.as_slice()))?;
        let batch = batch_keys
            .iter()
            .map(|k| certify(&k.key, None))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(TpmKeyAttestation {
            device_key,
            batch_keys: batch,
        }))
    }

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
        let placeholder = vault
            .pending
            .as_ref()
            .and_then(|p| p.device_key_auth.clone());
        lifecycle::complete(vault, stored, one_time)?;
        // The new main key's placeholder authValue (TPM keys before the PIN), or none. A
        // TPM PIN set on an earlier key does not carry over to a key made without it: the
        // PIN is set again (the app's enrolment ends by setting it).
        if placeholder.is_some() {
            vault.tpm_pin = false;
        }
        vault.device_key_auth = placeholder;
        self.forget_unlock();
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
            let key = self
                .keys
                .signer_with_auth(&p.device_key, p.device_key_auth.clone().map(Zeroizing::new))?;
            let tpm = p
                .tpm_attestation
                .as_deref()
                .and_then(|j| serde_json::from_slice::<TpmKeyAttestation>(j).ok());
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
                tpm,
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
        let main = self.main_key(None)?;
        let start = self.attestation_start()?;
        let (ak, tpm_start) = start.map(|(a, s)| (Some(a), Some(s))).unwrap_or_default();
        let (challenge, trust) = client
            .challenge_attested(&spki_der(&main.signer.public_key()), tpm_start, now)
            .await?;
        let batch_keys = self.batch_keys(challenge.batch_size)?;
        let attestation = self.attest(ak.as_ref(), &challenge, &main, &batch_keys)?;
        let key = &main.signer;
        let handle = &main.handle;
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
            device_key_auth: main
                .auth
                .as_ref()
                .filter(|_| main.placeholder)
                .map(|a| a.to_vec()),
            tpm_attestation: attestation
                .as_ref()
                .and_then(|a| serde_json::to_vec(a).ok()),
        };
        lifecycle::begin_enrolment(&mut vault, pending, now)?;
        vault.key_holder = Some(self.keys.name().into());
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
            tpm: attestation,
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
        self.renew_with_pin(client, capture, None, now).await
    }

    /// [`renew`](Self::renew), given the PIN: a wallet with TPM keys and a PIN needs it, to
    /// make the new upgraded key with the PIN as its authorisation (checked first by the
    /// TPM with the current key, so a wrong one counts against its lockout).
    pub async fn renew_with_pin(
        &self,
        client: &IssuerClient,
        capture: &mut dyn Capture,
        pin_given: Option<&str>,
        now: u64,
    ) -> Result<Status, WalletError> {
        let started = Instant::now();
        let mut vault = self.vault()?;
        let pin_auth = if self.tpm_pin_vault(&vault) && vault.tpm_pin {
            let pin = pin_given.ok_or_else(|| {
                WalletError::Unlock(
                    "this wallet's keys are in the TPM with the PIN: renewing needs the PIN".into(),
                )
            })?;
            Some(self.check_tpm_pin(&vault, pin)?)
        } else {
            None
        };
        let main = self.main_key(pin_auth)?;
        let start = self.attestation_start()?;
        let (ak, tpm_start) = start.map(|(a, s)| (Some(a), Some(s))).unwrap_or_default();
        let key_der = spki_der(&main.signer.public_key());
        let (challenge, trust) = client.challenge_attested(&key_der, tpm_start, now).await?;
        let batch_keys = self.batch_keys(challenge.batch_size)?;
        let attestation = self.attest(ak.as_ref(), &challenge, &main, &batch_keys)?;
        let key = &main.signer;
        let handle = &main.handle;
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
            device_key_auth: main
                .auth
                .as_ref()
                .filter(|_| main.placeholder)
                .map(|a| a.to_vec()),
            tpm_attestation: attestation
                .as_ref()
                .and_then(|a| serde_json::to_vec(a).ok()),
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
            tpm: attestation,
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
