//! Sign in with Tessera, measured (not part of the test run): the issuer's whole
//! authorization → token round trip per second, on loopback, with 1 and 4 concurrent
//! sign-ins, on SQLite and (when `TESSERA_TEST_POSTGRES_URL` is set) PostgreSQL; and the
//! wallet's part from a link to the approval's answer (fetch the trust list and the request,
//! check the issuer's signature, sign the holder proof, send it), the person excluded.
//! Each round trip is what a browser, a wallet and a relying party do: open the sign-in page,
//! fetch and check the request, approve, follow the page's status, redeem the code with the
//! client secret and the PKCE verifier. Prints a table.
//!
//! `cargo bench -p tessera-issuer --bench sign_in`

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use sha2::{Digest, Sha256};
use tessera_credential::claims::Tier;
use tessera_credential::credential::Credential;
use tessera_credential::keys::SoftwareKey;
use tessera_credential::proof::{AuthMethods, HolderProof, ProofClaims};
use tessera_credential::qr_text::Presentation;
use tessera_credential::trust_list::TrustList;
use tessera_issuer::Clock;
use tessera_issuer_api::binding::HolderAuthPurpose;
use tessera_issuer_api::{BatchResponse, holder_auth_nonce};
use tessera_oidc::claims::Claim;
use tessera_oidc::client::Registration;
use tessera_oidc::sign_in::{SignInApproval, SignInRequest, SignInStatus};

const RUN_FOR: Duration = Duration::from_secs(10);
const REDIRECT: &str = "http://127.0.0.1:9/callback";

struct World {
    base: String,
    client_id: String,
    secret: String,
    anchor: p256::ecdsa::VerifyingKey,
    device: SoftwareKey,
    credential: Credential,
    clock: Arc<TestClock>,
}

fn attr(html: &str, name: &str) -> String {
    let at = html.find(&format!("{name}=\"")).expect("attribute") + name.len() + 2;
    html[at..at + html[at..].find('"').expect("quote")].to_owned()
}

/// One whole sign-in; returns (round trip, the wallet's part).
async fn sign_in(w: &World, http: &reqwest::Client) -> (Duration, Duration) {
    let started = Instant::now();
    let verifier = URL_SAFE_NO_PAD.encode(tessera_issuer::config::random_bytes::<32>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    // The browser opens the sign-in page.
    let authorize = url::Url::parse_with_params(
        &format!("{}/oidc/authorize", w.base),
        &[
            ("response_type", "code"),
            ("client_id", w.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid age_over_18"),
            ("state", "s"),
            ("nonce", "n"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    let html = http
        .get(authorize)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let id = attr(&html, "data-request");
    let secret = attr(&html, "data-secret");
    let code_at = html.find("id=\"match-code\">").unwrap() + "id=\"match-code\">".len();
    let number: u8 = html[code_at..code_at + 2].parse().unwrap();
    // The wallet: trust list, request, signature, holder proof, approval.
    let wallet_started = Instant::now();
    let bytes = http
        .get(format!("{}/v1/trust-list", w.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let trust = TrustList::verify(&bytes, &w.anchor).unwrap();
    let req: SignInRequest = http
        .get(format!("{}/oidc/sign-ins/{id}", w.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    req.verify(&trust, &w.base, w.clock.now(), 5).unwrap();
    let now = w.clock.now();
    let nonce = holder_auth_nonce(
        HolderAuthPurpose::sign_in(&req.request_id, &req.client_id),
        &req.nonce,
    );
    let proof = HolderProof::sign(
        ProofClaims {
            issued_at: now,
            expires_at: now + 60,
            nonce,
            tier: Tier::Lightweight,
            auth: AuthMethods::USER,
            face_verified_at: None,
        },
        &w.credential,
        &w.device,
    )
    .unwrap();
    let presentation = Presentation {
        credential: w.credential.clone(),
        proof,
    }
    .to_qr_text();
    let r = http
        .post(format!("{}/oidc/sign-ins/{id}/approval", w.base))
        .json(&SignInApproval {
            presentation,
            match_code: number,
        })
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    let wallet = wallet_started.elapsed();
    // The page learns the outcome and continues to the relying party with the code.
    let status: SignInStatus = http
        .post(format!("{}/oidc/sign-ins/{id}/status", w.base))
        .json(&serde_json::json!({ "page_secret": secret }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let to = status.continue_to.expect("approved");
    let code = url::Url::parse(&to)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    // The relying party redeems it.
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
        ])
        .finish();
    let r = http
        .post(format!("{}/oidc/token", w.base))
        .basic_auth(&w.client_id, Some(&w.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    (started.elapsed(), wallet)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

async fn world(backend: Backend) -> (Harness, World) {
    let h = start_with(backend, |c| c.sign_ins_per_ip = u32::MAX).await;
    let uris = [REDIRECT.to_owned()];
    let new = tessera_issuer::service::add_client(
        h.issuer().store(),
        &Registration {
            name: "Bench shop",
            name_zh: None,
            redirect_uris: &uris,
            tier: Tier::Lightweight,
            claims: &[Claim::AgeOver18],
        },
        h.clock.now(),
    )
    .await
    .unwrap();
    let device = new_device();
    let batch: BatchResponse = h.enrol(&obama_id(), "obama", &device).await.ok();
    let lightweight = batch
        .credentials
        .iter()
        .find(|c| c.tier == "lightweight")
        .unwrap();
    let w = World {
        base: h.base.clone(),
        client_id: new.client.client_id.clone(),
        secret: new.secret.to_string(),
        anchor: tessera_credential::keys::public_key_from_pem(&h.issuer().trust_list_key_pem())
            .unwrap(),
        device,
        credential: Credential::from_bytes(&lightweight.credential).unwrap(),
        clock: h.clock.clone(),
    };
    (h, w)
}

async fn run(backend: Backend, label: &str) {
    let (_h, w) = world(backend).await;
    let w = Arc::new(w);
    for concurrency in [1usize, 4] {
        let deadline = Instant::now() + RUN_FOR;
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let w = w.clone();
            tasks.push(tokio::spawn(async move {
                let http = http_client();
                let mut out = Vec::new();
                while Instant::now() < deadline {
                    out.push(sign_in(&w, &http).await);
                }
                out
            }));
        }
        let started = Instant::now();
        let mut rounds = Vec::new();
        for t in tasks {
            rounds.extend(t.await.unwrap());
        }
        let elapsed = started.elapsed().as_secs_f64();
        let mut trips: Vec<Duration> = rounds.iter().map(|r| r.0).collect();
        let mut wallet: Vec<Duration> = rounds.iter().map(|r| r.1).collect();
        trips.sort();
        wallet.sort();
        println!(
            "| {label} | {concurrency} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} |",
            trips.len(),
            trips.len() as f64 / elapsed,
            percentile(&trips, 0.5),
            percentile(&trips, 0.99),
            percentile(&wallet, 0.5),
            percentile(&wallet, 0.99),
        );
    }
}

fn main() {
    install_tls_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "| backend | concurrent | sign-ins | per second | round trip p50 ms | p99 ms | wallet part p50 ms | p99 ms |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    rt.block_on(run(Backend::Sqlite, "SQLite"));
    if std::env::var_os("TESSERA_TEST_POSTGRES_URL").is_some() {
        rt.block_on(run(Backend::Postgres, "PostgreSQL"));
    }
}
