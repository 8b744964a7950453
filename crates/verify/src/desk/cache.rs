//! The trust list and status lists this desk verifies against: fetched from the issuer
//! (`/v1/trust-list`, `/v1/trust-list-key`, `/v1/status/{n}`), verified, written to the data
//! directory as the last good copy, and used from there when the issuer is unreachable.
//!
//! The trust-list key is pinned: put the issuer's `trust-list-key.pem` into `DIR/cache/`
//! out of band; without it the first fetch is trusted and pinned (trust on first use), and
//! a later key change is refused. It must never accept a list that does not verify, and
//! never fetch from a URL taken from a scanned code (only from the configured issuer).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tessera_credential::keys::public_key_from_pem;
use tessera_credential::{StatusListToken, StatusLists, TrustList, VerifyingKey};

/// Why a refresh failed (the desk keeps its last good copy).
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// No issuer URL configured.
    #[error("no issuer configured")]
    NoIssuer,
    /// The issuer could not be reached or answered an error.
    #[error("the issuer is unreachable: {0}")]
    Unreachable(String),
    /// What the issuer sent does not verify.
    #[error("the issuer sent a list that does not verify: {0}")]
    Invalid(String),
    /// The cache cannot be written.
    #[error("cannot write the cache: {0}")]
    Io(#[from] std::io::Error),
    /// The configured issuer URL is not one the desk may fetch from.
    #[error(transparent)]
    IssuerUrl(#[from] super::http::IssuerUrlError),
}

/// One consistent set of lists.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The verified trust list.
    pub trust: TrustList,
    /// Verified status lists.
    pub statuses: StatusLists,
    /// When the issuer last confirmed these lists (Unix seconds).
    pub fetched_at: u64,
}

/// The cache.
#[derive(Debug)]
pub struct TrustCache {
    dir: PathBuf,
    issuer: Option<String>,
    http: reqwest::Client,
    pinned: Mutex<Option<VerifyingKey>>,
    known_lists: Mutex<BTreeSet<u64>>,
    current: RwLock<Option<Arc<Snapshot>>>,
    /// One refresh at a time (the background task, a terminal meeting a new list): two
    /// interleaved ones could write a mix of files, or store an older fetch last.
    refreshing: tokio::sync::Mutex<()>,
}

