//! The holder proof: a short-lived COSE_Sign1 made by the device key for one showing of the
//! QR. Its external AAD is the credential's signature, so it cannot be moved to another
//! credential; its nonce lets verifiers catch a replayed screenshot.

use ciborium::value::Value;
use coset::{CoseSign1, CoseSign1Builder, HeaderBuilder};
use serde::Serialize;

use crate::cbor::{self, CborError, IntMap, int};
use crate::claims::Tier;
use crate::credential::Credential;
use crate::keys::{Es256Signer, KeyError, Randomness};

/// The longest a proof may live: `exp - iat` (DESIGN §2).
pub const MAX_PROOF_LIFETIME: u64 = 60;
/// Nonce length.
pub const NONCE_LEN: usize = 8;

mod k {
    pub const IAT: i64 = 1;
    pub const EXP: i64 = 2;
    pub const NONCE: i64 = 3;
    pub const TIER: i64 = 4;
    pub const AMR: i64 = 5;
    pub const FACE_VERIFIED_AT: i64 = 6;
}

/// How the holder unlocked the presentation, as a bit set of RFC 8176 methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthMethods(u8);

impl AuthMethods {
    /// "user": the app was unlocked by its user (device presence).
    pub const USER: AuthMethods = AuthMethods(1);
    /// "pin": the wallet PIN was entered.
    pub const PIN: AuthMethods = AuthMethods(2);
    /// "face": an on-device face match with liveness passed.
    pub const FACE: AuthMethods = AuthMethods(4);
    const NAMES: [(u8, &'static str); 3] = [(1, "user"), (2, "pin"), (4, "face")];

    /// The union of two sets.
    pub const fn with(self, other: AuthMethods) -> AuthMethods {
        AuthMethods(self.0 | other.0)
    }

    /// True if every method of `other` is in `self`.
    pub fn contains(self, other: AuthMethods) -> bool {
        self.0 & other.0 == other.0
    }

    /// The RFC 8176 names.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(bit, _)| self.0 & bit != 0)
            .map(|(_, n)| *n)
            .collect()
    }

    fn from_bits(bits: u64) -> Option<AuthMethods> {
        // Unknown bits are refused: they could carry a method this verifier cannot judge.
        (bits < 8).then_some(AuthMethods(bits as u8))
    }
}

impl Serialize for AuthMethods {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(s)
    }
}

/// The signed content of a holder proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofClaims {
    /// When the proof was made, Unix seconds.
    pub issued_at: u64,
    /// When it stops being valid; at most `issued_at + 60`.
    pub expires_at: u64,
    /// A fresh random value per proof.
    pub nonce: [u8; NONCE_LEN],
    /// The tier being presented.
    pub tier: Tier,
    /// How the holder unlocked this presentation.
    pub auth: AuthMethods,
    /// When the on-device face match passed (upgraded tier).
    pub face_verified_at: Option<u64>,
}

impl ProofClaims {
    fn to_cbor(&self) -> Value {
        let mut m = vec![
            (int(k::IAT), cbor::uint(self.issued_at)),
            (int(k::EXP), cbor::uint(self.expires_at)),
            (int(k::NONCE), Value::Bytes(self.nonce.to_vec())),
            (int(k::TIER), cbor::uint(self.tier.code())),
            (int(k::AMR), cbor::uint(u64::from(self.auth.0))),
        ];
        if let Some(t) = self.face_verified_at {
            m.push((int(k::FACE_VERIFIED_AT), cbor::uint(t)));
        }
        Value::Map(m)
    }

    fn from_cbor(bytes: &[u8]) -> Result<ProofClaims, CborError> {
        let mut m = IntMap::new(cbor::from_slice(bytes)?, "proof claims")?;
        Ok(ProofClaims {
            issued_at: m.req_u64(k::IAT, "proof iat")?,
            expires_at: m.req_u64(k::EXP, "proof exp")?,
            nonce: cbor::as_array(m.req(k::NONCE, "nonce")?, "nonce")?,
            tier: Tier::from_code(m.req_u64(k::TIER, "proof tier")?)
                .ok_or(CborError::Invalid("proof tier"))?,
            auth: AuthMethods::from_bits(m.req_u64(k::AMR, "amr")?)
                .ok_or(CborError::Invalid("amr"))?,
            face_verified_at: m.opt_u64(k::FACE_VERIFIED_AT, "face_verified_at")?,
        })
    }
}

/// What the wallet asks for when it shows a QR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofRequest {
    /// Now, Unix seconds.
    pub now: u64,
    /// How long the proof lives (clamped to 60 s).
    pub lifetime: u64,
    /// How the holder unlocked the app.
    pub auth: AuthMethods,
    /// When the last on-device face match passed.
    pub face_verified_at: Option<u64>,
}

