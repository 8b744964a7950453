//! The PIN: an Argon2id verifier with a per-install salt, and back-off after wrong tries;
//! and the rules for what needs it. Once a PIN is set, changing it needs the current one and
//! so do the other changes an attacker would make to get around it ([`authorise`]): each
//! check goes through the same back-off as the upgraded unlock, and nothing resets it but a
//! right PIN.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::pin_policy::{self, WeakPin};
use crate::vault::Vault;

/// Why a PIN was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// Not 6 digits.
    #[error("the PIN is 6 digits")]
    Format,
    /// Wrong PIN; `remaining_before_lock` more tries before a wait.
    #[error("wrong PIN")]
    Wrong {
        /// Tries left before the next wait.
        remaining_before_lock: u32,
    },
    /// Too many wrong tries: wait.
    #[error("too many wrong PINs: try again in {seconds} s")]
    LockedOut {
        /// Seconds to wait.
        seconds: u64,
    },
    /// No PIN was set.
    #[error("no PIN is set")]
    NotSet,
    /// A PIN is set and this change needs it (for a PIN change: the current PIN).
    #[error("enter the current PIN to do this")]
    Required,
    /// The new PIN is too easy to guess.
    #[error(transparent)]
    Weak(#[from] WeakPin),
    /// The verifier in the keystore cannot be read.
    #[error("the stored PIN verifier is damaged")]
    Damaged,
}

/// Free tries before the first wait.
pub const FREE_TRIES: u32 = 3;

fn argon2() -> Argon2<'static> {
    // OWASP's Argon2id minimum (19 MiB, 2 passes): a PIN has only 10^6 values, so the
    // verifier's strength is the keystore's protection plus the back-off, not the hash.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn check_format(pin: &str) -> Result<(), PinError> {
    if pin.len() == 6 && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(PinError::Format)
    }
}

/// Checks only that `pin` is 6 digits (no try is spent on a PIN that cannot be right).
pub fn check_new_pin_format(pin: &str) -> Result<(), PinError> {
    check_format(pin)
}

/// Writes the verifier of `pin` (checked for format only: callers outside tests use
/// [`change_pin`]). The failure count and the wait stay as they are: only a right PIN in
/// [`verify_pin`] clears them, so a change can never be used to skip a wait.
pub fn set_pin(vault: &mut Vault, pin: &str, salt_bytes: &[u8; 16]) -> Result<(), PinError> {
    check_format(pin)?;
    let hash: PasswordHash = argon2()
        .hash_password_with_salt(pin.as_bytes(), salt_bytes)
        .map_err(|_| PinError::Damaged)?;
    vault.pin_verifier = Some(hash.to_string());
    Ok(())
}

/// Checks that a change guarded by the PIN may go ahead at `now`: with no PIN set there is
/// nothing to check; otherwise `pin` is required and verified with [`verify_pin`] (a wrong
/// one counts as a failure, a wait refuses). The caller saves `vault` before answering,
/// whatever the result, so that failures are never lost.
pub fn authorise(vault: &mut Vault, pin: Option<&str>, now: u64) -> Result<(), PinError> {
    if vault.pin_verifier.is_none() {
        return Ok(());
    }
    verify_pin(vault, pin.ok_or(PinError::Required)?, now)
}

/// Sets the first PIN, or changes it given the `current` one (checked as [`authorise`]
/// does). The new PIN must be 6 digits and not weak ([`pin_policy::check`], with the birth
/// date from the credential in `vault`). The strength check comes after the current PIN:
/// it says whether a guess is the holder's birth date, which only the holder may learn.
/// The caller saves `vault` before answering, whatever the result.
pub fn change_pin(
    vault: &mut Vault,
    current: Option<&str>,
    new_pin: &str,
    salt_bytes: &[u8; 16],
    now: u64,
) -> Result<(), PinError> {
    authorise(vault, current, now)?;
    check_new_pin(new_pin, pin_policy::birth_date(vault).as_deref())?;
    set_pin(vault, new_pin, salt_bytes)
}

/// Whether `pin` may become the PIN: 6 digits and not weak ([`pin_policy::check`]; the
/// birth date, `YYYYMMDD`, when known). Front ends may call it early to save a round trip;
/// [`change_pin`] always does.
pub fn check_new_pin(pin: &str, birth_date: Option<&str>) -> Result<(), PinError> {
    check_format(pin)?;
    Ok(pin_policy::check(pin, birth_date)?)
}

/// The wait after `failures` wrong tries: none for the first 3, then 30 s doubling, capped
/// at one day.
pub fn backoff(failures: u32) -> u64 {
    if failures < FREE_TRIES {
        0
    } else {
        (30u64 << (failures - FREE_TRIES).min(12)).min(86_400)
    }
}

