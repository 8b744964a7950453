//! Status List Token → `StatusListToken`, including the zlib inflate (the desk fetches
//! tokens from the network; a bomb must stop at `MAX_LIST_BYTES`).
//!
//! The first byte picks what the rest is (mod 3): 0, a whole signed token; 1, the claims
//! payload, signed here with the trusted issuer key so the fuzzer gets past the signature;
//! 2, a bits-per-entry byte then the compressed `lst`, wrapped here in valid claims so
//! every input reaches the inflate. A token that reads must be under its signer's status
//! base, within the size cap, answer every index without panicking, and survive
//! sign → verify unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_credential::cbor::{self, int, uint};
use tessera_credential::status_list::{MAX_FUTURE_SKEW, MAX_LIST_BYTES, STATUS_LIST_TYP};
use tessera_credential::{StatusListToken, StatusLists, StatusLookup, StatusRef};
use tessera_fuzz::{issuer_key, sign_document, trust};
use tessera_vectors::{NOW, STATUS_BASE};

use coset::cbor::value::Value;

/// Re-signing a huge inflated list at the best compression takes long; the round trip is
/// checked on lists up to this size (the read itself is checked on all).
const ROUND_TRIP_MAX_BYTES: usize = 1 << 20;

fn claims_around(bits: u8, lst: &[u8]) -> Vec<u8> {
    cbor::to_vec(&Value::Map(vec![
        (int(2), Value::Text(format!("{STATUS_BASE}1"))),
        (int(6), uint(NOW - 600)),
        (
            int(65533),
            Value::Map(vec![
                (Value::Text("bits".into()), uint(u64::from(bits))),
                (Value::Text("lst".into()), Value::Bytes(lst.to_vec())),
            ]),
        ),
    ]))
}

fuzz_target!(|data: &[u8]| {
    let trust = trust();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let signed;
    let bytes = match mode % 3 {
        0 => rest,
        1 => {
            signed = sign_document(STATUS_LIST_TYP, rest, issuer_key());
            &signed
        }
        _ => {
            let Some((&bits, lst)) = rest.split_first() else {
                return;
            };
            signed = sign_document(STATUS_LIST_TYP, &claims_around(bits, lst), issuer_key());
            &signed
        }
    };
    let Ok(token) = StatusListToken::verify(bytes, trust, NOW) else {
        return;
    };
    assert!(token.uri.starts_with(STATUS_BASE), "{}", token.uri);
    assert!(token.issued_at <= NOW + MAX_FUTURE_SKEW);
    assert!(token.list.as_bytes().len() <= MAX_LIST_BYTES);
    let len = token.list.len();
    let max = (1u16 << token.list.bits()) - 1;
    for idx in [0, 1, 7, len.saturating_sub(1), len, len + 1, u64::MAX] {
        match token.list.get(idx) {
            Ok(v) => assert!(
                idx < len && u16::from(v) <= max,
                "entry {idx} of {len}: {v}"
            ),
            Err(_) => assert!(idx >= len, "entry {idx} of {len} refused"),
        }
    }
    let mut lists = StatusLists::default();
    lists.insert(token.clone());
    let _ = lists.lookup(&trust.issuers[0], &StatusRef { list: 1, idx: 0 });
    if token.list.as_bytes().len() <= ROUND_TRIP_MAX_BYTES {
        let again = token
            .sign(issuer_key())
            .unwrap_or_else(|e| panic!("a software key always signs: {e}"));
        assert_eq!(
            StatusListToken::verify(&again, trust, NOW).as_ref(),
            Ok(&token),
            "a status list that reads must read back the same after signing"
        );
    }
});
