//! Enrolment and renewal: the cheap checks first (challenge and its key, proof of
//! possession, holder authentication), then the face decision against the registry, then
//! one transaction that signs and stores the batch.

use std::net::IpAddr;

use tessera_credential::KeyProtection;
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
        let one_time = match self.batch_keys(req.batch.as_ref(), &device_key, &row) {
            Ok(k) => k,
            Err(p) => return Err(self.refuse(&row.id, "enrol", None, p).await),
        };
        let protections = match self.key_protections(
            req.tpm.as_ref(),
            row.tpm_state.as_deref(),
            &row.nonce,
            &device_key,
            &one_time,
            req.batch.is_some(),
        ) {
            Ok(p) => p,
            Err(p) => return Err(self.refuse(&row.id, "enrol", None, p).await),
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
            &row.id,
            &person,
            device_key,
            &one_time,
            &protections,
            "enrol",
            &replaces,
            "revoked",
            accepted,
        )
        .await
    }

    /// The one-time credentials' keys of an enrolment or renewal, checked: each proven for
    /// the challenge, the list signed by the main device key (so a relay cannot add its
    /// own), only batch tiers, at most `batch_size` of each, no key twice and none the main
    /// key. An older app that sends no batch gets one lightweight credential on the main
    /// key, as before batches.
    fn batch_keys(
        &self,
        batch: Option<&tessera_issuer_api::BatchKeys>,
        main: &p256::ecdsa::VerifyingKey,
        row: &crate::store::ChallengeRow,
    ) -> Result<Vec<(Tier, p256::ecdsa::VerifyingKey)>, Problem> {
        let Some(batch) = batch else {
            return Ok(vec![(Tier::Lightweight, *main)]);
        };
        batch
            .verify_binding(main, &row.id, &row.nonce)
            .map_err(|_| {
                Problem::new(
                    ProblemType::BadDeviceKey,
                    "the batch keys are not signed by the device key of this request",
                )
            })?;
        let keys = self.one_time_keys(&batch.keys, row)?;
        if keys.iter().any(|(_, k)| k == main) {
            return Err(Problem::new(
                ProblemType::DeviceKeyReused,
                "a batch key is the main device key: every credential needs its own key",
            ));
        }
        Ok(keys)
    }

    /// Checks one-time keys (enrolment, renewal, refill): proofs of possession for the
    /// challenge, batch tiers only, at most `batch_size` of each tier, no key twice.
    pub(super) fn one_time_keys(
        &self,
        keys: &[tessera_issuer_api::BatchKey],
        row: &crate::store::ChallengeRow,
    ) -> Result<Vec<(Tier, p256::ecdsa::VerifyingKey)>, Problem> {
        let max = self.config.batch_size as usize;
        let mut out: Vec<(Tier, p256::ecdsa::VerifyingKey)> = Vec::with_capacity(keys.len());
        for (n, k) in keys.iter().enumerate() {
            let tier = k.one_time_tier().ok_or_else(|| {
                Problem::new(
                    ProblemType::Malformed,
                    format!(
                        "batch key {n}: tier {:?} is not issued in batches (lightweight, age_only)",
                        k.tier
                    ),
                )
            })?;
            let key = k.verify(&row.id, &row.nonce).map_err(|e| {
                Problem::new(ProblemType::BadDeviceKey, format!("batch key {n}: {e}"))
            })?;
            if out.iter().any(|(_, seen)| *seen == key) {
                return Err(Problem::new(
                    ProblemType::DeviceKeyReused,
                    format!("batch key {n} appears twice: every credential needs its own key"),
                ));
            }
            out.push((tier, key));
        }
        for tier in tessera_issuer_api::batch::ONE_TIME_TIERS {
            let n = out.iter().filter(|(t, _)| *t == tier).count();
            if n > max {
                return Err(Problem::new(
                    ProblemType::Malformed,
                    format!(
                        "{n} {} keys: this issuer gives at most {max} of each tier",
                        tier.name()
                    ),
                ));
            }
        }
        Ok(out)
    }

    /// Signs and stores a batch (one transaction), returning what the client gets: the
    /// upgraded credential on the main device key, then one one-time credential per batch
    /// key, each with its own `cti` and status slot and day-rounded times
    /// ([`one_time_times`]).
    #[allow(clippy::too_many_arguments)]
    async fn issue_batch(
        &self,
        challenge_id: &str,
        person: &RegistryRecord,
        device_key: p256::ecdsa::VerifyingKey,
        one_time: &[(Tier, p256::ecdsa::VerifyingKey)],
        protections: &(KeyProtection, Vec<KeyProtection>),
        kind: &str,
        replaces: &[&str],
        replaced_state: &str,
        accepted: face_check::Accepted,
    ) -> Result<BatchResponse, Problem> {
        let now = self.now();
        let expires_at = now + self.config.credential_validity.as_secs();
        let enrolment_id = hex::encode(random_bytes::<16>());
        let device_kid = Kid::of(&device_key).to_hex();
        let (main_protection, one_time_protections) = protections;
        let mut wanted = vec![(Tier::Upgraded, device_key, *main_protection)];
        wanted.extend(
            one_time
                .iter()
                .zip(one_time_protections)
                .map(|((tier, key), p)| (*tier, *key, *p)),
        );
        let signer = self.signer_for(now);
        let build = |slots: &[crate::store::Slot]| {
            let (rows, issued) = signer.sign_all(person, &wanted, slots)?;
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
        let detail = format!(
            "kind={kind} device={device_kid} frames={} one_time={} key_protection={}",
            accepted.frames,
            one_time.len(),
            main_protection.name()
        );
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
            key_protection: main_protection.name(),
        };
        self.store
            .issue(&new, wanted.len(), &audit, build)
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

    /// What signs credentials issued at `now`.
    pub(super) fn signer_for(&self, now: u64) -> CredentialSigner<'_> {
        self.signer_until(now, u64::MAX)
    }

    /// What signs credentials issued at `now` that must not outlive `until` (a refill's
    /// credentials end no later than their enrolment).
    pub(super) fn signer_until(&self, now: u64, until: u64) -> CredentialSigner<'_> {
        CredentialSigner {
            issuer: &self.config.issuer_id,
            key: self.keys.active(),
            key_since: self.keys.active_since(),
            now,
            expires_at: (now + self.config.credential_validity.as_secs()).min(until),
            one_time_expires_at: (now + self.config.one_time_validity.as_secs())
                .min(now + self.config.credential_validity.as_secs())
                .min(until),
        }
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
        let one_time = match self.batch_keys(req.batch.as_ref(), &device_key, &row) {
            Ok(k) => k,
            Err(p) => return Err(self.refuse(&row.id, "renew", Some(&who), p).await),
        };
        let protections = match self.key_protections(
            req.tpm.as_ref(),
            row.tpm_state.as_deref(),
            &row.nonce,
            &device_key,
            &one_time,
            req.batch.is_some(),
        ) {
            Ok(p) => p,
            Err(p) => return Err(self.refuse(&row.id, "renew", Some(&who), p).await),
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
            &one_time,
            &protections,
            "renew",
            &[enrolment.id.as_str()],
            "superseded",
            accepted,
        )
        .await
    }
}

