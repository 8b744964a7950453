//! # The front desk (`tessera-verify serve`)
//!
//! What a hotel, courier, ticket gate or bank counter runs to check Tessera QR codes: a web
//! page (embedded in the binary) and its JSON API. Codes come from a USB scanner typing
//! into the page, an uploaded image, or the webcam (frames decoded here with rxing). They
//! are verified offline against the cached trust and status lists (refreshed from the
//! issuer when reachable, refused when older than the venue policy allows), with a replay
//! cache shared by every terminal of this server. Staff log in (Argon2id) to fetch the
//! registry portrait through the issuer, to record check-ins and to export the register.
//!
//! It must never log personal data or QR texts, never hand the issuer API key to a browser,
//! never fetch from a URL found in a scanned code, and never panic on input.

pub mod api;
pub mod auth;
pub mod cache;
pub mod face_check;
pub mod host;
pub mod http;
pub mod policy;
mod portrait;
pub mod problem;
mod register;
mod request;
pub mod store;
pub mod verdict;
mod web;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tessera_credential::Tier;

pub use policy::VenuePolicy;

/// Unix time, injectable for tests.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

/// Why the desk cannot start.
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
    /// The policy is invalid.
    #[error(transparent)]
    Policy(#[from] policy::PolicyError),
    /// The database cannot be opened.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The cache cannot be opened.
    #[error(transparent)]
    Cache(#[from] cache::RefreshError),
    /// The issuer URL is not https (or loopback http).
    #[error(transparent)]
    IssuerUrl(#[from] http::IssuerUrlError),
}

/// The desk server's state.
pub struct Desk {
    /// The venue policy.
    pub policy: VenuePolicy,
    required_tier: Option<Tier>,
    /// The only tiers the venue takes (None: any from `required_tier` up).
    accepted_tiers: Option<Vec<Tier>>,
    /// Trust and status lists.
    pub cache: cache::TrustCache,
    /// The database.
    pub store: store::DeskStore,
    issuer: Option<String>,
    issuer_key: Option<String>,
    http: reqwest::Client,
    pending: Mutex<HashMap<String, verdict::Pending>>,
    throttle: auth::LoginThrottle,
    clock: Clock,
    /// The face models, loaded once in the background at start (`face_check::models`).
    faces: tokio::sync::OnceCell<Arc<tessera_face::analysis::FaceAnalyzer>>,
    /// Face checks run a few at a time, so a queue of them cannot starve the scans.
    face_turns: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the API key or pending verifications.
        f.debug_struct("Desk")
            .field("policy", &self.policy)
            .field("issuer", &self.issuer)
            .field("issuer_key", &self.issuer_key.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

impl Desk {
    /// Opens the data directory (database, cache, optional `issuer-api-key` file).
    pub async fn open(
        data_dir: &std::path::Path,
        issuer: Option<String>,
        policy: VenuePolicy,
        clock: Clock,
    ) -> Result<Desk, StartError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StartError::DataDir {
            path: data_dir.to_owned(),
            source,
        })?;
        let policy_error = |message| {
            StartError::Policy(policy::PolicyError::Parse {
                path: "policy".into(),
                message,
            })
        };
        let required_tier = policy.tier().map_err(policy_error)?;
        let accepted_tiers = policy.accepted().map_err(policy_error)?;
        // Checked before anything is opened, so a bad URL stops the desk with its own words.
        let issuer = issuer.as_deref().map(http::check_issuer_url).transpose()?;
        let store = store::DeskStore::open(data_dir).await?;
        let cache = cache::TrustCache::open(data_dir, issuer.clone())?;
        // The key the issuer gave this desk (`tessera-issuer verifiers add`); server-side only.
        let issuer_key = std::fs::read_to_string(data_dir.join("issuer-api-key"))
            .ok()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty());
        let http = http::issuer_client(Duration::from_secs(10))
            .map_err(|e| cache::RefreshError::Unreachable(e.to_string()))?;
        Ok(Desk {
            policy,
            required_tier,
            accepted_tiers,
            cache,
            store,
            issuer,
            issuer_key,
            http,
            pending: Mutex::new(HashMap::new()),
            throttle: auth::LoginThrottle::default(),
            clock,
            faces: tokio::sync::OnceCell::new(),
            face_turns: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
        })
    }

    /// The wrong-password back-off (what the login handler consults; for tests).
    pub fn login_throttle(&self) -> &auth::LoginThrottle {
        &self.throttle
    }

    /// Whether verification `id` is pending (valid, upgraded, not yet checked in or lapsed).
    pub(crate) fn is_pending(&self, id: &str) -> bool {
        self.change_pending(id, |_| ())
    }

    /// Runs `change` on pending verification `id` if it has not lapsed; false if it has.
    fn change_pending(&self, id: &str, change: impl FnOnce(&mut verdict::Pending)) -> bool {
        let now = self.now();
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        match pending.get_mut(id).filter(|p| p.expires_at > now) {
            Some(p) => {
                change(p);
                true
            }
            None => false,
        }
    }

    /// Keeps the portrait's template on pending verification `id` for its next face check;
    /// false if it lapsed.
    pub(crate) fn keep_reference(
        &self,
        id: &str,
        template: tessera_face::template::Template,
    ) -> bool {
        self.change_pending(id, |p| p.reference = Some(template))
    }

    /// Takes the template kept for verification `id`, if any.
    pub(crate) fn take_reference(&self, id: &str) -> Option<tessera_face::template::Template> {
        let mut taken = None;
        self.change_pending(id, |p| taken = p.reference.take());
        taken
    }

    /// Keeps a face check's outcome on pending verification `id`; false if it lapsed.
    pub(crate) fn record_face_check(&self, id: &str, record: face_check::FaceCheckRecord) -> bool {
        self.change_pending(id, |p| p.face_check = Some(record))
    }

    /// Now, by the desk's clock.
    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Refreshes the lists and purges old records, forever (a background task).
    pub async fn maintain(self: Arc<Desk>) {
        let every = Duration::from_secs(self.policy.refresh_interval_seconds.max(1));
        loop {
            let now = self.now();
            if self.cache.has_issuer()
                && let Err(e) = self.cache.refresh(now).await
            {
                tracing::warn!(error = %e, "refresh failed; verifying from the cache");
            }
            match self.store.purge(now, self.policy.retention_days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "guest records past retention deleted"),
                Err(e) => tracing::error!(error = %e, "purge failed"),
            }
            tokio::time::sleep(every).await;
        }
    }
}

/// Serves the desk on `listener` until `shutdown` completes; refreshes in the background.
pub async fn serve(
    desk: Arc<Desk>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let hosts = host::AllowedHosts::new(listener.local_addr()?, &desk.policy.public_hosts);
    // Stopped with the server, also when this future is dropped rather than finished.
    let _maintenance = AbortOnDrop(tokio::spawn(desk.clone().maintain()));
    // The face models load while the desk already answers; the first face check waits.
    let models = desk.clone();
    let _models = AbortOnDrop(tokio::spawn(async move {
        if let Err(e) = face_check::models(&models).await {
            tracing::error!(
                code = e.code,
                "the face models did not load: face checks will fail"
            );
        }
    }));
    // The Host check wraps everything, so a rebound page reaches no route at all.
    let app = api::router(desk).layer(axum::middleware::from_fn_with_state(hosts, host::check));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
