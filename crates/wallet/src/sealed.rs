//! The vault sealed in a file under a key kept in the OS keystore, so that the wallet's
//! secrets can outgrow one keystore entry (Windows Credential Manager holds 2,560 bytes;
//! ~21 credentials and ~21 device keys take ~12 kB) while every secret stays protected by
//! the keystore, a crash at any moment leaves the old state or the new one, and nobody with
//! access to the files alone can bring back an older state.
//!
//! # Layout
//!
//! * The keystore entry (e.g. `wallet-vault`) holds a small **head**, ~140 bytes of JSON:
//!   `{"sealed":2,"key":"<base64url, 32-byte data key>","file":"<hex SHA-256 of the file>"}`.
//! * The directory holds the **sealed file** `vault-<hex SHA-256 of the file>.sealed`:
//!   the format tag [`FILE_TAG`], a random 24-byte nonce, then the XChaCha20-Poly1305
//!   ciphertext and tag of the plaintext. The associated data is the format tag followed by
//!   the entry name, so a file sealed for another entry (or another format) never opens.
//!
//! # Why this is safe
//!
//! **Confidentiality.** The file is useless without the data key, and the data key only
//! lives in the keystore entry, which has the keystore's protection (the user's login, the
//! Secret Service's or Keychain's access control). The key and every plaintext buffer are
//! [`Zeroizing`]; files are created `0600` and a directory this module creates `0700` (on
//! Unix), although their content is ciphertext anyway.
//!
//! **Crash safety: one commit point.** [`SealedStore::save`] draws a fresh data key and
//! nonce, writes the new file under a temporary name, `fsync`s it, renames it to its
//! content-addressed name and `fsync`s the directory, so the file is durable *before*
//! anything points at it. Only then it replaces the head in the keystore: that single
//! keystore write (atomic in every platform keystore; on the Secret Service an existing
//! item's secret is set in one call) is the commit point. After it, the other
//! `vault-*.sealed` files and stale temporary files are deleted. A crash (or a failed
//! keystore write) before the commit leaves the old head naming the old file, which is
//! still there: the old state. A crash after it leaves the new head naming the new file,
//! already durable: the new state, plus an old file that the next save deletes. There is no
//! moment at which the head names a file that is not fully on disk.
//!
//! A failed keystore write is *not* followed by deleting the new file: the write may have
//! reached the keystore even though the reply did not (a D-Bus timeout), and then that file
//! is the vault. Orphans are removed only by the next *successful* save, after its own
//! commit, and never by [`SealedStore::load`].
//!
//! **Rollback resistance.** The head names the one file it belongs to by its SHA-256, and
//! every save uses a new data key. Someone who can write the directory but not the keystore
//! (malware running as another user, a restored backup, a synced folder) and puts back an
//! older file, one from another entry, or an edited one, gets it refused: its hash is not
//! the head's, and even a file with the right name does not decrypt under the head's key.
//! So used one-time credentials and the PIN failure counter cannot be brought back from
//! files. (Rolling back the keystore entry *and* the file together needs write access to the
//! keystore, which is the same trust boundary as today's single-entry vault.)
//!
//! **Nothing is destroyed on a read failure.** Every failure to read the stored vault is a
//! [`KeystoreError::Corrupt`] naming the entry and saying what is wrong and what to do, and
//! leaves the entry and the files exactly as they were.
//!
//! **Migration.** An entry that is not a sealed head (today's single-entry vault JSON, with
//! `"version": 1` and no `"sealed"` key) is returned as [`Loaded::Legacy`]: the caller
//! parses it as before and, to migrate, saves it through [`SealedStore::save`], whose
//! commit replaces the legacy entry with a head in one write.
//!
//! # Assumptions
//!
//! * One writer at a time (the wallet serialises its saves), and the directory belongs to
//!   one entry: a save deletes every other `vault-*.sealed` file in it.
//! * The durability of the commit is the keystore's own (gnome-keyring writes its keyring
//!   file before it answers). On Windows the directory cannot be `fsync`ed from std; the
//!   rename there is still atomic.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::keystore::{KeystoreError, SecretStore};

