//! The wallet follows no redirect (issue 12 item 6): a redirect could send the enrolment
//! (frames, ID number) to another host, around every check of the issuer URL. A stand-in
//! issuer answers everything with `307` to a second server, which must see no request.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Env, obama_id, testdata, text};
use tessera_credential::keys::{Es256Signer, SoftwareKey, spki_pem};
use tessera_issuer::config::OsRandomness;

/// A server answering every request with `status` and `extra` headers; counts requests.
fn server(status: &'static str, extra: String, hits: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut c in listener.incoming().flatten() {
            hits.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            let _ = c.write_all(
                format!(
                    "HTTP/1.1 {status}\r\n{extra}content-length: 0\r\nconnection: close\r\n\r\n"
                )
                .as_bytes(),
            );
        }
    });
    format!("http://{addr}")
}

/// A fresh folder for one test, with any trust anchor beside the wallet's folder: the
/// requests here never get as far as checking a signature.
fn fresh_dir(label: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-wallet-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let anchor = SoftwareKey::generate(&mut OsRandomness);
    std::fs::write(
        dir.join("trust-list-key.pem"),
        spki_pem(&anchor.public_key()),
    )
    .unwrap();
    dir
}

/// `enrol` with the committed frames.
fn enrol(env: &Env) -> std::process::Output {
    let frames = testdata().join("liveness/obama");
    env.run(
        &[
            "enrol",
            "--id-number",
            &obama_id(),
            "--frames",
            frames.to_str().unwrap(),
        ],
        None,
    )
}

#[test]
fn the_wallet_follows_no_redirect() {
    let dir = fresh_dir("redirect");
    let elsewhere_hits = Arc::new(AtomicUsize::new(0));
    let elsewhere = server("200 OK", String::new(), elsewhere_hits.clone());
    for status in [
        "301 Moved Permanently",
        "302 Found",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ] {
        let issuer_hits = Arc::new(AtomicUsize::new(0));
        let issuer = server(
            status,
            format!("location: {elsewhere}/v1/trust-list\r\n"),
            issuer_hits.clone(),
        );
        let env = Env {
            issuer,
            data: dir.join("wallet"),
            service: format!("tessera-wallet-redirect-test-{}", std::process::id()),
        };
        let out = enrol(&env);
        assert_eq!(out.status.code(), Some(2), "{status}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("redirects elsewhere"),
            "{status}: {}",
            text(&out)
        );
        assert_eq!(issuer_hits.load(Ordering::SeqCst), 1, "{status}");
    }
    assert_eq!(
        elsewhere_hits.load(Ordering::SeqCst),
        0,
        "the redirect target was never asked"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every answer's `Date` is noted (issue 16, clocks): a device 7 minutes behind the issuer
/// is told so by `status`, even when the call itself failed.
#[test]
fn the_wallet_notes_a_device_clock_off_from_the_issuers() {
    let dir = fresh_dir("clock");
    let issuer_time = std::time::SystemTime::now() + std::time::Duration::from_secs(420);
    let issuer = server(
        "503 Service Unavailable",
        format!("date: {}\r\n", httpdate::fmt_http_date(issuer_time)),
        Arc::new(AtomicUsize::new(0)),
    );
    let env = Env {
        issuer,
        data: dir.join("wallet"),
        service: format!("tessera-wallet-clock-test-{}", std::process::id()),
    };
    let out = enrol(&env);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    let out = env.run(&["status"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let offset = status["clock"]["offset_seconds"].as_i64().unwrap();
    assert!((418..=422).contains(&offset), "{status}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("about 7 min behind the ID authority's"),
        "{}",
        text(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
