//! Liveness challenges: drawn bound to a device key and signed (DESIGN §11), then opened
//! for an answer (fresh, unused, answered only with the key they were drawn for).

use std::net::IpAddr;

use tessera_credential::keys::{Kid, public_key_from_der};
use tessera_face::liveness::Challenge;
use tessera_issuer_api::challenge as challenge_binding;
use tessera_issuer_api::{
    BatchResponse, ChallengeRequest, ChallengeResponse, DeviceKeyProof, Problem, ProblemType,
};

use super::{Issuer, internal, store_error};
use crate::config::random_bytes;
use crate::face_check::parse_actions;

impl Issuer {
    /// A new liveness challenge, bound to the device key in `req` (if any) and signed by the
    /// active issuer key (DESIGN §11, `tessera_issuer_api::challenge`).
    pub async fn challenge(
        &self,
        req: ChallengeRequest,
        ip: Option<IpAddr>,
    ) -> Result<ChallengeResponse, Problem> {
        self.limit_challenges(ip)?;
        // The key must be a P-256 key: a challenge bound to garbage could never be answered.
        let device_key_sha256 = match &req.device_key {
            Some(der) => {
                public_key_from_der(der).map_err(|_| {
                    Problem::new(
                        ProblemType::BadDeviceKey,
                        "device_key is not a P-256 public key (SubjectPublicKeyInfo, DER)",
                    )
                })?;
                Some(challenge_binding::device_key_sha256(der).to_vec())
            }
            None => None,
        };
        // TPM key attestation: the EK certificate and AK checked before anything is stored.
        let tpm = self.tpm_begin(req.tpm.as_ref())?;
        let (tpm_activation, tpm_state) = match tpm {
            Some((activation, state)) => (Some(activation), Some(state)),
            None => (None, None),
        };
        let now = self.now();
        let challenge = Challenge::from_random(
            random_bytes::<17>(),
            now,
            self.config.challenge_lifetime.as_secs(),
        );
        let id = hex::encode(random_bytes::<16>());
        let actions: Vec<String> = challenge
            .actions
            .iter()
            .map(|a| a.name().to_owned())
            .collect();
        self.store
            .insert_challenge(&crate::store::ChallengeRow {
                id: id.clone(),
                nonce: challenge.nonce.to_vec(),
                actions: actions.join(","),
                issued_at: now,
                expires_at: challenge.expires_at,
                used_at: None,
                device_key_sha256: device_key_sha256.clone(),
                tpm_state,
            })
            .await
            .map_err(store_error)?;
        let mut response = ChallengeResponse {
            challenge_id: id,
            nonce: challenge.nonce.to_vec(),
            actions,
            issued_at: now,
            expires_at: challenge.expires_at,
            device_key_sha256,
            signer: vec![],
            signature: vec![],
            batch_size: Some(self.config.batch_size),
            tpm_activation,
        };
        challenge_binding::sign(&mut response, self.keys.active()).map_err(internal)?;
        Ok(response)
    }

    /// A stored challenge, or "unknown challenge".
    pub(super) async fn challenge_row(
        &self,
        id: &str,
    ) -> Result<crate::store::ChallengeRow, Problem> {
        self.store
            .challenge(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                Problem::new(
                    ProblemType::UnknownChallenge,
                    "no such challenge: ask for a new one",
                )
            })
    }

    /// Refuses a challenge already answered or past its expiry.
    pub(super) fn check_fresh(&self, row: &crate::store::ChallengeRow) -> Result<(), Problem> {
        if row.used_at.is_some() {
            return Err(Problem::new(
                ProblemType::ChallengeReused,
                "this challenge was already answered: ask for a new one",
            ));
        }
        if self.now() > row.expires_at {
            return Err(Problem::new(
                ProblemType::ChallengeExpired,
                "the challenge expired before the answer arrived: ask for a new one",
            ));
        }
        Ok(())
    }

    /// Loads a challenge for answering. `Ok(Err(batch))` when it was already answered by
    /// exactly this device key: the retry gets the first answer back.
    pub(super) async fn open_challenge(
        &self,
        challenge_id: &str,
        device_key: &DeviceKeyProof,
    ) -> Result<Result<(crate::store::ChallengeRow, Challenge), BatchResponse>, Problem> {
        let row = self.challenge_row(challenge_id).await?;
        // Only the key named when the challenge was drawn may answer it. Checked before
        // anything else and without spending the challenge: a relay that swaps the key gets
        // nothing, and the person's own answer still goes through.
        let submitted = challenge_binding::device_key_sha256(&device_key.key_der);
        if row.device_key_sha256.as_deref() != Some(&submitted[..]) {
            tracing::warn!(
                event = "challenge_key_mismatch",
                outcome = "refused",
                "an answer came with another device key than its challenge's"
            );
            return Err(Problem::new(
                ProblemType::ChallengeKeyMismatch,
                if row.device_key_sha256.is_some() {
                    "this challenge was drawn for another device key: ask for a challenge naming this key"
                } else {
                    "this challenge was drawn without a device key: ask for one naming the device key (update the app)"
                },
            ));
        }
        if row.used_at.is_some() {
            // Idempotent retry: the same device key, proven for the same challenge.
            if let Ok(key) = device_key.verify(&row.id, &row.nonce)
                && let Some(e) = self
                    .store
                    .enrolment_by_challenge(challenge_id)
                    .await
                    .map_err(store_error)?
                && e.device_kid == Kid::of(&key).to_hex()
            {
                let batch: BatchResponse = serde_json::from_str(&e.response).map_err(internal)?;
                return Ok(Err(batch));
            }
        }
        self.check_fresh(&row)?;
        let actions = parse_actions(&row.actions).ok_or_else(|| internal("stored actions"))?;
        let nonce: [u8; 16] = row
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| internal("stored nonce"))?;
        let challenge = Challenge {
            nonce,
            actions,
            issued_at: row.issued_at,
            expires_at: row.expires_at,
        };
        Ok(Ok((row, challenge)))
    }
}
