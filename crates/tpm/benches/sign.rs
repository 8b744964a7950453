//! Latency of the TPM operations the wallet does, against a software TPM (swtpm over TCP
//! on this machine): p50 and p99 of signing with a key without PIN, signing with a PIN key
//! (salted policy session), creating a key, and certifying a key with the AK.
//!
//! `cargo bench -p tessera-tpm --bench sign --profile dev` (the time is in swtpm and the
//! socket, not in this crate's code, so an optimised build would measure the same thing).
//! Real TPMs are much slower than swtpm; these figures are a floor, not an estimate.

use std::time::{Duration, Instant};

use tessera_swtpm::SoftwareTpm;
use tessera_tpm::{KeyAuth, Tpm};
use zeroize::Zeroizing;

fn measure(name: &str, n: usize, mut f: impl FnMut()) {
    f(); // warm-up (loads the storage key once)
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{name:<28} n={n:<4} p50 {:>8.2} ms   p99 {:>8.2} ms",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported, all run.
    let sw = SoftwareTpm::start().expect("swtpm starts");
    let tpm = Tpm::open_with(&sw.tcti()).expect("TPM opens");
    let plain = tpm.create_key(KeyAuth::None).unwrap();
    let pin = tpm
        .create_key(KeyAuth::Pin(Zeroizing::new(b"123456".to_vec())))
        .unwrap();
    let start = tpm.attestation_start().unwrap();
    let msg = [0x42u8; 200];

    measure("sign (no PIN)", 200, || {
        tpm.sign(&plain, None, &msg).unwrap();
    });
    measure("sign (PIN, policy session)", 200, || {
        tpm.sign(&pin, Some(b"123456"), &msg).unwrap();
    });
    measure("create_key (no PIN)", 50, || {
        tpm.create_key(KeyAuth::None).unwrap();
    });
    measure("create_key (PIN)", 50, || {
        tpm.create_key(KeyAuth::Pin(Zeroizing::new(b"123456".to_vec())))
            .unwrap();
    });
    measure("certify (PIN key, by AK)", 50, || {
        tpm.certify(&start.ak, &pin, Some(b"123456"), &[7u8; 32])
            .unwrap();
    });
    measure("attestation_start", 10, || {
        tpm.attestation_start().unwrap();
    });
}
