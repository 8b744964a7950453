//! Signed trust list → `TrustList` (the desk and the wallet fetch it from the network).
//!
//! The first byte picks what the rest is: even, a whole signed document (the COSE_Sign1
//! layer and its headers); odd, the payload, signed here with the trust-list key so the
//! fuzzer reaches the CBOR parser behind the signature check. A list that reads must
//! survive sign → verify unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_credential::trust_list::TRUST_LIST_TYP;
use tessera_credential::{Es256Signer, TrustList};
use tessera_fuzz::{check_signing, sign_document, trust_list_key};

fuzz_target!(|data: &[u8]| {
    check_signing();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let key = trust_list_key();
    let signed;
    let bytes = if mode % 2 == 0 {
        rest
    } else {
        signed = sign_document(TRUST_LIST_TYP, rest, key);
        &signed
    };
    let Ok(list) = TrustList::verify(bytes, &key.public_key()) else {
        return;
    };
    let again = list
        .sign(key)
        .unwrap_or_else(|e| panic!("a software key always signs: {e}"));
    assert_eq!(
        TrustList::verify(&again, &key.public_key()).as_ref(),
        Ok(&list),
        "a trust list that reads must read back the same after signing"
    );
    for issuer in &list.issuers {
        assert_eq!(list.get(&issuer.kid).map(|i| i.kid), Some(issuer.kid));
    }
});
