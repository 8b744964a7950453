//! # tessera-credential
//!
//! The credential core every Tessera part shares: the wire format of DESIGN §3–§4
//! (a CWT with MOSIP Claim 169 identity data, signed as COSE_Sign1 ES256; a device-signed
//! holder proof; the `TS1:` Base45 QR text), the trust list, the Token Status List, and
//! verification with a typed verdict.
//!
//! **Sans-IO.** This crate never touches files, sockets, clocks or a global random number
//! generator: time is a parameter, randomness comes through [`Randomness`], keys through
//! [`Es256Signer`], status through [`StatusLookup`], replay memory through [`ReplayCache`].
//! It must never log, and never panic on input from outside.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod cbor;
pub mod claims;
mod cose_key;
pub mod credential;
pub mod keys;
pub mod proof;
pub mod qr_text;
mod signed_document;
pub mod status_list;
pub mod trust_list;
pub mod verify;
mod zlib;

pub use claims::{
    AgeOnlyClaims, Gender, Identity, LightweightClaims, Tier, UpgradedClaims, mask_id_number,
    mask_name,
};
pub use credential::{Credential, CredentialClaims, IssueError, KeyProtection};
pub use keys::{Es256Signer, KeyError, Kid, Randomness, SoftwareKey};
pub use p256::ecdsa::VerifyingKey;
pub use proof::{AuthMethods, HolderProof, ProofClaims, ProofRequest};
pub use qr_text::{DecodeError, DecodeStep, Presentation, QR_PREFIX};
pub use status_list::{StatusList, StatusListToken, StatusLists, StatusLookup, StatusRef};
pub use trust_list::{TrustList, TrustedIssuer};
pub use verify::{
    Check, MemoryReplayCache, ReplayCache, StatusOutcome, Verdict, VerifyError, VerifyOptions,
    verify, verify_qr_text,
};

/// Serialises bytes as lowercase hex (for JSON verdicts).
pub(crate) fn serde_hex<S: serde::Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

impl serde::Serialize for Kid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}
