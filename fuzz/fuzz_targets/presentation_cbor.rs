//! Presentation CBOR (what the Base45 carries) → verdict, seeded with real presentations, so
//! the fuzzer spends its time past the Base45 layer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tessera_credential::*;

fn trust() -> &'static TrustList {
    static T: OnceLock<TrustList> = OnceLock::new();
    T.get_or_init(|| TrustList::single("fuzz", tessera_vectors::key("issuer-2026").public_key()))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Presentation::from_cbor(data) {
        let mut replay = MemoryReplayCache::default();
        let _ = verify(
            &p,
            trust(),
            &VerifyOptions::at(tessera_vectors::NOW),
            &status_list::NoStatusLists,
            &mut replay,
        );
    }
    let _ = Credential::from_bytes(data);
    let _ = StatusListToken::verify(data, trust(), tessera_vectors::NOW);
    let _ = TrustList::verify(data, &tessera_vectors::key("trust-list").public_key());
});
