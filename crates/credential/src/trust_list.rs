//! The trust list: which issuer keys a verifier accepts, by `kid`, with their validity
//! periods; signed as one COSE_Sign1 by a trust-list key so it can be fetched from anywhere
//! (a CDN, a USB stick) and cached for offline use.

use ciborium::value::Value;
use p256::ecdsa::VerifyingKey;

use crate::cbor::{self, CborError, IntMap, int};
use crate::keys::{self, Es256Signer, KeyError, Kid};
use crate::signed_document;

/// The trust list format version.
pub const TRUST_LIST_VERSION: u64 = 1;
/// The `typ` of a signed trust list (COSE header 16).
pub const TRUST_LIST_TYP: &str = "application/tessera-trustlist+cwt";

mod k {
    pub const VERSION: i64 = 1;
    pub const ISSUED_AT: i64 = 2;
    pub const SEQUENCE: i64 = 3;
    pub const ISSUERS: i64 = 4;
    pub const KID: i64 = 1;
    pub const NAME: i64 = 2;
    pub const SPKI: i64 = 3;
    pub const VALID_FROM: i64 = 4;
    pub const VALID_UNTIL: i64 = 5;
    pub const STATUS_BASE: i64 = 6;
}

/// One trusted issuer key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedIssuer {
    /// `Kid::of(public_key)`.
    pub kid: Kid,
    /// Who holds the key, for people reading a verdict.
    pub name: String,
    /// The public key.
    pub public_key: VerifyingKey,
    /// Credentials issued (`iat`) before this time are not accepted under this key.
    pub valid_from: u64,
    /// After this time nothing signed by this key is accepted (rotation or compromise).
    pub valid_until: Option<u64>,
    /// Where this issuer publishes its status lists: list `n` is at `status_base` + `n`.
    pub status_base: Option<String>,
}

impl TrustedIssuer {
    /// An entry for `public_key` with an open-ended validity.
    pub fn new(name: impl Into<String>, public_key: VerifyingKey) -> TrustedIssuer {
        TrustedIssuer {
            kid: Kid::of(&public_key),
            name: name.into(),
            public_key,
            valid_from: 0,
            valid_until: None,
            status_base: None,
        }
    }
}

/// The issuer keys a verifier trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustList {
    /// When the list was made.
    pub issued_at: u64,
    /// Increases with every published list, so a verifier can refuse an older one.
    pub sequence: u64,
    /// The keys.
    pub issuers: Vec<TrustedIssuer>,
}

/// Why a trust list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustListError {
    /// Not a signed trust list.
    #[error("not a Tessera trust list: {0}")]
    Format(String),
    /// The signature does not verify with the trust-list key.
    #[error("the trust list signature does not verify with the trust-list key")]
    BadSignature,
    /// An entry's key does not match its `kid`.
    #[error("trust list entry {0} does not match its key")]
    KidMismatch(Kid),
    /// Signing failed.
    #[error(transparent)]
    Signer(#[from] KeyError),
}

impl TrustList {
    /// A list holding one issuer key, for a verifier given a bare public key.
    pub fn single(name: impl Into<String>, public_key: VerifyingKey) -> TrustList {
        TrustList {
            issued_at: 0,
            sequence: 0,
            issuers: vec![TrustedIssuer::new(name, public_key)],
        }
    }

    /// The entry for `kid`.
    pub fn get(&self, kid: &Kid) -> Option<&TrustedIssuer> {
        self.issuers.iter().find(|i| i.kid == *kid)
    }

    fn to_cbor(&self) -> Value {
        let issuers = self
            .issuers
            .iter()
            .map(|i| {
                let mut m = vec![
                    (int(k::KID), Value::Bytes(i.kid.0.to_vec())),
                    (int(k::NAME), Value::Text(i.name.clone())),
                    (int(k::SPKI), Value::Bytes(keys::spki_der(&i.public_key))),
                    (int(k::VALID_FROM), cbor::uint(i.valid_from)),
                ];
                if let Some(until) = i.valid_until {
                    m.push((int(k::VALID_UNTIL), cbor::uint(until)));
                }
                if let Some(base) = &i.status_base {
                    m.push((int(k::STATUS_BASE), Value::Text(base.clone())));
                }
                Value::Map(m)
            })
            .collect();
        Value::Map(vec![
            (int(k::VERSION), cbor::uint(TRUST_LIST_VERSION)),
            (int(k::ISSUED_AT), cbor::uint(self.issued_at)),
            (int(k::SEQUENCE), cbor::uint(self.sequence)),
            (int(k::ISSUERS), Value::Array(issuers)),
        ])
    }

    fn from_cbor(value: Value) -> Result<TrustList, TrustListError> {
        let e = |err: CborError| TrustListError::Format(err.to_string());
        let mut map = IntMap::new(value, "trust list").map_err(e)?;
        if map.req_u64(k::VERSION, "version").map_err(e)? != TRUST_LIST_VERSION {
            return Err(TrustListError::Format("unsupported version".into()));
        }
        let issued_at = map.req_u64(k::ISSUED_AT, "issued_at").map_err(e)?;
        let sequence = map.req_u64(k::SEQUENCE, "sequence").map_err(e)?;
        let Value::Array(entries) = map.req(k::ISSUERS, "issuers").map_err(e)? else {
            return Err(TrustListError::Format("issuers is not an array".into()));
        };
        let mut issuers = Vec::with_capacity(entries.len());
        for entry in entries {
            let mut m = IntMap::new(entry, "issuer").map_err(e)?;
            let kid = Kid(cbor::as_array(m.req(k::KID, "kid").map_err(e)?, "kid").map_err(e)?);
            let public_key = keys::public_key_from_der(&m.req_bytes(k::SPKI, "spki").map_err(e)?)
                .map_err(|err| TrustListError::Format(err.to_string()))?;
            if Kid::of(&public_key) != kid {
                return Err(TrustListError::KidMismatch(kid));
            }
            issuers.push(TrustedIssuer {
                kid,
                name: m.req_text(k::NAME, "name").map_err(e)?,
                public_key,
                valid_from: m.req_u64(k::VALID_FROM, "valid_from").map_err(e)?,
                valid_until: m.opt_u64(k::VALID_UNTIL, "valid_until").map_err(e)?,
                status_base: m.opt_text(k::STATUS_BASE, "status_base").map_err(e)?,
            });
        }
        Ok(TrustList {
            issued_at,
            sequence,
            issuers,
        })
    }

    /// Signs the list with the trust-list key (tagged COSE_Sign1).
    pub fn sign(&self, signer: &dyn Es256Signer) -> Result<Vec<u8>, TrustListError> {
        Ok(signed_document::sign(
            TRUST_LIST_TYP,
            cbor::to_vec(&self.to_cbor()),
            signer,
        )?)
    }

    /// Reads a signed list and checks its signature with the trust-list key.
    pub fn verify(
        bytes: &[u8],
        trust_list_key: &VerifyingKey,
    ) -> Result<TrustList, TrustListError> {
        let doc = signed_document::open(bytes, TRUST_LIST_TYP).map_err(TrustListError::Format)?;
        let payload = doc
            .verified_payload(trust_list_key)
            .ok_or(TrustListError::BadSignature)?;
        TrustList::from_cbor(
            cbor::from_slice(payload).map_err(|e| TrustListError::Format(e.to_string()))?,
        )
    }
}
