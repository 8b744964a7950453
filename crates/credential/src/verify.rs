//! Verification of a presented QR against explicit inputs: the trust list, the time, the
//! allowed clock skew, a status lookup and a replay cache (DESIGN §2.3). The result is a
//! [`Verdict`] or a precise [`VerifyError`].

use serde::Serialize;

use crate::claims::{Identity, Tier};
use crate::keys::Kid;
use crate::proof::{AuthMethods, MAX_PROOF_LIFETIME};
use crate::qr_text::{DecodeError, Presentation};
use crate::status_list::{StatusAnswer, StatusLookup, status};
use crate::trust_list::{KeyPeriodError, TrustList};

/// How long ago the upgraded tier's face match may have happened, by default (5 minutes).
pub const DEFAULT_MAX_FACE_AGE: u64 = 300;
/// Default clock skew allowed between wallet and verifier.
pub const DEFAULT_SKEW: u64 = 30;

/// The verifier's side of the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Now, Unix seconds.
    pub now: u64,
    /// Clock difference tolerated in every time comparison, seconds.
    pub skew: u64,
    /// The tier this venue requires (`None`: any tier).
    pub required_tier: Option<Tier>,
    /// The oldest face match the upgraded tier accepts, seconds before the proof.
    pub max_face_age: u64,
    /// Refuse when no status list is at hand (instead of reporting "not checked").
    pub require_status: bool,
}

impl VerifyOptions {
    /// Defaults for `now`: 30 s skew, any tier, 5-minute face age, status optional.
    pub fn at(now: u64) -> VerifyOptions {
        VerifyOptions {
            now,
            skew: DEFAULT_SKEW,
            required_tier: None,
            max_face_age: DEFAULT_MAX_FACE_AGE,
            require_status: false,
        }
    }
}

/// Remembers proofs already seen, so a screenshot shown twice is caught.
pub trait ReplayCache {
    /// Records `key` until `keep_until`; returns true if it was already there.
    fn check_and_record(&mut self, key: [u8; 16], keep_until: u64) -> bool;
}

/// An in-memory replay cache for one process. Entries are dropped once their proof expired.
#[derive(Debug, Default, Clone)]
pub struct MemoryReplayCache {
    seen: std::collections::HashMap<[u8; 16], u64>,
}

impl MemoryReplayCache {
    /// Forgets entries whose proofs can no longer verify at `now`.
    pub fn purge(&mut self, now: u64) {
        self.seen.retain(|_, until| *until >= now);
    }
}

impl ReplayCache for MemoryReplayCache {
    fn check_and_record(&mut self, key: [u8; 16], keep_until: u64) -> bool {
        self.seen.insert(key, keep_until).is_some()
    }
}

/// A check that passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The issuer key is in the trust list and valid for this credential.
    IssuerTrusted,
    /// The issuer signature verifies, made before the key's end of signing.
    IssuerSignature,
    /// `nbf <= now < exp` (with skew).
    CredentialValidity,
    /// The device signature verifies, bound to this credential.
    HolderProof,
    /// The proof is fresh: `iat <= now < exp`, `exp - iat <= 60`.
    ProofWindow,
    /// The tier's unlock requirements (and the venue's tier) are met.
    TierRequirements,
    /// The status list says valid.
    Status,
    /// The proof was not seen before.
    NotReplayed,
}

/// Whether status was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusOutcome {
    /// The status list says valid.
    Valid,
    /// No status list was at hand (offline); revocation could not be checked.
    NotChecked,
}

/// A successful verification.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The tier presented.
    pub tier: Tier,
    /// The claims this tier discloses, and nothing else.
    pub claims: Identity,
    /// The issuer key's identifier.
    pub issuer_kid: Kid,
    /// The issuer's name from the trust list.
    pub issuer_name: String,
    /// The credential's expiry.
    pub credential_expires_at: u64,
    /// When the holder made the proof.
    pub proof_issued_at: u64,
    /// Seconds between the proof and now (0 if the wallet's clock is ahead).
    pub proof_age: u64,
    /// How the holder unlocked the presentation.
    pub auth: AuthMethods,
    /// When the holder's face was matched on the device (upgraded tier).
    pub face_verified_at: Option<u64>,
    /// The status check.
    pub status: StatusOutcome,
    /// The checks that passed, in order.
    pub checks: Vec<Check>,
}