/// Checks a PIN at `now`, updating the failure count in `vault` (the caller saves it).
pub fn verify_pin(vault: &mut Vault, pin: &str, now: u64) -> Result<(), PinError> {
    if now < vault.pin_locked_until {
        return Err(PinError::LockedOut {
            seconds: vault.pin_locked_until - now,
        });
    }
    let stored = vault.pin_verifier.as_deref().ok_or(PinError::NotSet)?;
    let hash = PasswordHash::new(stored).map_err(|_| PinError::Damaged)?;
    if check_format(pin).is_ok() && argon2().verify_password(pin.as_bytes(), &hash).is_ok() {
        vault.pin_failures = 0;
        vault.pin_locked_until = 0;
        return Ok(());
    }
    vault.pin_failures += 1;
    vault.pin_locked_until = now + backoff(vault.pin_failures);
    Err(PinError::Wrong {
        remaining_before_lock: FREE_TRIES.saturating_sub(vault.pin_failures),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_pin_passes_wrong_pins_back_off() {
        let mut v = Vault::default();
        assert_eq!(set_pin(&mut v, "12a456", &[1; 16]), Err(PinError::Format));
        set_pin(&mut v, "246810", &[1; 16]).unwrap();
        assert!(v.pin_verifier.as_deref().unwrap().starts_with("$argon2id$"));
        assert!(!v.pin_verifier.as_deref().unwrap().contains("246810"));
        verify_pin(&mut v, "246810", 100).unwrap();
        for i in 1..=3 {
            assert!(
                matches!(
                    verify_pin(&mut v, "000000", 100),
                    Err(PinError::Wrong { .. })
                ),
                "try {i}"
            );
        }
        // Locked now, even for the right PIN.
        assert_eq!(
            verify_pin(&mut v, "246810", 110),
            Err(PinError::LockedOut { seconds: 20 })
        );
        verify_pin(&mut v, "246810", 130).unwrap();
        assert_eq!(v.pin_failures, 0);
        assert_eq!(backoff(4), 60);
        assert_eq!(backoff(40), 86_400);
    }

    #[test]
    fn changing_the_pin_needs_the_current_one_and_keeps_the_back_off() {
        let mut v = Vault::default();
        // The first PIN needs no current one; a weak one is refused.
        assert_eq!(
            change_pin(&mut v, None, "123456", &[1; 16], 100),
            Err(PinError::Weak(WeakPin::Sequence))
        );
        assert_eq!(v.pin_verifier, None);
        change_pin(&mut v, None, "246810", &[1; 16], 100).unwrap();
        let first = v.pin_verifier.clone();
        // Without the current PIN, or with a wrong one, nothing changes; wrong ones count.
        assert_eq!(
            change_pin(&mut v, None, "135790", &[2; 16], 100),
            Err(PinError::Required)
        );
        assert_eq!(v.pin_failures, 0);
        for left in [2, 1, 0] {
            assert_eq!(
                change_pin(&mut v, Some("000001"), "135790", &[2; 16], 100),
                Err(PinError::Wrong {
                    remaining_before_lock: left
                })
            );
        }
        assert_eq!(v.pin_verifier, first);
        // Locked out: even the right current PIN waits, and the wait is not reset.
        assert_eq!(
            change_pin(&mut v, Some("246810"), "135790", &[2; 16], 110),
            Err(PinError::LockedOut { seconds: 20 })
        );
        assert_eq!((v.pin_failures, v.pin_locked_until), (3, 130));
        assert_eq!(v.pin_verifier, first);
        // After the wait: a weak new PIN is refused (the current one was right) ...
        assert_eq!(
            change_pin(&mut v, Some("246810"), "111111", &[2; 16], 130),
            Err(PinError::Weak(WeakPin::SameDigit))
        );
        assert_eq!(v.pin_verifier, first);
        // ... and a good one is taken.
        change_pin(&mut v, Some("246810"), "135790", &[2; 16], 131).unwrap();
        verify_pin(&mut v, "135790", 132).unwrap();
        assert!(verify_pin(&mut v, "246810", 133).is_err());
    }

    #[test]
    fn writing_a_verifier_never_clears_the_wait() {
        let mut v = Vault::default();
        set_pin(&mut v, "246810", &[1; 16]).unwrap();
        for _ in 0..3 {
            let _ = verify_pin(&mut v, "000001", 100);
        }
        assert_eq!((v.pin_failures, v.pin_locked_until), (3, 130));
        set_pin(&mut v, "135790", &[2; 16]).unwrap();
        assert_eq!((v.pin_failures, v.pin_locked_until), (3, 130));
        assert_eq!(
            verify_pin(&mut v, "135790", 100),
            Err(PinError::LockedOut { seconds: 30 })
        );
    }

    #[test]
    fn guarded_changes_need_the_pin_once_one_is_set() {
        let mut v = Vault::default();
        authorise(&mut v, None, 100).unwrap();
        set_pin(&mut v, "246810", &[1; 16]).unwrap();
        assert_eq!(authorise(&mut v, None, 100), Err(PinError::Required));
        assert!(matches!(
            authorise(&mut v, Some("000001"), 100),
            Err(PinError::Wrong { .. })
        ));
        assert_eq!(v.pin_failures, 1);
        authorise(&mut v, Some("246810"), 100).unwrap();
        assert_eq!(v.pin_failures, 0);
    }
}