/// The value of the head's `"sealed"` key this module writes and reads.
pub const HEAD_FORMAT: u32 = 2;
/// The first bytes of every sealed file (and the start of its associated data).
pub const FILE_TAG: &[u8; 16] = b"tessera-sealed/2";

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const FILE_PREFIX: &str = "vault-";
const FILE_SUFFIX: &str = ".sealed";
const TEMP_SUFFIX: &str = ".sealed.tmp";
/// Every head this module writes starts with this, so a truncated head is recognised as a
/// damaged head rather than passed on as a legacy vault.
const HEAD_START: &[u8] = b"{\"sealed\":";

/// What the keystore entry held.
pub enum Loaded {
    /// The plaintext of the sealed vault file.
    Sealed(Zeroizing<Vec<u8>>),
    /// The entry is not a sealed head (today's single-entry vault JSON): its bytes, for the
    /// caller to parse and migrate.
    Legacy(Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the bytes: they are secret.
        match self {
            Loaded::Sealed(b) => write!(f, "Sealed({} bytes)", b.len()),
            Loaded::Legacy(b) => write!(f, "Legacy({} bytes)", b.len()),
        }
    }
}

/// The vault sealed in a file of `dir` under a data key kept in the keystore entry `entry`
/// (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct SealedStore<'a> {
    /// Where the head (and so the data key) lives.
    pub keystore: &'a dyn SecretStore,
    /// Where the sealed files live; owned by this one entry.
    pub dir: &'a Path,
    /// The keystore entry name.
    pub entry: &'a str,
}

/// The head as stored; the strings borrow from the zeroized entry bytes (base64url and hex
/// never need JSON escapes, so a head that does is refused rather than copied).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Head<'a> {
    #[allow(dead_code)]
    sealed: u32,
    key: &'a str,
    file: &'a str,
}

/// Just enough of the entry to tell a head from a legacy vault; other keys are skipped
/// without being copied.
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    sealed: Option<serde_json::Value>,
}

