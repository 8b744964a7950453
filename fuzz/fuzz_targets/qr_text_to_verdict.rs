//! QR text → verdict: any text must give a verdict or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tessera_credential::*;

fn trust() -> &'static TrustList {
    static T: OnceLock<TrustList> = OnceLock::new();
    T.get_or_init(|| TrustList::single("fuzz", tessera_vectors::key("issuer-2026").public_key()))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut replay = MemoryReplayCache::default();
    let _ = verify_qr_text(
        &text,
        trust(),
        &VerifyOptions::at(tessera_vectors::NOW),
        &status_list::NoStatusLists,
        &mut replay,
    );
});
