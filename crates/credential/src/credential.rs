//! The credential: a CWT (RFC 8392) signed by the issuer as a COSE_Sign1 (RFC 9052, ES256,
//! `kid` in the protected header), binding the holder's device key (`cnf`, RFC 8747), with a
//! Token Status List reference and the tier's Claim 169 identity map.

use ciborium::value::Value;
use coset::{CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};
use p256::ecdsa::VerifyingKey;

use crate::cbor::{self, CborError, IntMap, int};
use crate::claims::{CLAIM_169, Identity, Tier};
use crate::cose_key;
use crate::keys::{Es256Signer, KID_LEN, KeyError, Kid};
use crate::status_list::StatusRef;

/// CWT claim keys (RFC 8392 §4, RFC 8747, Token Status List).
mod cwt {
    pub const ISS: i64 = 1;
    pub const EXP: i64 = 4;
    pub const NBF: i64 = 5;
    pub const IAT: i64 = 6;
    pub const CTI: i64 = 7;
    pub const CNF: i64 = 8;
    pub const STATUS: i64 = 65535;
}

/// Length of the credential identifier (`cti`).
pub const CTI_LEN: usize = 8;

/// Claim 169 map key (from its range 75–99 "for any other data") of the key protection.
const KEY_PROTECTION: i64 = 83;

/// How the holder's device key (`cnf`) is kept, as the issuer established at issue
/// (docs/format/README.md §2.2). Absent from the credential means [`KeyProtection::Software`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyProtection {
    /// A software key in the OS keystore; nothing was attested.
    #[default]
    Software,
    /// Generated in and never leaving a TPM (or secure element), attested at issue.
    Hardware,
    /// As [`KeyProtection::Hardware`], and every use needs the key's authorization value
    /// (the wallet's PIN), with the chip's own lockout counting wrong tries.
    HardwareWithPin,
}

impl KeyProtection {
    /// The wire value (Claim 169 key 83).
    pub fn code(self) -> u64 {
        match self {
            KeyProtection::Software => 0,
            KeyProtection::Hardware => 1,
            KeyProtection::HardwareWithPin => 2,
        }
    }

    /// From the wire value.
    pub fn from_code(code: u64) -> Option<KeyProtection> {
        match code {
            0 => Some(KeyProtection::Software),
            1 => Some(KeyProtection::Hardware),
            2 => Some(KeyProtection::HardwareWithPin),
            _ => None,
        }
    }

    /// The name used in JSON, policies and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            KeyProtection::Software => "software",
            KeyProtection::Hardware => "hardware",
            KeyProtection::HardwareWithPin => "hardware_with_pin",
        }
    }
}

/// The signed content of a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialClaims {
    /// `iss`: the issuing authority, short (a country code, as the EU DCC does): the trust
    /// list names the issuer in full.
    pub issuer: String,
    /// `iat`: issued at, Unix seconds.
    pub issued_at: u64,
    /// `nbf`: not valid before, Unix seconds.
    pub not_before: u64,
    /// `exp`: expiry, Unix seconds.
    pub expires_at: u64,
    /// `cti`: the credential's unique identifier.
    pub credential_id: [u8; CTI_LEN],
    /// `cnf`: the holder's device key; every presentation is signed with it.
    pub holder_key: VerifyingKey,
    /// `status`: where to look up revocation.
    pub status: StatusRef,
    /// Claim 169: what this tier discloses.
    pub identity: Identity,
    /// How the `cnf` key is kept (Claim 169 key 83; not written when software).
    pub key_protection: KeyProtection,
}

impl CredentialClaims {
    /// The tier this credential belongs to.
    pub fn tier(&self) -> Tier {
        self.identity.tier()
    }

    fn to_cbor(&self) -> Value {
        Value::Map(vec![
            (int(cwt::ISS), Value::Text(self.issuer.clone())),
            (int(cwt::IAT), cbor::uint(self.issued_at)),
            (int(cwt::NBF), cbor::uint(self.not_before)),
            (int(cwt::EXP), cbor::uint(self.expires_at)),
            (int(cwt::CTI), Value::Bytes(self.credential_id.to_vec())),
            (int(cwt::CNF), cose_key::cnf_value(&self.holder_key)),
            (int(cwt::STATUS), self.status.to_cbor()),
            (int(CLAIM_169), self.claim169()),
        ])
    }

