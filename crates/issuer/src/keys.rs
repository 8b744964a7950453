//! The issuer's keys in its data directory: the active credential-signing key, the public
//! halves of older ones (kept in the trust list until their credentials expire), the
//! trust-list signing key, and the administrator token. Files are written atomically with
//! owner-only permissions.
//!
//! Layout under `DIR/keys/`: `issuer-<kid>.pem` (PKCS#8, the active key only), `trust-list.pem`,
//! `keys.json` (which issuer keys exist, each one's public key, when each was made and
//! retired), `lock` (held while the keys are open), and `DIR/admin-token`.
//!
//! A retired key signs nothing more (its trust-list entry carries `issued_until`), so its
//! private key has no use left: rotation deletes the file once the new key and `keys.json`
//! are on disk, and a backup of the directory taken later holds no retired private key.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde::{Deserialize, Serialize};
use tessera_credential::keys::{Es256Signer, Kid, SoftwareKey, public_key_from_pem, spki_pem};
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
    /// A running issuer service has the keys open, so they cannot be rotated under it.
    #[error(
        "{path} is held by a running issuer service: stop it, rotate the keys, then start it again (a service left running would keep signing with the retired key, and desks refuse what a retired key signs)"
    )]
    InUse {
        /// The lock file.
        path: PathBuf,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyRecord {
    kid: String,
    /// SPKI PEM. Written by every version that deletes retired private keys; an index
    /// from before lacks it, and [`KeyRing::open`] fills it in from the private file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
    created_at: u64,
    retired_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    compromised_at: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct KeyIndex {
    issuer_keys: Vec<KeyRecord>,
}

/// One issuer key with its life span. Only the public key: the active key's private half
/// is [`KeyRing::active`], and a retired key's private half no longer exists.
#[derive(Debug, Clone)]
pub struct IssuerKey {
    /// `Kid::of(public_key)`.
    pub kid: Kid,
    /// The public key.
    pub public_key: VerifyingKey,
    /// When it was made.
    pub created_at: u64,
    /// When it stopped signing (rotation), if it did: its end of signing (`issued_until`).
    pub retired_at: Option<u64>,
    /// When it was declared compromised: nothing it signed is trusted after that.
    pub compromised_at: Option<u64>,
}

/// All keys of one issuer.
#[derive(Debug)]
pub struct KeyRing {
    /// Oldest first; the last one is active.
    pub issuer_keys: Vec<IssuerKey>,
    /// The private key of the last entry of `issuer_keys`.
    active: SoftwareKey,
    /// Signs the trust list.
    pub trust_list_key: SoftwareKey,
    /// The administrator's bearer token.
    pub admin_token: Zeroizing<String>,
    /// A shared lock on `keys/lock` for as long as the keys are open, so that
    /// `keys rotate` refuses to retire the key a running service signs with.
    _lock: File,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Makes a rename or deletion in `dir` durable (the entry itself is not covered by the
/// file's own fsync). Only Unix can open a directory to sync it.
fn sync_dir(dir: &Path) -> Result<(), KeyFileError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename, fsync of the
/// directory), readable only by the owner on Unix.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyFileError> {
    // A name of its own per process, so two processes opening the same directory at once
    // (both completing an old index) never rename each other's half-written file.
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
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
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
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

/// The key in `path`, which `keys.json` lists as `kid`.
fn load_listed_key(path: &Path, kid: &str) -> Result<SoftwareKey, KeyFileError> {
    let key = load_key(path)?;
    if key.kid().to_hex() != kid {
        return Err(KeyFileError::Corrupt {
            path: path.to_owned(),
            reason: format!("holds key {} instead of {kid}", key.kid()),
        });
    }
    Ok(key)
}

/// Deletes a retired key's private file; one already gone is fine (a rotation that
/// stopped half-way, completed by a later open).
fn remove_private(path: &Path) -> Result<(), KeyFileError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path)(e)),
        _ => Ok(()),
    }
}

