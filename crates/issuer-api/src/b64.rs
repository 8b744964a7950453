//! Bytes in JSON: unpadded base64url (RFC 4648 §5), the same alphabet everywhere.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serializer};

/// Encodes bytes.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes text, accepting padding too (some clients add it).
pub fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('='))
}

/// `#[serde(with = "b64")]` for `Vec<u8>`.
pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&encode(bytes))
}

/// `#[serde(with = "b64")]` for `Vec<u8>`.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    decode(&text).map_err(serde::de::Error::custom)
}

/// `#[serde(with = "b64::list")]` for `Vec<Vec<u8>>`.
pub mod list {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialises each element as base64url.
    pub fn serialize<S: Serializer>(items: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(items.len()))?;
        for item in items {
            seq.serialize_element(&super::encode(item))?;
        }
        seq.end()
    }

    /// Deserialises a list of base64url strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                super::decode(t).map_err(|e| serde::de::Error::custom(format!("item {i}: {e}")))
            })
            .collect()
    }
}

/// `#[serde(default, with = "b64::option", skip_serializing_if = "Option::is_none")]` for
/// `Option<Vec<u8>>`.
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialises `Some` as base64url, `None` as null.
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&super::encode(b)),
            None => s.serialize_none(),
        }
    }

    /// Deserialises base64url text or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| super::decode(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}