/// Signs credentials for reserved status slots: the upgraded tier with the exact times, the
/// one-time tiers with times every citizen issued that day shares.
pub(super) struct CredentialSigner<'a> {
    issuer: &'a str,
    key: &'a tessera_credential::keys::SoftwareKey,
    key_since: u64,
    now: u64,
    /// The upgraded credential's expiry.
    expires_at: u64,
    /// The one-time credentials' expiry before rounding: shorter, since refills keep them
    /// coming, and every one issued occupies a status slot until it expires.
    one_time_expires_at: u64,
}

/// A day, the unit one-time credentials' times are rounded to.
const DAY: u64 = 86_400;

/// `iat`/`nbf` and `exp` of a one-time credential issued at `now`: the start of the day
/// (but not before the signing key's `valid_from`, which verifiers check `iat` against)
/// and the start of the day the exact expiry falls on. Everyone issued that day with that
/// key gets the same three numbers, so they do not single out a person or a batch.
pub fn one_time_times(now: u64, key_since: u64, expires_at: u64) -> (u64, u64) {
    let day_start = now - now % DAY;
    (
        day_start.max(key_since).min(now),
        expires_at - expires_at % DAY,
    )
}

impl CredentialSigner<'_> {
    /// One credential per `(tier, key, protection)` in `wanted`, on the matching slot; the
    /// database rows and the answer's entries.
    pub(super) fn sign_all(
        &self,
        person: &RegistryRecord,
        wanted: &[(Tier, p256::ecdsa::VerifyingKey, KeyProtection)],
        slots: &[crate::store::Slot],
    ) -> Result<(Vec<CredentialRow>, Vec<IssuedCredential>), String> {
        let mut rows = Vec::with_capacity(wanted.len());
        let mut issued = Vec::with_capacity(wanted.len());
        let (day, day_of_expiry) =
            one_time_times(self.now, self.key_since, self.one_time_expires_at);
        for ((tier, holder_key, key_protection), slot) in wanted.iter().zip(slots) {
            let mut cti = [0u8; 8];
            OsRandomness.fill(&mut cti);
            let (issued_at, expires_at) = match tier {
                Tier::Upgraded => (self.now, self.expires_at),
                Tier::Lightweight | Tier::AgeOnly => (day, day_of_expiry),
            };
            let claims = CredentialClaims {
                issuer: self.issuer.to_owned(),
                issued_at,
                not_before: issued_at,
                expires_at,
                credential_id: cti,
                holder_key: *holder_key,
                status: StatusRef {
                    list: slot.list,
                    idx: slot.idx,
                },
                identity: identity(person, *tier, self.now),
                key_protection: *key_protection,
            };
            let credential = Credential::issue(claims, self.key).map_err(|e| e.to_string())?;
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
        Ok((rows, issued))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_times_are_the_days_not_the_moment() {
        let day = 20_000 * DAY;
        let validity = 365 * DAY;
        // Two people issued at different moments of one day share all three numbers.
        let a = one_time_times(day + 3_600, 0, day + 3_600 + validity);
        let b = one_time_times(day + 80_000, 0, day + 80_000 + validity);
        assert_eq!(a, b);
        assert_eq!(a, (day, day + validity));
        // A key made at noon: nothing it signs may claim to be older than the key.
        let noon = day + DAY / 2;
        assert_eq!(
            one_time_times(noon + 60, noon, noon + 60 + validity).0,
            noon
        );
    }
}
