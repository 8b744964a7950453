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
    copy_photos(&dir);
    let p = |f: &str| format!("photos/{f}");
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
        "imported 3 new registry record(s); replaced 0; unchanged 0"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The registry's rows as (ID number, SHA-256 of the photo), and its audit log, read from
/// the data directory's SQLite file.
fn registry_and_audit(
    data: &Path,
) -> (
    Vec<(String, Vec<u8>)>,
    Vec<tessera_issuer::store::AuditRecord>,
) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store =
            tessera_issuer::store::Store::connect(&tessera_issuer::default_database_url(data))
                .await
                .unwrap();
        let mut rows = Vec::new();
        for id in [obama_id(), biden_id(), astronaut_id(), extra_id(0)] {
            if let Some(r) = store.person(&id).await.unwrap() {
                rows.push((id, r.photo_sha256));
            }
        }
        let audit = store.audit_log().await.unwrap();
        store.close().await;
        (rows, audit)
    })
}

#[test]
fn reimporting_changed_records_needs_replace_and_is_audited() {
    use sha2::{Digest, Sha256};
    let dir = tmp("replace");
    let data = dir.join("data");
    let first = write_registry(&dir, 0);
    assert_eq!(import(&data, &first).status.code(), Some(0));
    // The same file again changes nothing and needs no flag.
    let out = import(&data, &first);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("unchanged 3"));
    let (before, _) = registry_and_audit(&data);

    // Obama's photo swapped for another of him, Biden renamed, and one new person.
    let csv = std::fs::read_to_string(&first)
        .unwrap()
        .replace("photos/obama.jpg", "photos/obama2.jpg")
        .replace("赵德明", "赵德明明")
        + &format!("{},新人,1980-01-01,M,photos/obama3.jpg\n", extra_id(0));
    let second = dir.join("second.csv");
    std::fs::write(&second, csv).unwrap();
    let out = import(&data, &second);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&obama_id()) && err.contains(&biden_id()),
        "{err}"
    );
    assert!(!err.contains(&astronaut_id()), "{err}");
    assert!(
        err.contains("--replace") && err.contains("nothing was imported"),
        "{err}"
    );
    let (after, audit) = registry_and_audit(&data);
    assert_eq!(after, before, "nothing imported, not even the new person");
    assert!(!audit.iter().any(|a| a.event == "registry"));

    let out = bin()
        .args(["registry", "import", "--replace", "--data-dir"])
        .arg(&data)
        .arg(&second)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "imported 1 new registry record(s); replaced 2; unchanged 1"
    );
    let (after, audit) = registry_and_audit(&data);
    let obama2 = Sha256::digest(std::fs::read(dir.join("photos/obama2.jpg")).unwrap()).to_vec();
    assert!(after.contains(&(obama_id(), obama2)));
    assert_eq!(after.len(), 4);
    let replaced: Vec<_> = audit
        .iter()
        .filter(|a| a.event == "registry" && a.outcome == "replaced")
        .collect();
    assert_eq!(replaced.len(), 2, "{audit:?}");
    let about = |id: String| {
        replaced
            .iter()
            .find(|a| a.id_number.as_deref() == Some(&id))
            .unwrap()
    };
    assert_eq!(
        about(obama_id()).detail,
        "registry import replaced photo and template"
    );
    assert_eq!(
        about(biden_id()).detail,
        "registry import replaced full_name"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn photo_paths_stay_inside_the_csv_folder() {
    let dir = tmp("confined");
    let inside = dir.join("registry");
    std::fs::create_dir_all(&inside).unwrap();
    copy_photos(&dir); // dir/photos: next to the CSV's folder, not in it
    let outside = dir.join("photos/obama.jpg");
    std::os::unix::fs::symlink(&outside, inside.join("link.jpg")).unwrap();
    std::os::unix::fs::symlink(dir.join("photos"), inside.join("linked-folder")).unwrap();
    for (photo, why) in [
        (outside.display().to_string(), "no absolute path"),
        ("../photos/obama.jpg".to_owned(), "no .."),
        ("link.jpg".to_owned(), "symbolic link leads outside"),
        (
            "linked-folder/obama.jpg".to_owned(),
            "symbolic link leads outside",
        ),
    ] {
        let csv = inside.join("r.csv");
        std::fs::write(
            &csv,
            format!(
                "id_number,full_name,date_of_birth,sex,photo\n{},李建国,1961-08-04,M,{photo}\n",
                obama_id()
            ),
        )
        .unwrap();
        let out = import(&dir.join("data"), &csv);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{photo}: {err}");
        assert!(
            err.contains("line 2: photo") && err.contains(why),
            "{photo}: {err}"
        );
    }
    // A photo really inside the folder (a link within it too) is fine.
    std::fs::copy(&outside, inside.join("obama.jpg")).unwrap();
    std::os::unix::fs::symlink("obama.jpg", inside.join("same.jpg")).unwrap();
    let csv = inside.join("r.csv");
    std::fs::write(
        &csv,
        format!(
            "id_number,full_name,date_of_birth,sex,photo\n{},李建国,1961-08-04,M,./same.jpg\n",
            obama_id()
        ),
    )
    .unwrap();
    let out = import(&dir.join("data"), &csv);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
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

#[test]
fn audit_purge_deletes_records_past_the_retention_period() {
    let dir = tmp("purge");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = tessera_issuer::default_database_url(&data);
    rt.block_on(async {
        let store = tessera_issuer::store::Store::connect(&url).await.unwrap();
        for (days_ago, detail) in [(31, "old"), (29, "recent")] {
            let audit = tessera_issuer::store::Audit {
                event: "enrol",
                id_number: Some("110101196108040114"),
                outcome: "refused",
                detail,
            };
            store.audit(now - days_ago * 86_400, &audit).await.unwrap();
        }
        store.close().await;
    });
    let out = bin()
        .args(["audit", "purge", "--retention-days", "30", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "deleted 1 audit record(s) older than 30 days"
    );
    let left = rt.block_on(async {
        let store = tessera_issuer::store::Store::connect(&url).await.unwrap();
        let log = store.audit_log().await.unwrap();
        store.close().await;
        log
    });
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].detail, "recent");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn relying_parties_are_registered_listed_and_removed_with_audit_records() {
    let dir = tmp("clients");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let clients = |args: &[&str]| {
        let out = bin()
            .arg("clients")
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Registered: the id and the secret (shown once) as JSON.
    let (code, stdout, stderr) = clients(&[
        "add",
        "--name",
        "Ticket shop",
        "--name-zh",
        "票务",
        "--redirect-uri",
        "https://shop.example/callback",
        "--tier",
        "lightweight",
        "--claims",
        "age_over_18,masked_name",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let added: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let id = added["client_id"].as_str().unwrap().to_owned();
    assert!(tessera_oidc::client::valid_client_id(&id), "{id}");
    assert_eq!(added["client_secret"].as_str().unwrap().len(), 43);
    assert_eq!(
        added["claims"],
        serde_json::json!(["age_over_18", "masked_name"])
    );
    // Refused registrations say why and register nothing: a claim above the tier, plain http
    // to a host, a name with a bidirectional override.
    for (args, why) in [
        (
            vec![
                "--redirect-uri",
                "https://a.example/cb",
                "--tier",
                "lightweight",
                "--claims",
                "id_number",
            ],
            "needs the upgraded tier",
        ),
        (
            vec![
                "--redirect-uri",
                "http://a.example/cb",
                "--tier",
                "upgraded",
            ],
            "is not allowed",
        ),
        (
            vec!["--redirect-uri", "https://a.example/cb", "--tier", "middle"],
            "use lightweight or upgraded",
        ),
    ] {
        let mut all = vec!["add", "--name", "Bank"];
        all.extend(args);
        let (code, _, stderr) = clients(&all);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(why), "{stderr}");
    }
    let (code, _, stderr) = clients(&[
        "add",
        "--name",
        "Shop\u{202e}knab",
        "--redirect-uri",
        "https://a.example/cb",
        "--tier",
        "lightweight",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    // Listed (without the secret), then removed; removing again says there is none.
    let (_, stdout, _) = clients(&["list"]);
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["client_id"], id.as_str());
    assert!(!stdout.contains(added["client_secret"].as_str().unwrap()));
    assert_eq!(clients(&["remove", &id]).0, Some(0));
    let (code, _, stderr) = clients(&["remove", &id]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no relying party"), "{stderr}");
    // Both changes are in the audit trail, with what was registered; never the secret.
    let url = tessera_issuer::default_database_url(&data);
    let log = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = tessera_issuer::store::Store::connect(&url).await.unwrap();
        let log = store.audit_log().await.unwrap();
        store.close().await;
        log
    });
    let events: Vec<_> = log
        .iter()
        .filter(|a| a.event == "oidc_client")
        .map(|a| (a.outcome.as_str(), a.detail.contains(&id)))
        .collect();
    assert_eq!(events, [("added", true), ("removed", true)]);
    assert!(
        log.iter()
            .all(|a| !a.detail.contains(added["client_secret"].as_str().unwrap()))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