/// Opens (creating it) the lock file that running services hold shared and rotation
/// holds exclusively.
fn lock_file(dir: &Path) -> Result<(PathBuf, File), KeyFileError> {
    let path = dir.join("lock");
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path).map_err(io(&path))?;
    Ok((path, file))
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
                    public_key: Some(spki_pem(&key.public_key())),
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
        let corrupt = |reason: &str| KeyFileError::Corrupt {
            path: path.to_owned(),
            reason: reason.into(),
        };
        match index.issuer_keys.split_last() {
            None => return Err(corrupt("no issuer keys listed")),
            Some((active, _)) if active.retired_at.is_some() => {
                return Err(corrupt("the last issuer key, the active one, is retired"));
            }
            Some((_, older)) if older.iter().any(|r| r.retired_at.is_none()) => {
                return Err(corrupt("an issuer key before the last one is not retired"));
            }
            Some(_) => {}
        }
        Ok(index)
    }

    /// Records every retired key's public key in the index (an index written before they
    /// were recorded lacks them; they are read from the private files, still there then).
    /// Returns whether the index changed.
    fn record_public_keys(data_dir: &Path, index: &mut KeyIndex) -> Result<bool, KeyFileError> {
        let mut changed = false;
        for r in &mut index.issuer_keys {
            if r.public_key.is_none() {
                let key = load_listed_key(&Self::issuer_path(data_dir, &r.kid), &r.kid)?;
                r.public_key = Some(spki_pem(&key.public_key()));
                changed = true;
            }
        }
        Ok(changed)
    }

    /// Deletes the private files of the retired keys. Only after the index holding their
    /// public keys is durably written: until then the file is the only copy of the key.
    fn remove_retired_private_keys(data_dir: &Path, index: &KeyIndex) -> Result<(), KeyFileError> {
        let mut removed = false;
        for r in index.issuer_keys.iter().filter(|r| r.retired_at.is_some()) {
            let path = Self::issuer_path(data_dir, &r.kid);
            if path.exists() {
                remove_private(&path)?;
                removed = true;
            }
        }
        if removed {
            sync_dir(&Self::dir(data_dir))?;
        }
        Ok(())
    }

    /// Opens existing keys. The active key is loaded with its private half; retired keys
    /// as public keys only (from `keys.json`).
    ///
    /// A retired key's private file that is still there (a data directory from before
    /// they were deleted, or a rotation interrupted between writing `keys.json` and
    /// deleting the file) is deleted here, after its public key is recorded, rather than
    /// refused: refusing would turn a crash during rotation into an outage that needs
    /// someone to delete key files by hand, while the file has no use left (the key
    /// signs nothing more, and verifiers refuse what it signs after `issued_until`).
    pub fn open(data_dir: &Path) -> Result<KeyRing, KeyFileError> {
        let dir = Self::dir(data_dir);
        let (lock_path, lock) = lock_file(&dir)?;
        // Waits only while a rotation runs; a service holds it shared, as we do.
        lock.lock_shared().map_err(io(&lock_path))?;
        let index_path = dir.join("keys.json");
        let mut index = Self::load_index(&index_path)?;
        if Self::record_public_keys(data_dir, &mut index)? {
            Self::save_index(&index_path, &index)?;
        }
        Self::remove_retired_private_keys(data_dir, &index)?;
        let mut issuer_keys = Vec::with_capacity(index.issuer_keys.len());
        for r in &index.issuer_keys {
            let pem = r.public_key.as_deref().unwrap_or_default();
            let public_key = public_key_from_pem(pem).map_err(|e| KeyFileError::Corrupt {
                path: index_path.clone(),
                reason: format!("key {}: {e}", r.kid),
            })?;
            if Kid::of(&public_key).to_hex() != r.kid {
                return Err(KeyFileError::Corrupt {
                    path: index_path,
                    reason: format!("the public key listed for {} is another key", r.kid),
                });
            }
            issuer_keys.push(IssuerKey {
                kid: Kid::of(&public_key),
                public_key,
                created_at: r.created_at,
                retired_at: r.retired_at,
                compromised_at: r.compromised_at,
            });
        }
        // `load_index` refuses an empty index.
        let active_kid = &index.issuer_keys[index.issuer_keys.len() - 1].kid;
        let active = load_listed_key(&Self::issuer_path(data_dir, active_kid), active_kid)?;
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
            active,
            trust_list_key: load_key(&dir.join("trust-list.pem"))?,
            admin_token,
            _lock: lock,
        })
    }

    /// Makes a new active issuer key; the previous one is retired: it signs nothing more
    /// (`issued_until` = now in the trust list), stays trusted for what it signed until
    /// those credentials have expired, and its private key file is deleted. Returns the
    /// new key's id. Refused while a service has the keys open ([`KeyFileError::InUse`]).
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
        let dir = Self::dir(data_dir);
        let (lock_path, lock) = lock_file(&dir)?;
        // A running service keeps signing with the key it loaded, which would then be
        // after that key's end of signing: refuse instead of making it sign refused
        // credentials until it restarts.
        if let Err(e) = lock.try_lock() {
            return Err(match e {
                std::fs::TryLockError::WouldBlock => KeyFileError::InUse { path: lock_path },
                std::fs::TryLockError::Error(e) => io(&lock_path)(e),
            });
        }
        let index_path = dir.join("keys.json");
        let mut index = Self::load_index(&index_path)?;
        Self::record_public_keys(data_dir, &mut index)?;
        // 1. The new key, durably on disk before anything refers to it.
        let key = SoftwareKey::generate(&mut OsRandomness);
        let kid = key.kid();
        save_key(&Self::issuer_path(data_dir, &kid.to_hex()), &key)?;
        // 2. The index: the older keys retired (their public keys in it), the new one active.
        for r in &mut index.issuer_keys {
            r.retired_at.get_or_insert(now);
            if compromised {
                r.compromised_at.get_or_insert(now);
            }
        }
        index.issuer_keys.push(KeyRecord {
            kid: kid.to_hex(),
            public_key: Some(spki_pem(&key.public_key())),
            created_at: now,
            retired_at: None,
            compromised_at: None,
        });
        Self::save_index(&index_path, &index)?;
        // 3. Only now the retired private keys go: a crash before this leaves files that
        //    the next open deletes.
        Self::remove_retired_private_keys(data_dir, &index)?;
        Ok(kid)
    }

    /// The key that signs new credentials and status lists.
    pub fn active(&self) -> &SoftwareKey {
        &self.active
    }

    /// When the active key was made (its `valid_from` in the trust list).
    pub fn active_since(&self) -> u64 {
        self.issuer_keys.last().map_or(0, |k| k.created_at)
    }

    /// The trust list: every issuer key whose credentials may still be valid at `now`.
    /// A retired key ends signing at its retirement (`issued_until`) and trust when the
    /// last credential it signed has expired, or at once if compromised (`valid_until`).
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
                    kid: k.kid,
                    name: config.issuer_name.clone(),
                    public_key: k.public_key,
                    valid_from: k.created_at,
                    issued_until: k.retired_at,
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
        // It signs nothing more from the rotation on: its end of signing is then.
        assert_eq!(list.get(&old).unwrap().issued_until, Some(5000));
        assert_eq!(list.get(&new).unwrap().valid_until, None);
        assert_eq!(list.get(&new).unwrap().issued_until, None);
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
        // Each stopped signing when it was retired: the first at its ordinary rotation.
        assert_eq!(list.get(&first).unwrap().issued_until, Some(2000));
        assert_eq!(list.get(&second).unwrap().issued_until, Some(5000));
        // Afterwards only the new key is trusted, and the list's number went up.
        let after = ring.trust_list(&config, 5001);
        assert_eq!(after.issuers.len(), 1);
        assert!(after.get(&third).is_some());
        assert!(
            after.sequence > before,
            "a desk refuses the list from before"
        );
        // A later ordinary rotation keeps the compromise on record.
        drop(ring);
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