/// Why a presentation is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The QR text is not a well-formed presentation.
    #[error(transparent)]
    Malformed(#[from] DecodeError),
    /// No trusted key has this `kid`.
    #[error("unknown issuer: no trusted key has kid {0}")]
    UnknownIssuer(Kid),
    /// The key is trusted, but not for this credential at this time.
    #[error(
        "the issuer key {0} is not valid for this credential (outside its trust-list validity)"
    )]
    IssuerKeyNotValid(Kid),
    /// The credential was signed (`iat`) after its key's end of signing (`issued_until`):
    /// a retired key does not sign, so whoever signed it holds a leaked key.
    #[error(
        "the issuer key {kid} stopped signing at {issued_until}, but this credential is dated {issued_at}: it was made with a retired key"
    )]
    SignedAfterKeyRetired {
        /// The key.
        kid: Kid,
        /// The credential's `iat`.
        issued_at: u64,
        /// The key's `issued_until` in the trust list.
        issued_until: u64,
    },
    /// The issuer signature does not verify: forged or altered.
    #[error("the issuer signature is invalid: the credential was forged or altered")]
    BadIssuerSignature,
    /// `now < nbf`.
    #[error("the credential is not valid until {not_before}")]
    NotYetValid {
        /// `nbf`
        not_before: u64,
    },
    /// `now >= exp`.
    #[error("the credential expired at {expires_at}")]
    Expired {
        /// `exp`
        expires_at: u64,
    },
    /// The device signature does not verify.
    #[error("the holder proof is invalid: not signed by the credential's device key")]
    BadHolderProof,
    /// The proof was made for another credential (the other tier's, most likely).
    #[error("the holder proof belongs to another credential")]
    ProofBoundToOtherCredential,
    /// The proof is past its `exp`.
    #[error("the holder proof expired at {expires_at}: ask for a fresh code")]
    ProofExpired {
        /// proof `exp`
        expires_at: u64,
    },
    /// The proof was made in the future (wallet clock ahead beyond the skew).
    #[error("the holder proof is dated {issued_at}, in the future: check the clocks")]
    ProofNotYetValid {
        /// proof `iat`
        issued_at: u64,
    },
    /// The proof claims a lifetime over 60 s.
    #[error("the holder proof lives {lifetime} s, more than the 60 s allowed")]
    ProofLifetimeTooLong {
        /// `exp - iat`
        lifetime: u64,
    },
    /// The tier's unlock requirements or the venue's required tier are not met.
    #[error("tier requirement not met: {0}")]
    TierRequirementNotMet(String),
    /// Revoked on the status list.
    #[error("the credential has been revoked")]
    Revoked,
    /// Suspended on the status list.
    #[error("the credential is suspended")]
    Suspended,
    /// The status list has a value this verifier does not know.
    #[error("the status list holds an unrecognised status {0}")]
    StatusUnrecognised(u8),
    /// The status list does not hold this credential's index.
    #[error("the status list does not cover this credential")]
    StatusIndexOutOfRange,
    /// Status is required but no list is at hand.
    #[error("the status could not be checked and this venue requires it")]
    StatusUnavailable,
    /// The same proof was shown before.
    #[error("this code was already used: ask the holder for a fresh one")]
    Replayed,
}

