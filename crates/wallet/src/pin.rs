//! The PIN: an Argon2id verifier with a per-install salt, and back-off after wrong tries.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use argon2::{Algorithm, Argon2, Params, Version};

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

/// Sets (or replaces) the PIN.
pub fn set_pin(vault: &mut Vault, pin: &str, salt_bytes: &[u8; 16]) -> Result<(), PinError> {
    check_format(pin)?;
    let hash: PasswordHash = argon2()
        .hash_password_with_salt(pin.as_bytes(), salt_bytes)
        .map_err(|_| PinError::Damaged)?;
    vault.pin_verifier = Some(hash.to_string());
    vault.pin_failures = 0;
    vault.pin_locked_until = 0;
    Ok(())
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
}
