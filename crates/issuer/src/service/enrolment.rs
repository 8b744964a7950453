//! Enrolment and renewal: the cheap checks first (challenge and its key, proof of
//! possession, holder authentication), then the face decision against the registry, then
//! one transaction that signs and stores the batch.

use std::net::IpAddr;

use tessera_credential::claims::Tier;
use tessera_credential::credential::{Credential, CredentialClaims};
use tessera_credential::keys::{Kid, Randomness};
use tessera_credential::status_list::StatusRef;
use tessera_face::liveness::Challenge;
use tessera_face::template::Template;
use tessera_issuer_api::binding::HolderAuthPurpose;
use tessera_issuer_api::{
    BatchResponse, DeviceKeyProof, EnrolRequest, IssuedCredential, Problem, ProblemType,
    RenewRequest,
};

use super::{Issuer, identity, internal, store_error};
use crate::config::{OsRandomness, random_bytes};
use crate::face_check;
use crate::ids::IdNumber;
use crate::store::{Audit, CredentialRow, NewEnrolment, RegistryRecord};

impl Issuer {
    async fn face_decision(
        &self,
        challenge: &Challenge,
        frames: Vec<Vec<u8>>,
        person: &RegistryRecord,
    ) -> Result<face_check::Accepted, Problem> {
        let c = &self.config;
        face_check::check_frames(&frames, c.max_frames, c.max_frame_side, c.max_answer_pixels)?;
        let reference = Template::from_bytes(&person.template).map_err(internal)?;
        let _slot = self
            .face_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(internal)?;
        let faces = self.faces.clone();
        let challenge = challenge.clone();
        let now = self.now();
        let count = frames.len();
        let started = std::time::Instant::now();
        let decision = tokio::task::spawn_blocking(move || {
            face_check::decide(&faces, &challenge, frames, &reference, now)
        })
        .await
        .map_err(internal)?;
        // For capacity planning: how long the face work took, on how many frames.
        tracing::info!(
            frames = count,
            face_ms = started.elapsed().as_millis() as u64,
            "face check"
        );
        decision
    }

    // ---------------------------------------------------------------- enrolment

    /// Enrols a device: liveness, face match against the registry, then a batch.
    pub async fn enrol(
        &self,
        req: EnrolRequest,
        ip: Option<IpAddr>,
    ) -> Result<BatchResponse, Problem> {
        let id = IdNumber::parse(&req.id_number)
            .map_err(|e| Problem::new(ProblemType::Malformed, format!("id_number: {e}")))?;
        self.rate_limit(ip)?;
        let pop = DeviceKeyProof {
            key_der: req.device_key.public_key.clone(),
            signature: req.device_key.proof.clone(),
        };
        let (row, challenge) = match self.open_challenge(&req.challenge_id, &pop).await? {
            Ok(c) => c,
            Err(previous) => return Ok(previous),
        };
        let device_key = match pop.verify(&row.id, &row.nonce) {
            Ok(k) => k,
            Err(e) => {
                return Err(self
                    .refuse(
                        &row.id,
                        "enrol",
                        None,
                        Problem::new(ProblemType::BadDeviceKey, e.to_string()),
                    )
                    .await);
            }
        };
        let device_kid = Kid::of(&device_key).to_hex();
        if self
            .store
            .enrolment_by_device(&device_kid)
            .await
            .map_err(store_error)?
            .is_some()
        {
            let p = Problem::new(
                ProblemType::DeviceKeyReused,
                "this device key already holds credentials: make a new key for a new enrolment",
            );
            return Err(self.refuse(&row.id, "enrol", Some(id.as_str()), p).await);
        }
        let Some(person) = self.store.person(id.as_str()).await.map_err(store_error)? else {
            let p = Problem::new(
                ProblemType::UnknownIdNumber,
                "this ID number is not in the registry: check it, or contact the ID office",
            );
            return Err(self.refuse(&row.id, "enrol", None, p).await);
        };
        let existing = self
            .store
            .active_enrolments(id.as_str())
            .await
            .map_err(store_error)?;
        if !existing.is_empty() && !req.replace_existing {
            let p = Problem::new(
                ProblemType::AlreadyEnrolled,
                "this person is enrolled on another device; to move to this device, enrol again choosing to replace it (the other device's ID stops working)",
            );
            return Err(self.refuse(&row.id, "enrol", Some(id.as_str()), p).await);
        }
        if let Err(p) = self.face_budget(id.as_str()) {
            return Err(self.refuse(&row.id, "enrol", Some(id.as_str()), p).await);
        }
        let accepted = match self.face_decision(&challenge, req.frames, &person).await {
            Ok(a) => a,
            Err(p) => {
                self.charge_face_refusal(id.as_str(), &p);
                return Err(self.refuse(&row.id, "enrol", Some(id.as_str()), p).await);
            }
        };
        let replaces: Vec<&str> = existing.iter().map(|e| e.id.as_str()).collect();
        self.issue_batch(
            &row.id, &person, device_key, "enrol", &replaces, "revoked", accepted,
        )
        .await
    }

