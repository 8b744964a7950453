//! The issuer's keys in its data directory: the credential-signing keys (one active, older
//! ones kept until their credentials expire), the trust-list signing key, and the
//! administrator token. Files are written atomically with owner-only permissions.
//!
//! Layout under `DIR/keys/`: `issuer-<kid>.pem` (PKCS#8), `trust-list.pem`, `keys.json`
//! (which issuer keys exist, when each was made and retired), and `DIR/admin-token`.

use std::io::Write;
use std::path::{Path, PathBuf};

use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde::{Deserialize, Serialize};
use tessera_credential::keys::{Es256Signer, Kid, SoftwareKey};
use tessera_credential::trust_list::{TrustList, TrustedIssuer};
use zeroize::Zeroizing;

use crate::config::{Config, OsRandomness, random_bytes};

/// Why the key files cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Which file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file is there but not what it should be.
    #[error("{path}: {reason}")]
    Corrupt {
        /// Which file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyRecord {
    kid: String,
    created_at: u64,
    retired_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    compromised_at: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct KeyIndex {
    issuer_keys: Vec<KeyRecord>,
}

/// One issuer key with its life span.
#[derive(Debug)]
pub struct IssuerKey {
    /// The key.
    pub key: SoftwareKey,
    /// When it was made.
    pub created_at: u64,
    /// When it stopped signing (rotation), if it did.
    pub retired_at: Option<u64>,
    /// When it was declared compromised: nothing it signed is trusted after that.
    pub compromised_at: Option<u64>,
}

/// All keys of one issuer.
#[derive(Debug)]
pub struct KeyRing {
    /// Oldest first; the last one is active.
    pub issuer_keys: Vec<IssuerKey>,
    /// Signs the trust list.
    pub trust_list_key: SoftwareKey,
    /// The administrator's bearer token.
    pub admin_token: Zeroizing<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename), readable only by
/// the owner on Unix.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyFileError> {
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    Ok(())
}