impl VerifyError {
    /// A stable, machine-readable code (used in test vectors and JSON output).
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Malformed(_) => "malformed",
            VerifyError::UnknownIssuer(_) => "unknown_issuer",
            VerifyError::IssuerKeyNotValid(_) => "issuer_key_not_valid",
            VerifyError::SignedAfterKeyRetired { .. } => "signed_after_key_retired",
            VerifyError::BadIssuerSignature => "bad_issuer_signature",
            VerifyError::NotYetValid { .. } => "not_yet_valid",
            VerifyError::Expired { .. } => "expired",
            VerifyError::BadHolderProof => "bad_holder_proof",
            VerifyError::ProofBoundToOtherCredential => "proof_bound_to_other_credential",
            VerifyError::ProofExpired { .. } => "proof_expired",
            VerifyError::ProofNotYetValid { .. } => "proof_not_yet_valid",
            VerifyError::ProofLifetimeTooLong { .. } => "proof_lifetime_too_long",
            VerifyError::TierRequirementNotMet(_) => "tier_requirement_not_met",
            VerifyError::Revoked => "revoked",
            VerifyError::Suspended => "suspended",
            VerifyError::StatusUnrecognised(_) => "status_unrecognised",
            VerifyError::StatusIndexOutOfRange => "status_index_out_of_range",
            VerifyError::StatusUnavailable => "status_unavailable",
            VerifyError::Replayed => "replayed",
        }
    }
}

/// Decodes and verifies a QR text.
pub fn verify_qr_text(
    text: &str,
    trust: &TrustList,
    options: &VerifyOptions,
    status: &dyn StatusLookup,
    replay: &mut dyn ReplayCache,
) -> Result<Verdict, VerifyError> {
    let presentation = Presentation::from_qr_text(text)?;
    verify(&presentation, trust, options, status, replay)
}

