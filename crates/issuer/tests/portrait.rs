//! The portrait endpoint for registered verifiers, on a real issuer over loopback, on
//! SQLite and on PostgreSQL (`TESSERA_TEST_POSTGRES_URL`).

#[macro_use]
mod common;

use common::*;
use reqwest::StatusCode;
use tessera_credential::credential::Credential;
use tessera_credential::proof::{AuthMethods, HolderProof, ProofRequest};
use tessera_credential::qr_text::Presentation;
use tessera_issuer::Clock;
use tessera_issuer_api::ProblemType;

on_both_backends!(
    portrait_only_for_registered_verifiers_and_fresh_upgraded_proofs,
    a_registry_photo_changed_since_issue_is_not_released,
);

/// What the wallet shows: a fresh proof for `credential`, unlocked with PIN + face.
fn show(h: &Harness, credential: &[u8], device: &tessera_credential::keys::SoftwareKey) -> String {
    let credential = Credential::from_bytes(credential).unwrap();
    let now = h.clock.now();
    let request = ProofRequest {
        now,
        lifetime: 60,
        auth: AuthMethods::USER
            .with(AuthMethods::PIN)
            .with(AuthMethods::FACE),
        face_verified_at: Some(now),
    };
    let proof = HolderProof::create(
        &credential,
        device,
        request,
        300,
        &mut tessera_issuer::config::OsRandomness,
    )
    .unwrap();
    Presentation { credential, proof }.to_qr_text()
}

async fn ask(h: &Harness, key: Option<&str>, presentation: &str) -> reqwest::Response {
    let mut r = h
        .client
        .post(h.url("/v1/portraits"))
        .json(&serde_json::json!({ "presentation": presentation }));
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    r.send().await.unwrap()
}

async fn problem(r: reqwest::Response) -> (StatusCode, ProblemType) {
    answer::<serde_json::Value>(r).await.problem()
}

async fn portrait_only_for_registered_verifiers_and_fresh_upgraded_proofs(backend: Backend) {
    let h = start(backend).await;
    let device = new_device();
    let batch = h.enrol(&obama_id(), "obama", &device).await.ok();
    let key = h
        .issuer()
        .add_verifier("Hotel Beijing desk 1")
        .await
        .unwrap()
        .expect("a new name");
    assert!(
        h.issuer()
            .add_verifier("Hotel Beijing desk 1")
            .await
            .unwrap()
            .is_none(),
        "a name is registered once"
    );
    let fresh = show(&h, &upgraded(&batch), &device);

    // No key, a made-up key: refused, whatever the presentation.
    let (status, kind) = problem(ask(&h, None, &fresh).await).await;
    assert_eq!(
        (status, kind),
        (StatusCode::UNAUTHORIZED, ProblemType::Unauthorized)
    );
    let made_up = format!("tvk_{}", "0".repeat(64));
    let (_, kind) = problem(ask(&h, Some(&made_up), &fresh).await).await;
    assert_eq!(kind, ProblemType::Unauthorized);

    // A registered verifier with a fresh upgraded presentation gets the registry photo.
    let r = ask(&h, Some(&key), &fresh).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let photo = r.bytes().await.unwrap();
    let person = h
        .issuer()
        .store()
        .person(&obama_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(photo.as_ref(), person.photo.as_slice());
    let listed = h.issuer().store().verifiers().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "Hotel Beijing desk 1");
    assert_eq!(listed[0].last_used_at, Some(h.clock.now()));

    // The lightweight tier discloses no portrait.
    let light = show(&h, &lightweight(&batch), &device);
    let (_, kind) = problem(ask(&h, Some(&key), &light).await).await;
    assert_eq!(kind, ProblemType::HolderAuthFailed);

    // Garbage is refused with a problem, not a crash.
    let (_, kind) = problem(ask(&h, Some(&key), "TS1:NOT-A-CODE").await).await;
    assert_eq!(kind, ProblemType::HolderAuthFailed);

    // Two minutes later the same presentation is stale: refused.
    h.clock.advance(120);
    let (_, kind) = problem(ask(&h, Some(&key), &fresh).await).await;
    assert_eq!(kind, ProblemType::HolderAuthFailed);

    // A removed verifier's key is refused at once, even with a fresh presentation.
    let fresh = show(&h, &upgraded(&batch), &device);
    assert_eq!(ask(&h, Some(&key), &fresh).await.status(), StatusCode::OK);
    let removed =
        tessera_issuer::service::remove_verifier(h.issuer().store(), "Hotel Beijing desk 1", 0)
            .await
            .unwrap();
    assert!(removed);
    let (_, kind) = problem(ask(&h, Some(&key), &fresh).await).await;
    assert_eq!(kind, ProblemType::Unauthorized);
    assert!(h.issuer().store().verifiers().await.unwrap().is_empty());

    // Every decision is audited, who asked and the outcome, never the image.
    let log = h.issuer().store().audit_log().await.unwrap();
    let portraits: Vec<_> = log.iter().filter(|a| a.event == "portrait").collect();
    // The three unregistered-key refusals (one client, one reason, one hour) are one record.
    assert_eq!(portraits.len(), 6, "{portraits:?}");
    assert_eq!(portraits[0].occurrences, 3, "{portraits:?}");
    let released: Vec<_> = portraits
        .iter()
        .filter(|a| a.outcome == "released")
        .collect();
    assert_eq!(released.len(), 2);
    assert_eq!(released[0].id_number.as_deref(), Some(obama_id().as_str()));
    let label = format!(
        "Hotel Beijing desk 1 (key {})",
        &tessera_issuer::service::verifier_key_hash(&key)[..8]
    );
    assert_eq!(released[0].detail, format!("to verifier {label}"));
    assert!(
        portraits
            .iter()
            .any(|a| a.detail.ends_with("proof_expired"))
    );
    assert!(portraits.iter().all(|a| a.detail.len() < 200));
    let verifiers: Vec<_> = log
        .iter()
        .filter(|a| a.event == "verifier")
        .map(|a| (a.outcome.as_str(), a.detail.as_str()))
        .collect();
    assert_eq!(
        verifiers,
        [("added", label.as_str()), ("removed", label.as_str())]
    );
}

