//! RFC 9457 problem details: one stable `type` per failure, so clients can branch on it.

use serde::{Deserialize, Serialize};

/// Every failure the issuer reports, with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemType {
    /// The request body or a field is not what the API describes.
    Malformed,
    /// The body is larger than the endpoint accepts.
    PayloadTooLarge,
    /// The body did not arrive in time (a stalled or very slow connection); send it again.
    RequestTimeout,
    /// Too many attempts; `Retry-After` says when to try again.
    RateLimited,
    /// No such challenge.
    UnknownChallenge,
    /// The challenge expired before the answer arrived.
    ChallengeExpired,
    /// The challenge was already used.
    ChallengeReused,
    /// The ID number is not in the registry.
    UnknownIdNumber,
    /// The frames do not answer the challenge with a live face.
    LivenessFailed,
    /// A frame shows no face, or more than one, or cannot be read.
    FaceNotUsable,
    /// The live face does not match the registry photo.
    FaceMismatch,
    /// The person already holds live credentials bound to another device.
    AlreadyEnrolled,
    /// The device key, or its proof of possession, is invalid.
    BadDeviceKey,
    /// This device key was used before (one device key per enrolment, ever).
    DeviceKeyReused,
    /// The challenge was drawn for another device key, or for none: enrolment and renewal
    /// answer a challenge only with the key named when it was drawn.
    ChallengeKeyMismatch,
    /// The holder proof presented for renewal or revocation does not verify.
    HolderAuthFailed,
    /// The credential is already revoked or superseded.
    CredentialNotActive,
    /// The registry photo changed after the credential was issued: the portrait the
    /// credential names (its `photo_sha256`) is no longer held.
    PortraitChanged,
    /// The sign-in request was already answered, or expired.
    SignInEnded,
    /// The person picked another number than the sign-in page shows.
    WrongMatchCode,
    /// The credential presented is of a lower tier than the sign-in asks for.
    TierTooLow,
    /// TPM key attestation: the EK certificate does not chain to a TPM manufacturer root
    /// the issuer trusts (or is not valid now).
    TpmEkUntrusted,
    /// TPM key attestation: a certification is of another key than the request's.
    TpmAttestationOtherKey,
    /// TPM key attestation: a key claimed as hardware was not generated inside the TPM or
    /// can leave it (no fixedTPM / sensitiveDataOrigin: imported or software).
    TpmKeyNotInTpm,
    /// TPM key attestation: the certification was made for another challenge or another
    /// activation, or the challenge was drawn without a TPM.
    TpmAttestationReplayed,
    /// TPM key attestation: anything else malformed or refused (AK, signature, algorithm).
    TpmAttestationInvalid,
    /// Missing or wrong administrator token.
    Unauthorized,
    /// No such status list, or no such resource.
    NotFound,
    /// The server failed; nothing was issued.
    Internal,
    /// The server is overloaded or its database is unavailable; nothing was issued.
    Unavailable,
}

impl ProblemType {
    /// Every type, for documentation and tests.
    pub const ALL: [ProblemType; 30] = [
        ProblemType::Malformed,
        ProblemType::PayloadTooLarge,
        ProblemType::RequestTimeout,
        ProblemType::RateLimited,
        ProblemType::UnknownChallenge,
        ProblemType::ChallengeExpired,
        ProblemType::ChallengeReused,
        ProblemType::UnknownIdNumber,
        ProblemType::LivenessFailed,
        ProblemType::FaceNotUsable,
        ProblemType::FaceMismatch,
        ProblemType::AlreadyEnrolled,
        ProblemType::BadDeviceKey,
        ProblemType::DeviceKeyReused,
        ProblemType::ChallengeKeyMismatch,
        ProblemType::HolderAuthFailed,
        ProblemType::CredentialNotActive,
        ProblemType::PortraitChanged,
        ProblemType::SignInEnded,
        ProblemType::WrongMatchCode,
        ProblemType::TierTooLow,
        ProblemType::TpmEkUntrusted,
        ProblemType::TpmAttestationOtherKey,
        ProblemType::TpmKeyNotInTpm,
        ProblemType::TpmAttestationReplayed,
        ProblemType::TpmAttestationInvalid,
        ProblemType::Unauthorized,
        ProblemType::NotFound,
        ProblemType::Internal,
        ProblemType::Unavailable,
    ];