    /// The Claim 169 map: the identity, and the key protection unless it is software.
    fn claim169(&self) -> Value {
        let mut map = self.identity.to_claim169();
        if self.key_protection != KeyProtection::Software
            && let Value::Map(entries) = &mut map
        {
            entries.push((int(KEY_PROTECTION), cbor::uint(self.key_protection.code())));
        }
        map
    }

    fn from_cbor(bytes: &[u8]) -> Result<CredentialClaims, CborError> {
        let mut map = IntMap::new(cbor::from_slice(bytes)?, "CWT claims")?;
        let claim169 = map.req(CLAIM_169, "claim 169")?;
        let key_protection = match &claim169 {
            Value::Map(entries) => match entries.iter().find(|(k, _)| *k == int(KEY_PROTECTION)) {
                None => KeyProtection::Software,
                Some((_, v)) => cbor::as_u64(v.clone(), "key protection")
                    .ok()
                    .and_then(KeyProtection::from_code)
                    .ok_or(CborError::Invalid("key protection"))?,
            },
            _ => KeyProtection::Software,
        };
        Ok(CredentialClaims {
            issuer: map.req_text(cwt::ISS, "iss")?,
            issued_at: map.req_u64(cwt::IAT, "iat")?,
            not_before: map.req_u64(cwt::NBF, "nbf")?,
            expires_at: map.req_u64(cwt::EXP, "exp")?,
            credential_id: cbor::as_array(map.req(cwt::CTI, "cti")?, "cti")?,
            holder_key: cose_key::key_from_cnf(map.req(cwt::CNF, "cnf")?)?,
            status: StatusRef::from_cbor(map.req(cwt::STATUS, "status")?)?,
            identity: Identity::from_claim169(claim169.clone())?,
            key_protection,
        })
    }
}

/// A signed credential, with its parsed claims. The claims are only trustworthy after
/// [`crate::verify`] has checked the issuer signature.
#[derive(Debug, Clone)]
pub struct Credential {
    pub(crate) sign1: CoseSign1,
    /// The claims, as read from the payload.
    pub claims: CredentialClaims,
    /// The issuer key identifier from the protected header.
    pub kid: Kid,
}

/// Why a credential could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The issuer signer failed.
    #[error(transparent)]
    Signer(#[from] KeyError),
    /// The validity window is empty or reversed.
    #[error("the credential would never be valid: nbf {not_before} is not before exp {expires_at}")]
    EmptyValidity {
        /// `nbf`
        not_before: u64,
        /// `exp`
        expires_at: u64,
    },
}

impl Credential {
    /// Signs `claims` with the issuer's key.
    pub fn issue(
        claims: CredentialClaims,
        issuer: &dyn Es256Signer,
    ) -> Result<Credential, IssueError> {
        if claims.not_before >= claims.expires_at {
            return Err(IssueError::EmptyValidity {
                not_before: claims.not_before,
                expires_at: claims.expires_at,
            });
        }
        let kid = Kid::of(&issuer.public_key());
        let protected = HeaderBuilder::new()
            .algorithm(coset::iana::Algorithm::ES256)
            .key_id(kid.0.to_vec())
            .build();
        let sign1 = CoseSign1Builder::new()
            .protected(protected)
            .payload(cbor::to_vec(&claims.to_cbor()))
            .try_create_signature(&[], |data| issuer.sign(data).map(|s| s.to_vec()))?
            .build();
        Ok(Credential { sign1, claims, kid })
    }

    /// Reads a credential from its COSE_Sign1 CBOR value (untagged, as inside the QR).
    pub(crate) fn from_cose(sign1: CoseSign1) -> Result<Credential, CredentialFormatError> {
        let header = &sign1.protected.header;
        if header.alg
            != Some(coset::RegisteredLabelWithPrivate::Assigned(
                coset::iana::Algorithm::ES256,
            ))
        {
            return Err(CredentialFormatError::Algorithm);
        }
        if !header.rest.is_empty()
            || header.crit.len() + header.counter_signatures.len() > 0
            || header.content_type.is_some()
            || !header.iv.is_empty()
            || !header.partial_iv.is_empty()
            || !sign1.unprotected.is_empty()
        {
            return Err(CredentialFormatError::Headers);
        }
        let kid: [u8; KID_LEN] = header
            .key_id
            .as_slice()
            .try_into()
            .map_err(|_| CredentialFormatError::Kid)?;
        let payload = sign1
            .payload
            .as_deref()
            .ok_or(CredentialFormatError::NoPayload)?;
        let claims = CredentialClaims::from_cbor(payload).map_err(CredentialFormatError::Claims)?;
        Ok(Credential {
            claims,
            kid: Kid(kid),
            sign1,
        })
    }

