//! What needs the PIN, through the wallet core over the real OS keystore (Secret Service via
//! gnome-keyring, as `scripts/with-keyring.sh` sets up), with no window: changing the PIN
//! needs the current one, removing a held ID and changing the issuer need the PIN, wrong
//! tries count and are saved before the answer, and weak PINs are refused.

use tessera_wallet::keystore::OsKeystore;
use tessera_wallet::lifecycle::State;
use tessera_wallet::pin::PinError;
use tessera_wallet::pin_policy::WeakPin;
use tessera_wallet::vault::{StoredBatch, Vault, VaultStore};
use tessera_wallet::wallet::{Wallet, WalletError};

const NOW: u64 = 1_800_000_000;

fn keystore(service: &str) -> OsKeystore {
    OsKeystore::open(service).unwrap_or_else(|e| {
        panic!("{e}\n(run the tests through scripts/with-keyring.sh, as scripts/test.sh does)")
    })
}

/// A wallet over its own keystore service; a second `Wallet` on the same service sees what
/// the first saved.
fn wallet(label: &str) -> (Wallet, String, std::path::PathBuf) {
    let service = format!("tessera-wallet-pin-{label}-{}", std::process::id());
    let dir = std::env::temp_dir().join(&service);
    let w = Wallet::open(Box::new(keystore(&service)), &dir).unwrap();
    (w, service, dir)
}

/// Puts the standard test credentials in the vault, as an enrolment would (the upgraded
/// one carries a date of birth).
fn hold_an_id(service: &str) -> String {
    let v = tessera_vectors::Wallet::standard();
    let dir = std::env::temp_dir().join(service);
    let store = VaultStore::in_data_dir(Box::new(keystore(service)), &dir);
    let mut vault = Vault::load(&store).unwrap().unwrap_or_default();
    vault.device_key = Some(v.device.secret_bytes().to_vec());
    vault.batch = Some(StoredBatch {
        enrolment_id: "e1".into(),
        issued_at: NOW - 10,
        expires_at: NOW + 365 * 86_400,
        lightweight: v.lightweight.to_tagged_bytes(),
        upgraded: v.upgraded.to_tagged_bytes(),
    });
    vault.save(&store).unwrap();
    tessera_wallet::pin_policy::birth_date(&vault).expect("a date of birth")
}

fn pin_error(r: Result<(), WalletError>) -> PinError {
    match r {
        Err(WalletError::Pin(e)) => e,
        other => panic!("expected a PIN refusal, got {other:?}"),
    }
}

#[test]
fn changing_the_pin_needs_the_current_one_and_keeps_the_wait() {
    let (w, service, dir) = wallet("change");
    assert_eq!(
        pin_error(w.set_pin(None, "123456", NOW)),
        PinError::Weak(WeakPin::Sequence)
    );
    w.set_pin(None, "246810", NOW).unwrap();
    // Without the current PIN: refused, the PIN unchanged.
    assert_eq!(
        pin_error(w.set_pin(None, "000000", NOW)),
        PinError::Required
    );
    assert_eq!(
        pin_error(w.set_pin(None, "135790", NOW)),
        PinError::Required
    );
    for left in [2, 1, 0] {
        assert_eq!(
            pin_error(w.set_pin(Some("999990"), "135790", NOW)),
            PinError::Wrong {
                remaining_before_lock: left
            }
        );
    }
    // The failures were saved: another instance (the app restarted) sees the wait, and a
    // change with the right current PIN does not skip it.
    let again = Wallet::open(Box::new(keystore(&service)), &dir).unwrap();
    assert_eq!(
        pin_error(again.set_pin(Some("246810"), "135790", NOW + 1)),
        PinError::LockedOut { seconds: 29 }
    );
    assert_eq!(
        pin_error(
            again
                .unlock_upgraded(Some("246810"), None, NOW + 2)
                .map(|_| ())
        ),
        PinError::LockedOut { seconds: 28 }
    );
    // After the wait the right current PIN changes it.
    again.set_pin(Some("246810"), "135790", NOW + 30).unwrap();
    again.authorise_change(Some("135790"), NOW + 31).unwrap();
    assert!(matches!(
        pin_error(again.authorise_change(Some("246810"), NOW + 32)),
        PinError::Wrong { .. }
    ));
    again.reset(None, NOW).unwrap();
}

#[test]
fn the_birth_date_in_the_credential_is_refused_as_a_pin() {
    let (w, service, _) = wallet("dob");
    let dob = hold_an_id(&service);
    let (yy, mm, dd) = (&dob[2..4], &dob[4..6], &dob[6..8]);
    for p in [
        format!("{yy}{mm}{dd}"),
        format!("{mm}{dd}{yy}"),
        format!("{dd}{mm}{yy}"),
    ] {
        assert_eq!(
            pin_error(w.set_pin(None, &p, NOW)),
            PinError::Weak(WeakPin::BirthDate),
            "{p}"
        );
    }
    assert!(!w.status(NOW).unwrap().pin_set);
    w.set_pin(None, "802417", NOW).unwrap();
    w.reset(Some("802417"), NOW).unwrap();
}

#[test]
fn removing_a_held_id_needs_the_pin() {
    let (w, service, _) = wallet("reset");
    // Nothing enrolled: removing needs nothing, even with a PIN set.
    w.set_pin(None, "246810", NOW).unwrap();
    w.reset(None, NOW).unwrap();
    assert!(!w.status(NOW).unwrap().pin_set);

    // An ID held and no PIN set yet: nothing to check (see `Wallet::reset`).
    hold_an_id(&service);
    w.reset(None, NOW).unwrap();
    assert_eq!(w.status(NOW).unwrap().state, State::NotEnrolled);

    // An ID held and a PIN set: the PIN is needed, wrong ones count.
    hold_an_id(&service);
    w.set_pin(None, "246810", NOW).unwrap();
    assert_eq!(pin_error(w.reset(None, NOW)), PinError::Required);
    assert!(matches!(
        pin_error(w.reset(Some("135790"), NOW)),
        PinError::Wrong {
            remaining_before_lock: 2
        }
    ));
    assert_ne!(w.status(NOW).unwrap().state, State::NotEnrolled);
    w.reset(Some("246810"), NOW).unwrap();
    assert_eq!(w.status(NOW).unwrap().state, State::NotEnrolled);
}

#[test]
fn guarded_changes_need_the_pin_once_one_is_set() {
    let (w, _, _) = wallet("authorise");
    w.authorise_change(None, NOW).unwrap();
    w.set_pin(None, "246810", NOW).unwrap();
    assert_eq!(pin_error(w.authorise_change(None, NOW)), PinError::Required);
    assert!(matches!(
        pin_error(w.authorise_change(Some("000001"), NOW)),
        PinError::Wrong { .. }
    ));
    w.authorise_change(Some("246810"), NOW).unwrap();
    w.reset(None, NOW).unwrap();
}