    /// The short stable name, the last part of the `type` URI.
    pub fn slug(self) -> &'static str {
        match self {
            ProblemType::Malformed => "malformed",
            ProblemType::PayloadTooLarge => "payload-too-large",
            ProblemType::RequestTimeout => "request-timeout",
            ProblemType::RateLimited => "rate-limited",
            ProblemType::UnknownChallenge => "unknown-challenge",
            ProblemType::ChallengeExpired => "challenge-expired",
            ProblemType::ChallengeReused => "challenge-reused",
            ProblemType::UnknownIdNumber => "unknown-id-number",
            ProblemType::LivenessFailed => "liveness-failed",
            ProblemType::FaceNotUsable => "face-not-usable",
            ProblemType::FaceMismatch => "face-mismatch",
            ProblemType::AlreadyEnrolled => "already-enrolled",
            ProblemType::BadDeviceKey => "bad-device-key",
            ProblemType::DeviceKeyReused => "device-key-reused",
            ProblemType::ChallengeKeyMismatch => "challenge-key-mismatch",
            ProblemType::HolderAuthFailed => "holder-auth-failed",
            ProblemType::CredentialNotActive => "credential-not-active",
            ProblemType::PortraitChanged => "portrait-changed",
            ProblemType::SignInEnded => "sign-in-ended",
            ProblemType::WrongMatchCode => "wrong-match-code",
            ProblemType::TierTooLow => "tier-too-low",
            ProblemType::TpmEkUntrusted => "tpm-ek-untrusted",
            ProblemType::TpmAttestationOtherKey => "tpm-attestation-other-key",
            ProblemType::TpmKeyNotInTpm => "tpm-key-not-in-tpm",
            ProblemType::TpmAttestationReplayed => "tpm-attestation-replayed",
            ProblemType::TpmAttestationInvalid => "tpm-attestation-invalid",
            ProblemType::Unauthorized => "unauthorized",
            ProblemType::NotFound => "not-found",
            ProblemType::Internal => "internal",
            ProblemType::Unavailable => "unavailable",
        }
    }

    /// The `type` member: a URN, stable and never dereferenced.
    pub fn uri(self) -> String {
        format!("urn:tessera:problem:{}", self.slug())
    }

    /// Reads a `type` member back.
    pub fn from_uri(uri: &str) -> Option<ProblemType> {
        let slug = uri.strip_prefix("urn:tessera:problem:")?;
        ProblemType::ALL.into_iter().find(|t| t.slug() == slug)
    }

    /// The HTTP status code.
    pub fn status(self) -> u16 {
        match self {
            ProblemType::Malformed
            | ProblemType::BadDeviceKey
            | ProblemType::TpmAttestationInvalid => 400,
            ProblemType::Unauthorized | ProblemType::HolderAuthFailed => 401,
            ProblemType::NotFound | ProblemType::UnknownChallenge => 404,
            ProblemType::UnknownIdNumber => 404,
            ProblemType::AlreadyEnrolled
            | ProblemType::DeviceKeyReused
            | ProblemType::ChallengeKeyMismatch
            | ProblemType::ChallengeReused
            | ProblemType::CredentialNotActive
            | ProblemType::PortraitChanged => 409,
            ProblemType::ChallengeExpired | ProblemType::SignInEnded => 410,
            ProblemType::WrongMatchCode
            | ProblemType::TierTooLow
            | ProblemType::TpmEkUntrusted
            | ProblemType::TpmAttestationOtherKey
            | ProblemType::TpmKeyNotInTpm
            | ProblemType::TpmAttestationReplayed => 403,
            ProblemType::RequestTimeout => 408,
            ProblemType::PayloadTooLarge => 413,
            ProblemType::LivenessFailed
            | ProblemType::FaceNotUsable
            | ProblemType::FaceMismatch => 422,
            ProblemType::RateLimited => 429,
            ProblemType::Internal => 500,
            ProblemType::Unavailable => 503,
        }
    }

    /// A short human title (the same for every occurrence).
    pub fn title(self) -> &'static str {
        match self {
            ProblemType::Malformed => "The request is malformed",
            ProblemType::PayloadTooLarge => "The request body is too large",
            ProblemType::RequestTimeout => "The request body did not arrive in time",
            ProblemType::RateLimited => "Too many attempts",
            ProblemType::UnknownChallenge => "Unknown liveness challenge",
            ProblemType::ChallengeExpired => "The liveness challenge expired",
            ProblemType::ChallengeReused => "The liveness challenge was already used",
            ProblemType::UnknownIdNumber => "The ID number is not in the registry",
            ProblemType::LivenessFailed => "Liveness check failed",
            ProblemType::FaceNotUsable => "The face could not be used",
            ProblemType::FaceMismatch => "The face does not match the registry photo",
            ProblemType::AlreadyEnrolled => "Already enrolled on another device",
            ProblemType::BadDeviceKey => "The device key is invalid",
            ProblemType::DeviceKeyReused => "This device key was already used",
            ProblemType::ChallengeKeyMismatch => {
                "The liveness challenge was drawn for another device key"
            }
            ProblemType::HolderAuthFailed => "The holder proof does not verify",
            ProblemType::CredentialNotActive => "The credential is no longer active",
            ProblemType::PortraitChanged => {
                "The registry photo changed since the credential was issued"
            }
            ProblemType::SignInEnded => "The sign-in request was already answered or expired",
            ProblemType::WrongMatchCode => {
                "The number picked is not the one the sign-in page shows"
            }
            ProblemType::TierTooLow => "The sign-in needs the upgraded ID",
            ProblemType::TpmEkUntrusted => {
                "The TPM's endorsement key certificate is not from a trusted manufacturer"
            }
            ProblemType::TpmAttestationOtherKey => {
                "The TPM attestation certifies another key than the request's"
            }
            ProblemType::TpmKeyNotInTpm => "The key claimed as hardware was not made in the TPM",
            ProblemType::TpmAttestationReplayed => {
                "The TPM attestation was made for another challenge"
            }
            ProblemType::TpmAttestationInvalid => "The TPM attestation is invalid",
            ProblemType::Unauthorized => "Not authorised",
            ProblemType::NotFound => "Not found",
            ProblemType::Internal => "Internal error",
            ProblemType::Unavailable => "Service unavailable",
        }
    }
}

/// An RFC 9457 problem details body (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// `urn:tessera:problem:<slug>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened this time, in words a person can act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Machine-readable specifics (e.g. the liveness failure reasons, `retry_after`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<serde_json::Value>,
}

impl Problem {
    /// A problem of `kind` with a detail message.
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Problem {
        Problem {
            type_uri: kind.uri(),
            title: kind.title().to_owned(),
            status: kind.status(),
            detail: Some(detail.into()),
            extra: None,
        }
    }

    /// The kind, if it is one of ours.
    pub fn kind(&self) -> Option<ProblemType> {
        ProblemType::from_uri(&self.type_uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for t in ProblemType::ALL {
            assert!(seen.insert(t.slug()));
            assert_eq!(ProblemType::from_uri(&t.uri()), Some(t));
            assert!((400..600).contains(&t.status()));
        }
        assert_eq!(ProblemType::from_uri("about:blank"), None);
    }
}