    /// Signs and stores a batch (one transaction), returning what the client gets.
    #[allow(clippy::too_many_arguments)]
    async fn issue_batch(
        &self,
        challenge_id: &str,
        person: &RegistryRecord,
        device_key: p256::ecdsa::VerifyingKey,
        kind: &str,
        replaces: &[&str],
        replaced_state: &str,
        accepted: face_check::Accepted,
    ) -> Result<BatchResponse, Problem> {
        let now = self.now();
        let expires_at = now + self.config.credential_validity.as_secs();
        let enrolment_id = hex::encode(random_bytes::<16>());
        let device_kid = Kid::of(&device_key).to_hex();
        let issuer_key = self.keys.active();
        let tiers = [Tier::Lightweight, Tier::Upgraded];
        let identities = tiers.map(|t| identity(person, t, now));
        let config = &self.config;
        let build = |slots: &[crate::store::Slot]| {
            let mut rows = Vec::new();
            let mut issued = Vec::new();
            for (identity, slot) in identities.iter().zip(slots) {
                let mut cti = [0u8; 8];
                OsRandomness.fill(&mut cti);
                let claims = CredentialClaims {
                    issuer: config.issuer_id.clone(),
                    issued_at: now,
                    not_before: now,
                    expires_at,
                    credential_id: cti,
                    holder_key: device_key,
                    status: StatusRef {
                        list: slot.list,
                        idx: slot.idx,
                    },
                    identity: identity.clone(),
                };
                let tier = claims.tier();
                let credential =
                    Credential::issue(claims, issuer_key).map_err(|e| e.to_string())?;
                rows.push(CredentialRow {
                    cti: hex::encode(cti),
                    tier: tier.name().to_owned(),
                    status_list: slot.list,
                    status_idx: slot.idx,
                    expires_at,
                });
                issued.push(IssuedCredential {
                    tier: tier.name().to_owned(),
                    credential: credential.to_tagged_bytes(),
                });
            }
            let batch = BatchResponse {
                enrolment_id: enrolment_id.clone(),
                issued_at: now,
                expires_at,
                face_similarity: accepted.similarity,
                credentials: issued,
            };
            let json = serde_json::to_string(&batch).map_err(|e| e.to_string())?;
            Ok((rows, json))
        };
        let detail = format!("kind={kind} device={device_kid} frames={}", accepted.frames);
        let audit = Audit {
            event: kind,
            id_number: Some(&person.id_number),
            outcome: "issued",
            detail: &detail,
        };
        let new = NewEnrolment {
            id: &enrolment_id,
            id_number: &person.id_number,
            device_kid: &device_kid,
            challenge_id,
            kind,
            replaces,
            replaced_state,
            now,
            expires_at,
        };
        self.store
            .issue(&new, tiers.len(), &audit, build)
            .await
            .map_err(store_error)?;
        if !replaces.is_empty() {
            self.status_changed();
        }
        tracing::info!(event = kind, outcome = "issued", "decision");
        let stored = self
            .store
            .enrolment_by_challenge(challenge_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| internal("issued batch not found"))?;
        serde_json::from_str(&stored.response).map_err(internal)
    }

    /// Renews: holder proof from the current credential + fresh liveness and match → a new
    /// batch on a new device key; the old batch is revoked in the same transaction.
    pub async fn renew(
        &self,
        req: RenewRequest,
        ip: Option<IpAddr>,
    ) -> Result<BatchResponse, Problem> {
        self.rate_limit(ip)?;
        let pop = DeviceKeyProof {
            key_der: req.device_key.public_key.clone(),
            signature: req.device_key.proof.clone(),
        };
        let (row, challenge) = match self.open_challenge(&req.challenge_id, &pop).await? {
            Ok(c) => c,
            Err(previous) => return Ok(previous),
        };
        let enrolment = match self
            .holder(
                &req.presentation,
                &row.nonce,
                HolderAuthPurpose::renew(&req.device_key.public_key),
            )
            .await
        {
            Ok(e) => e,
            Err(p) => return Err(self.refuse(&row.id, "renew", None, p).await),
        };
        let who = enrolment.id_number.clone();
        let device_key = match pop.verify(&row.id, &row.nonce) {
            Ok(k) => k,
            Err(e) => {
                let p = Problem::new(ProblemType::BadDeviceKey, e.to_string());
                return Err(self.refuse(&row.id, "renew", Some(&who), p).await);
            }
        };
        if self
            .store
            .enrolment_by_device(&Kid::of(&device_key).to_hex())
            .await
            .map_err(store_error)?
            .is_some()
        {
            let p = Problem::new(
                ProblemType::DeviceKeyReused,
                "renewal needs a new device key",
            );
            return Err(self.refuse(&row.id, "renew", Some(&who), p).await);
        }
        let person = self
            .store
            .person(&who)
            .await
            .map_err(store_error)?
            .ok_or_else(|| internal("enrolled person missing from the registry"))?;
        if let Err(p) = self.face_budget(&who) {
            return Err(self.refuse(&row.id, "renew", Some(&who), p).await);
        }
        let accepted = match self.face_decision(&challenge, req.frames, &person).await {
            Ok(a) => a,
            Err(p) => {
                self.charge_face_refusal(&who, &p);
                return Err(self.refuse(&row.id, "renew", Some(&who), p).await);
            }
        };
        self.issue_batch(
            &row.id,
            &person,
            device_key,
            "renew",
            &[enrolment.id.as_str()],
            "superseded",
            accepted,
        )
        .await
    }
}