impl<'a> SealedStore<'a> {
    /// The store for `entry` in `keystore`, with its files in `dir`.
    pub fn new(keystore: &'a dyn SecretStore, dir: &'a Path, entry: &'a str) -> SealedStore<'a> {
        SealedStore {
            keystore,
            dir,
            entry,
        }
    }

    /// Reads the vault: `None` if the entry does not exist, [`Loaded::Legacy`] if it holds
    /// something other than a sealed head, otherwise the sealed file's plaintext. Any
    /// failure is reported and nothing (entry or file) is changed or deleted.
    pub fn load(&self) -> Result<Option<Loaded>, KeystoreError> {
        let Some(raw) = self.keystore.get(self.entry)? else {
            return Ok(None);
        };
        let format = match serde_json::from_slice::<Probe>(&raw) {
            Ok(Probe {
                sealed: Some(format),
            }) => format,
            _ if raw.starts_with(HEAD_START) => {
                return Err(self.corrupt(
                    "its sealed vault head is cut short or not valid JSON; if the keystore \
                     was restored from a backup, restore it again"
                        .into(),
                ));
            }
            // Not an object, or no "sealed" key: the single-entry vault of format 1 (or
            // something the caller's parser will report).
            _ => return Ok(Some(Loaded::Legacy(raw))),
        };
        if format.as_u64() != Some(HEAD_FORMAT.into()) {
            return Err(self.corrupt(format!(
                "it is a sealed vault head of format {format}, which this version of the \
                 wallet cannot read (it reads format {HEAD_FORMAT}): update the wallet"
            )));
        }
        let plaintext = self.open(&raw)?;
        Ok(Some(Loaded::Sealed(plaintext)))
    }

    /// Opens the file named by the head `raw` (of the right format).
    fn open(&self, raw: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        let head: Head<'_> = serde_json::from_slice(raw)
            .map_err(|e| self.corrupt(format!("its sealed vault head is not well formed ({e})")))?;

        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        match URL_SAFE_NO_PAD.decode_slice(head.key, key.as_mut_slice()) {
            Ok(KEY_LEN) => {}
            _ => {
                return Err(self.corrupt(
                    "the data key in its sealed vault head is not 32 bytes of base64url".into(),
                ));
            }
        }
        let mut want = [0u8; 32];
        let lower_hex = head
            .file
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if head.file.len() != 64
            || !lower_hex
            || hex::decode_to_slice(head.file, &mut want).is_err()
        {
            return Err(self.corrupt(
                "the file name in its sealed vault head is not a SHA-256 in lowercase hex".into(),
            ));
        }

        let path = self.dir.join(file_name(head.file));
        let data = match fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(self.corrupt(format!(
                    "the vault file {} is missing: put back that file (only the exact copy \
                     saved last is accepted), or remove the ID from the wallet and add it again",
                    path.display()
                )));
            }
            Err(e) => {
                return Err(self.corrupt(format!(
                    "the vault file {} cannot be read ({e}): check its permissions and the disk",
                    path.display()
                )));
            }
        };
        let got: [u8; 32] = Sha256::digest(&data).into();
        if got != want {
            return Err(self.corrupt(format!(
                "the vault file {} is not the one the keystore names (its SHA-256 is {}): an \
                 older, swapped or damaged copy is refused so that spent credentials and PIN \
                 attempts cannot be brought back; put back the file saved last, or remove the \
                 ID from the wallet and add it again",
                path.display(),
                hex::encode(got)
            )));
        }
        if data.len() < FILE_TAG.len() + NONCE_LEN + TAG_LEN || !data.starts_with(FILE_TAG) {
            return Err(self.corrupt(format!(
                "the vault file {} is not a sealed vault file of format {HEAD_FORMAT}",
                path.display()
            )));
        }
        let (nonce, rest) = data[FILE_TAG.len()..].split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let cipher = self.cipher(&key)?;
        let mut plaintext = Zeroizing::new(ciphertext.to_vec());
        let nonce = XNonce::try_from(nonce).map_err(|_| self.corrupt("nonce length".into()))?;
        let tag = Tag::try_from(tag).map_err(|_| self.corrupt("tag length".into()))?;
        cipher
            .decrypt_inout_detached(
                &nonce,
                &self.associated_data(),
                plaintext.as_mut_slice().into(),
                &tag,
            )
            .map_err(|_| {
                self.corrupt(format!(
                    "the vault file {} does not open with the key in the keystore (it was \
                     sealed for another entry, or the entry's key is damaged); remove the ID \
                     from the wallet and add it again",
                    path.display()
                ))
            })?;
        Ok(plaintext)
    }

    /// Seals `plaintext` into a new file under a fresh data key, then commits by replacing
    /// the keystore entry with the new head, then deletes the older files. On an error the
    /// stored vault is the previous one (or, if the keystore write failed ambiguously, the
    /// new one; either way a consistent one).
    pub fn save(&self, plaintext: &[u8]) -> Result<(), KeystoreError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(key.as_mut_slice())
            .and_then(|()| getrandom::fill(&mut nonce))
            .map_err(|e| self.not_saved(format!("the system's random generator failed ({e})")))?;

        // tag || nonce || plaintext, sealed in place, then the Poly1305 tag.
        let header = FILE_TAG.len() + NONCE_LEN;
        let mut sealed = Zeroizing::new(Vec::with_capacity(header + plaintext.len() + TAG_LEN));
        sealed.extend_from_slice(FILE_TAG);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plaintext);
        let tag = self
            .cipher(&key)?
            .encrypt_inout_detached(
                &XNonce::from(nonce),
                &self.associated_data(),
                (&mut sealed[header..]).into(),
            )
            .map_err(|_| self.not_saved("the vault is too large to seal".into()))?;
        sealed.extend_from_slice(&tag);

        let hash = hex::encode(Sha256::digest(sealed.as_slice()));
        let name = file_name(&hash);
        self.write_durably(&name, &sealed)?;

        // The commit point.
        let mut head = Zeroizing::new(String::with_capacity(160));
        head.push_str("{\"sealed\":");
        head.push_str(&HEAD_FORMAT.to_string());
        head.push_str(",\"key\":\"");
        URL_SAFE_NO_PAD.encode_string(key.as_slice(), &mut head);
        head.push_str("\",\"file\":\"");
        head.push_str(&hash);
        head.push_str("\"}");
        debug_assert!(head.as_bytes().starts_with(HEAD_START));
        self.keystore.put(self.entry, head.as_bytes())?;

        // Committed: the other files are undecryptable leftovers. Failing to remove them
        // is not a failed save; the next save tries again.
        let _ = self.remove_files(Some(&name));
        Ok(())
    }

    /// Deletes the keystore entry, then every sealed and temporary file in the directory
    /// (in this order, so that a crash in between never leaves a head without its file).
    pub fn delete(&self) -> Result<(), KeystoreError> {
        self.keystore.delete(self.entry)?;
        self.remove_files(None).map_err(|e| {
            self.not_saved(format!(
                "the keystore entry was deleted, but the old vault files in {} could not be \
                 removed ({e}); they cannot be opened without it, and may be deleted by hand",
                self.dir.display()
            ))
        })
    }

    /// Writes `bytes` to `dir/name` so that it is complete and durable before this returns:
    /// temporary file, fsync, rename, fsync of the directory.
    fn write_durably(&self, name: &str, bytes: &[u8]) -> Result<(), KeystoreError> {
        let dir = self.dir;
        let fail = |what: &str, e: io::Error| {
            self.not_saved(format!("{what} in {} failed ({e})", dir.display()))
        };
        if !dir.is_dir() {
            create_private_dir(dir).map_err(|e| fail("creating the vault directory", e))?;
            if let Some(parent) = dir.parent() {
                sync_dir(parent).map_err(|e| fail("syncing the vault directory's parent", e))?;
            }
        }
        let temp = dir.join(format!(
            "{}{TEMP_SUFFIX}",
            &name[..name.len() - FILE_SUFFIX.len()]
        ));
        let written = (|| {
            // A stale one of the same name cannot exist (the name is the new file's hash),
            // unless planted: never write through it.
            match fs::remove_file(&temp) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            let mut file = create_private_file(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()
        })();
        if let Err(e) = written {
            // Ours and referenced by nothing: safe to remove.
            let _ = fs::remove_file(&temp);
            return Err(fail("writing the new vault file", e));
        }
        fs::rename(&temp, dir.join(name)).map_err(|e| fail("renaming the new vault file", e))?;
        sync_dir(dir).map_err(|e| fail("syncing the vault directory", e))
    }

    /// Removes the sealed and temporary files of the directory except `keep`.
    fn remove_files(&self, keep: Option<&str>) -> io::Result<()> {
        let entries = match fs::read_dir(self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut result = Ok(());
        let mut removed = false;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let ours = name.starts_with(FILE_PREFIX)
                && (name.ends_with(FILE_SUFFIX) || name.ends_with(TEMP_SUFFIX));
            if !ours || Some(name) == keep || entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            match fs::remove_file(entry.path()) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => result = Err(e),
            }
        }
        if removed {
            sync_dir(self.dir)?;
        }
        result
    }

    fn cipher(&self, key: &[u8; KEY_LEN]) -> Result<XChaCha20Poly1305, KeystoreError> {
        XChaCha20Poly1305::new_from_slice(key).map_err(|_| self.corrupt("data key length".into()))
    }

    fn associated_data(&self) -> Vec<u8> {
        [FILE_TAG.as_slice(), self.entry.as_bytes()].concat()
    }

    fn corrupt(&self, detail: String) -> KeystoreError {
        KeystoreError::Corrupt {
            name: self.entry.to_owned(),
            detail,
        }
    }

    fn not_saved(&self, detail: String) -> KeystoreError {
        // KeystoreError has no variant for a file system failure; Corrupt carries the
        // words, and says that nothing was changed.
        self.corrupt(format!("the vault could not be saved: {detail}"))
    }
}

