//! The `tessera-issuer` binary: registry import (all rows or none, errors by line), key
//! rotation, and `serve` answering on the port it prints.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tessera-issuer"));
    c.env("RUST_LOG", "warn").env_remove("TESSERA_DATABASE_URL");
    c
}

fn tmp(label: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-issuer-cli-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn import(data: &Path, csv: &Path) -> std::process::Output {
    bin()
        .args(["registry", "import", "--data-dir"])
        .arg(data)
        .arg(csv)
        .output()
        .unwrap()
}

#[test]
fn a_file_with_bad_rows_imports_nothing_and_names_every_bad_line() {
    let dir = tmp("bad");
    let photos = face_testdata().join("photos");
    let p = |f: &str| photos.join(f).display().to_string();
    let wrong_check = {
        let mut s = obama_id();
        let last = s.pop().unwrap();
        s.push(if last == '0' { '1' } else { '0' });
        s
    };
    let csv = format!(
        "id_number,full_name,date_of_birth,sex,photo\n\
         {ok},李建国,1961-08-04,M,{obama}\n\
         {wrong_check},错号,1961-08-04,M,{obama}\n\
         {biden},赵德明,1942-11-21,M,{biden_photo}\n\
         {astro},孙丽华,1946-08-19,M,{astro_photo}\n\
         {extra},无脸,1980-01-01,M,{coffee}\n\
         {extra2},两人,1980-01-01,M,{group}\n\
         {extra3},缺图,1980-01-01,M,missing.jpg\n\
         {ok},重复,1961-08-04,M,{obama}\n",
        ok = obama_id(),
        obama = p("obama.jpg"),
        biden = biden_id(),
        biden_photo = p("biden.jpg"),
        astro = astronaut_id(),
        astro_photo = p("astronaut.jpg"),
        extra = extra_id(0),
        coffee = p("coffee.jpg"),
        extra2 = extra_id(1),
        group = p("group_obama_biden_composed.jpg"),
        extra3 = extra_id(2),
    );
    std::fs::write(dir.join("r.csv"), csv).unwrap();
    let out = import(&dir.join("data"), &dir.join("r.csv"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for (line, what) in [
        (3, "check character"),
        (4, "does not match the birth date"),
        (5, "sex M does not match"),
        (6, "no face"),
        (7, "2 faces"),
        (8, "missing.jpg"),
        (9, "already on line 2"),
    ] {
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("line {line}: ")) && l.contains(what)),
            "line {line} ({what}) not reported in:\n{err}"
        );
    }
    assert!(!err.contains("line 2:"), "{err}");
    // Nothing imported: a good file into the same data dir reports exactly its own rows.
    let good = write_registry(&dir, 0);
    let out = import(&dir.join("data"), &good);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "imported 3 registry record(s)"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_that_is_not_a_registry_is_refused() {
    let dir = tmp("header");
    std::fs::write(dir.join("r.csv"), "name,photo\nx,y\n").unwrap();
    let out = import(&dir.join("data"), &dir.join("r.csv"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("header must be exactly"));
    let out = import(&dir.join("data"), &dir.join("nope.csv"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.csv"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn serve_answers_and_rotation_adds_a_key_to_the_trust_list() {
    let dir = tmp("serve");
    let data = dir.join("data");
    let serve = |data: &Path| spawn_issuer(data, None, &[], "warn", Stdio::null());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let kids = |base: &str| {
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
            let list = tessera_credential::trust_list::TrustList::verify(&bytes, &key).unwrap();
            let health = get("/healthz").await.unwrap();
            assert_eq!(health.status(), 200);
            list.issuers.iter().map(|i| i.kid).collect::<Vec<_>>()
        })
    };
    let (mut child, base) = serve(&data);
    let before = kids(&base);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(before.len(), 1);

    let out = bin()
        .args(["keys", "rotate", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let (mut child, base) = serve(&data);
    let after = kids(&base);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(after.len(), 2);
    assert!(after.contains(&before[0]), "the old key stays trusted");

    // A leaked key: the older keys leave the trust list at once.
    let out = bin()
        .args(["keys", "rotate", "--compromised", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no longer trusted"));
    std::thread::sleep(std::time::Duration::from_millis(1100)); // past the compromise second
    let (mut child, base) = serve(&data);
    let compromised = kids(&base);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(compromised.len(), 1, "only the newest key");
    assert!(!compromised.contains(&before[0]) && !after.iter().any(|k| compromised.contains(k)));
    std::fs::remove_dir_all(&dir).unwrap();
}
