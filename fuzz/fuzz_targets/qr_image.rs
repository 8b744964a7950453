//! Image bytes → QR text (the desk's `/api/verify-image` and the CLI read uploaded
//! photos). `decode_image` must answer every input without a panic escaping it; a
//! Tessera code it reads must read back the same from our own rendering of it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_credential::{
    MemoryReplayCache, QR_PREFIX, VerifyOptions, status_list, verify_qr_text,
};
use tessera_fuzz::{let_caught_panics_unwind, trust};

fuzz_target!(|data: &[u8]| {
    let_caught_panics_unwind();
    let Ok(text) = tessera_qr::decode_image(data) else {
        return;
    };
    let mut replay = MemoryReplayCache::default();
    let _ = verify_qr_text(
        &text,
        trust(),
        &VerifyOptions::at(tessera_vectors::NOW),
        &status_list::NoStatusLists,
        &mut replay,
    );
    if text.starts_with(QR_PREFIX)
        && let Ok(code) = tessera_qr::encode(&text)
    {
        let png = code.to_png(4);
        assert_eq!(
            tessera_qr::decode_image(&png).ok().as_deref(),
            Some(text.as_str()),
            "a code read from an image must read back from our own rendering"
        );
    }
});
