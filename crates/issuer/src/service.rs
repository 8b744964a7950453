//! The issuer's decisions, independent of HTTP: challenges, enrolment, renewal, revocation
//! and the signed lists. The HTTP layer (`api`) only adapts requests to these calls.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use subtle::ConstantTimeEq;
use tessera_credential::claims::{
    Gender, Identity, LightweightClaims, Tier, UpgradedClaims, mask_id_number, mask_name,
};
use tessera_credential::credential::{Credential, CredentialClaims};
use tessera_credential::keys::{Es256Signer, Kid, Randomness, public_key_from_der};
use tessera_credential::qr_text::Presentation;
use tessera_credential::status_list::{
    StatusAnswer, StatusList, StatusListToken, StatusLookup, StatusRef,
};
use tessera_credential::trust_list::TrustedIssuer;
use tessera_credential::verify::{MemoryReplayCache, VerifyOptions, verify};
use tessera_face::analysis::FaceAnalyzer;
use tessera_face::liveness::Challenge;
use tessera_face::template::Template;
use tessera_issuer_api::binding::HolderAuthPurpose;
use tessera_issuer_api::challenge as challenge_binding;
use tessera_issuer_api::{
    AdminRevokeRequest, BatchResponse, ChallengeRequest, ChallengeResponse, DeviceKeyProof,
    EnrolRequest, HolderRevokeRequest, IssuedCredential, Problem, ProblemType, RenewRequest,
    RevokeResponse, holder_auth_nonce,
};
use tokio::sync::Semaphore;

mod portrait;
pub use portrait::{
    Portrait, add_verifier, remove_verifier, valid_verifier_name, verifier_key_hash,
};

use crate::config::{Clock, Config, OsRandomness, random_bytes};
use crate::face_check::{self, parse_actions};
use crate::ids::{CivilDate, IdNumber};
use crate::keys::KeyRing;
use crate::ratelimit::{ClientKey, Limiter};
use crate::store::{Audit, CredentialRow, NewEnrolment, RegistryRecord, Store, StoreError};

/// A signed document ready to serve, with its entity tag.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The bytes.
    pub bytes: bytes::Bytes,
    /// A strong ETag.
    pub etag: String,
    /// Seconds clients may cache it.
    pub max_age: u64,
}

#[derive(Debug)]
struct CachedList {
    version: u64,
    checked_at: u64,
    built_at: u64,
    doc: Signed,
}

/// The issuer.
#[derive(Debug)]
pub struct Issuer {
    /// Settings.
    pub config: Config,
    clock: Arc<dyn Clock>,
    store: Store,
    keys: KeyRing,
    faces: Arc<FaceAnalyzer>,
    face_slots: Arc<Semaphore>,
    /// Enrolment and renewal attempts per client (IPv4 address or IPv6 /64).
    per_ip: Limiter<ClientKey>,
    /// Challenges per client.
    challenges_per_ip: Limiter<ClientKey>,
    /// Refused face checks per ID number: only answers that passed every cheap check reach
    /// the face check, so junk requests cannot spend a person's budget.
    face_refusals_per_id: Limiter<String>,
    /// Portrait requests per client, counted before any lookup or audit write.
    portraits_per_ip: Limiter<ClientKey>,
    trust_list: Mutex<Option<(u64, Signed)>>,
    status_lists: Mutex<HashMap<u64, CachedList>>,
}

fn internal(e: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "internal error");
    Problem::new(
        ProblemType::Internal,
        "the issuer failed; nothing was issued, please try again",
    )
}

/// `429`: `what`; try again in `retry` seconds (also in `retry_after` and `Retry-After`).
fn rate_limited(what: &str, retry: u64) -> Problem {
    let mut p = Problem::new(
        ProblemType::RateLimited,
        format!("{what}; try again in {retry} seconds"),
    );
    p.extra = Some(serde_json::json!({ "retry_after": retry }));
    p
}

fn store_error(e: StoreError) -> Problem {
    match e {
        StoreError::ChallengeTaken => Problem::new(
            ProblemType::ChallengeReused,
            "this challenge was already answered: ask for a new one",
        ),
        StoreError::Database(sqlx::Error::PoolTimedOut) => {
            tracing::error!("database pool timed out");
            Problem::new(
                ProblemType::Unavailable,
                "the issuer is busy; nothing was issued, please try again shortly",
            )
        }
        other => internal(other),
    }
}

fn etag(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("\"{}\"", hex::encode(&Sha256::digest(bytes)[..16]))
}

