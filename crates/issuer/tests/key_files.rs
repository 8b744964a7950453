//! The issuer's key files across a rotation: a retired key keeps only its public key (its
//! private key file is deleted, so a backup taken later holds none), what it signed before
//! retirement verifies until its `valid_until`, and what a leaked copy signs afterwards is
//! refused by its `issued_until`.

use std::path::{Path, PathBuf};

use tessera_credential::keys::SoftwareKey;
use tessera_credential::status_list::NoStatusLists;
use tessera_credential::*;
use tessera_issuer::Config;
use tessera_issuer::keys::{KeyFileError, KeyRing};
use tessera_vectors::{NOW, PERSON, SeededRandomness, claims, identity, key, present};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-key-files-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    out
}

fn private_pem(dir: &Path, key: &SoftwareKey) -> String {
    std::fs::read_to_string(dir.join(format!("keys/issuer-{}.pem", key.kid().to_hex()))).unwrap()
}

/// True if some file under `dir` holds `key`'s private key, as PEM or as the raw scalar.
fn holds_private_key(dir: &Path, pem: &str, key: &SoftwareKey) -> bool {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let scalar = key.secret_bytes();
    files(dir).iter().any(|(_, bytes)| {
        let text = String::from_utf8_lossy(bytes).replace(['\n', '\r'], "");
        text.contains(&body) || bytes.windows(scalar.len()).any(|w| w == &scalar[..])
    })
}

fn credential(issuer: &SoftwareKey, issued_at: u64) -> Credential {
    let mut rng = SeededRandomness::new("key-files");
    Credential::issue(
        claims(
            &key("device-1"),
            identity(&PERSON, false),
            issued_at,
            0,
            &mut rng,
        ),
        issuer,
    )
    .unwrap()
}

/// Shows `cred` at `now` (a fresh holder proof) and verifies it against `trust`.
fn check(cred: &Credential, trust: &TrustList, now: u64) -> Result<Verdict, VerifyError> {
    let request = ProofRequest {
        now,
        lifetime: 60,
        auth: AuthMethods::USER,
        face_verified_at: None,
    };
    let p = present(
        cred,
        &key("device-1"),
        request,
        &mut SeededRandomness::new("proof"),
    );
    verify(
        &p,
        trust,
        &VerifyOptions::at(now),
        &NoStatusLists,
        &mut MemoryReplayCache::default(),
    )
}

#[test]
fn rotation_leaves_only_the_public_key_of_the_retired_key() {
    let dir = tmp("rotate");
    let config = Config::default();
    let validity = config.credential_validity.as_secs();
    let created = NOW - 100 * 86_400;
    let retired_at = NOW - 10 * 86_400;
    let ring = KeyRing::open_or_create(&dir, created).unwrap();
    // What a thief copies from a backup taken before the rotation.
    let old = SoftwareKey::from_secret_bytes(&ring.active().secret_bytes()).unwrap();
    let old_pem = private_pem(&dir, &old);
    assert!(
        holds_private_key(&dir, &old_pem, &old),
        "the test can see a key"
    );
    let before = credential(ring.active(), retired_at - 86_400);
    drop(ring);

    let new = KeyRing::rotate(&dir, retired_at).unwrap();
    // Nothing in the data directory holds the retired private key any more.
    assert!(!holds_private_key(&dir, &old_pem, &old));
    let mut pems: Vec<String> = files(&dir)
        .iter()
        .filter_map(|(p, _)| p.file_name()?.to_str().map(str::to_owned))
        .filter(|n| n.starts_with("issuer-"))
        .collect();
    pems.sort();
    assert_eq!(pems, [format!("issuer-{}.pem", new.to_hex())]);

    // The ring still knows the retired key's public half, and lists it with both ends.
    let ring = KeyRing::open(&dir).unwrap();
    assert_eq!(ring.active().kid(), new);
    assert_eq!(ring.issuer_keys[0].public_key, old.public_key());
    let trust = ring.trust_list(&config, NOW);
    let entry = trust.get(&old.kid()).unwrap();
    assert_eq!(entry.issued_until, Some(retired_at));
    assert_eq!(entry.valid_until, Some(retired_at + validity));
    assert_eq!(trust.get(&new).unwrap().issued_until, None);

    // Credentials it signed before retirement verify until they expire, which is before
    // the key's valid_until …
    check(&before, &trust, NOW).unwrap();
    let young = credential(&old, retired_at - 60);
    let last_day = young.claims.expires_at - 3600;
    assert!(last_day < retired_at + validity);
    check(&young, &ring.trust_list(&config, last_day), last_day).unwrap();
    // … and nothing it signed after valid_until (a desk holding the list from before).
    let held = ring.trust_list(&config, last_day);
    assert_eq!(
        check(&young, &held, retired_at + validity + 60)
            .unwrap_err()
            .code(),
        "issuer_key_not_valid"
    );
    // What the stolen copy signs after the retirement is refused.
    let forged = credential(&old, NOW - 3600);
    assert_eq!(
        check(&forged, &trust, NOW).unwrap_err().code(),
        "signed_after_key_retired"
    );
    drop(ring);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_old_data_directory_loses_its_retired_private_keys_at_open() {
    let dir = tmp("old");
    let config = Config::default();
    let first = KeyRing::open_or_create(&dir, 1000).unwrap();
    let old = SoftwareKey::from_secret_bytes(&first.active().secret_bytes()).unwrap();
    let old_pem = private_pem(&dir, &old);
    drop(first);
    KeyRing::rotate(&dir, 5000).unwrap();
    // Put the directory back as the version before this one left it (or as a rotation that
    // stopped before deleting): the retired key's private file, and no public keys listed.
    let old_path = dir.join(format!("keys/issuer-{}.pem", old.kid().to_hex()));
    std::fs::write(&old_path, &old_pem).unwrap();
    let index_path = dir.join("keys/keys.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    for r in index["issuer_keys"].as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("public_key");
    }
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();

    let ring = KeyRing::open(&dir).unwrap();
    assert!(!old_path.exists(), "deleted at open");
    assert!(!holds_private_key(&dir, &old_pem, &old));
    assert_eq!(
        ring.trust_list(&config, 6000)
            .get(&old.kid())
            .unwrap()
            .public_key,
        old.public_key()
    );
    drop(ring);
    // Its public key is now on record: the next open needs no private file for it.
    let again = KeyRing::open(&dir).unwrap();
    assert_eq!(again.issuer_keys[0].public_key, old.public_key());
    drop(again);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rotation_is_refused_while_a_service_has_the_keys_open() {
    let dir = tmp("busy");
    let ring = KeyRing::open_or_create(&dir, 1000).unwrap();
    let err = KeyRing::rotate(&dir, 2000).unwrap_err();
    assert!(matches!(err, KeyFileError::InUse { .. }), "{err}");
    assert!(err.to_string().contains("stop it"), "{err}");
    // Nothing changed: the key still signs and is not retired.
    drop(ring);
    let ring = KeyRing::open(&dir).unwrap();
    assert_eq!(ring.issuer_keys.len(), 1);
    assert_eq!(ring.issuer_keys[0].retired_at, None);
    drop(ring);
    KeyRing::rotate(&dir, 2000).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
