//! The issuer's decisions, independent of HTTP: challenges, enrolment, renewal, revocation
//! and the signed lists. The HTTP layer (`api`) only adapts requests to these calls.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use subtle::ConstantTimeEq;
use tessera_credential::claims::{
    AgeOnlyClaims, Gender, Identity, LightweightClaims, Tier, UpgradedClaims, mask_id_number,
    mask_name,
};
use tessera_credential::keys::Es256Signer;
use tessera_credential::qr_text::Presentation;
use tessera_credential::status_list::{
    StatusAnswer, StatusList, StatusListToken, StatusLookup, StatusRef,
};
use tessera_credential::trust_list::TrustedIssuer;
use tessera_credential::verify::{MemoryReplayCache, VerifyOptions, verify};
use tessera_face::analysis::FaceAnalyzer;
use tessera_issuer_api::binding::HolderAuthPurpose;
use tessera_issuer_api::{
    AdminRevokeRequest, HolderRevokeRequest, Problem, ProblemType, RevokeResponse,
    holder_auth_nonce,
};
use tokio::sync::Semaphore;

mod challenge;
mod clients;
mod enrolment;
mod portrait;
mod refill;
mod sign_in;
mod tpm;

pub use clients::{add_client, remove_client};
pub use portrait::{
    Portrait, add_verifier, remove_verifier, valid_verifier_name, verifier_key_hash,
};
pub use sign_in::SignInPage;

use crate::config::{Clock, Config};
use crate::ids::{CivilDate, IdNumber};
use crate::keys::KeyRing;
use crate::ratelimit::{ClientKey, Limiter};
use crate::store::{Audit, RegistryRecord, Store, StoreError};

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
    /// Sign-in requests (authorization requests and the wallet's answers) per client.
    sign_ins_per_ip: Limiter<ClientKey>,
    /// Refills per person (by ID number) per day.
    refills_per_id: Limiter<String>,
    /// The secret of pairwise subjects (Sign in with Tessera).
    pairwise: Option<tessera_oidc::pairwise::PairwiseSecret>,
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
        StoreError::NotActive => Problem::new(
            ProblemType::CredentialNotActive,
            "this credential was revoked or replaced; enrol again",
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
            sign_ins_per_ip: Limiter::new(config.sign_ins_per_ip, window, max_keys, clock.clone()),
            refills_per_id: Limiter::new(
                config.refills_per_day,
                Duration::from_secs(86_400),
                max_keys,
                clock.clone(),
            ),
            pairwise: None,
            config,
            clock,
            store,
            keys,
            faces,
            trust_list: Mutex::new(None),
            status_lists: Mutex::new(HashMap::new()),
        }
    }

    /// With `secret` for pairwise subjects: without one, the issuer offers no sign-in.
    pub fn with_pairwise_secret(
        mut self,
        secret: tessera_oidc::pairwise::PairwiseSecret,
    ) -> Issuer {
        self.pairwise = Some(secret);
        self
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
        if self
            .store
            .credential_retired(&cti)
            .await
            .map_err(store_error)?
        {
            return Err(Problem::new(
                ProblemType::CredentialNotActive,
                "this one-time credential was retired by a refill: use a current one",
            ));
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
    let adult = || {
        let today = CivilDate::from_unix(now);
        CivilDate::parse_compact(&person.date_of_birth).is_some_and(|d| d.age_on(today) >= 18)
    };
    match tier {
        Tier::AgeOnly => Identity::AgeOnly(AgeOnlyClaims {
            age_over_18: adult(),
        }),
        Tier::Lightweight => Identity::Lightweight(LightweightClaims {
            masked_name: mask_name(&person.full_name),
            masked_id_number: mask_id_number(&person.id_number),
            age_over_18: adult(),
        }),
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
