//! IETF Token Status List (draft-ietf-oauth-status-list, CWT form): the reference a
//! credential carries, the bit-packed list, and the signed Status List Token.

use ciborium::value::Value;

use crate::cbor::{self, CborError, IntMap, int};
use crate::keys::{Es256Signer, KeyError, Kid};
use crate::signed_document;
use crate::trust_list::{KeyPeriodError, TrustList, TrustedIssuer};

/// The `typ` of a Status List Token (COSE header 16).
pub const STATUS_LIST_TYP: &str = "application/statuslist+cwt";
const CLAIM_SUB: i64 = 2;
const CLAIM_EXP: i64 = 4;
const CLAIM_IAT: i64 = 6;
const CLAIM_TTL: i64 = 65534;
const CLAIM_STATUS_LIST: i64 = 65533;
/// The largest list we agree to inflate: 32 MiB holds 268 million 1-bit entries.
pub const MAX_LIST_BYTES: usize = 32 << 20;
/// How far ahead of the verifier's clock a list's `iat` may be (clocks differ a little).
pub const MAX_FUTURE_SKEW: u64 = 300;

/// Status values (draft §7.1).
pub mod status {
    /// The credential is valid.
    pub const VALID: u8 = 0;
    /// The credential is revoked, for good.
    pub const INVALID: u8 = 1;
    /// The credential is suspended for now.
    pub const SUSPENDED: u8 = 2;
}

/// The `status` claim of a credential (CWT claim 65535, whose keys name a status mechanism).
///
/// Tessera uses its own mechanism `"ts"`: `{"ts": [list, idx]}`, which points into an IETF
/// Status List Token whose URI is the issuer's status base (from the trust list) followed by
/// the list number. The draft's own `"status_list"` mechanism spells the full URI and its
/// key names out in every credential (about 50 bytes), which would push the lightweight QR
/// past version 13; see docs/format/README.md, "Size budget".
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StatusRef {
    /// Which of the issuer's status lists.
    pub list: u64,
    /// The credential's index in that list.
    pub idx: u64,
}

/// The status mechanism name Tessera uses inside the `status` claim.
pub const STATUS_MECHANISM: &str = "ts";

impl StatusRef {
    pub(crate) fn to_cbor(self) -> Value {
        Value::Map(vec![(
            Value::Text(STATUS_MECHANISM.into()),
            Value::Array(vec![cbor::uint(self.list), cbor::uint(self.idx)]),
        )])
    }

    pub(crate) fn from_cbor(value: Value) -> Result<StatusRef, CborError> {
        let mut status = IntMap::new(value, "status")?;
        let Some(Value::Array(pair)) = status.take_text_key(STATUS_MECHANISM) else {
            return Err(CborError::Missing("status \"ts\" reference"));
        };
        let [list, idx]: [Value; 2] = pair
            .try_into()
            .map_err(|_| CborError::Invalid("status reference"))?;
        Ok(StatusRef {
            list: cbor::as_u64(list, "status list number")?,
            idx: cbor::as_u64(idx, "status index")?,
        })
    }

    /// The URI of the Status List Token this reference points into.
    pub fn uri(&self, status_base: &str) -> String {
        format!("{status_base}{}", self.list)
    }
}

/// A bit-packed status list: entry `i` sits in byte `i*bits/8`, starting at the least
/// significant bit (draft §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: u8,
    bytes: Vec<u8>,
}

/// Problems with a status list or its token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusListError {
    /// Only 1 or 2 bits per entry are used by Tessera (the draft also allows 4 and 8).
    #[error("{0} bits per entry is not supported (1, 2, 4 or 8)")]
    Bits(u8),
    /// A value does not fit in the entry width.
    #[error("status value {value} does not fit in {bits} bits")]
    ValueTooWide {
        /// The value.
        value: u8,
        /// The entry width.
        bits: u8,
    },
    /// The index is past the end of the list.
    #[error("index {0} is outside the status list")]
    IndexOutOfRange(u64),
    /// The token is not a well-formed Status List Token.
    #[error("not a Status List Token: {0}")]
    Format(String),
    /// The token's signer is not in the trust list.
    #[error("the status list is signed by unknown key {0}")]
    UnknownSigner(Kid),
    /// The signature does not verify.
    #[error("the status list signature is invalid")]
    BadSignature,
    /// The token has expired.
    #[error("the status list expired at {0}")]
    Expired(u64),
    /// The token was made in the future, or outside its signer's trusted period.
    #[error(
        "the status list was made at {issued_at}, outside its signer's trusted period or in the future"
    )]
    OutsideSignerValidity {
        /// The token's `iat`.
        issued_at: u64,
    },
    /// The token was made (`iat`) after its signer's end of signing (`issued_until`): the
    /// key was retired then, so only someone holding a leaked copy could have signed it.
    #[error(
        "the status list was made at {issued_at}, after its key stopped signing at {issued_until}"
    )]
    SignedAfterKeyRetired {
        /// The token's `iat`.
        issued_at: u64,
        /// The signer's `issued_until` in the trust list.
        issued_until: u64,
    },
    /// The token's URI is not one of its signer's lists (`status_base` + a number), or is
    /// one of another issuer's: a key may only speak for its own issuer's lists.
    #[error("the status list {uri} is not under its signer's status base")]
    OutsideSignerBase {
        /// The token's `sub`.
        uri: String,
    },
    /// Signing failed.
    #[error(transparent)]
    Signer(#[from] KeyError),
}