/// Why a proof could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// The device key is not the one the credential is bound to.
    #[error("the device key does not match the credential's cnf key")]
    WrongDeviceKey,
    /// The upgraded tier needs PIN and a fresh face match.
    #[error("the upgraded tier needs the PIN and a face match within the last {max_face_age} s")]
    UpgradedNeedsPinAndFace {
        /// The allowed face-match age.
        max_face_age: u64,
    },
    /// The device signer failed.
    #[error(transparent)]
    Signer(#[from] KeyError),
}

/// A holder proof with its parsed claims.
#[derive(Debug, Clone)]
pub struct HolderProof {
    pub(crate) sign1: CoseSign1,
    /// The claims as read (trustworthy only after verification).
    pub claims: ProofClaims,
}

impl HolderProof {
    /// Makes a proof for presenting `credential`, refusing an upgraded proof without PIN and
    /// a face match at most `max_face_age` seconds old.
    pub fn create(
        credential: &Credential,
        device: &dyn Es256Signer,
        request: ProofRequest,
        max_face_age: u64,
        rng: &mut dyn Randomness,
    ) -> Result<HolderProof, ProofError> {
        let tier = credential.claims.tier();
        if tier == Tier::Upgraded {
            let fresh = request
                .face_verified_at
                .is_some_and(|t| t <= request.now && request.now - t <= max_face_age);
            if !fresh
                || !request
                    .auth
                    .contains(AuthMethods::PIN.with(AuthMethods::FACE))
            {
                return Err(ProofError::UpgradedNeedsPinAndFace { max_face_age });
            }
        }
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce);
        let claims = ProofClaims {
            issued_at: request.now,
            expires_at: request.now + request.lifetime.min(MAX_PROOF_LIFETIME),
            nonce,
            tier,
            auth: request.auth,
            face_verified_at: request.face_verified_at,
        };
        HolderProof::sign(claims, credential, device)
    }

    /// Signs exactly `claims` for `credential`, without the tier checks of [`create`]
    /// (test vectors use it to make proofs a verifier must refuse).
    ///
    /// [`create`]: HolderProof::create
    pub fn sign(
        claims: ProofClaims,
        credential: &Credential,
        device: &dyn Es256Signer,
    ) -> Result<HolderProof, ProofError> {
        if device.public_key() != credential.claims.holder_key {
            return Err(ProofError::WrongDeviceKey);
        }
        let sign1 = CoseSign1Builder::new()
            .protected(
                HeaderBuilder::new()
                    .algorithm(coset::iana::Algorithm::ES256)
                    .build(),
            )
            .payload(cbor::to_vec(&claims.to_cbor()))
            .try_create_signature(credential.signature(), |data| {
                device.sign(data).map(|s| s.to_vec())
            })?
            .build();
        Ok(HolderProof { sign1, claims })
    }

    pub(crate) fn from_cose(sign1: CoseSign1) -> Result<HolderProof, ProofFormatError> {
        let h = &sign1.protected.header;
        if h.alg
            != Some(coset::RegisteredLabelWithPrivate::Assigned(
                coset::iana::Algorithm::ES256,
            ))
        {
            return Err(ProofFormatError::Algorithm);
        }
        if !h.rest.is_empty()
            || !h.key_id.is_empty()
            || h.crit.len() + h.counter_signatures.len() > 0
            || h.content_type.is_some()
            || !h.iv.is_empty()
            || !h.partial_iv.is_empty()
            || !sign1.unprotected.is_empty()
        {
            return Err(ProofFormatError::Headers);
        }
        let payload = sign1
            .payload
            .as_deref()
            .ok_or(ProofFormatError::NoPayload)?;
        let claims = ProofClaims::from_cbor(payload).map_err(ProofFormatError::Claims)?;
        Ok(HolderProof { sign1, claims })
    }

    pub(crate) fn to_cbor_value(&self) -> Value {
        coset::AsCborValue::to_cbor_value(self.sign1.clone()).unwrap_or(Value::Null)
    }

    /// Checks the device signature, with `credential`'s signature as external AAD.
    pub(crate) fn signature_valid_for(&self, credential: &Credential) -> bool {
        let key = &credential.claims.holder_key;
        self.sign1
            .verify_signature(credential.signature(), |sig, data| {
                crate::keys::verify_es256(key, data, sig)
                    .then_some(())
                    .ok_or(())
            })
            .is_ok()
    }
}

/// How a proof's COSE structure or claims fall short of the format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofFormatError {
    /// Not ES256.
    #[error("the proof's algorithm is not ES256")]
    Algorithm,
    /// Headers other than `alg`.
    #[error("unexpected COSE header parameters in the proof")]
    Headers,
    /// No payload.
    #[error("the proof payload is missing")]
    NoPayload,
    /// The claims are not as the format says.
    #[error("proof claims: {0}")]
    Claims(CborError),
}