/// Verifies a decoded presentation, in the order of DESIGN §2.3.
pub fn verify(
    p: &Presentation,
    trust: &TrustList,
    options: &VerifyOptions,
    status: &dyn StatusLookup,
    replay: &mut dyn ReplayCache,
) -> Result<Verdict, VerifyError> {
    let now = options.now;
    let skew = options.skew;
    let mut checks = Vec::with_capacity(8);
    let cred = &p.credential;
    let claims = &cred.claims;

    // 1. The issuer key, by kid, and its validity for this credential: introduced before
    //    `iat`, still trusted now (`valid_until`).
    let issuer = trust
        .get(&cred.kid)
        .ok_or(VerifyError::UnknownIssuer(cred.kid))?;
    let period = issuer.check_signature_at(claims.issued_at, now, skew);
    if let Err(KeyPeriodError::BeforeValidFrom { .. } | KeyPeriodError::PastValidUntil { .. }) =
        period
    {
        return Err(VerifyError::IssuerKeyNotValid(cred.kid));
    }
    checks.push(Check::IssuerTrusted);

    // 2. The issuer signature. Nothing in the claims counts before this. Then the key's end
    //    of signing against the now authenticated `iat` (checked after the signature, so a
    //    credential with an altered `iat` is called forged, not signed by a retired key).
    if !cred.issuer_signature_valid(&issuer.public_key) {
        return Err(VerifyError::BadIssuerSignature);
    }
    if let Err(KeyPeriodError::SignedAfterIssuedUntil { issued_until }) = period {
        return Err(VerifyError::SignedAfterKeyRetired {
            kid: cred.kid,
            issued_at: claims.issued_at,
            issued_until,
        });
    }
    checks.push(Check::IssuerSignature);

    // 3. The credential's validity window.
    if now.saturating_add(skew) < claims.not_before {
        return Err(VerifyError::NotYetValid {
            not_before: claims.not_before,
        });
    }
    if now >= claims.expires_at.saturating_add(skew) {
        return Err(VerifyError::Expired {
            expires_at: claims.expires_at,
        });
    }
    checks.push(Check::CredentialValidity);

    // 4. The holder proof, with the key from cnf and this credential's signature as AAD.
    let proof = &p.proof.claims;
    if !p.proof.signature_valid_for(cred) {
        // The proof's own (unverified) tier tells a moved proof from a forged one: a proof
        // made for the holder's other credential names the other tier.
        return Err(if proof.tier != claims.tier() {
            VerifyError::ProofBoundToOtherCredential
        } else {
            VerifyError::BadHolderProof
        });
    }
    if proof.tier != claims.tier() {
        return Err(VerifyError::ProofBoundToOtherCredential);
    }
    checks.push(Check::HolderProof);

    // 5. The proof's window.
    let lifetime = proof.expires_at.saturating_sub(proof.issued_at);
    if proof.expires_at < proof.issued_at || lifetime > MAX_PROOF_LIFETIME {
        return Err(VerifyError::ProofLifetimeTooLong { lifetime });
    }
    if now.saturating_add(skew) < proof.issued_at {
        return Err(VerifyError::ProofNotYetValid {
            issued_at: proof.issued_at,
        });
    }
    if now >= proof.expires_at.saturating_add(skew) {
        return Err(VerifyError::ProofExpired {
            expires_at: proof.expires_at,
        });
    }
    checks.push(Check::ProofWindow);

    // 6. The tier's unlock requirements, and the venue's tier.
    check_tier(p, options)?;
    checks.push(Check::TierRequirements);

    // 7. Status.
    let status_outcome = match status.lookup(issuer, &claims.status) {
        StatusAnswer::Known(status::VALID) => {
            checks.push(Check::Status);
            StatusOutcome::Valid
        }
        StatusAnswer::Known(status::INVALID) => return Err(VerifyError::Revoked),
        StatusAnswer::Known(status::SUSPENDED) => return Err(VerifyError::Suspended),
        StatusAnswer::Known(other) => return Err(VerifyError::StatusUnrecognised(other)),
        StatusAnswer::IndexOutOfRange => return Err(VerifyError::StatusIndexOutOfRange),
        StatusAnswer::Unavailable if options.require_status => {
            return Err(VerifyError::StatusUnavailable);
        }
        StatusAnswer::Unavailable => StatusOutcome::NotChecked,
    };

    // 8. Replay: recorded last, so a refused code does not use up a nonce.
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&claims.credential_id);
    key[8..].copy_from_slice(&proof.nonce);
    if replay.check_and_record(key, proof.expires_at.saturating_add(skew)) {
        return Err(VerifyError::Replayed);
    }
    checks.push(Check::NotReplayed);

    Ok(Verdict {
        tier: claims.tier(),
        claims: claims.identity.clone(),
        issuer_kid: cred.kid,
        issuer_name: issuer.name.clone(),
        credential_expires_at: claims.expires_at,
        proof_issued_at: proof.issued_at,
        proof_age: now.saturating_sub(proof.issued_at),
        auth: proof.auth,
        face_verified_at: proof.face_verified_at,
        status: status_outcome,
        checks,
    })
}

fn check_tier(p: &Presentation, options: &VerifyOptions) -> Result<(), VerifyError> {
    let tier = p.credential.claims.tier();
    let proof = &p.proof.claims;
    if let Some(required) = options.required_tier
        && tier < required
    {
        return Err(VerifyError::TierRequirementNotMet(format!(
            "this venue requires the {} tier, the code is {}",
            required.name(),
            tier.name()
        )));
    }
    if tier == Tier::Upgraded {
        if !proof
            .auth
            .contains(AuthMethods::PIN.with(AuthMethods::FACE))
        {
            return Err(VerifyError::TierRequirementNotMet(
                "the upgraded tier needs PIN and face; the proof records only ".to_owned()
                    + &proof.auth.names().join("+"),
            ));
        }
        let Some(face_at) = proof.face_verified_at else {
            return Err(VerifyError::TierRequirementNotMet(
                "the upgraded tier needs the time of the face match".into(),
            ));
        };
        if face_at > proof.issued_at.saturating_add(options.skew)
            || proof.issued_at.saturating_sub(face_at) > options.max_face_age
        {
            return Err(VerifyError::TierRequirementNotMet(format!(
                "the face match must be at most {} s older than the proof",
                options.max_face_age
            )));
        }
    }
    Ok(())
}