impl StatusList {
    /// A list of `len` entries, all VALID.
    pub fn new(bits: u8, len: u64) -> Result<StatusList, StatusListError> {
        if !matches!(bits, 1 | 2 | 4 | 8) {
            return Err(StatusListError::Bits(bits));
        }
        let nbytes = (len * u64::from(bits)).div_ceil(8);
        Ok(StatusList {
            bits,
            bytes: vec![
                0;
                usize::try_from(nbytes)
                    .map_err(|_| StatusListError::IndexOutOfRange(len))?
            ],
        })
    }

    /// Bits per entry.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// How many entries the list holds.
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64 * 8 / u64::from(self.bits)
    }

    /// True if the list holds no entries.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn locate(&self, idx: u64) -> Result<(usize, u32, u8), StatusListError> {
        if idx >= self.len() {
            return Err(StatusListError::IndexOutOfRange(idx));
        }
        let bit = idx * u64::from(self.bits);
        let byte = usize::try_from(bit / 8).map_err(|_| StatusListError::IndexOutOfRange(idx))?;
        let mask = ((1u16 << self.bits) - 1) as u8;
        Ok((byte, (bit % 8) as u32, mask))
    }

    /// The status of entry `idx`.
    pub fn get(&self, idx: u64) -> Result<u8, StatusListError> {
        let (byte, shift, mask) = self.locate(idx)?;
        Ok((self.bytes[byte] >> shift) & mask)
    }

    /// Sets the status of entry `idx`.
    pub fn set(&mut self, idx: u64, value: u8) -> Result<(), StatusListError> {
        let (byte, shift, mask) = self.locate(idx)?;
        if value & !mask != 0 {
            return Err(StatusListError::ValueTooWide {
                value,
                bits: self.bits,
            });
        }
        self.bytes[byte] = (self.bytes[byte] & !(mask << shift)) | (value << shift);
        Ok(())
    }

    /// The raw, uncompressed bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A list from raw bytes.
    pub fn from_bytes(bits: u8, bytes: Vec<u8>) -> Result<StatusList, StatusListError> {
        if !matches!(bits, 1 | 2 | 4 | 8) {
            return Err(StatusListError::Bits(bits));
        }
        Ok(StatusList { bits, bytes })
    }
}

/// A Status List Token: the list with its URI and times, signed by an issuer key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListToken {
    /// The key that signs (or signed) it.
    pub signer: Kid,
    /// `sub`: the URI credentials point at.
    pub uri: String,
    /// `iat`.
    pub issued_at: u64,
    /// `exp`, if set.
    pub expires_at: Option<u64>,
    /// `ttl`: how long a verifier may cache it, in seconds.
    pub ttl: Option<u64>,
    /// The list.
    pub list: StatusList,
}

impl StatusListToken {
    /// Signs the token (COSE_Sign1, tagged, as the draft requires).
    pub fn sign(&self, signer: &dyn Es256Signer) -> Result<Vec<u8>, StatusListError> {
        let mut claims = vec![
            (int(CLAIM_SUB), Value::Text(self.uri.clone())),
            (int(CLAIM_IAT), cbor::uint(self.issued_at)),
        ];
        if let Some(exp) = self.expires_at {
            claims.push((int(CLAIM_EXP), cbor::uint(exp)));
        }
        if let Some(ttl) = self.ttl {
            claims.push((int(CLAIM_TTL), cbor::uint(ttl)));
        }
        claims.push((
            int(CLAIM_STATUS_LIST),
            Value::Map(vec![
                (
                    Value::Text("bits".into()),
                    cbor::uint(u64::from(self.list.bits)),
                ),
                (
                    Value::Text("lst".into()),
                    Value::Bytes(crate::zlib::compress(&self.list.bytes)),
                ),
            ]),
        ));
        Ok(signed_document::sign(
            STATUS_LIST_TYP,
            cbor::to_vec(&Value::Map(claims)),
            signer,
        )?)
    }

