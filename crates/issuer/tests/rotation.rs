//! `tessera-issuer keys rotate` against the real binary: refused while `serve` runs, and
//! afterwards the trust list the service publishes ends the old key's signing
//! (`issued_until`) apart from its trust (`valid_until`), and the data directory keeps no
//! private key of it.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use tessera_credential::trust_list::TrustList;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tessera-issuer"));
    c.env("RUST_LOG", "warn").env_remove("TESSERA_DATABASE_URL");
    c
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn published(rt: &tokio::runtime::Runtime, base: &str) -> TrustList {
    rt.block_on(async {
        let http = http_client();
        let get = |p: &str| http.get(format!("{base}{p}")).send();
        let pem = get("/v1/trust-list-key")
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let key = tessera_credential::keys::public_key_from_pem(&pem).unwrap();
        let bytes = get("/v1/trust-list").await.unwrap().bytes().await.unwrap();
        TrustList::verify(&bytes, &key).unwrap()
    })
}

fn rotate(data: &Path, extra: &[&str]) -> std::process::Output {
    bin()
        .args(["keys", "rotate"])
        .args(extra)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap()
}

/// The names of the private issuer key files in the data directory.
fn private_key_files(data: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data.join("keys"))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| n.starts_with("issuer-"))
        .collect();
    names.sort();
    names
}

#[test]
fn after_keys_rotate_the_published_trust_list_carries_issued_until() {
    let dir = std::env::temp_dir().join(format!("tessera-issuer-rotation-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut child, base) = spawn_issuer(&data, None, &[], "warn", Stdio::null());
    let first = published(&rt, &base);
    assert_eq!(first.issuers.len(), 1);
    let old = first.issuers[0].kid;
    assert_eq!(first.issuers[0].issued_until, None, "the active key signs");

    // Refused while the service runs: it would go on signing with the retired key.
    let out = rotate(&data, &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("running issuer service"),
        "{out:?}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        private_key_files(&data),
        [format!("issuer-{}.pem", old.to_hex())]
    );

    let start = now();
    let out = rotate(&data, &[]);
    let end = now();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let (mut child, base) = spawn_issuer(&data, None, &[], "warn", Stdio::null());
    let list = published(&rt, &base);
    child.kill().unwrap();
    child.wait().unwrap();
    let retired = list.get(&old).expect("the old key stays trusted");
    let until = retired.issued_until.expect("the old key's end of signing");
    assert!((start..=end).contains(&until), "{until} in {start}..={end}");
    assert_eq!(retired.valid_until, Some(until + 365 * 86_400));
    let new = list.issuers.iter().find(|i| i.kid != old).unwrap();
    assert_eq!(new.issued_until, None);
    assert!(list.sequence > first.sequence);
    // Only the new key's private file is left.
    assert_eq!(
        private_key_files(&data),
        [format!("issuer-{}.pem", new.kid.to_hex())]
    );

    // A compromise ends the signing and the trust of the older keys at the same moment.
    let start = now();
    let out = rotate(&data, &["--compromised"]);
    let end = now();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let (mut child, base) = spawn_issuer(&data, None, &[], "warn", Stdio::null());
    let list = published(&rt, &base);
    child.kill().unwrap();
    child.wait().unwrap();
    if let Some(e) = list.get(&new.kid) {
        // Published within the second of the compromise: still listed, ending then.
        let until = e.issued_until.unwrap();
        assert!((start..=end).contains(&until));
        assert_eq!(e.valid_until, Some(until));
    }
    assert_eq!(private_key_files(&data).len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
