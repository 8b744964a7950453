//! The wallet's secrets in the real OS keystore (Secret Service via gnome-keyring under
//! `dbus-run-session`, as `scripts/with-keyring.sh` sets up).

use tessera_wallet::keystore::{KeystoreError, OsKeystore, SecretStore};
use tessera_wallet::vault::{StoredBatch, VAULT_ENTRY, Vault, VaultStore};

fn keystore(label: &str) -> OsKeystore {
    let service = format!("tessera-wallet-test-{label}-{}", std::process::id());
    OsKeystore::open(&service).unwrap_or_else(|e| {
        panic!("{e}\n(run the tests through scripts/with-keyring.sh, as scripts/test.sh does)")
    })
}

#[test]
fn secrets_round_trip_and_delete() {
    let ks = keystore("roundtrip");
    assert_eq!(ks.get("a").unwrap(), None);
    let big: Vec<u8> = (0..64 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    ks.put("a", &big).unwrap();
    assert_eq!(
        ks.get("a").unwrap().as_deref().map(Vec::as_slice),
        Some(&big[..])
    );
    ks.put("a", b"replaced").unwrap();
    assert_eq!(
        ks.get("a").unwrap().as_deref().map(Vec::as_slice),
        Some(&b"replaced"[..])
    );
    ks.delete("a").unwrap();
    ks.delete("a").unwrap();
    assert_eq!(ks.get("a").unwrap(), None);
}

#[test]
fn the_vault_round_trips_and_a_damaged_one_is_reported_and_kept() {
    let label = format!("tessera-wallet-test-vault-{}", std::process::id());
    let dir = std::env::temp_dir().join(&label);
    let store = VaultStore::in_data_dir(Box::new(keystore("vault")), &dir);
    let ks = keystore("vault");
    assert_eq!(Vault::load(&store).unwrap(), None);
    let mut v = Vault::default();
    v.device_key = Some(vec![7; 32]);
    v.batch = Some(StoredBatch {
        enrolment_id: "e1".into(),
        issued_at: 1,
        expires_at: 2,
        lightweight: vec![],
        upgraded: vec![4, 5],
    });
    v.save(&store).unwrap();
    let back = Vault::load(&store).unwrap().unwrap();
    assert_eq!(back.device_key, v.device_key);
    assert_eq!(back.batch, v.batch);
    // The keystore holds only the small head; the credentials are in the sealed file.
    let head = ks.get(VAULT_ENTRY).unwrap().unwrap();
    assert!(head.len() < 200, "{} bytes", head.len());
    assert!(!head.windows(2).any(|w| w == [4, 5]));

    ks.put(VAULT_ENTRY, b"{ not a vault").unwrap();
    match Vault::load(&store) {
        Err(KeystoreError::Corrupt { name, .. }) => assert_eq!(name, VAULT_ENTRY),
        other => panic!("{other:?}"),
    }
    // Reading did not destroy it.
    assert_eq!(
        ks.get(VAULT_ENTRY).unwrap().as_deref().map(Vec::as_slice),
        Some(&b"{ not a vault"[..])
    );
    ks.delete(VAULT_ENTRY).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_session_bus_the_keystore_is_unavailable_with_a_clear_message() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["--exact", "no_bus_probe", "--ignored", "--nocapture"])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/tessera-no-bus",
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 passed"), "{text}");
}

/// Run by the test above in a child process whose session bus does not exist.
#[test]
#[ignore = "helper: run with a bogus DBUS_SESSION_BUS_ADDRESS by the test above"]
fn no_bus_probe() {
    match OsKeystore::open("tessera-wallet-no-bus") {
        Err(e @ KeystoreError::Unavailable { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("Secret Service"), "{msg}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// A locked keystore is its own, clear error. Runs in a private D-Bus session with its own
/// gnome-keyring (the repository's `scripts/with-keyring.sh`), since locking the collection
/// would disturb the other tests.
#[test]
fn a_locked_keystore_is_a_clear_error_with_exit_2() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let wallet = env!("CARGO_BIN_EXE_tessera-wallet");
    let script = format!(
        r#"set -e
W="{wallet} --keystore-service locked-test --data-dir $XDG_RUNTIME_DIR/w"
echo 246810 | $W set-pin
dbus-send --session --dest=org.freedesktop.secrets --type=method_call --print-reply \
  /org/freedesktop/secrets org.freedesktop.Secret.Service.Lock \
  array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
set +e
$W status; echo "locked-exit=$?"
"#
    );
    let out = std::process::Command::new(root.join("scripts/with-keyring.sh"))
        .args(["bash", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("locked-exit=2"), "{stdout}\n{stderr}");
    assert!(stderr.contains("is locked: unlock it"), "{stderr}");
}
