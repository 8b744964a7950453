//! The desk's list cache against a stand-in issuer whose answers the test controls: a
//! correctly signed but older trust list is refused, an older status list does not replace
//! a newer one, a status list a retired key signed after its end of signing is neither
//! taken nor kept, and the held lists stay in use.

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use tessera_credential::keys::{Es256Signer, spki_pem};
use tessera_credential::status_list::{StatusList, StatusListToken};
use tessera_credential::trust_list::{TrustList, TrustedIssuer};
use tessera_vectors::{STATUS_BASE, key};
use tessera_verify::desk::cache::{RefreshError, TrustCache};

const NOW: u64 = 1_795_608_000;

/// A trust list numbered `sequence`, signed by the trust-list key.
fn trust_list(sequence: u64) -> Vec<u8> {
    trust_list_of(sequence, "issuer")
}

/// A trust list numbered `sequence` trusting only the issuer key `label`.
fn trust_list_of(sequence: u64, label: &str) -> Vec<u8> {
    let mut entry = TrustedIssuer::new("Demo ID authority", key(label).public_key());
    entry.status_base = Some(STATUS_BASE.into());
    let list = TrustList {
        issued_at: NOW - 100 + sequence,
        sequence,
        issuers: vec![entry],
    };
    list.sign(&key("trust-list")).unwrap()
}

/// When `issuer` was retired in [`trust_list_after_rotation`] (an hour ago: well past the
/// clock skew a status list is allowed).
const RETIRED: u64 = NOW - 3600;

/// A trust list numbered `sequence` after a rotation at [`RETIRED`]: `issuer` signs
/// nothing after it (`issued_until`) but stays trusted for a year for what it signed
/// before; `issuer-2` signs from then on. Both publish under the one status base.
fn trust_list_after_rotation(sequence: u64) -> Vec<u8> {
    let mut retired = TrustedIssuer::new("Demo ID authority", key("issuer").public_key());
    retired.status_base = Some(STATUS_BASE.into());
    retired.issued_until = Some(RETIRED);
    retired.valid_until = Some(RETIRED + 365 * 86_400);
    let mut current = TrustedIssuer::new("Demo ID authority", key("issuer-2").public_key());
    current.status_base = Some(STATUS_BASE.into());
    current.valid_from = RETIRED;
    let list = TrustList {
        issued_at: NOW - 100 + sequence,
        sequence,
        issuers: vec![retired, current],
    };
    list.sign(&key("trust-list")).unwrap()
}

/// Status list 1 made at `issued_at`, entry 0 holding `value`.
fn status_list(issued_at: u64, value: u8) -> Vec<u8> {
    status_list_by("issuer", issued_at, value)
}

fn status_list_by(label: &str, issued_at: u64, value: u8) -> Vec<u8> {
    let mut list = StatusList::new(2, 64).unwrap();
    list.set(0, value).unwrap();
    StatusListToken {
        signer: key(label).kid(),
        uri: format!("{STATUS_BASE}1"),
        issued_at,
        expires_at: Some(NOW + 86_400),
        ttl: Some(3600),
        list,
    }
    .sign(&key(label))
    .unwrap()
}

type Served = Arc<Mutex<Vec<u8>>>;

/// Serves the trust-list key, `served` as the trust list, and one status list.
async fn stand_in_issuer(served: Served) -> String {
    let status = Arc::new(Mutex::new(status_list(NOW - 60, 0)));
    stand_in_with_status(served, status).await
}

