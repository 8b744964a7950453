//! Secrets in the OS keystore, through the `keyring` 4.x family (`keyring-core` with an
//! explicit store per platform). There is no in-memory fallback: if the keystore cannot be
//! reached the wallet says so and stops.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error as KeyringError};
use zeroize::Zeroizing;

/// Why the keystore could not be used. None of these destroys data.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// No keystore service to talk to (on Linux: no D-Bus session or no Secret Service).
    #[error(
        "the OS keystore ({store}) cannot be reached: {detail}. On Linux, start a desktop session or run gnome-keyring (Secret Service) on the session D-Bus"
    )]
    Unavailable {
        /// Which keystore.
        store: &'static str,
        /// The platform's words.
        detail: String,
    },
    /// The keystore is there but locked.
    #[error(
        "the OS keystore ({store}) is locked: unlock it (e.g. log in to the desktop) and try again"
    )]
    Locked {
        /// Which keystore.
        store: &'static str,
    },
    /// An entry holds something this wallet cannot read; it was left as it is.
    #[error("the keystore entry {name:?} is damaged ({detail}); it was not changed")]
    Corrupt {
        /// Which entry.
        name: String,
        /// What is wrong.
        detail: String,
    },
    /// This platform has no keystore support in this build.
    #[error("this platform has no OS keystore support in this build")]
    Unsupported,
}

/// Where the wallet keeps its secrets. A trait so that hardware-backed stores and the other
/// platforms' keystores slot in; the wallet never falls back to memory.
pub trait SecretStore: Send + Sync + std::fmt::Debug {
    /// The store's name for messages (e.g. "Secret Service").
    fn name(&self) -> &'static str;
    /// Reads an entry (`None` if there is none).
    fn get(&self, entry: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeystoreError>;
    /// Writes an entry, replacing it atomically.
    fn put(&self, entry: &str, secret: &[u8]) -> Result<(), KeystoreError>;
    /// Deletes an entry (no error if there is none).
    fn delete(&self, entry: &str) -> Result<(), KeystoreError>;
}

/// The platform keystore through `keyring-core`.
pub struct OsKeystore {
    store: Arc<CredentialStore>,
    service: String,
    name: &'static str,
}

impl std::fmt::Debug for OsKeystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OsKeystore({}, {})", self.name, self.service)
    }
}

impl OsKeystore {
    /// Opens this platform's keystore; entries are grouped under `service` (e.g.
    /// "tessera-wallet", or a per-test name).
    pub fn open(service: &str) -> Result<OsKeystore, KeystoreError> {
        let (store, name) = platform_store()?;
        let keystore = OsKeystore {
            store,
            service: service.to_owned(),
            name,
        };
        // Touch the service now, so "no keystore" shows up at open, not at first use.
        keystore.get("probe")?;
        Ok(keystore)
    }

    fn entry(&self, name: &str) -> Result<Entry, KeystoreError> {
        Entry::new_in_store(&self.store, &self.service, name).map_err(|e| map_error(self.name, e))
    }
}

/// This platform's store, chosen explicitly (never keyring's default or a mock).
fn platform_store() -> Result<(Arc<CredentialStore>, &'static str), KeystoreError> {
    #[cfg(target_os = "linux")]
    {
        let name = "Secret Service";
        let store =
            zbus_secret_service_keyring_store::Store::new().map_err(|e| map_error(name, e))?;
        Ok((store, name))
    }
    #[cfg(target_os = "macos")]
    {
        let name = "macOS Keychain";
        let store =
            apple_native_keyring_store::keychain::Store::new().map_err(|e| map_error(name, e))?;
        Ok((store, name))
    }
    #[cfg(target_os = "ios")]
    {
        // The data-protection keychain: items never leave the device, not even in backups.
        let name = "iOS Keychain";
        let store =
            apple_native_keyring_store::protected::Store::new().map_err(|e| map_error(name, e))?;
        Ok((store, name))
    }
    #[cfg(target_os = "windows")]
    {
        let name = "Windows Credential Manager";
        let store =
            windows_native_keyring_store::store::Store::new().map_err(|e| map_error(name, e))?;
        Ok((store, name))
    }
    #[cfg(target_os = "android")]
    {
        let name = "Android Keystore";
        let store =
            android_native_keyring_store::by_store::Store::new().map_err(|e| map_error(name, e))?;
        Ok((store, name))
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "macos",
        target_os = "ios",
        target_os = "windows",
        target_os = "android"
    )))]
    {
        Err(KeystoreError::Unsupported)
    }
}

fn map_error(store: &'static str, e: KeyringError) -> KeystoreError {
    match e {
        KeyringError::NoStorageAccess(_) => KeystoreError::Locked { store },
        KeyringError::PlatformFailure(detail) => KeystoreError::Unavailable {
            store,
            detail: detail.to_string(),
        },
        KeyringError::NoDefaultStore | KeyringError::NotSupportedByStore(_) => {
            KeystoreError::Unsupported
        }
        other => KeystoreError::Unavailable {
            store,
            detail: other.to_string(),
        },
    }
}

impl SecretStore for OsKeystore {
    fn name(&self) -> &'static str {
        self.name
    }

    fn get(&self, entry: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeystoreError> {
        match self.entry(entry)?.get_secret() {
            Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(KeyringError::Ambiguous(_)) => Err(KeystoreError::Corrupt {
                name: entry.to_owned(),
                detail: "several keystore items have this name".into(),
            }),
            Err(e) => Err(map_error(self.name, e)),
        }
    }

    fn put(&self, entry: &str, secret: &[u8]) -> Result<(), KeystoreError> {
        self.entry(entry)?
            .set_secret(secret)
            .map_err(|e| map_error(self.name, e))
    }

    fn delete(&self, entry: &str) -> Result<(), KeystoreError> {
        match self.entry(entry)?.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(map_error(self.name, e)),
        }
    }
}