async fn get(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, RefreshError> {
    get_unless_missing(http, url)
        .await?
        .ok_or_else(|| RefreshError::Unreachable(format!("{url}: HTTP 404 Not Found")))
}

/// Like [`get`], with `None` for a 404.
async fn get_unless_missing(
    http: &reqwest::Client,
    url: &str,
) -> Result<Option<Vec<u8>>, RefreshError> {
    let r = http
        .get(url)
        .send()
        .await
        .map_err(|e| RefreshError::Unreachable(e.without_url().to_string()))?;
    // Lists come from the configured issuer only, never from where it points.
    if let Some(why) = super::http::redirect_refusal(url, &r) {
        return Err(RefreshError::Unreachable(why));
    }
    if r.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !r.status().is_success() {
        return Err(RefreshError::Unreachable(format!(
            "{url}: HTTP {}",
            r.status()
        )));
    }
    let bytes = r
        .bytes()
        .await
        .map_err(|e| RefreshError::Unreachable(e.without_url().to_string()))?;
    // Trust and status lists are kilobytes; anything huge is not one.
    if bytes.len() > 4 << 20 {
        return Err(RefreshError::Invalid(format!("{url}: larger than 4 MiB")));
    }
    Ok(Some(bytes.to_vec()))
}

/// Whether `uri` is status list `n` of an issuer in `trust`.
fn is_list(trust: &TrustList, uri: &str, n: u64) -> bool {
    trust.issuers.iter().any(|e| {
        e.status_base
            .as_deref()
            .is_some_and(|b| uri == format!("{b}{n}"))
    })
}

/// Writes `bytes` to `path` through a temporary file, so a crash never leaves half a list.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // A name of its own per write: two refreshes at once (the background one and a
    // terminal's) must not rename each other's half-written file away.
    let tmp = path.with_extension(format!(
        "{}.tmp",
        hex::encode(crate::desk::auth::random_bytes::<6>())
    ));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

impl TrustCache {
    /// A cache in `data_dir/cache`, loading the last good copy if there is one. The issuer
    /// URL must be https (plain http only to a loopback address).
    pub fn open(data_dir: &Path, issuer: Option<String>) -> Result<TrustCache, RefreshError> {
        let issuer = issuer
            .as_deref()
            .map(super::http::check_issuer_url)
            .transpose()?;
        let dir = data_dir.join("cache");
        std::fs::create_dir_all(&dir)?;
        let http = super::http::issuer_client(Duration::from_secs(5))
            .map_err(|e| RefreshError::Unreachable(e.to_string()))?;
        let pinned = match std::fs::read_to_string(dir.join("trust-list-key.pem")) {
            Ok(pem) => Some(
                public_key_from_pem(&pem)
                    .map_err(|e| RefreshError::Invalid(format!("trust-list-key.pem: {e}")))?,
            ),
            Err(_) => None,
        };
        let cache = TrustCache {
            dir,
            issuer,
            http,
            pinned: Mutex::new(pinned),
            known_lists: Mutex::new(BTreeSet::from([1])),
            current: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        };
        cache.load_from_disk();
        Ok(cache)
    }

    fn load_from_disk(&self) {
        let Some(key) = *self.pinned.lock().unwrap_or_else(|p| p.into_inner()) else {
            return;
        };
        let Ok(bytes) = std::fs::read(self.dir.join("trust-list.cwt")) else {
            return;
        };
        let Some(fetched_at) = std::fs::read_to_string(self.dir.join("fetched-at"))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
        else {
            return;
        };
        let Ok(trust) = TrustList::verify(&bytes, &key) else {
            tracing::warn!("the cached trust list does not verify; ignoring it");
            return;
        };
        let mut statuses = StatusLists::default();
        let mut known = self.known_lists.lock().unwrap_or_else(|p| p.into_inner());
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(n) = name
                .strip_prefix("status-")
                .and_then(|s| s.strip_suffix(".cwt"))
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            // Verified as of when it was fetched: the token's own expiry is the issuer's
            // caching hint; how old a list this venue accepts is the policy's decision.
            if let Ok(b) = std::fs::read(entry.path())
                && let Ok(token) = StatusListToken::verify(&b, &trust, fetched_at)
            {
                statuses.insert(token);
                known.insert(n);
            }
        }
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(Snapshot {
            trust,
            statuses,
            fetched_at,
        }));
    }

    /// The lists to verify against, if any were ever fetched.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether an issuer is configured.
    pub fn has_issuer(&self) -> bool {
        self.issuer.is_some()
    }

    /// Fetches the trust list and every known status list; on success they replace the
    /// cache (memory and disk) as one snapshot.
    pub async fn refresh(&self, now: u64) -> Result<(), RefreshError> {
        let base = self.issuer.as_deref().ok_or(RefreshError::NoIssuer)?;
        let _one_at_a_time = self.refreshing.lock().await;
        let pinned = *self.pinned.lock().unwrap_or_else(|p| p.into_inner());
        let key = match pinned {
            Some(k) => k,
            None => {
                let pem = get(&self.http, &format!("{base}/v1/trust-list-key")).await?;
                let text = String::from_utf8(pem)
                    .map_err(|_| RefreshError::Invalid("trust-list key: not PEM".into()))?;
                let key = public_key_from_pem(&text)
                    .map_err(|e| RefreshError::Invalid(format!("trust-list key: {e}")))?;
                write_atomic(&self.dir.join("trust-list-key.pem"), text.as_bytes())?;
                *self.pinned.lock().unwrap_or_else(|p| p.into_inner()) = Some(key);
                tracing::info!("trust-list key pinned on first use");
                key
            }
        };
        let bytes = get(&self.http, &format!("{base}/v1/trust-list")).await?;
        let trust = TrustList::verify(&bytes, &key)
            .map_err(|e| RefreshError::Invalid(format!("trust list: {e}")))?;
        let held = self.snapshot();
        // An older list, correctly signed, could bring back a key the issuer has since cut
        // short (a compromise): never step back.
        if let Some(held) = &held
            && trust.sequence < held.trust.sequence
        {
            return Err(RefreshError::Invalid(format!(
                "trust list number {} is older than the one held ({}): refusing a rollback",
                trust.sequence, held.trust.sequence
            )));
        }
        let lists: Vec<u64> = self
            .known_lists
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect();
        let mut statuses = StatusLists::default();
        let mut files = Vec::new();
        for n in lists {
            // A list the issuer does not have (a code naming one, perhaps forged) is
            // forgotten; it must not stop every other list from refreshing.
            let Some(b) = get_unless_missing(&self.http, &format!("{base}/v1/status/{n}")).await?
            else {
                // A list held before cannot vanish: a 404 for it is an error (a proxy's, or
                // someone's on the path), not a reason to drop what it says.
                let held_n = held.as_ref().is_some_and(|h| {
                    h.statuses
                        .tokens()
                        .iter()
                        .any(|t| is_list(&trust, &t.uri, n))
                });
                if held_n {
                    return Err(RefreshError::Unreachable(format!(
                        "{base}/v1/status/{n}: HTTP 404 for a list this desk holds"
                    )));
                }
                tracing::info!(list = n, "the issuer has no such status list");
                self.known_lists
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&n);
                continue;
            };
            let token = StatusListToken::verify(&b, &trust, now)
                .map_err(|e| RefreshError::Invalid(format!("status list {n}: {e}")))?;
            // The answer must be list n of an issuer in the trust list, not another list
            // (an old or different one) passed off under this number.
            if !is_list(&trust, &token.uri, n) {
                return Err(RefreshError::Invalid(format!(
                    "asked for status list {n}, the issuer sent {}",
                    token.uri
                )));
            }
            // A list older than the one held (an old answer served again could hide a
            // revocation until it expires): keep the held one, on disk too.
            let newer_held = held.as_ref().and_then(|h| {
                h.statuses
                    .tokens()
                    .iter()
                    .filter(|t| t.uri == token.uri && t.issued_at > token.issued_at)
                    // Only while its signer is still trusted, could sign it then (its end of
                    // signing, `issued_until`, included), and it has not expired.
                    .filter(|t| {
                        trust.get(&t.signer).is_some_and(|e| {
                            e.valid_until
                                .is_none_or(|end| t.issued_at <= end && now <= end)
                                && e.accepts_signature_at(t.issued_at, now, 0)
                        }) && t.expires_at.is_none_or(|exp| now < exp)
                    })
                    .max_by_key(|t| t.issued_at)
                    .cloned()
            });
            match newer_held {
                Some(kept) => {
                    tracing::warn!(
                        list = n,
                        "the issuer sent an older status list; keeping the held one"
                    );
                    statuses.insert(kept);
                }
                None => {
                    statuses.insert(token);
                    files.push((n, b));
                }
            }
        }
        for (n, b) in &files {
            write_atomic(&self.dir.join(format!("status-{n}.cwt")), b)?;
        }
        write_atomic(&self.dir.join("trust-list.cwt"), &bytes)?;
        write_atomic(&self.dir.join("fetched-at"), now.to_string().as_bytes())?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(Snapshot {
            trust,
            statuses,
            fetched_at: now,
        }));
        Ok(())
    }

    /// Makes sure status list `n` is known (fetched at the next refresh); true if it was new.
    pub fn want_list(&self, n: u64) -> bool {
        // The issuer numbers its lists 1, 2, …; a code naming list 10⁹ must not make the
        // desk fetch forever.
        if n == 0 || n > 10_000 {
            return false;
        }
        self.known_lists
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(n)
    }
}