    /// Reads and verifies a token against the trust list at time `now`.
    pub fn verify(
        bytes: &[u8],
        trust: &TrustList,
        now: u64,
    ) -> Result<StatusListToken, StatusListError> {
        let fmt = |what: &str| StatusListError::Format(what.to_owned());
        let doc = signed_document::open(bytes, STATUS_LIST_TYP).map_err(StatusListError::Format)?;
        let kid = doc.kid;
        let issuer = trust.get(&kid).ok_or(StatusListError::UnknownSigner(kid))?;
        let payload = doc
            .verified_payload(&issuer.public_key)
            .ok_or(StatusListError::BadSignature)?;
        let mut map = IntMap::new(
            cbor::from_slice(payload).map_err(|e| fmt(&e.to_string()))?,
            "claims",
        )
        .map_err(|e| fmt(&e.to_string()))?;
        let e = |err: CborError| StatusListError::Format(err.to_string());
        let uri = map.req_text(CLAIM_SUB, "sub").map_err(e)?;
        // A key speaks only for its own issuer's lists: under its own base if it has one,
        // and never under another entry's base (a key listed without a base must not sign
        // a list at some other issuer's address). [`StatusLists::lookup`] relies on this.
        let under = |base: &str| {
            uri.strip_prefix(base)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        };
        let own = issuer.status_base.as_deref();
        let outside_own = own.is_some_and(|b| !under(b));
        let under_another = trust.issuers.iter().any(|e| {
            e.status_base
                .as_deref()
                .is_some_and(|b| Some(b) != own && under(b))
        });
        if outside_own || under_another {
            return Err(StatusListError::OutsideSignerBase { uri });
        }
        let issued_at = map.req_u64(CLAIM_IAT, "iat").map_err(e)?;
        let expires_at = map.opt_u64(CLAIM_EXP, "exp").map_err(e)?;
        let ttl = map.opt_u64(CLAIM_TTL, "ttl").map_err(e)?;
        if let Some(exp) = expires_at
            && now >= exp
        {
            return Err(StatusListError::Expired(exp));
        }
        // Made in the future, or by a key after its trust ended (retired or compromised):
        // a forged "everything valid" list dated ahead would otherwise outrank every
        // genuine one, since the newest list decides.
        // The signer's periods are checked as for a credential ([`TrustedIssuer::
        // check_signature_at`], with this module's skew); a list also may not be dated
        // after its key's trust ended.
        let period = issuer.check_signature_at(issued_at, now, MAX_FUTURE_SKEW);
        if issued_at > now.saturating_add(MAX_FUTURE_SKEW)
            || issuer.valid_until.is_some_and(|end| issued_at > end)
            || matches!(
                period,
                Err(KeyPeriodError::BeforeValidFrom { .. } | KeyPeriodError::PastValidUntil { .. })
            )
        {
            return Err(StatusListError::OutsideSignerValidity { issued_at });
        }
        // A retired key signs no more lists: a leaked one could otherwise date an
        // "everything valid" list just before the key's valid_until and outrank the lists
        // its successor signs, undoing revocations for up to a year.
        if let Err(KeyPeriodError::SignedAfterIssuedUntil { issued_until }) = period {
            return Err(StatusListError::SignedAfterKeyRetired {
                issued_at,
                issued_until,
            });
        }
        let mut sl = IntMap::new(
            map.req(CLAIM_STATUS_LIST, "status_list").map_err(e)?,
            "status_list",
        )
        .map_err(e)?;
        let bits = sl
            .take_text_key("bits")
            .ok_or(CborError::Missing("bits"))
            .and_then(|v| cbor::as_u64(v, "bits"))
            .map_err(e)?;
        let bits = u8::try_from(bits).map_err(|_| StatusListError::Bits(u8::MAX))?;
        let lst = sl
            .take_text_key("lst")
            .ok_or(CborError::Missing("lst"))
            .and_then(|v| cbor::as_bytes(v, "lst"))
            .map_err(e)?;
        let bytes = crate::zlib::decompress(&lst, MAX_LIST_BYTES)
            .ok_or_else(|| fmt("lst is not zlib data, or inflates past the size limit"))?;
        Ok(StatusListToken {
            signer: kid,
            uri,
            issued_at,
            expires_at,
            ttl,
            list: StatusList::from_bytes(bits, bytes)?,
        })
    }
}