impl Issuer {
    /// An issuer over an open store and key ring.
    pub fn new(
        config: Config,
        clock: Arc<dyn Clock>,
        store: Store,
        keys: KeyRing,
        faces: Arc<FaceAnalyzer>,
    ) -> Issuer {
        let window = config.rate_window;
        let max_keys = config.rate_limit_keys;
        Issuer {
            face_slots: Arc::new(Semaphore::new(config.face_workers.max(1))),
            per_ip: Limiter::new(config.attempts_per_ip, window, max_keys, clock.clone()),
            // Challenges are cheap but fill the table: allow a few per enrolment attempt.
            challenges_per_ip: Limiter::new(
                config.attempts_per_ip.saturating_mul(5),
                window,
                max_keys,
                clock.clone(),
            ),
            face_refusals_per_id: Limiter::new(
                config.attempts_per_id,
                window,
                max_keys,
                clock.clone(),
            ),
            portraits_per_ip: Limiter::new(
                config.portraits_per_ip,
                window,
                max_keys,
                clock.clone(),
            ),
            config,
            clock,
            store,
            keys,
            faces,
            trust_list: Mutex::new(None),
            status_lists: Mutex::new(HashMap::new()),
        }
    }

    /// The store (for administration and tests).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The keys (public parts are served; tests read the admin token).
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Counts an enrolment or renewal attempt against the client's budget.
    fn rate_limit(&self, ip: Option<IpAddr>) -> Result<(), Problem> {
        match ip {
            Some(ip) => self
                .per_ip
                .attempt(&ClientKey::from(ip))
                .map_err(|retry| rate_limited("too many attempts", retry)),
            None => Ok(()),
        }
    }

    /// Counts a challenge against the client's budget.
    fn limit_challenges(&self, ip: Option<IpAddr>) -> Result<(), Problem> {
        match ip {
            Some(ip) => self
                .challenges_per_ip
                .attempt(&ClientKey::from(ip))
                .map_err(|retry| rate_limited("too many challenges", retry)),
            None => Ok(()),
        }
    }

    /// Refuses, before the face work, when `id_number` has had its refused face checks for
    /// now. Called only once the answer passed the cheap checks (fresh challenge bound to
    /// the submitted key, valid proof of possession), so nobody else can spend the budget.
    fn face_budget(&self, id_number: &str) -> Result<(), Problem> {
        self.face_refusals_per_id
            .check(&id_number.to_owned())
            .map_err(|retry| rate_limited("too many refused face checks for this ID number", retry))
    }

    /// Charges `id_number` one refused face check if `p` is one (the face did not match, or
    /// liveness failed); other refusals say nothing about the face and cost nothing.
    fn charge_face_refusal(&self, id_number: &str, p: &Problem) {
        if matches!(
            p.kind(),
            Some(ProblemType::FaceMismatch | ProblemType::LivenessFailed)
        ) {
            // Over budget only when answers raced past `face_budget`: nothing more to do.
            let _ = self.face_refusals_per_id.attempt(&id_number.to_owned());
        }
    }

