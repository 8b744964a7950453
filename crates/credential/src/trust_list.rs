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
    pub const ISSUED_UNTIL: i64 = 7;
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
    /// End of signing: the key's retirement. A credential or status list it signed (`iat`)
    /// after this time is refused, even while the key is still trusted for what it signed
    /// before, so a retired key that leaks cannot mint anything new (CBOR key 7; lists
    /// written before it existed lack it, and then only `valid_until` bounds the key).
    pub issued_until: Option<u64>,
    /// End of trust: after this time nothing signed by this key is accepted, whenever it
    /// was signed (the last credential's expiry after a rotation; the moment of a compromise).
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
            issued_until: None,
            valid_until: None,
            status_base: None,
        }
    }

    /// Whether a signature this key made at `signed_at` (a credential's or list's `iat`, a
    /// challenge's time) is to be accepted at `now`, allowing `skew` seconds of clock
    /// difference. See [`TrustedIssuer::check_signature_at`] for the reason of a refusal.
    pub fn accepts_signature_at(&self, signed_at: u64, now: u64, skew: u64) -> bool {
        self.check_signature_at(signed_at, now, skew).is_ok()
    }

    /// Like [`TrustedIssuer::accepts_signature_at`], saying which bound was crossed:
    /// `valid_from <= signed_at + skew`, `now <= valid_until + skew` and
    /// `signed_at <= issued_until + skew` (the conventions of [`crate::verify`]), checked in
    /// that order. `signed_at` must come from signed data, checked before or after this.
    pub fn check_signature_at(
        &self,
        signed_at: u64,
        now: u64,
        skew: u64,
    ) -> Result<(), KeyPeriodError> {
        if signed_at.saturating_add(skew) < self.valid_from {
            return Err(KeyPeriodError::BeforeValidFrom {
                valid_from: self.valid_from,
            });
        }
        // The key's whole trust first: past it, nothing the key signed counts.
        if let Some(until) = self.valid_until
            && now > until.saturating_add(skew)
        {
            return Err(KeyPeriodError::PastValidUntil { valid_until: until });
        }
        if let Some(until) = self.issued_until
            && signed_at > until.saturating_add(skew)
        {
            return Err(KeyPeriodError::SignedAfterIssuedUntil {
                issued_until: until,
            });
        }
        Ok(())
    }
}