fn save_key(path: &Path, key: &SoftwareKey) -> Result<(), KeyFileError> {
    let secret = key.secret_bytes();
    let signing = SigningKey::from_slice(&secret).map_err(|e| KeyFileError::Corrupt {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let pem = signing
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyFileError::Corrupt {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    write_private(path, pem.as_bytes())
}

fn load_key(path: &Path) -> Result<SoftwareKey, KeyFileError> {
    let pem = Zeroizing::new(std::fs::read_to_string(path).map_err(io(path))?);
    let corrupt = |reason: String| KeyFileError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let signing = SigningKey::from_pkcs8_pem(&pem).map_err(|e| corrupt(e.to_string()))?;
    let secret = Zeroizing::new(signing.to_bytes().to_vec());
    SoftwareKey::from_secret_bytes(&secret).map_err(|e| corrupt(e.to_string()))
}

impl KeyRing {
    fn dir(data_dir: &Path) -> PathBuf {
        data_dir.join("keys")
    }

    fn issuer_path(data_dir: &Path, kid: &str) -> PathBuf {
        Self::dir(data_dir).join(format!("issuer-{kid}.pem"))
    }

    /// Opens the keys in `data_dir`, making them on first start.
    pub fn open_or_create(data_dir: &Path, now: u64) -> Result<KeyRing, KeyFileError> {
        let dir = Self::dir(data_dir);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io(&dir))?;
        }
        let trust_path = dir.join("trust-list.pem");
        if !trust_path.exists() {
            save_key(&trust_path, &SoftwareKey::generate(&mut OsRandomness))?;
        }
        let token_path = data_dir.join("admin-token");
        if !token_path.exists() {
            let token = hex::encode(random_bytes::<32>());
            write_private(&token_path, format!("{token}\n").as_bytes())?;
        }
        let index_path = dir.join("keys.json");
        if !index_path.exists() {
            let key = SoftwareKey::generate(&mut OsRandomness);
            let kid = key.kid().to_hex();
            save_key(&Self::issuer_path(data_dir, &kid), &key)?;
            let index = KeyIndex {
                issuer_keys: vec![KeyRecord {
                    kid,
                    created_at: now,
                    retired_at: None,
                    compromised_at: None,
                }],
            };
            Self::save_index(&index_path, &index)?;
        }
        Self::open(data_dir)
    }

    fn save_index(path: &Path, index: &KeyIndex) -> Result<(), KeyFileError> {
        let json = serde_json::to_vec_pretty(index).map_err(|e| KeyFileError::Corrupt {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        write_private(path, &json)
    }

    fn load_index(path: &Path) -> Result<KeyIndex, KeyFileError> {
        let bytes = std::fs::read(path).map_err(io(path))?;
        let index: KeyIndex =
            serde_json::from_slice(&bytes).map_err(|e| KeyFileError::Corrupt {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        if index.issuer_keys.is_empty() {
            return Err(KeyFileError::Corrupt {
                path: path.to_owned(),
                reason: "no issuer keys listed".into(),
            });
        }
        Ok(index)
    }

    /// Opens existing keys.
    pub fn open(data_dir: &Path) -> Result<KeyRing, KeyFileError> {
        let dir = Self::dir(data_dir);
        let index_path = dir.join("keys.json");
        let index = Self::load_index(&index_path)?;
        let mut issuer_keys = Vec::new();
        for r in &index.issuer_keys {
            let path = Self::issuer_path(data_dir, &r.kid);
            let key = load_key(&path)?;
            if key.kid().to_hex() != r.kid {
                return Err(KeyFileError::Corrupt {
                    path,
                    reason: format!("holds key {} instead of {}", key.kid(), r.kid),
                });
            }
            issuer_keys.push(IssuerKey {
                key,
                created_at: r.created_at,
                retired_at: r.retired_at,
                compromised_at: r.compromised_at,
            });
        }
        let token_path = data_dir.join("admin-token");
        let admin_token = Zeroizing::new(
            std::fs::read_to_string(&token_path)
                .map_err(io(&token_path))?
                .trim()
                .to_owned(),
        );
        if admin_token.len() < 32 {
            return Err(KeyFileError::Corrupt {
                path: token_path,
                reason: "the token is shorter than 32 characters".into(),
            });
        }
        Ok(KeyRing {
            issuer_keys,
            trust_list_key: load_key(&dir.join("trust-list.pem"))?,
            admin_token,
        })
    }

    /// Makes a new active issuer key; the previous one is retired (it stays in the trust
    /// list until the credentials it signed have expired). Returns the new key's id.
    pub fn rotate(data_dir: &Path, now: u64) -> Result<Kid, KeyFileError> {
        Self::rotate_with(data_dir, now, false)
    }

    /// Like [`KeyRing::rotate`], for a leaked key: every older key is declared compromised
    /// now, so verifiers refuse what they signed as soon as they fetch the new trust list
    /// (its number grows, so an older list cannot be served again). Holders enrol again.
    pub fn rotate_compromised(data_dir: &Path, now: u64) -> Result<Kid, KeyFileError> {
        Self::rotate_with(data_dir, now, true)
    }

    fn rotate_with(data_dir: &Path, now: u64, compromised: bool) -> Result<Kid, KeyFileError> {
        let index_path = Self::dir(data_dir).join("keys.json");
        let mut index = Self::load_index(&index_path)?;
        let key = SoftwareKey::generate(&mut OsRandomness);
        let kid = key.kid();
        save_key(&Self::issuer_path(data_dir, &kid.to_hex()), &key)?;
        for r in &mut index.issuer_keys {
            r.retired_at.get_or_insert(now);
            if compromised {
                r.compromised_at.get_or_insert(now);
            }
        }
        index.issuer_keys.push(KeyRecord {
            kid: kid.to_hex(),
            created_at: now,
            retired_at: None,
            compromised_at: None,
        });
        Self::save_index(&index_path, &index)?;
        Ok(kid)
    }

    /// The key that signs new credentials and status lists.
    pub fn active(&self) -> &SoftwareKey {
        // `open` refuses an empty index.
        &self.issuer_keys[self.issuer_keys.len() - 1].key
    }

    /// The trust list: every issuer key whose credentials may still be valid at `now`.
    pub fn trust_list(&self, config: &Config, now: u64) -> TrustList {
        let validity = config.credential_validity.as_secs();
        let issuers = self
            .issuer_keys
            .iter()
            .filter_map(|k| {
                let valid_until = k
                    .compromised_at
                    .or_else(|| k.retired_at.map(|r| r + validity));
                if valid_until.is_some_and(|u| u < now) {
                    return None;
                }
                Some(TrustedIssuer {
                    kid: k.key.kid(),
                    name: config.issuer_name.clone(),
                    public_key: k.key.public_key(),
                    valid_from: k.created_at,
                    valid_until,
                    status_base: Some(config.status_base()),
                })
            })
            .collect();
        TrustList {
            issued_at: now,
            // Grows with every rotation, so a verifier can refuse an older list.
            sequence: self.issuer_keys.len() as u64,
            issuers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tessera-keys-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn first_start_creates_private_files_and_reopens_the_same_keys() {
        let dir = tmp("create");
        let a = KeyRing::open_or_create(&dir, 1000).unwrap();
        let b = KeyRing::open_or_create(&dir, 2000).unwrap();
        assert_eq!(a.active().kid(), b.active().kid());
        assert_eq!(a.trust_list_key.kid(), b.trust_list_key.kid());
        assert_eq!(*a.admin_token, *b.admin_token);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in std::fs::read_dir(dir.join("keys")).unwrap().flatten() {
                let mode = f.metadata().unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{:?}", f.path());
            }
            let mode = std::fs::metadata(dir.join("admin-token"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rotation_keeps_the_old_key_until_its_credentials_expire() {
        let dir = tmp("rotate");
        let config = Config::default();
        let old = KeyRing::open_or_create(&dir, 1000).unwrap().active().kid();
        let new = KeyRing::rotate(&dir, 5000).unwrap();
        let ring = KeyRing::open(&dir).unwrap();
        assert_eq!(ring.active().kid(), new);
        let validity = config.credential_validity.as_secs();
        let list = ring.trust_list(&config, 6000);
        assert_eq!(list.issuers.len(), 2);
        assert_eq!(list.get(&old).unwrap().valid_until, Some(5000 + validity));
        assert_eq!(list.get(&new).unwrap().valid_until, None);
        let later = ring.trust_list(&config, 5001 + validity);
        assert!(later.get(&old).is_none());
        assert!(later.sequence > 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_compromised_rotation_ends_the_old_keys_at_once() {
        let dir = tmp("compromised");
        let config = Config::default();
        let first = KeyRing::open_or_create(&dir, 1000).unwrap().active().kid();
        let second = KeyRing::rotate(&dir, 2000).unwrap();
        let before = KeyRing::open(&dir)
            .unwrap()
            .trust_list(&config, 2000)
            .sequence;
        let third = KeyRing::rotate_compromised(&dir, 5000).unwrap();
        let ring = KeyRing::open(&dir).unwrap();
        assert_eq!(ring.active().kid(), third);
        // Until the moment of the compromise both old keys are still listed, ending then.
        let list = ring.trust_list(&config, 5000);
        assert_eq!(list.get(&first).unwrap().valid_until, Some(5000));
        assert_eq!(list.get(&second).unwrap().valid_until, Some(5000));
        // Afterwards only the new key is trusted, and the list's number went up.
        let after = ring.trust_list(&config, 5001);
        assert_eq!(after.issuers.len(), 1);
        assert!(after.get(&third).is_some());
        assert!(
            after.sequence > before,
            "a desk refuses the list from before"
        );
        // A later ordinary rotation keeps the compromise on record.
        KeyRing::rotate(&dir, 6000).unwrap();
        let ring = KeyRing::open(&dir).unwrap();
        assert_eq!(
            ring.trust_list(&config, 6000)
                .get(&third)
                .unwrap()
                .valid_until,
            Some(6000 + config.credential_validity.as_secs())
        );
        assert!(ring.trust_list(&config, 6000).get(&first).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_damaged_key_file_is_a_clear_error() {
        let dir = tmp("damaged");
        KeyRing::open_or_create(&dir, 1).unwrap();
        std::fs::write(dir.join("keys/trust-list.pem"), "not a key").unwrap();
        let err = KeyRing::open(&dir).unwrap_err().to_string();
        assert!(err.contains("trust-list.pem"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