    // ---------------------------------------------------------------- challenges

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
        };
        challenge_binding::sign(&mut response, self.keys.active()).map_err(internal)?;
        Ok(response)
    }

    /// A stored challenge, or "unknown challenge".
    async fn challenge_row(&self, id: &str) -> Result<crate::store::ChallengeRow, Problem> {
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
    fn check_fresh(&self, row: &crate::store::ChallengeRow) -> Result<(), Problem> {
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
    async fn open_challenge(
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

    async fn refuse(
        &self,
        challenge_id: &str,
        event: &str,
        id_number: Option<&str>,
        p: Problem,
    ) -> Problem {
        let slug = p.kind().map_or("unknown", ProblemType::slug);
        let detail = match &p.extra {
            Some(extra) => format!("{slug} {extra}"),
            None => slug.to_owned(),
        };
        let audit = Audit {
            event,
            id_number,
            outcome: "refused",
            detail: &detail,
        };
        if let Err(e) = self.store.refuse(challenge_id, self.now(), &audit).await {
            tracing::error!(error = %e, "could not record a refusal");
        }
        tracing::info!(event, outcome = "refused", reason = slug, "decision");
        p
    }

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

    // ---------------------------------------------------------------- holder auth

    /// Checks a holder's presentation bound to `challenge` for `purpose`; returns the
    /// active enrolment it belongs to.
    async fn holder(
        &self,
        presentation: &str,
        challenge_nonce: &[u8],
        purpose: HolderAuthPurpose,
    ) -> Result<crate::store::EnrolmentRow, Problem> {
        let failed = |why: String| Problem::new(ProblemType::HolderAuthFailed, why);
        let p = Presentation::from_qr_text(presentation)
            .map_err(|e| failed(format!("the presentation cannot be read: {e}")))?;
        let cti = hex::encode(p.credential.claims.credential_id);
        let enrolment = self
            .store
            .enrolment_by_credential(&cti)
            .await
            .map_err(store_error)?
            .ok_or_else(|| failed("this issuer did not issue that credential".into()))?;
        let status = self
            .store
            .credential_status(
                p.credential.claims.status.list,
                p.credential.claims.status.idx,
            )
            .await
            .map_err(store_error)?;
        let lookup = KnownStatus(status);
        let now = self.now();
        let trust = self.keys.trust_list(&self.config, now);
        let mut options = VerifyOptions::at(now);
        options.require_status = true;
        if let Err(e) = verify(
            &p,
            &trust,
            &options,
            &lookup,
            &mut MemoryReplayCache::default(),
        ) {
            if matches!(e.code(), "revoked" | "suspended") || enrolment.state != "active" {
                return Err(Problem::new(
                    ProblemType::CredentialNotActive,
                    "this credential was revoked or replaced; enrol again",
                ));
            }
            return Err(failed(format!(
                "the presentation does not verify ({})",
                e.code()
            )));
        }
        if p.proof.claims.nonce != holder_auth_nonce(purpose, challenge_nonce) {
            return Err(failed(
                "the holder proof is not bound to this challenge".into(),
            ));
        }
        if enrolment.state != "active" {
            return Err(Problem::new(
                ProblemType::CredentialNotActive,
                "this credential was revoked or replaced; enrol again",
            ));
        }
        Ok(enrolment)
    }

    // ---------------------------------------------------------------- renewal

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

    // ---------------------------------------------------------------- revocation

    /// The holder revokes their own batch (e.g. a phone they are giving away).
    pub async fn revoke_by_holder(
        &self,
        req: HolderRevokeRequest,
    ) -> Result<RevokeResponse, Problem> {
        let row = self.challenge_row(&req.challenge_id).await?;
        self.check_fresh(&row)?;
        let enrolment = match self
            .holder(&req.presentation, &row.nonce, HolderAuthPurpose::Revoke)
            .await
        {
            Ok(e) => e,
            Err(p) => return Err(self.refuse(&row.id, "revoke", None, p).await),
        };
        let audit = Audit {
            event: "revoke",
            id_number: Some(&enrolment.id_number),
            outcome: "revoked",
            detail: "by holder",
        };
        let revoked = self
            .store
            .revoke(
                std::slice::from_ref(&enrolment.id),
                Some(&row.id),
                self.now(),
                &audit,
            )
            .await
            .map_err(store_error)?;
        self.status_changed();
        tracing::info!(event = "revoke", outcome = "revoked", "decision");
        Ok(RevokeResponse { revoked })
    }

    /// An administrator revokes every active batch of a person.
    pub async fn revoke_by_admin(
        &self,
        bearer: Option<&str>,
        req: AdminRevokeRequest,
    ) -> Result<RevokeResponse, Problem> {
        let expected = self.keys.admin_token.as_bytes();
        let ok = bearer.is_some_and(|t| bool::from(t.as_bytes().ct_eq(expected)));
        if !ok {
            return Err(Problem::new(
                ProblemType::Unauthorized,
                "an administrator token is required (Authorization: Bearer …, from the data directory's admin-token file)",
            ));
        }
        let id = IdNumber::parse(&req.id_number)
            .map_err(|e| Problem::new(ProblemType::Malformed, format!("id_number: {e}")))?;
        let active = self
            .store
            .active_enrolments(id.as_str())
            .await
            .map_err(store_error)?;
        let ids: Vec<String> = active.into_iter().map(|e| e.id).collect();
        let reason: String = req
            .reason
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let detail = format!("by administrator: {reason}");
        let audit = Audit {
            event: "admin_revoke",
            id_number: Some(id.as_str()),
            outcome: "revoked",
            detail: &detail,
        };
        let revoked = self
            .store
            .revoke(&ids, None, self.now(), &audit)
            .await
            .map_err(store_error)?;
        self.status_changed();
        tracing::info!(event = "admin_revoke", outcome = "revoked", "decision");
        Ok(RevokeResponse { revoked })
    }

    // ---------------------------------------------------------------- lists

    /// This replica changed a status: its cached lists are stale now (other replicas notice
    /// the new version within a second).
    fn status_changed(&self) {
        self.status_lists
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The signed trust list (re-signed every `status_list_ttl`).
    pub fn trust_list(&self) -> Result<Signed, Problem> {
        let now = self.now();
        let ttl = self.config.status_list_ttl.as_secs();
        let mut cache = self.trust_list.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((built, doc)) = cache.as_ref()
            && now < built + ttl
        {
            return Ok(doc.clone());
        }
        let bytes = self
            .keys
            .trust_list(&self.config, now)
            .sign(&self.keys.trust_list_key)
            .map_err(internal)?;
        let doc = Signed {
            etag: etag(&bytes),
            bytes: bytes::Bytes::from(bytes),
            max_age: ttl,
        };
        *cache = Some((now, doc.clone()));
        Ok(doc)
    }

    /// The trust-list signing key (SPKI PEM), for pinning out of band.
    pub fn trust_list_key_pem(&self) -> String {
        tessera_credential::keys::spki_pem(&self.keys.trust_list_key.public_key())
    }

    /// A status list token, re-signed when the list changed or half its lifetime passed.
    pub async fn status_list(&self, list: u64) -> Result<Signed, Problem> {
        let now = self.now();
        let ttl = self.config.status_list_ttl.as_secs();
        {
            let cache = self.status_lists.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = cache.get(&list)
                && now == c.checked_at
                && now < c.built_at + ttl / 2
            {
                return Ok(c.doc.clone());
            }
        }
        // At most one version query per list per second reaches the database.
        let version = self
            .store
            .status_list_version(list)
            .await
            .map_err(store_error)?
            .ok_or_else(|| Problem::new(ProblemType::NotFound, format!("no status list {list}")))?
            .1;
        {
            let mut cache = self.status_lists.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = cache.get_mut(&list)
                && c.version == version
                && now < c.built_at + ttl / 2
            {
                c.checked_at = now;
                return Ok(c.doc.clone());
            }
        }
        let snapshot = self
            .store
            .status_entries(list)
            .await
            .map_err(store_error)?
            .ok_or_else(|| Problem::new(ProblemType::NotFound, format!("no status list {list}")))?;
        let mut bits = StatusList::new(2, snapshot.size).map_err(internal)?;
        for (idx, value) in &snapshot.entries {
            bits.set(*idx, u8::try_from(*value).unwrap_or(1))
                .map_err(internal)?;
        }
        let token = StatusListToken {
            signer: self.keys.active().kid(),
            uri: StatusRef { list, idx: 0 }.uri(&self.config.status_base()),
            issued_at: now,
            expires_at: Some(now + 2 * ttl),
            ttl: Some(ttl),
            list: bits,
        };
        let bytes = token.sign(self.keys.active()).map_err(internal)?;
        let doc = Signed {
            etag: etag(&bytes),
            bytes: bytes::Bytes::from(bytes),
            max_age: ttl.min(60),
        };
        self.status_lists
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                list,
                CachedList {
                    version: snapshot.version,
                    checked_at: now,
                    built_at: now,
                    doc: doc.clone(),
                },
            );
        Ok(doc)
    }
}

/// The status the database holds for the one credential being checked.
struct KnownStatus(Option<i64>);

impl StatusLookup for KnownStatus {
    fn lookup(&self, _: &TrustedIssuer, _: &StatusRef) -> StatusAnswer {
        match self.0 {
            Some(v) => StatusAnswer::Known(u8::try_from(v).unwrap_or(1)),
            None => StatusAnswer::IndexOutOfRange,
        }
    }
}

/// The claims one tier discloses about `person`, as of `now`.
pub fn identity(person: &RegistryRecord, tier: Tier, now: u64) -> Identity {
    match tier {
        Tier::Lightweight => {
            let today = CivilDate::from_unix(now);
            let adult = CivilDate::parse_compact(&person.date_of_birth)
                .is_some_and(|d| d.age_on(today) >= 18);
            Identity::Lightweight(LightweightClaims {
                masked_name: mask_name(&person.full_name),
                masked_id_number: mask_id_number(&person.id_number),
                age_over_18: adult,
            })
        }
        Tier::Upgraded => {
            let sha: [u8; 32] = person.photo_sha256.as_slice().try_into().unwrap_or([0; 32]);
            Identity::Upgraded(UpgradedClaims {
                id_number: person.id_number.clone(),
                full_name: person.full_name.clone(),
                date_of_birth: person.date_of_birth.clone(),
                gender: if person.sex == "M" {
                    Gender::Male
                } else {
                    Gender::Female
                },
                photo_sha256: sha,
            })
        }
    }
}