/// A registry re-import replaced the person's photo after the credential was issued: the
/// credential's `photo_sha256` names the old photo, so the new one is not released as its
/// portrait; the verifier is told why, and the refusal is audited.
async fn a_registry_photo_changed_since_issue_is_not_released(backend: Backend) {
    use sha2::{Digest, Sha256};
    let h = start(backend).await;
    let device = new_device();
    let batch = h.enrol(&obama_id(), "obama", &device).await.ok();
    let key = h.issuer().add_verifier("Desk").await.unwrap().unwrap();
    let fresh = show(&h, &upgraded(&batch), &device);
    assert_eq!(ask(&h, Some(&key), &fresh).await.status(), StatusCode::OK);

    let store = h.issuer().store();
    let mut person = store.person(&obama_id()).await.unwrap().unwrap();
    person.photo = std::fs::read(face_testdata().join("photos/obama2.jpg")).unwrap();
    person.photo_sha256 = Sha256::digest(&person.photo).to_vec();
    // What `registry import --replace` does.
    store
        .import_registry_checked(std::slice::from_ref(&person), h.clock.now(), true)
        .await
        .unwrap();

    let fresh = show(&h, &upgraded(&batch), &device);
    let r = ask(&h, Some(&key), &fresh).await;
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], 409, "{body}");
    assert_eq!(body["type"], ProblemType::PortraitChanged.uri(), "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("changed since"),
        "{body}"
    );

    let log = store.audit_log().await.unwrap();
    let last = log.iter().rev().find(|a| a.event == "portrait").unwrap();
    assert_eq!(last.outcome, "refused");
    assert_eq!(last.id_number.as_deref(), Some(obama_id().as_str()));
    assert!(last.detail.contains("registry photo changed"), "{last:?}");
}

#[tokio::test]
async fn verifiers_add_list_and_remove_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!(
        "tessera-issuer-verifiers-{}-{}",
        std::process::id(),
        hex::encode(tessera_issuer::config::random_bytes::<6>())
    ));
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera-issuer"))
            .args(["verifiers", args[0], "--data-dir"])
            .arg(&dir)
            .args(&args[1..])
            .env_remove("TESSERA_DATABASE_URL")
            .output()
            .unwrap()
    };
    let run = || cli(&["add", "Desk A"]);
    let empty = cli(&["list"]);
    assert!(empty.status.success(), "{empty:?}");
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no verifiers registered"));
    let first = run();
    assert!(first.status.success(), "{first:?}");
    let key = String::from_utf8(first.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("tvk_") && key.len() == 68, "{key}");
    assert!(cli(&["add", "Desk B"]).status.success());
    // A name that would print as something else is refused.
    let sneaky = cli(&["add", "Desk \u{202E}A kseD"]);
    assert_eq!(sneaky.status.code(), Some(2), "{sneaky:?}");
    assert!(String::from_utf8_lossy(&sneaky.stderr).contains("invisible formatting"));
    let second = run();
    assert_eq!(second.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&second.stderr).contains("already exists"));

    // The database holds registry photos and ID numbers: its owner's only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("issuer.sqlite3"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let store = tessera_issuer::store::Store::open_sqlite(&dir.join("issuer.sqlite3"))
        .await
        .unwrap();
    let hash = tessera_issuer::service::verifier_key_hash(&key);
    assert_eq!(
        store.verifier_by_key(&hash).await.unwrap().as_deref(),
        Some("Desk A")
    );
    store.close().await;

    // Listed by name, never with the key; as a table and as JSON.
    let table = cli(&["list"]);
    assert!(table.status.success(), "{table:?}");
    let table = String::from_utf8(table.stdout).unwrap();
    let lines: Vec<_> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        lines[1].starts_with("Desk A") && lines[1].ends_with("never"),
        "{table}"
    );
    assert!(lines[2].starts_with("Desk B"), "{table}");
    assert!(lines[1].contains(" UTC "), "{table}");
    let json = cli(&["list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["name"], "Desk A");
    assert!(rows[0]["created_at"].as_u64().unwrap() > 1_700_000_000);
    assert!(rows[0]["last_used_at"].is_null());
    assert!(!table.contains(&key) && !String::from_utf8_lossy(&json.stdout).contains("tvk_"));

    // Removed: gone from the store, and removing it again says so.
    let gone = cli(&["remove", "Desk A"]);
    assert!(gone.status.success(), "{gone:?}");
    let again = cli(&["remove", "Desk A"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("no verifier named \"Desk A\""));
    let store = tessera_issuer::store::Store::open_sqlite(&dir.join("issuer.sqlite3"))
        .await
        .unwrap();
    assert_eq!(store.verifier_by_key(&hash).await.unwrap(), None);
    let names: Vec<_> = store
        .verifiers()
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(names, ["Desk B"]);
    store.close().await;
    for file in std::fs::read_dir(&dir).unwrap().flatten() {
        let raw = std::fs::read(file.path()).unwrap();
        assert!(
            !raw.windows(key.len()).any(|w| w == key.as_bytes()),
            "the key itself is stored in {}",
            file.path().display()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