fn file_name(hash_hex: &str) -> String {
    format!("{FILE_PREFIX}{hash_hex}{FILE_SUFFIX}")
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    // std cannot open a directory for flushing on Windows; the rename is still atomic.
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;

    /// An in-memory keystore whose writes can be made to fail (a crash before the commit).
    #[derive(Debug, Default)]
    struct MemStore {
        entries: Mutex<HashMap<String, Vec<u8>>>,
        fail_puts: AtomicBool,
    }

    impl SecretStore for MemStore {
        fn name(&self) -> &'static str {
            "memory"
        }
        fn get(&self, entry: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeystoreError> {
            Ok(self
                .entries
                .lock()
                .unwrap()
                .get(entry)
                .cloned()
                .map(Zeroizing::new))
        }
        fn put(&self, entry: &str, secret: &[u8]) -> Result<(), KeystoreError> {
            if self.fail_puts.load(Ordering::SeqCst) {
                return Err(KeystoreError::Unavailable {
                    store: "memory",
                    detail: "simulated crash".into(),
                });
            }
            self.entries
                .lock()
                .unwrap()
                .insert(entry.into(), secret.to_vec());
            Ok(())
        }
        fn delete(&self, entry: &str) -> Result<(), KeystoreError> {
            self.entries.lock().unwrap().remove(entry);
            Ok(())
        }
    }

    impl MemStore {
        fn raw(&self, entry: &str) -> Option<Vec<u8>> {
            self.entries.lock().unwrap().get(entry).cloned()
        }
        fn set_raw(&self, entry: &str, bytes: &[u8]) {
            self.entries
                .lock()
                .unwrap()
                .insert(entry.into(), bytes.to_vec());
        }
    }

    /// A fresh directory (not created: the store creates it) removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(label: &str) -> TempDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "tessera-sealed-unit-{label}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            let _ = fs::remove_dir_all(&dir);
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const ENTRY: &str = "wallet-vault";

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    fn sealed(loaded: Option<Loaded>) -> Vec<u8> {
        match loaded {
            Some(Loaded::Sealed(b)) => b.to_vec(),
            other => panic!("{other:?}"),
        }
    }

    fn corrupt_detail(r: Result<Option<Loaded>, KeystoreError>) -> String {
        match r {
            Err(KeystoreError::Corrupt { name, detail }) => {
                assert_eq!(name, ENTRY);
                detail
            }
            other => panic!("{other:?}"),
        }
    }

    fn head_file(ks: &MemStore) -> String {
        let raw = ks.raw(ENTRY).unwrap();
        let head: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        file_name(head["file"].as_str().unwrap())
    }

    #[test]
    fn round_trip_and_nothing_before_the_first_save() {
        let ks = MemStore::default();
        let dir = TempDir::new("roundtrip");
        let store = SealedStore::new(&ks, &dir.0, ENTRY);
        assert!(store.load().unwrap().is_none());
        let big: Vec<u8> = (0..12_000).map(|i| (i * 31 % 251) as u8).collect();
        store.save(&big).unwrap();
        assert_eq!(sealed(store.load().unwrap()), big);
        store.save(b"").unwrap();
        assert_eq!(sealed(store.load().unwrap()), b"");
        // One file, named by its hash; the head is small and holds no plaintext.
        let names = files(&dir.0);
        assert_eq!(names, vec![head_file(&ks)]);
        let data = fs::read(dir.0.join(&names[0])).unwrap();
        assert_eq!(
            names[0],
            format!("vault-{}.sealed", hex::encode(Sha256::digest(&data)))
        );
        assert!(data.starts_with(FILE_TAG));
        let head = ks.raw(ENTRY).unwrap();
        assert!(head.len() < 200, "{} bytes", head.len());
        let head: serde_json::Value = serde_json::from_slice(&head).unwrap();
        assert_eq!(head["sealed"], 2);
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(head["key"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );

        store.delete().unwrap();
        assert!(ks.raw(ENTRY).is_none());
        assert!(files(&dir.0).is_empty());
        assert!(store.load().unwrap().is_none());
    }

    #[test]
    fn every_save_uses_a_fresh_key_and_nonce() {
        let ks = MemStore::default();
        let dir = TempDir::new("fresh");
        let store = SealedStore::new(&ks, &dir.0, ENTRY);
        store.save(b"same").unwrap();
        let (head1, file1) = (ks.raw(ENTRY).unwrap(), head_file(&ks));
        store.save(b"same").unwrap();
        let (head2, file2) = (ks.raw(ENTRY).unwrap(), head_file(&ks));
        assert_ne!(head1, head2);
        assert_ne!(file1, file2);
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let ks = MemStore::default();
        let dir = TempDir::new("modes");
        let store = SealedStore::new(&ks, &dir.0, ENTRY);
        store.save(b"x").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.0), 0o700);
        assert_eq!(mode(&dir.0.join(head_file(&ks))), 0o600);
    }

    #[test]
    fn a_legacy_entry_is_returned_for_migration() {
        let ks = MemStore::default();
        let dir = TempDir::new("legacy");
        let store = SealedStore::new(&ks, &dir.0, ENTRY);
        let legacy = br#"{"version":1,"device_key":"AAAA","batch":null,"pending":null,"revoked":false,"pin_verifier":null,"pin_failures":0,"pin_locked_until":0}"#;
        ks.set_raw(ENTRY, legacy);
        match store.load().unwrap() {
            Some(Loaded::Legacy(b)) => assert_eq!(&b[..], &legacy[..]),
            other => panic!("{other:?}"),
        }
        // Something that is not JSON at all is also the caller's to report.
        ks.set_raw(ENTRY, b"{ not a vault");
        assert!(matches!(store.load().unwrap(), Some(Loaded::Legacy(_))));
        // Migrating is one save: the legacy entry is replaced by a head.
        store.save(b"migrated").unwrap();
        assert_eq!(sealed(store.load().unwrap()), b"migrated");
    }

    #[test]
    fn an_older_file_is_refused_even_under_its_own_name() {
        let ks = MemStore::default();
        let dir = TempDir::new("rollback");
        let store = SealedStore::new(&ks, &dir.0, ENTRY);
        store
            .save(b"A: pin_failures 0, credential 7 unused")
            .unwrap();
        let (head_a, name_a) = (ks.raw(ENTRY).unwrap(), head_file(&ks));
        let file_a = fs::read(dir.0.join(&name_a)).unwrap();
        store.save(b"B: pin_failures 2, credential 7 used").unwrap();
        let (head_b, name_b) = (ks.raw(ENTRY).unwrap(), head_file(&ks));
        let file_b = fs::read(dir.0.join(&name_b)).unwrap();
        assert_eq!(files(&dir.0), vec![name_b.clone()]);

        // A's file put back beside B's, B's head kept: B is what loads.
        fs::write(dir.0.join(&name_a), &file_a).unwrap();
        assert_eq!(
            sealed(store.load().unwrap()),
            b"B: pin_failures 2, credential 7 used"
        );

        // A's file put back under B's name: refused, and nothing is deleted or changed.
        fs::write(dir.0.join(&name_b), &file_a).unwrap();
        let detail = corrupt_detail(store.load());
        assert!(
            detail.contains("not the one the keystore names"),
            "{detail}"
        );
        assert!(detail.contains(&name_b), "{detail}");
        assert_eq!(ks.raw(ENTRY).unwrap(), head_b);
        assert_eq!(files(&dir.0), {
            let mut v = vec![name_a.clone(), name_b.clone()];
            v.sort();
            v
        });
        assert_eq!(fs::read(dir.0.join(&name_b)).unwrap(), file_a);

        // The right file back: it loads again.
        fs::write(dir.0.join(&name_b), &file_b).unwrap();
        assert_eq!(
            sealed(store.load().unwrap()),
            b"B: pin_failures 2, credential 7 used"
        );

        // (Only A's head *and* A's file together, which takes write access to the
        // keystore, bring back A.)
        ks.set_raw(ENTRY, &head_a);
        assert_eq!(
            sealed(store.load().unwrap()),
            b"A: pin_failures 0, credential 7 unused"
        );
    }

    #[test]
    fn a_file_sealed_for_another_entry_does_not_open() {
        let ks = MemStore::default();
        let dir = TempDir::new("swap");
        let other = SealedStore::new(&ks, &dir.0, "other-vault");
        other.save(b"other").unwrap();
        // Its head copied to our entry: the hash matches, the key matches, the associated
        // data (the entry name) does not.
        ks.set_raw(ENTRY, &ks.raw("other-vault").unwrap());
        let store = SealedStore::new(&ks, &dir.0, ENTRY);
        let detail = corrupt_detail(store.load());
        assert!(detail.contains("does not open"), "{detail}");
    }

    #[test]
    fn a_missing_file_is_reported_and_the_entry_kept() {
        let ks = MemStore::default();
        let dir = TempDir::new("missing");
        let store = SealedStore::new(&ks, &dir.0, ENTRY);
        store.save(b"secret").unwrap();
        let head = ks.raw(ENTRY).unwrap();
        let name = head_file(&ks);
        fs::remove_file(dir.0.join(&name)).unwrap();
        let detail = corrupt_detail(store.load());
        assert!(detail.contains("is missing"), "{detail}");
        assert!(detail.contains(&name), "{detail}");
        assert_eq!(ks.raw(ENTRY).unwrap(), head);
        // The whole directory gone: the same.
        fs::remove_dir_all(&dir.0).unwrap();
        let detail = corrupt_detail(store.load());
        assert!(detail.contains("is missing"), "{detail}");
        assert_eq!(ks.raw(ENTRY).unwrap(), head);
        // The error a person reads.
        let message = store.load().unwrap_err().to_string();
        assert!(message.contains("wallet-vault"), "{message}");
        assert!(message.contains("it was not changed"), "{message}");
    }

    #[test]
    fn tampered_files_and_heads_are_refused_and_kept() {
        let ks = MemStore::default();
        let dir = TempDir::new("tamper");
        let store = SealedStore::new(&ks, &dir.0, ENTRY);
        store.save(b"secret state").unwrap();
        let head = ks.raw(ENTRY).unwrap();
        let name = head_file(&ks);
        let path = dir.0.join(&name);
        let good = fs::read(&path).unwrap();

        // A flipped ciphertext bit: the hash no longer matches.
        let mut bad = good.clone();
        let last = bad.len() - 20;
        bad[last] ^= 1;
        fs::write(&path, &bad).unwrap();
        corrupt_detail(store.load());
        assert_eq!(fs::read(&path).unwrap(), bad);
        fs::write(&path, &good).unwrap();

        // A damaged key in the head: the hash matches, decryption fails.
        let mut h: serde_json::Value = serde_json::from_slice(&head).unwrap();
        h["key"] = URL_SAFE_NO_PAD.encode([9u8; 32]).into();
        ks.set_raw(ENTRY, &serde_json::to_vec(&h).unwrap());
        let detail = corrupt_detail(store.load());
        assert!(detail.contains("does not open"), "{detail}");
        assert_eq!(fs::read(&path).unwrap(), good);

        // Heads that are not well formed, including one trying to escape the directory.
        for bad_head in [
            &b"{\"sealed\":2,\"key\":\"abc"[..],
            br#"{"sealed":2,"key":"AAAA","file":"00"}"#,
            br#"{"sealed":2}"#,
            br#"{"sealed":3,"key":"","file":""}"#,
            br#"{"sealed":"2"}"#,
        ] {
            ks.set_raw(ENTRY, bad_head);
            corrupt_detail(store.load());
            assert_eq!(ks.raw(ENTRY).unwrap(), bad_head);
        }
        let mut h: serde_json::Value = serde_json::from_slice(&head).unwrap();
        h["file"] = "../../../etc/passwd".into();
        ks.set_raw(ENTRY, &serde_json::to_vec(&h).unwrap());
        let detail = corrupt_detail(store.load());
        assert!(detail.contains("lowercase hex"), "{detail}");
        let mut h: serde_json::Value = serde_json::from_slice(&head).unwrap();
        h["extra"] = 1.into();
        ks.set_raw(ENTRY, &serde_json::to_vec(&h).unwrap());
        corrupt_detail(store.load());

        // A newer format says to update.
        ks.set_raw(ENTRY, br#"{"sealed":3,"whatever":true}"#);
        let detail = corrupt_detail(store.load());
        assert!(detail.contains("update the wallet"), "{detail}");

        // Put back, it all still works, and nothing was deleted along the way.
        ks.set_raw(ENTRY, &head);
        assert_eq!(sealed(store.load().unwrap()), b"secret state");
        assert_eq!(files(&dir.0), vec![name]);
    }

    #[test]
    fn a_crash_before_the_commit_keeps_the_old_state_and_the_next_save_cleans_up() {
        let ks = MemStore::default();
        let dir = TempDir::new("crash");
        let store = SealedStore::new(&ks, &dir.0, ENTRY);
        store.save(b"old").unwrap();
        let old_name = head_file(&ks);

        // The file is written, the head is not.
        ks.fail_puts.store(true, Ordering::SeqCst);
        assert!(store.save(b"new").is_err());
        ks.fail_puts.store(false, Ordering::SeqCst);
        let after_crash = files(&dir.0);
        assert_eq!(after_crash.len(), 2, "{after_crash:?}");
        // A temporary file left by a crash during the write, and an unrelated file.
        let stale_temp = dir
            .0
            .join(format!("vault-{}{TEMP_SUFFIX}", "ab".repeat(32)));
        fs::write(&stale_temp, b"half a file").unwrap();
        fs::write(dir.0.join("notes.txt"), b"not ours").unwrap();

        // Loading gives the old state and deletes nothing.
        for _ in 0..2 {
            assert_eq!(sealed(store.load().unwrap()), b"old");
        }
        assert_eq!(files(&dir.0).len(), 4);
        assert_eq!(head_file(&ks), old_name);

        // The next save removes the orphan and the stale temporary file, not the rest.
        store.save(b"newer").unwrap();
        assert_eq!(sealed(store.load().unwrap()), b"newer");
        let mut want = vec![head_file(&ks), "notes.txt".to_owned()];
        want.sort();
        assert_eq!(files(&dir.0), want);
    }
}
