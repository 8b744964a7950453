//! The pairwise secret's file (`pairwise.key` in the data directory): 32 random bytes made
//! once and never rotated, since every relying party's `sub` values are computed with it
//! (a new secret would make every person a stranger to every relying party). It is as
//! sensitive as a private key: whoever holds it can link a person's `sub` values across
//! relying parties by trying ID numbers. Owner-only, like the key files.

use std::path::Path;

use tessera_oidc::pairwise::PairwiseSecret;
use zeroize::Zeroizing;

use crate::config::random_bytes;
use crate::keys::{KeyFileError, write_private};

/// The file's name in the data directory.
pub const FILE: &str = "pairwise.key";

/// Reads the secret, making it on first start. Replicas starting at once on one data
/// directory agree: the file is created by a hard link, which fails when another process
/// made it first, and everyone then reads the file that won.
pub fn open_or_create(data_dir: &Path) -> Result<PairwiseSecret, KeyFileError> {
    let path = data_dir.join(FILE);
    if !path.exists() {
        let fresh = Zeroizing::new(random_bytes::<32>());
        let tmp = path.with_extension(format!("{}.new", std::process::id()));
        write_private(&tmp, fresh.as_slice())?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(KeyFileError::Io { path, source }),
        }
    }
    let bytes = Zeroizing::new(std::fs::read(&path).map_err(|source| KeyFileError::Io {
        path: path.clone(),
        source,
    })?);
    let secret: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| KeyFileError::Corrupt {
            path: path.clone(),
            reason: format!("{} bytes, expected 32", bytes.len()),
        })?;
    Ok(PairwiseSecret::new(secret))
}
