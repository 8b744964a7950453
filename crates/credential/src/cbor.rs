//! Strict CBOR helpers: one item per buffer, no duplicate map keys, typed access to
//! integer-keyed maps. Everything we sign is built here, so its encoding is deterministic.

use ciborium::value::{Integer, Value};

/// Why a CBOR item could not be read as what we expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CborError {
    /// Not well-formed CBOR, or bytes after the single item.
    #[error("not well-formed CBOR")]
    NotCbor,
    /// Bytes left after the item.
    #[error("{0} unexpected bytes after the CBOR item")]
    TrailingBytes(usize),
    /// A map has the same key twice.
    #[error("map key {0} appears twice")]
    DuplicateKey(String),
    /// A required entry is missing.
    #[error("missing {0}")]
    Missing(&'static str),
    /// An entry has the wrong type or an out-of-range value.
    #[error("{0} has the wrong type or value")]
    Invalid(&'static str),
}

/// Encodes a value. Encoding into a `Vec` cannot fail.
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec has no I/O errors, and every Value is encodable.
    let _ = ciborium::ser::into_writer(value, &mut out);
    out
}

/// Decodes exactly one item, refusing trailing bytes.
pub fn from_slice(bytes: &[u8]) -> Result<Value, CborError> {
    let mut rest = bytes;
    let value: Value = ciborium::de::from_reader(&mut rest).map_err(|_| CborError::NotCbor)?;
    if !rest.is_empty() {
        return Err(CborError::TrailingBytes(rest.len()));
    }
    Ok(value)
}

/// An integer-keyed map whose entries are taken one by one; keys must be unique.
#[derive(Debug)]
pub struct IntMap {
    entries: Vec<(i128, Value)>,
    /// Text-keyed entries (the Token Status List uses text keys).
    text: Vec<(String, Value)>,
}

impl IntMap {
    /// Reads a map value; `what` names it in errors.
    pub fn new(value: Value, what: &'static str) -> Result<IntMap, CborError> {
        let Value::Map(pairs) = value else {
            return Err(CborError::Invalid(what));
        };
        let mut entries: Vec<(i128, Value)> = Vec::with_capacity(pairs.len());
        let mut text: Vec<(String, Value)> = Vec::new();
        for (k, v) in pairs {
            match k {
                Value::Integer(i) => {
                    let k = i128::from(i);
                    if entries.iter().any(|(e, _)| *e == k) {
                        return Err(CborError::DuplicateKey(k.to_string()));
                    }
                    entries.push((k, v));
                }
                Value::Text(t) => {
                    if text.iter().any(|(e, _)| *e == t) {
                        return Err(CborError::DuplicateKey(t));
                    }
                    text.push((t, v));
                }
                _ => return Err(CborError::Invalid(what)),
            }
        }
        Ok(IntMap { entries, text })
    }

    /// Removes and returns the entry under `key`.
    pub fn take(&mut self, key: i64) -> Option<Value> {
        let pos = self
            .entries
            .iter()
            .position(|(k, _)| *k == i128::from(key))?;
        Some(self.entries.swap_remove(pos).1)
    }

    /// Removes and returns the entry under the text `key`.
    pub fn take_text_key(&mut self, key: &str) -> Option<Value> {
        let pos = self.text.iter().position(|(k, _)| k == key)?;
        Some(self.text.swap_remove(pos).1)
    }

    /// A required entry.
    pub fn req(&mut self, key: i64, what: &'static str) -> Result<Value, CborError> {
        self.take(key).ok_or(CborError::Missing(what))
    }

    /// A required unsigned integer.
    pub fn req_u64(&mut self, key: i64, what: &'static str) -> Result<u64, CborError> {
        as_u64(self.req(key, what)?, what)
    }

    /// An optional unsigned integer.
    pub fn opt_u64(&mut self, key: i64, what: &'static str) -> Result<Option<u64>, CborError> {
        self.take(key).map(|v| as_u64(v, what)).transpose()
    }

    /// A required text string.
    pub fn req_text(&mut self, key: i64, what: &'static str) -> Result<String, CborError> {
        as_text(self.req(key, what)?, what)
    }

    /// An optional text string.
    pub fn opt_text(&mut self, key: i64, what: &'static str) -> Result<Option<String>, CborError> {
        self.take(key).map(|v| as_text(v, what)).transpose()
    }

    /// A required byte string.
    pub fn req_bytes(&mut self, key: i64, what: &'static str) -> Result<Vec<u8>, CborError> {
        as_bytes(self.req(key, what)?, what)
    }

    /// An optional byte string.
    pub fn opt_bytes(
        &mut self,
        key: i64,
        what: &'static str,
    ) -> Result<Option<Vec<u8>>, CborError> {
        self.take(key).map(|v| as_bytes(v, what)).transpose()
    }
}

/// An unsigned integer value.
pub fn as_u64(value: Value, what: &'static str) -> Result<u64, CborError> {
    match value {
        Value::Integer(i) => u64::try_from(i).map_err(|_| CborError::Invalid(what)),
        _ => Err(CborError::Invalid(what)),
    }
}

/// A text value.
pub fn as_text(value: Value, what: &'static str) -> Result<String, CborError> {
    match value {
        Value::Text(t) => Ok(t),
        _ => Err(CborError::Invalid(what)),
    }
}

/// A byte-string value.
pub fn as_bytes(value: Value, what: &'static str) -> Result<Vec<u8>, CborError> {
    match value {
        Value::Bytes(b) => Ok(b),
        _ => Err(CborError::Invalid(what)),
    }
}

/// A byte string of an exact length.
pub fn as_array<const N: usize>(value: Value, what: &'static str) -> Result<[u8; N], CborError> {
    as_bytes(value, what)?
        .try_into()
        .map_err(|_| CborError::Invalid(what))
}

/// An integer key.
pub fn int(i: i64) -> Value {
    Value::Integer(Integer::from(i))
}

/// An unsigned integer value.
pub fn uint(u: u64) -> Value {
    Value::Integer(Integer::from(u))
}
