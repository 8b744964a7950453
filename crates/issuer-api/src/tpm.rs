//! TPM 2.0 key attestation on the wire (issue 15; the checks are
//! `tessera-tpm-attestation`'s, the wallet's side `tessera-tpm`'s). The TCG credential
//! activation flow in two steps of the existing exchange:
//!
//! 1. `POST /v1/challenges` carries [`TpmAttestationStart`] (the EK certificate and the
//!    attestation key); the challenge answer carries a [`TpmActivation`] made for that AK
//!    and EK, which only that TPM can open.
//! 2. The enrolment or renewal carries [`TpmKeyAttestation`]: for the main device key and
//!    every batch key, a TPM2_Certify by the AK whose qualifying data is SHA-256 over
//!    `"tessera-tpm-certify-v1"`, the challenge nonce and the activated secret.
//!
//! A wallet without a TPM sends neither and gets software-key credentials.

use serde::{Deserialize, Serialize};

/// The wallet's TPM identity, sent when drawing a challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TpmAttestationStart {
    /// The endorsement key's X.509 certificate, DER (read from the TPM's NV).
    #[serde(with = "crate::b64")]
    pub ek_certificate: Vec<u8>,
    /// The attestation key: marshalled TPM2B_PUBLIC of a restricted ECDSA P-256 key.
    #[serde(with = "crate::b64")]
    pub ak_public: Vec<u8>,
}

/// The issuer's MakeCredential for the AK and EK, in the challenge answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TpmActivation {
    /// Marshalled TPM2B_ID_OBJECT.
    #[serde(with = "crate::b64")]
    pub id_object: Vec<u8>,
    /// Marshalled TPM2B_ENCRYPTED_SECRET.
    #[serde(with = "crate::b64")]
    pub encrypted_secret: Vec<u8>,
}

/// One key certified by the AK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TpmKeyCertification {
    /// Marshalled TPM2B_PUBLIC of the certified key.
    #[serde(with = "crate::b64")]
    pub key_public: Vec<u8>,
    /// Marshalled TPM2B_ATTEST (TPMS_ATTEST of type ATTEST_CERTIFY).
    #[serde(with = "crate::b64")]
    pub certify_info: Vec<u8>,
    /// Marshalled TPMT_SIGNATURE by the AK (ECDSA, SHA-256).
    #[serde(with = "crate::b64")]
    pub signature: Vec<u8>,
}

/// The attestation part of an enrolment or renewal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TpmKeyAttestation {
    /// The main device key's certification.
    pub device_key: TpmKeyCertification,
    /// One per batch key, in the order of the request's batch keys.
    pub batch_keys: Vec<TpmKeyCertification>,
}