    /// The issuer's signature bytes: a holder proof's external AAD.
    pub fn signature(&self) -> &[u8] {
        &self.sign1.signature
    }

    /// The COSE_Sign1 as a CBOR value (untagged).
    pub(crate) fn to_cbor_value(&self) -> Value {
        // coset keeps the protected header's original bytes, so this re-encodes exactly
        // what was signed.
        coset::AsCborValue::to_cbor_value(self.sign1.clone()).unwrap_or(Value::Null)
    }

    /// The tagged COSE_Sign1 bytes (CBOR tag 18), as stored by the wallet.
    pub fn to_tagged_bytes(&self) -> Vec<u8> {
        self.sign1.clone().to_tagged_vec().unwrap_or_default()
    }

    /// Reads a credential from tagged or untagged COSE_Sign1 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Credential, CredentialFormatError> {
        let sign1 = CoseSign1::from_tagged_slice(bytes)
            .or_else(|_| CoseSign1::from_slice(bytes))
            .map_err(|_| CredentialFormatError::NotCoseSign1)?;
        Credential::from_cose(sign1)
    }

    /// The credential alone as a MOSIP Claim 169 QR payload: tagged COSE_Sign1, zlib, Base45.
    pub fn to_claim169_qr_text(&self) -> String {
        base45::encode(crate::zlib::compress(&self.to_tagged_bytes()))
    }

    /// Whether the issuer signature verifies with `key`. Only that: a full check (validity,
    /// holder proof, tier, status) is [`crate::verify::verify`].
    pub fn issuer_signature_valid(&self, key: &VerifyingKey) -> bool {
        self.sign1
            .verify_signature(&[], |sig, data| {
                if crate::keys::verify_es256(key, data, sig) {
                    Ok(())
                } else {
                    Err(())
                }
            })
            .is_ok()
    }
}

/// How a credential's COSE structure or claims fall short of the format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialFormatError {
    /// Not a COSE_Sign1 structure.
    #[error("not a COSE_Sign1 structure")]
    NotCoseSign1,
    /// The algorithm is not ES256.
    #[error("the signature algorithm is not ES256")]
    Algorithm,
    /// Unexpected header parameters (all must be protected; only alg and kid are allowed).
    #[error("unexpected COSE header parameters")]
    Headers,
    /// The `kid` is not 8 bytes.
    #[error("the key identifier is not 8 bytes")]
    Kid,
    /// Detached payloads are not used.
    #[error("the payload is missing")]
    NoPayload,
    /// The CWT claims are not as the format says.
    #[error("claims: {0}")]
    Claims(CborError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SoftwareKey;

    struct Counter(u8);
    impl crate::keys::Randomness for Counter {
        fn fill(&mut self, dest: &mut [u8]) {
            for b in dest {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
        }
    }

    #[test]
    fn key_protection_round_trips_and_software_is_not_written() {
        let issuer = SoftwareKey::generate(&mut Counter(1));
        let holder = SoftwareKey::generate(&mut Counter(50));
        let claims = |p: KeyProtection| CredentialClaims {
            issuer: "CN".into(),
            issued_at: 1,
            not_before: 1,
            expires_at: 2,
            credential_id: [1; 8],
            holder_key: holder.public_key(),
            status: StatusRef { list: 1, idx: 2 },
            identity: Identity::AgeOnly(crate::claims::AgeOnlyClaims { age_over_18: true }),
            key_protection: p,
        };
        let software = Credential::issue(claims(KeyProtection::Software), &issuer).unwrap();
        for p in [KeyProtection::Hardware, KeyProtection::HardwareWithPin] {
            let c = Credential::issue(claims(p), &issuer).unwrap();
            let back = Credential::from_bytes(&c.to_tagged_bytes()).unwrap();
            assert_eq!(back.claims.key_protection, p);
            // Three more bytes than a software key's credential: key 83 and its value.
            assert_eq!(
                c.to_tagged_bytes().len(),
                software.to_tagged_bytes().len() + 3
            );
        }
        let back = Credential::from_bytes(&software.to_tagged_bytes()).unwrap();
        assert_eq!(back.claims.key_protection, KeyProtection::Software);
        assert_eq!(KeyProtection::from_code(3), None);
    }
}
