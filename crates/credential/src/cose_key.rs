//! The holder key inside the credential's `cnf` claim (RFC 8747), as a COSE_Key with a
//! compressed point (RFC 9053 §7.1.1: `y` may be a boolean giving the sign bit).

use ciborium::value::Value;
use p256::ecdsa::VerifyingKey;

use crate::cbor::{self, CborError, IntMap, int};

const KTY: i64 = 1;
const KTY_EC2: u64 = 2;
const CRV: i64 = -1;
const CRV_P256: u64 = 1;
const X: i64 = -2;
const Y: i64 = -3;
/// `cnf` member holding a COSE_Key (RFC 8747 §3.1).
const CNF_COSE_KEY: i64 = 1;

/// Encodes `{1: COSE_Key}` for the `cnf` claim.
pub fn cnf_value(key: &VerifyingKey) -> Value {
    let point = key.to_sec1_point(true);
    let bytes = point.as_bytes();
    // A compressed SEC1 point is 0x02 or 0x03 followed by x; 0x03 means y is odd.
    let y_odd = bytes.first() == Some(&0x03);
    let x = bytes.get(1..).unwrap_or_default().to_vec();
    let cose_key = Value::Map(vec![
        (int(KTY), cbor::uint(KTY_EC2)),
        (int(CRV), cbor::uint(CRV_P256)),
        (int(X), Value::Bytes(x)),
        (int(Y), Value::Bool(y_odd)),
    ]);
    Value::Map(vec![(int(CNF_COSE_KEY), cose_key)])
}

/// Decodes the `cnf` claim into the holder's public key.
pub fn key_from_cnf(value: Value) -> Result<VerifyingKey, CborError> {
    let mut cnf = IntMap::new(value, "cnf")?;
    let mut key = IntMap::new(cnf.req(CNF_COSE_KEY, "cnf COSE_Key")?, "cnf COSE_Key")?;
    if key.req_u64(KTY, "COSE_Key kty")? != KTY_EC2 {
        return Err(CborError::Invalid("COSE_Key kty"));
    }
    if key.req_u64(CRV, "COSE_Key crv")? != CRV_P256 {
        return Err(CborError::Invalid("COSE_Key crv"));
    }
    let x: [u8; 32] = cbor::as_array(key.req(X, "COSE_Key x")?, "COSE_Key x")?;
    let mut sec1 = [0u8; 33];
    sec1[0] = match key.req(Y, "COSE_Key y")? {
        Value::Bool(true) => 0x03,
        Value::Bool(false) => 0x02,
        // An uncompressed y is legal COSE, but we only ever issue compressed points, and
        // accepting one form keeps the signed bytes canonical.
        _ => return Err(CborError::Invalid("COSE_Key y")),
    };
    sec1[1..].copy_from_slice(&x);
    VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| CborError::Invalid("COSE_Key point"))
}
