//! The desk→issuer link, attacked: a stand-in issuer (a small HTTP server in the test) that
//! redirects the desk elsewhere or sends another face as the registry portrait. The desk is
//! real (its HTTP server on loopback); the codes are real credentials.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use common::seed::{Codes, seed_cache};
use common::*;
use tessera_credential::claims::Tier;
use tessera_verify::desk::cache::{RefreshError, TrustCache};
use tessera_verify::desk::{Desk, StartError, VenuePolicy};

const NOW: u64 = 1_800_000_000;

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A server that counts every request it gets (it must get none).
async fn target() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let app = Router::new().fallback(move || {
        h.fetch_add(1, Ordering::SeqCst);
        async { "you should not be here" }
    });
    (serve(app).await, hits)
}

/// A stand-in issuer that redirects every request to `to` (same path), with `status`.
async fn redirecting(to: String, status: StatusCode) -> String {
    let app = Router::new().fallback(move |uri: axum::http::Uri| {
        let location = format!("{to}{}", uri.path());
        async move { (status, [(header::LOCATION, location)]).into_response() }
    });
    serve(app).await
}

/// A desk with seeded lists, an issuer API key and a logged-in clerk, in front of `issuer`.
async fn desk_with_clerk(label: &str, issuer: &str) -> (DeskServer, Terminal) {
    let dir = tmp_dir(label);
    seed_cache(&dir, NOW);
    std::fs::write(dir.join("issuer-api-key"), "tvk_test").unwrap();
    let desk = DeskServer::start(&dir, Some(issuer), VenuePolicy::default(), NOW + 5).await;
    let phc = tessera_verify::desk::auth::hash_password("front desk password").unwrap();
    desk.desk.store.set_staff("alice", &phc, NOW).await.unwrap();
    let mut t = desk.terminal().await;
    t.login("alice", "front desk password").await;
    (desk, t)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_fetches_follow_no_redirect() {
    let (to, hits) = target().await;
    for status in [StatusCode::FOUND, StatusCode::TEMPORARY_REDIRECT] {
        let issuer = redirecting(to.clone(), status).await;
        let dir = tmp_dir("redirect-lists");
        let cache = TrustCache::open(&dir, Some(issuer)).unwrap();
        let e = cache.refresh(NOW).await.unwrap_err();
        assert!(matches!(e, RefreshError::Unreachable(_)), "{e}");
        let words = e.to_string();
        assert!(
            words.contains("redirecting to") && words.contains(&to),
            "{words}"
        );
        assert!(cache.snapshot().is_none());
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the redirect was followed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portrait_request_follows_no_redirect() {
    let (to, hits) = target().await;
    // 307 would re-send the presentation and the API key to the target.
    let issuer = redirecting(to.clone(), StatusCode::TEMPORARY_REDIRECT).await;
    let (_desk, t) = desk_with_clerk("redirect-portrait", &issuer).await;
    let v = t.verify(&Codes::new(NOW + 5).valid_upgraded()).await;
    assert_eq!(v["code"], "valid", "{v}");
    let id = v["verification"].as_str().unwrap();
    let r = t.get(&format!("/api/portrait/{id}")).send().await.unwrap();
    assert_eq!(r.status(), 502);
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["code"], "issuer_redirected", "{p}");
    assert!(p["detail"].as_str().unwrap().contains(&to), "{p}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the redirect was followed");
}

#[tokio::test]
async fn the_issuer_url_is_https_or_loopback() {
    let dir = tmp_dir("issuer-url");
    for bad in [
        "http://issuer.example",
        "http://localhost:8080",
        "https://u:p@issuer.example",
    ] {
        let e = Desk::open(
            &dir,
            Some(bad.into()),
            VenuePolicy::default(),
            tessera_verify::desk::system_clock(),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, StartError::IssuerUrl(_)), "{bad}: {e}");
        assert!(TrustCache::open(&dir, Some(bad.into())).is_err(), "{bad}");
    }
    // The command line says so and stops.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera-verify"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--issuer",
            "http://issuer.example",
            "--data-dir",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must start with https://"), "{err}");
    // https anywhere, and http to a loopback address, are fine.
    for ok in [
        "https://issuer.example",
        "http://127.0.0.1:9",
        "http://[::1]:9",
    ] {
        TrustCache::open(&dir, Some(ok.into())).unwrap();
    }
}

/// A stand-in issuer answering every portrait request with `bytes` as `content_type`, or
/// with a problem when `status` is not 200.
async fn portrait_stand_in(
    status: StatusCode,
    content_type: &'static str,
    bytes: Vec<u8>,
) -> String {
    let app = Router::new().route(
        "/v1/portraits",
        post(move || {
            let bytes = bytes.clone();
            async move { (status, [(header::CONTENT_TYPE, content_type)], bytes).into_response() }
        }),
    );
    serve(app).await
}

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../face/testdata/photos")
            .join(name),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portrait_other_than_the_credentials_is_refused() {
    // A real credential, from a real issuer, whose registry photo is obama.jpg.
    let issuer = RealIssuer::start().await;
    let (batch, device) = issuer.enrol().await;
    let dir = tmp_dir("swapped-face");
    std::fs::write(dir.join("issuer-api-key"), "tvk_test").unwrap();
    {
        // Lists from the real issuer, kept in the desk's cache.
        let desk = DeskServer::start(&dir, Some(&issuer.base), VenuePolicy::default(), START).await;
        desk.desk.cache.refresh(START).await.unwrap();
    }
    let phc = tessera_verify::desk::auth::hash_password("front desk password").unwrap();
    let files = std::fs::read_dir(face_photos()).unwrap();
    let other = files
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n != "obama.jpg" && n.ends_with(".jpg"))
        .unwrap();

    // Whoever sits on the desk→issuer link sends another face; then the right one.
    for (image, expected) in [(photo(&other), 502), (photo("obama.jpg"), 200)] {
        let stand_in = portrait_stand_in(StatusCode::OK, "image/jpeg", image.clone()).await;
        let desk = DeskServer::start(&dir, Some(&stand_in), VenuePolicy::default(), START).await;
        desk.desk
            .store
            .set_staff("alice", &phc, START)
            .await
            .unwrap();
        let mut t = desk.terminal().await;
        t.login("alice", "front desk password").await;
        let v = t
            .verify(&show(&batch, &device, Tier::Upgraded, START))
            .await;
        assert_eq!(v["code"], "valid", "{v}");
        let id = v["verification"].as_str().unwrap();
        let r = t.get(&format!("/api/portrait/{id}")).send().await.unwrap();
        assert_eq!(r.status(), expected);
        if expected == 200 {
            assert_eq!(r.bytes().await.unwrap().as_ref(), image.as_slice());
        } else {
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            let p: serde_json::Value = r.json().await.unwrap();
            assert_eq!(p["code"], "portrait_mismatch", "{p}");
            assert!(
                p["detail"]
                    .as_str()
                    .unwrap()
                    .contains("not the photo this ID was issued with"),
                "{p}"
            );
        }
    }

    // The issuer saying its registry photo changed is passed on in the desk's own words.
    let changed = serde_json::json!({
        "type": tessera_issuer_api::ProblemType::PortraitChanged.uri(),
        "title": "x", "status": 409, "detail": "x",
    });
    let stand_in = portrait_stand_in(
        StatusCode::CONFLICT,
        "application/problem+json",
        changed.to_string().into_bytes(),
    )
    .await;
    let desk = DeskServer::start(&dir, Some(&stand_in), VenuePolicy::default(), START).await;
    let mut t = desk.terminal().await;
    t.login("alice", "front desk password").await;
    let v = t
        .verify(&show(&batch, &device, Tier::Upgraded, START))
        .await;
    let id = v["verification"].as_str().unwrap();
    let r = t.get(&format!("/api/portrait/{id}")).send().await.unwrap();
    assert_eq!(r.status(), 502);
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["code"], "portrait_changed", "{p}");
}

fn face_photos() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../face/testdata/photos")
}