/// Which bound of an issuer key's trust-list periods a signature falls outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyPeriodError {
    /// Signed before the key was introduced.
    #[error("signed before the key's valid_from ({valid_from})")]
    BeforeValidFrom {
        /// The entry's `valid_from`.
        valid_from: u64,
    },
    /// Signed after the key's end of signing (it was retired): only a leaked key does that.
    #[error("signed after the key stopped signing ({issued_until})")]
    SignedAfterIssuedUntil {
        /// The entry's `issued_until`.
        issued_until: u64,
    },
    /// The key is no longer trusted at all.
    #[error("the key's trust ended ({valid_until})")]
    PastValidUntil {
        /// The entry's `valid_until`.
        valid_until: u64,
    },
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
                if let Some(until) = i.issued_until {
                    m.push((int(k::ISSUED_UNTIL), cbor::uint(until)));
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
                issued_until: m.opt_u64(k::ISSUED_UNTIL, "issued_until").map_err(e)?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Randomness, SoftwareKey};

    struct Counter(u8);
    impl Randomness for Counter {
        fn fill(&mut self, dest: &mut [u8]) {
            for b in dest {
                self.0 = self.0.wrapping_mul(31).wrapping_add(7);
                *b = self.0;
            }
        }
    }

    fn key(seed: u8) -> SoftwareKey {
        SoftwareKey::generate(&mut Counter(seed))
    }

    fn entry(key: &SoftwareKey) -> TrustedIssuer {
        TrustedIssuer {
            valid_from: 1_000,
            issued_until: Some(5_000),
            valid_until: Some(9_000),
            status_base: Some("https://id.example/v1/status/".into()),
            ..TrustedIssuer::new("Demo ID authority", key.public_key())
        }
    }

    #[test]
    fn issued_until_is_cbor_key_7_and_round_trips() {
        let issuer = key(1);
        let list = TrustList {
            issued_at: 5_000,
            sequence: 2,
            issuers: vec![
                entry(&issuer),
                TrustedIssuer::new("Next", key(2).public_key()),
            ],
        };
        let Value::Map(top) = list.to_cbor() else {
            panic!("a map")
        };
        let issuers = top
            .iter()
            .find(|(k, _)| *k == int(k::ISSUERS))
            .map(|(_, v)| v.clone());
        let Some(Value::Array(issuers)) = issuers else {
            panic!("issuers")
        };
        let Value::Map(first) = &issuers[0] else {
            panic!("an entry")
        };
        assert!(first.contains(&(int(7), cbor::uint(5_000))), "{first:?}");
        let Value::Map(second) = &issuers[1] else {
            panic!("an entry")
        };
        assert!(
            !second.iter().any(|(k, _)| *k == int(7)),
            "no key 7 for a key that still signs"
        );
        let signer = key(3);
        let bytes = list.sign(&signer).unwrap();
        assert_eq!(
            TrustList::verify(&bytes, &signer.public_key()).unwrap(),
            list
        );
    }

    #[test]
    fn a_list_from_before_issued_until_still_reads() {
        // Written as lists were before key 7 existed: keys 1 to 6 only.
        let issuer = key(4);
        let old = Value::Map(vec![
            (int(1), cbor::uint(1)),
            (int(2), cbor::uint(5_000)),
            (int(3), cbor::uint(1)),
            (
                int(4),
                Value::Array(vec![Value::Map(vec![
                    (
                        int(1),
                        Value::Bytes(Kid::of(&issuer.public_key()).0.to_vec()),
                    ),
                    (int(2), Value::Text("Demo ID authority".into())),
                    (int(3), Value::Bytes(keys::spki_der(&issuer.public_key()))),
                    (int(4), cbor::uint(1_000)),
                    (int(5), cbor::uint(9_000)),
                    (int(6), Value::Text("https://id.example/v1/status/".into())),
                ])]),
            ),
        ]);
        let signer = key(5);
        let bytes = signed_document::sign(TRUST_LIST_TYP, cbor::to_vec(&old), &signer).unwrap();
        let list = TrustList::verify(&bytes, &signer.public_key()).unwrap();
        let e = &list.issuers[0];
        assert_eq!(e.issued_until, None);
        assert_eq!(e.valid_until, Some(9_000));
        // Without an end of signing, only valid_until bounds the key, as before.
        assert!(e.accepts_signature_at(8_990, 9_000, 30));
    }

    #[test]
    fn accepts_signature_at_bounds_with_skew() {
        let e = entry(&key(6));
        let skew = 30;
        // valid_from <= signed_at + skew
        assert!(e.accepts_signature_at(1_000 - 30, 6_000, skew));
        assert!(!e.accepts_signature_at(1_000 - 31, 6_000, skew));
        // signed_at <= issued_until + skew, whatever now is (before valid_until).
        assert!(e.accepts_signature_at(5_000 + 30, 6_000, skew));
        assert_eq!(
            e.check_signature_at(5_000 + 31, 6_000, skew),
            Err(KeyPeriodError::SignedAfterIssuedUntil {
                issued_until: 5_000
            })
        );
        assert!(!e.accepts_signature_at(5_000 + 31, 5_031, skew));
        // now <= valid_until + skew, even for what was signed long before.
        assert!(e.accepts_signature_at(2_000, 9_000 + 30, skew));
        assert_eq!(
            e.check_signature_at(2_000, 9_000 + 31, skew),
            Err(KeyPeriodError::PastValidUntil { valid_until: 9_000 })
        );
        // A key with no end of signing signs for as long as it is trusted.
        let open = TrustedIssuer {
            issued_until: None,
            ..e
        };
        assert!(open.accepts_signature_at(8_000, 8_500, 0));
    }
}