async fn stand_in_with_status(served: Served, status: Served) -> String {
    let app = Router::new()
        .route(
            "/v1/trust-list-key",
            get(|| async { spki_pem(&key("trust-list").public_key()) }),
        )
        .route(
            "/v1/trust-list",
            get(|State(s): State<Arc<Mutex<Vec<u8>>>>| async move { s.lock().unwrap().clone() }),
        )
        .route(
            "/v1/status/1",
            get({
                let status = status.clone();
                move || {
                    let status = status.clone();
                    // Nothing to serve: answer as for a list that does not exist.
                    async move {
                        let b = status.lock().unwrap().clone();
                        if b.is_empty() {
                            Err(axum::http::StatusCode::NOT_FOUND)
                        } else {
                            Ok(b)
                        }
                    }
                }
            }),
        )
        // A dishonest answer: list 1 passed off as list 2.
        .route(
            "/v1/status/2",
            get(move || {
                let status = status.clone();
                async move { status.lock().unwrap().clone() }
            }),
        )
        .with_state(served);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_trust_list_is_refused_and_the_held_one_stays() {
    let served = Arc::new(Mutex::new(trust_list(3)));
    let base = stand_in_issuer(served.clone()).await;
    let dir = common::tmp_dir("rollback");
    let cache = TrustCache::open(&dir, Some(base.clone())).unwrap();
    cache.refresh(NOW).await.unwrap();
    assert_eq!(cache.snapshot().unwrap().trust.sequence, 3);

    // The same key signed list number 2 once; someone on the path serves it again.
    *served.lock().unwrap() = trust_list(2);
    let err = cache.refresh(NOW + 10).await.unwrap_err();
    assert!(
        matches!(&err, RefreshError::Invalid(m) if m.contains("rollback")),
        "{err}"
    );
    let held = cache.snapshot().unwrap();
    assert_eq!(held.trust.sequence, 3);
    assert_eq!(held.fetched_at, NOW, "the held lists keep their age");

    // Also after a restart, from the copy on disk.
    drop(cache);
    let cache = TrustCache::open(&dir, Some(base.clone())).unwrap();
    assert_eq!(cache.snapshot().unwrap().trust.sequence, 3);
    assert!(cache.refresh(NOW + 15).await.is_err());
    assert_eq!(cache.snapshot().unwrap().trust.sequence, 3);

    // A newer list is taken as usual.
    *served.lock().unwrap() = trust_list(4);
    cache.refresh(NOW + 20).await.unwrap();
    assert_eq!(cache.snapshot().unwrap().trust.sequence, 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_status_list_does_not_undo_a_revocation() {
    let trust = Arc::new(Mutex::new(trust_list(1)));
    let status = Arc::new(Mutex::new(status_list(NOW - 60, 1)));
    let base = stand_in_with_status(trust, status.clone()).await;
    let dir = common::tmp_dir("status-rollback");
    let cache = TrustCache::open(&dir, Some(base.clone())).unwrap();
    cache.refresh(NOW).await.unwrap();
    let entry0 = |cache: &TrustCache| {
        let snap = cache.snapshot().unwrap();
        let t = &snap.statuses.tokens()[0];
        (t.issued_at, t.list.get(0).unwrap())
    };
    assert_eq!(entry0(&cache), (NOW - 60, 1), "revoked");

    // The list from before the revocation, served again: the refresh goes on, the held
    // (newer) list stays, in memory and on disk.
    *status.lock().unwrap() = status_list(NOW - 600, 0);
    cache.refresh(NOW + 10).await.unwrap();
    assert_eq!(entry0(&cache), (NOW - 60, 1));
    drop(cache);
    let cache = TrustCache::open(&dir, Some(base)).unwrap();
    assert_eq!(entry0(&cache), (NOW - 60, 1));

    // A newer list is taken.
    *status.lock().unwrap() = status_list(NOW + 5, 0);
    cache.refresh(NOW + 20).await.unwrap();
    assert_eq!(entry0(&cache), (NOW + 5, 0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A held list stays only while its signer is trusted: once the trust list drops that key
/// (compromised), the issuer's current list is used even if it is older.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_list_from_a_key_no_longer_trusted_gives_way() {
    let trust = Arc::new(Mutex::new(trust_list_of(1, "issuer")));
    let status = Arc::new(Mutex::new(status_list_by("issuer", NOW - 60, 0)));
    let base = stand_in_with_status(trust.clone(), status.clone()).await;
    let dir = common::tmp_dir("status-untrusted");
    let cache = TrustCache::open(&dir, Some(base)).unwrap();
    cache.refresh(NOW).await.unwrap();

    *trust.lock().unwrap() = trust_list_of(2, "issuer-after-compromise");
    *status.lock().unwrap() = status_list_by("issuer-after-compromise", NOW - 120, 1);
    cache.refresh(NOW + 10).await.unwrap();
    let snap = cache.snapshot().unwrap();
    let t = &snap.statuses.tokens()[0];
    assert_eq!(t.signer, key("issuer-after-compromise").kid());
    assert_eq!(t.list.get(0).unwrap(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// (signer, issued_at, entry 0) of the held status list 1.
fn held_list(cache: &TrustCache) -> (String, u64, u8) {
    let snap = cache.snapshot().unwrap();
    let t = &snap.statuses.tokens()[0];
    (t.signer.to_hex(), t.issued_at, t.list.get(0).unwrap())
}

/// A cache (in a folder of its own) refreshed at `NOW` from a stand-in issuer; `trust` and
/// `status` change what the stand-in serves next.
struct Refreshed {
    cache: TrustCache,
    dir: std::path::PathBuf,
    base: String,
    trust: Served,
    status: Served,
}

async fn refreshed(label: &str, trust: Vec<u8>, status: Vec<u8>) -> Refreshed {
    let trust = Arc::new(Mutex::new(trust));
    let status = Arc::new(Mutex::new(status));
    let base = stand_in_with_status(trust.clone(), status.clone()).await;
    let dir = common::tmp_dir(label);
    let cache = TrustCache::open(&dir, Some(base.clone())).unwrap();
    cache.refresh(NOW).await.unwrap();
    Refreshed {
        cache,
        dir,
        base,
        trust,
        status,
    }
}

/// A held list stays over an older one only if its signer could sign it when it was made:
/// one dated after the key's end of signing (`issued_until`) is what a leaked retired key
/// makes, and gives way to the issuer's current list even though that one is older; one
/// made before the retirement is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_list_signed_after_its_keys_end_of_signing_gives_way() {
    // Before the desk learns of the rotation, someone holding the retired key's file
    // serves an "everything valid" list dated after the retirement: it verifies then.
    let forged = status_list_by("issuer", NOW - 60, 0);
    let r = refreshed("status-after-retirement", trust_list(1), forged).await;
    let retired_kid = key("issuer").kid().to_hex();
    assert_eq!(held_list(&r.cache), (retired_kid.clone(), NOW - 60, 0));

    // The trust list now says when that key stopped signing; the issuer's current list
    // (revoked, made before the forged one's date) replaces it, on disk too.
    *r.trust.lock().unwrap() = trust_list_after_rotation(2);
    *r.status.lock().unwrap() = status_list_by("issuer-2", NOW - 120, 1);
    r.cache.refresh(NOW + 10).await.unwrap();
    let current = (key("issuer-2").kid().to_hex(), NOW - 120, 1);
    assert_eq!(held_list(&r.cache), current);
    drop(r.cache);
    let cache = TrustCache::open(&r.dir, Some(r.base)).unwrap();
    assert_eq!(held_list(&cache), current);
    let _ = std::fs::remove_dir_all(&r.dir);

    // A list the retired key made before its retirement is still its own: an older one
    // served again does not replace it.
    let genuine = status_list_by("issuer", RETIRED - 10, 1);
    let r = refreshed("status-before-retirement", trust_list(1), genuine).await;
    *r.trust.lock().unwrap() = trust_list_after_rotation(2);
    *r.status.lock().unwrap() = status_list_by("issuer", RETIRED - 600, 0);
    r.cache.refresh(NOW + 10).await.unwrap();
    assert_eq!(held_list(&r.cache), (retired_kid, RETIRED - 10, 1));
    let _ = std::fs::remove_dir_all(&r.dir);
}

/// A status list served signed by a retired key after its end of signing is refused, and
/// the held lists stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_list_signed_after_its_keys_end_of_signing_is_refused() {
    let current = status_list_by("issuer-2", NOW - 120, 1);
    let r = refreshed(
        "status-served-after-retirement",
        trust_list_after_rotation(1),
        current,
    )
    .await;
    *r.status.lock().unwrap() = status_list_by("issuer", NOW - 60, 0);
    let err = r.cache.refresh(NOW + 10).await.unwrap_err();
    assert!(
        matches!(&err, RefreshError::Invalid(m) if m.contains("after its key stopped signing")),
        "{err}"
    );
    assert_eq!(
        r.cache.snapshot().unwrap().fetched_at,
        NOW,
        "the held lists keep their age"
    );
    let current = (key("issuer-2").kid().to_hex(), NOW - 120, 1);
    assert_eq!(held_list(&r.cache), current);
    let _ = std::fs::remove_dir_all(&r.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_list_is_forgotten_and_a_list_under_another_number_refused() {
    let base = stand_in_issuer(Arc::new(Mutex::new(trust_list(1)))).await;
    let dir = common::tmp_dir("status-numbers");
    let cache = TrustCache::open(&dir, Some(base)).unwrap();
    // A code naming a list the issuer does not have (404) does not stop the refresh.
    assert!(cache.want_list(7));
    cache.refresh(NOW).await.unwrap();
    assert!(cache.want_list(7), "forgotten, so it is new again");
    cache.refresh(NOW + 1).await.unwrap();
    assert_eq!(cache.snapshot().unwrap().statuses.tokens().len(), 1);

    // List 1's token served as list 2: refused, and the held lists stay.
    assert!(cache.want_list(2));
    let err = cache.refresh(NOW + 2).await.unwrap_err();
    assert!(
        matches!(&err, RefreshError::Invalid(m) if m.contains("asked for status list 2")),
        "{err}"
    );
    assert_eq!(cache.snapshot().unwrap().fetched_at, NOW + 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A 404 for a list the desk holds is an error, not a reason to drop what the list says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_for_a_held_list_keeps_it() {
    let trust = Arc::new(Mutex::new(trust_list(1)));
    let status = Arc::new(Mutex::new(status_list(NOW - 60, 1)));
    let base = stand_in_with_status(trust, status.clone()).await;
    let dir = common::tmp_dir("status-404");
    let cache = TrustCache::open(&dir, Some(base)).unwrap();
    cache.refresh(NOW).await.unwrap();
    status.lock().unwrap().clear();
    let err = cache.refresh(NOW + 10).await.unwrap_err();
    assert!(
        matches!(&err, RefreshError::Unreachable(m) if m.contains("404")),
        "{err}"
    );
    let snap = cache.snapshot().unwrap();
    assert_eq!(snap.fetched_at, NOW, "the held lists keep their age");
    assert_eq!(snap.statuses.tokens()[0].list.get(0).unwrap(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
