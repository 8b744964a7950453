//! Append-only JSON-lines files in the wallet's data folder (the presentation history, the
//! sign-in history): one record a line, appended; a line that cannot be read is skipped, so
//! a torn last line after a crash loses that record only.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::wallet::WalletError;

fn failed(path: &Path, e: impl std::fmt::Display) -> WalletError {
    WalletError::History {
        path: path.to_owned(),
        detail: e.to_string(),
    }
}

/// Appends `record` to `path` (created if missing).
pub fn append<T: Serialize>(path: &Path, record: &T) -> Result<(), WalletError> {
    use std::io::Write;
    let line = serde_json::to_string(record).map_err(|e| failed(path, e))?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| writeln!(f, "{line}"))
        .map_err(|e| failed(path, e))
}

/// Every record in `path`, oldest first; none when there is no file yet.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, WalletError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(failed(path, e)),
    }
}

/// Deletes `path`, if it is there.
pub fn remove(path: &Path) -> Result<(), WalletError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(failed(path, e)),
    }
}