/// What a status lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAnswer {
    /// The list was available and holds this value at the index.
    Known(u8),
    /// The list holds no such index: the draft says to reject.
    IndexOutOfRange,
    /// No list for that URI is at hand (offline, not cached).
    Unavailable,
}

/// Where verification looks up a credential's status (cached lists, an online fetcher).
pub trait StatusLookup {
    /// The status of `reference`, for a credential signed by `issuer`.
    fn lookup(&self, issuer: &TrustedIssuer, reference: &StatusRef) -> StatusAnswer;
}

/// No status lists at hand: every lookup is `Unavailable`.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoStatusLists;

impl StatusLookup for NoStatusLists {
    fn lookup(&self, _: &TrustedIssuer, _: &StatusRef) -> StatusAnswer {
        StatusAnswer::Unavailable
    }
}

/// A set of verified Status List Tokens, looked up by signer and URI.
#[derive(Debug, Default, Clone)]
pub struct StatusLists {
    tokens: Vec<StatusListToken>,
}

impl StatusLists {
    /// Adds (or replaces) the token for its signer and URI.
    pub fn insert(&mut self, token: StatusListToken) {
        self.tokens
            .retain(|t| !(t.uri == token.uri && t.signer == token.signer));
        self.tokens.push(token);
    }

    /// The tokens held.
    pub fn tokens(&self) -> &[StatusListToken] {
        &self.tokens
    }
}

impl StatusLookup for StatusLists {
    fn lookup(&self, issuer: &TrustedIssuer, reference: &StatusRef) -> StatusAnswer {
        // With a status base from the trust list the URI must match exactly, whichever of
        // the issuer's keys signed the list: after a key rotation the lists are signed by
        // the new key, and they still speak for credentials signed by the old one.
        // [`StatusListToken::verify`] accepts a URI only under its own signer's base, so a
        // list at this URI was signed by a key trusted for this issuer's lists. With a bare
        // issuer key (no base known), a list signed by that very key whose URI ends in the
        // list number is the one.
        let suffix = format!("/{}", reference.list);
        // Two keys' lists for one URI (held across a rotation): the newest decides.
        let found = self
            .tokens
            .iter()
            .filter(|t| match &issuer.status_base {
                Some(base) => t.uri == reference.uri(base),
                None => t.signer == issuer.kid && t.uri.ends_with(&suffix),
            })
            .max_by_key(|t| t.issued_at);
        match found {
            None => StatusAnswer::Unavailable,
            Some(t) => match t.list.get(reference.idx) {
                Ok(v) => StatusAnswer::Known(v),
                Err(_) => StatusAnswer::IndexOutOfRange,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_drafts_bit_order_examples() {
        // draft §4.1: 1-bit example list, zlib "78dadbb918000217015d" inflates to b9 a3.
        let list = StatusList::from_bytes(1, vec![0xb9, 0xa3]).unwrap();
        let expect = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
        for (i, e) in expect.iter().enumerate() {
            assert_eq!(list.get(i as u64).unwrap(), *e, "entry {i}");
        }
        // 2-bit example: c9 44 f9.
        let list = StatusList::from_bytes(2, vec![0xc9, 0x44, 0xf9]).unwrap();
        let expect = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3];
        for (i, e) in expect.iter().enumerate() {
            assert_eq!(list.get(i as u64).unwrap(), *e, "entry {i}");
        }
    }

    #[test]
    fn set_then_get_and_bounds() {
        let mut list = StatusList::new(2, 10).unwrap();
        list.set(9, status::SUSPENDED).unwrap();
        list.set(3, status::INVALID).unwrap();
        assert_eq!(list.get(9).unwrap(), 2);
        assert_eq!(list.get(3).unwrap(), 1);
        assert_eq!(list.get(4).unwrap(), 0);
        assert_eq!(list.get(12), Err(StatusListError::IndexOutOfRange(12)));
        assert_eq!(
            list.set(0, 4),
            Err(StatusListError::ValueTooWide { value: 4, bits: 2 })
        );
        assert_eq!(StatusList::new(3, 1), Err(StatusListError::Bits(3)));
    }

    #[test]
    fn decompression_is_capped() {
        let bomb = crate::zlib::compress(&vec![0u8; 1 << 20]);
        assert!(crate::zlib::decompress(&bomb, 1000).is_none());
        assert_eq!(
            crate::zlib::decompress(&bomb, 1 << 20).unwrap().len(),
            1 << 20
        );
    }
}
