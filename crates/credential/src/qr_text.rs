//! The QR text: `TS1:` + Base45 (RFC 9285) of the CBOR array `[credential, proof]`, both
//! untagged COSE_Sign1 arrays. Only the alphanumeric QR alphabet is used, so the QR can be
//! encoded in alphanumeric mode and typed by a USB scanner.

use ciborium::value::Value;
use coset::{AsCborValue, CoseSign1};

use crate::cbor;
use crate::credential::{Credential, CredentialFormatError};
use crate::proof::{HolderProof, ProofFormatError};

/// The versioned prefix. A later format gets `TS2:`.
pub const QR_PREFIX: &str = "TS1:";
/// Longest text a QR code can hold in alphanumeric mode (version 40-L); anything longer did
/// not come from a QR code.
pub const MAX_QR_TEXT_LEN: usize = 4296;

/// A credential and a proof of holding it: what one QR code carries.
#[derive(Debug, Clone)]
pub struct Presentation {
    /// The issuer-signed credential.
    pub credential: Credential,
    /// The device-signed holder proof.
    pub proof: HolderProof,
}

/// Where decoding stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeStep {
    /// Too long to be a QR code.
    Size,
    /// The `TS1:` prefix is missing (or another version).
    Prefix,
    /// Not valid Base45.
    Base45,
    /// Not one well-formed CBOR item.
    Cbor,
    /// Not an array of two COSE_Sign1 structures.
    Structure,
    /// The credential does not follow the format.
    Credential,
    /// The holder proof does not follow the format.
    Proof,
    /// Well-formed but not in the one encoding Tessera writes (a sign of tampering).
    Canonical,
}

/// Why a QR text could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed QR ({step:?}): {detail}")]
pub struct DecodeError {
    /// Where it failed.
    pub step: DecodeStep,
    /// What was wrong, for a person.
    pub detail: String,
}

fn err(step: DecodeStep, detail: impl Into<String>) -> DecodeError {
    DecodeError {
        step,
        detail: detail.into(),
    }
}

impl Presentation {
    /// The QR text.
    pub fn to_qr_text(&self) -> String {
        let mut out = String::from(QR_PREFIX);
        out.push_str(&base45::encode(self.to_cbor()));
        out
    }

    /// The CBOR bytes inside the QR text.
    pub fn to_cbor(&self) -> Vec<u8> {
        cbor::to_vec(&Value::Array(vec![
            self.credential.to_cbor_value(),
            self.proof.to_cbor_value(),
        ]))
    }

    /// Decodes a QR text. Surrounding whitespace (a scanner's Enter) is ignored.
    pub fn from_qr_text(text: &str) -> Result<Presentation, DecodeError> {
        let text = text.trim();
        if text.len() > MAX_QR_TEXT_LEN {
            return Err(err(
                DecodeStep::Size,
                format!(
                    "{} characters; a QR code holds at most {MAX_QR_TEXT_LEN}",
                    text.len()
                ),
            ));
        }
        let body = text.strip_prefix(QR_PREFIX).ok_or_else(|| {
            err(
                DecodeStep::Prefix,
                format!(
                    "does not start with {QR_PREFIX}: not a Tessera ID code, or a newer version"
                ),
            )
        })?;
        let bytes = base45::decode(body).map_err(|e| err(DecodeStep::Base45, e.to_string()))?;
        Presentation::from_cbor(&bytes)
    }

    /// Decodes the CBOR bytes of a QR code.
    pub fn from_cbor(bytes: &[u8]) -> Result<Presentation, DecodeError> {
        let value = cbor::from_slice(bytes).map_err(|e| err(DecodeStep::Cbor, e.to_string()))?;
        let Value::Array(items) = value else {
            return Err(err(DecodeStep::Structure, "not a CBOR array"));
        };
        let [credential, proof]: [Value; 2] = items.try_into().map_err(|v: Vec<Value>| {
            err(
                DecodeStep::Structure,
                format!("{} items, expected 2", v.len()),
            )
        })?;
        let credential = CoseSign1::from_cbor_value(credential)
            .map_err(|e| err(DecodeStep::Structure, format!("credential: {e}")))?;
        let proof = CoseSign1::from_cbor_value(proof)
            .map_err(|e| err(DecodeStep::Structure, format!("proof: {e}")))?;
        let credential = Credential::from_cose(credential)
            .map_err(|e: CredentialFormatError| err(DecodeStep::Credential, e.to_string()))?;
        let proof = HolderProof::from_cose(proof)
            .map_err(|e: ProofFormatError| err(DecodeStep::Proof, e.to_string()))?;
        let presentation = Presentation { credential, proof };
        // Accept exactly the bytes we would write: any other encoding of the same values
        // (longer integer forms, indefinite lengths, tags) is refused.
        if presentation.to_cbor() != bytes {
            return Err(err(DecodeStep::Canonical, "not in the canonical encoding"));
        }
        Ok(presentation)
    }
}
