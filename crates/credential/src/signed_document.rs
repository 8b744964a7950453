//! Signed documents that travel on their own (the trust list, status lists): a tagged
//! COSE_Sign1, ES256, with `kid` and a `typ` (COSE header 16) in the protected header, so
//! one kind of document can never be taken for another.

use ciborium::value::Value;
use coset::{CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};
use p256::ecdsa::VerifyingKey;

use crate::keys::{Es256Signer, KeyError, Kid};

const COSE_HEADER_TYP: i64 = 16;

/// Signs `payload` as a document of type `typ`.
pub(crate) fn sign(
    typ: &str,
    payload: Vec<u8>,
    signer: &dyn Es256Signer,
) -> Result<Vec<u8>, KeyError> {
    let protected = HeaderBuilder::new()
        .algorithm(coset::iana::Algorithm::ES256)
        .key_id(Kid::of(&signer.public_key()).0.to_vec())
        .value(COSE_HEADER_TYP, Value::Text(typ.into()))
        .build();
    CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .try_create_signature(&[], |data| signer.sign(data).map(|s| s.to_vec()))?
        .build()
        .to_tagged_vec()
        .map_err(|e| KeyError::SignerUnavailable(e.to_string()))
}

/// A parsed, not yet verified, document of the expected type.
pub(crate) struct Opened {
    sign1: CoseSign1,
    /// The signer's key identifier.
    pub kid: Kid,
}

/// Parses a document, refusing any other `typ`. Errors are for people.
pub(crate) fn open(bytes: &[u8], typ: &str) -> Result<Opened, String> {
    let sign1 =
        CoseSign1::from_tagged_slice(bytes).map_err(|_| "not a tagged COSE_Sign1".to_owned())?;
    let header = &sign1.protected.header;
    let typ_ok = header.rest.iter().any(|(label, value)| {
        *label == coset::Label::Int(COSE_HEADER_TYP) && *value == Value::Text(typ.into())
    });
    if !typ_ok {
        return Err(format!("typ is not {typ}"));
    }
    let kid = Kid(header
        .key_id
        .as_slice()
        .try_into()
        .map_err(|_| "kid is not 8 bytes".to_owned())?);
    Ok(Opened { sign1, kid })
}

impl Opened {
    /// The payload, if the signature verifies with `key`.
    pub fn verified_payload(&self, key: &VerifyingKey) -> Option<&[u8]> {
        self.sign1
            .verify_signature(&[], |sig, data| {
                crate::keys::verify_es256(key, data, sig)
                    .then_some(())
                    .ok_or(())
            })
            .ok()?;
        self.sign1.payload.as_deref()
    }
}
