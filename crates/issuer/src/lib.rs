//! The Tessera issuer: the registry, face-verified enrolment, credential batches bound to
//! device keys, renewal, revocation, and the signed trust and status lists, over SQLite
//! (embedded default) or PostgreSQL.
//!
//! It must never log or store face images, templates of live captures or similarity scores
//! of refused attempts; frames live in memory only until the decision. Private keys stay in
//! the data directory with owner-only permissions.

pub mod api;
pub mod config;
pub mod face_check;
/// The ID number rules live with the API types (the wallet checks numbers before sending).
pub use tessera_issuer_api::ids;
pub mod keys;
pub mod pairwise_file;
pub mod ratelimit;
pub mod registry;
pub mod service;
pub mod store;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use config::{Clock, Config, SystemClock};
pub use service::Issuer;

/// Why the issuer could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory is unusable.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// Which.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The keys cannot be read or made.
    #[error(transparent)]
    Keys(#[from] keys::KeyFileError),
    /// The database cannot be opened.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The face models cannot be loaded.
    #[error("cannot load the face models: {0}")]
    Faces(#[from] tessera_face::models::ModelError),
}

/// The default SQLite file in a data directory.
pub fn default_database_url(data_dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("issuer.sqlite3").display()
    )
}

/// Opens (creating on first start) the data directory, keys and database.
pub async fn open(
    data_dir: &Path,
    database_url: Option<&str>,
    config: Config,
    clock: Arc<dyn Clock>,
    faces: Arc<tessera_face::analysis::FaceAnalyzer>,
) -> Result<Issuer, StartError> {
    std::fs::create_dir_all(data_dir).map_err(|source| StartError::DataDir {
        path: data_dir.to_owned(),
        source,
    })?;
    let keys = keys::KeyRing::open_or_create(data_dir, clock.now())?;
    let pairwise = pairwise_file::open_or_create(data_dir)?;
    let url = database_url.map_or_else(|| default_database_url(data_dir), str::to_owned);
    let store = store::Store::connect(&url).await?;
    Ok(Issuer::new(config, clock, store, keys, faces).with_pairwise_secret(pairwise))
}

/// Deletes the audit records older than `config.audit_retention` as of `now`; how many went.
/// `serve` runs it every hour; `tessera-issuer audit purge` runs it once.
pub async fn purge_expired_audit(
    store: &store::Store,
    config: &Config,
    now: u64,
) -> Result<u64, store::StoreError> {
    store
        .purge_audit(now.saturating_sub(config.audit_retention.as_secs()))
        .await
}

/// The demo registry shipped with the source (photos with provenance in the face crate's
/// test data): `crates/issuer/demo/registry.csv`.
pub fn demo_registry_csv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/registry.csv")
}
