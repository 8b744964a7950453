//! Sign in with Tessera against the real issuer (SQLite and PostgreSQL), with the relying
//! party played by the third-party `openidconnect` library (through the demo RP's client
//! code) and the browser and wallet played step by step over HTTP, so each refusal can be
//! provoked on its own.

#[macro_use]
mod common;
// Hostile input on the same endpoints; one test binary for both (each one links the issuer).
#[path = "sign_in/hostile.rs"]
mod hostile;

use common::*;
use reqwest::StatusCode;
use tessera_credential::claims::Tier;
use tessera_credential::credential::Credential;
use tessera_credential::keys::SoftwareKey;
use tessera_credential::proof::{AuthMethods, HolderProof, ProofClaims};
use tessera_credential::qr_text::Presentation;
use tessera_credential::trust_list::TrustList;
use tessera_demo_rp::rp::{RelyingParty, RpError, Started};
use tessera_issuer::Clock;
use tessera_issuer_api::binding::HolderAuthPurpose;
use tessera_issuer_api::{BatchResponse, ProblemType, holder_auth_nonce};
use tessera_oidc::claims::{ACR_LIGHTWEIGHT, ACR_UPGRADED, Claim};
use tessera_oidc::client::Registration;
use tessera_oidc::sign_in::{SignInApproval, SignInRequest, SignInStatus};

const SHOP_CB: &str = "http://127.0.0.1:9/callback";
const BANK_CB: &str = "http://localhost:9/callback";

/// A person enrolled on a device: the device key and the two credentials.
struct Holder {
    device: SoftwareKey,
    lightweight: Credential,
    upgraded: Credential,
}

async fn enrol(h: &Harness, id_number: &str, person: &str, replace: bool) -> Holder {
    let device = new_device();
    let c = h.challenge_for(&device).await;
    let mut req = h.enrol_request(&c, id_number, frames(person, &c.actions), &device);
    req.replace_existing = replace;
    let batch: BatchResponse = h.post_json("/v1/enrolments", &req).await.ok();
    let of = |tier: &str| {
        let c = batch.credentials.iter().find(|c| c.tier == tier).unwrap();
        Credential::from_bytes(&c.credential).unwrap()
    };
    Holder {
        lightweight: of("lightweight"),
        upgraded: of("upgraded"),
        device,
    }
}

/// A registered relying party: its client id, secret, and the library set up for it.
async fn register(
    h: &Harness,
    name: &str,
    redirect: &str,
    tier: Tier,
    claims: &[Claim],
) -> RelyingParty {
    let uris = [redirect.to_owned()];
    let new = tessera_issuer::service::add_client(
        h.issuer().store(),
        &Registration {
            name,
            name_zh: None,
            redirect_uris: &uris,
            tier,
            claims,
        },
        h.clock.now(),
    )
    .await
    .unwrap();
    RelyingParty::discover(&h.base, &new.client.client_id, &new.secret, redirect)
        .await
        .unwrap()
}

/// The sign-in page as a browser gets it: the request id, the page's secret, the number.
#[derive(Debug)]
struct Page {
    request_id: String,
    secret: String,
    match_code: u8,
}

fn attr<'a>(html: &'a str, name: &str) -> &'a str {
    let at = html
        .find(&format!("{name}=\""))
        .unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at + name.len() + 2..];
    &rest[..rest.find('"').unwrap()]
}

async fn open_page(h: &Harness, url: &str) -> Page {
    let r = h.client.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = r.text().await.unwrap();
    let code_at = html.find("id=\"match-code\">").unwrap() + "id=\"match-code\">".len();
    Page {
        request_id: attr(&html, "data-request").to_owned(),
        secret: attr(&html, "data-secret").to_owned(),
        match_code: html[code_at..code_at + 2].parse().unwrap(),
    }
}

/// The wallet's view: the request, checked against the trust list (signed by the issuer).
async fn fetch_request(h: &Harness, base: &str, id: &str) -> SignInRequest {
    let r = h
        .client
        .get(format!("{base}/oidc/sign-ins/{id}"))
        .send()
        .await
        .unwrap();
    let req: SignInRequest = answer(r).await.ok();
    let key =
        tessera_credential::keys::public_key_from_pem(&h.issuer().trust_list_key_pem()).unwrap();
    let bytes = h
        .client
        .get(h.url("/v1/trust-list"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let trust = TrustList::verify(&bytes, &key).unwrap();
    req.verify(&trust, &h.base, h.clock.now(), 5).unwrap();
    req
}

/// A sign-in `rp` starts for `scopes`: the page as the browser opens it, and the request as
/// the wallet fetches and checks it.
async fn opened(h: &Harness, rp: &RelyingParty, scopes: &[&str]) -> (Page, SignInRequest) {
    let started = rp.start(scopes, None);
    let page = open_page(h, &started.url).await;
    let req = fetch_request(h, &h.base, &page.request_id).await;
    (page, req)
}

/// A presentation of `credential` whose proof nonce is `nonce`, unlocked by `auth`.
fn present(h: &Harness, holder: &Holder, tier: Tier, auth: AuthMethods, nonce: [u8; 8]) -> String {
    let now = h.clock.now();
    let credential = match tier {
        Tier::Lightweight => &holder.lightweight,
        Tier::Upgraded => &holder.upgraded,
        Tier::AgeOnly => panic!("these holders have no age-only credential"),
    };
    let proof = HolderProof::sign(
        ProofClaims {
            issued_at: now,
            expires_at: now + 60,
            nonce,
            tier,
            auth,
            face_verified_at: (tier == Tier::Upgraded).then_some(now),
        },
        credential,
        &holder.device,
    )
    .unwrap();
    Presentation {
        credential: credential.clone(),
        proof,
    }
    .to_qr_text()
}

fn bound_to(req: &SignInRequest) -> [u8; 8] {
    holder_auth_nonce(
        HolderAuthPurpose::sign_in(&req.request_id, &req.client_id),
        &req.nonce,
    )
}

fn unlocked(tier: Tier) -> AuthMethods {
    match tier {
        Tier::Lightweight | Tier::AgeOnly => AuthMethods::USER,
        Tier::Upgraded => AuthMethods::USER
            .with(AuthMethods::PIN)
            .with(AuthMethods::FACE),
    }
}

async fn approve(
    h: &Harness,
    base: &str,
    id: &str,
    presentation: String,
    match_code: u8,
) -> Answer<serde_json::Value> {
    let r = h
        .client
        .post(format!("{base}/oidc/sign-ins/{id}/approval"))
        .json(&SignInApproval {
            presentation,
            match_code,
        })
        .send()
        .await
        .unwrap();
    answer(r).await
}

async fn status(h: &Harness, base: &str, page: &Page) -> SignInStatus {
    let r = h
        .client
        .post(format!("{base}/oidc/sign-ins/{}/status", page.request_id))
        .json(&serde_json::json!({ "page_secret": page.secret }))
        .send()
        .await
        .unwrap();
    answer(r).await.ok()
}

fn query(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The whole flow, each step on the issuer at `bases[step % 2]`: the page opens, the wallet
/// fetches and approves at `tier`, the page continues; returns the code and the start.
async fn approved_code(
    h: &Harness,
    rp: &RelyingParty,
    holder: &Holder,
    scopes: &[&str],
    tier: Tier,
    bases: [&str; 2],
) -> (String, Started) {
    let started = rp.start(scopes, None);
    let url = started.url.replacen(&h.base, bases[0], 1);
    let page = open_page(h, &url).await;
    let req = fetch_request(h, bases[1], &page.request_id).await;
    assert!(req.match_choices.contains(&page.match_code));
    let p = present(h, holder, tier, unlocked(tier), bound_to(&req));
    approve(h, bases[0], &page.request_id, p, page.match_code)
        .await
        .ok();
    let s = status(h, bases[1], &page).await;
    assert_eq!(s.state, "approved");
    let to = s.continue_to.unwrap();
    assert_eq!(
        query(&to, "state").as_deref(),
        Some(started.state.secret().as_str())
    );
    assert_eq!(query(&to, "iss").as_deref(), Some(h.base.as_str()));
    (query(&to, "code").unwrap(), started)
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A harness on the system clock: the relying party's library checks ID tokens against it.
async fn harness(backend: Backend) -> Harness {
    let h = start(backend).await;
    h.clock
        .0
        .store(now_unix(), std::sync::atomic::Ordering::SeqCst);
    h
}

async fn signs_in_with_pairwise_subjects_and_exactly_the_registered_claims(backend: Backend) {
    let h = harness(backend).await;
    let shop = register(
        &h,
        "Ticket shop",
        SHOP_CB,
        Tier::Lightweight,
        &[Claim::AgeOver18, Claim::MaskedName],
    )
    .await;
    let bank = register(
        &h,
        "Bank",
        BANK_CB,
        Tier::Upgraded,
        &[
            Claim::Name,
            Claim::Birthdate,
            Claim::Gender,
            Claim::IdNumber,
        ],
    )
    .await;
    let obama = enrol(&h, &obama_id(), "obama", false).await;
    let b = [h.base.as_str(); 2];

    // The shop: lightweight, two claims, nothing else.
    let (code, started) = approved_code(
        &h,
        &shop,
        &obama,
        &["age_over_18", "masked_name"],
        Tier::Lightweight,
        b,
    )
    .await;
    let nonce = started.nonce.clone();
    let at_shop = shop
        .finish(&code, &started.state.secret().clone(), started)
        .await
        .unwrap();
    assert_eq!(at_shop.acr.as_deref(), Some(ACR_LIGHTWEIGHT));
    assert_eq!(at_shop.tessera.age_over_18, Some(true));
    assert_eq!(
        at_shop.tessera.masked_name,
        Some(tessera_credential::claims::mask_name("李建国"))
    );
    assert_eq!(
        (at_shop.name.as_ref(), at_shop.tessera.id_number.as_ref()),
        (None, None)
    );
    assert_eq!(at_shop.birthdate, None);
    // The code was spent: a second redemption is refused.
    let again = shop
        .redeem(
            &code,
            openidconnect::PkceCodeVerifier::new("a".repeat(43)),
            &nonce,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&again, RpError::Token(e) if e == "invalid_grant"),
        "{again}"
    );

    // Only the scopes asked for, even when more are registered.
    let (code, started) =
        approved_code(&h, &shop, &obama, &["age_over_18"], Tier::Lightweight, b).await;
    let only_age = shop
        .finish(&code, &started.state.secret().clone(), started)
        .await
        .unwrap();
    assert_eq!(only_age.tessera.masked_name, None);
    assert_eq!(only_age.sub, at_shop.sub);

    // The bank: upgraded, the identifying claims under their OIDC names, another sub.
    let (code, started) = approved_code(
        &h,
        &bank,
        &obama,
        &["name", "birthdate", "gender", "id_number"],
        Tier::Upgraded,
        b,
    )
    .await;
    let at_bank = bank
        .finish(&code, &started.state.secret().clone(), started)
        .await
        .unwrap();
    assert_eq!(at_bank.acr.as_deref(), Some(ACR_UPGRADED));
    assert!(at_bank.amr.iter().any(|m| m == "face") && at_bank.amr.iter().any(|m| m == "pin"));
    assert_eq!(at_bank.name.as_deref(), Some("李建国"));
    assert_eq!(at_bank.birthdate.as_deref(), Some("1961-08-04"));
    assert_eq!(at_bank.gender.as_deref(), Some("male"));
    assert_eq!(at_bank.tessera.id_number, Some(obama_id()));
    assert_eq!(at_bank.tessera.age_over_18, None);
    assert_ne!(
        at_bank.sub, at_shop.sub,
        "two relying parties must not share a sub"
    );
    assert!(!at_bank.sub.contains(&obama_id()) && !at_shop.sub.contains(&obama_id()));

    // A new device (enrolling again, replacing the old one): the same sub at the same shop.
    let moved = enrol(&h, &obama_id(), "obama", true).await;
    let (code, started) =
        approved_code(&h, &shop, &moved, &["age_over_18"], Tier::Lightweight, b).await;
    let after = shop
        .finish(&code, &started.state.secret().clone(), started)
        .await
        .unwrap();
    assert_eq!(after.sub, at_shop.sub);

    // The decisions are audited, by relying party, never with the claims.
    let log = h.issuer().store().audit_log().await.unwrap();
    let approvals: Vec<_> = log
        .iter()
        .filter(|a| a.event == "sign_in" && a.outcome == "approved")
        .collect();
    assert_eq!(approvals.len(), 4);
    assert!(
        approvals
            .iter()
            .all(|a| !a.detail.contains("李") && !a.detail.contains("1961"))
    );
}

async fn every_refusal_has_its_own_error(backend: Backend) {
    let mut h = harness(backend).await;
    // A browser that shows where it is sent instead of going there.
    h.client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let shop = register(
        &h,
        "Ticket shop",
        SHOP_CB,
        Tier::Lightweight,
        &[Claim::AgeOver18],
    )
    .await;
    let bank = register(&h, "Bank", BANK_CB, Tier::Upgraded, &[Claim::Name]).await;
    let obama = enrol(&h, &obama_id(), "obama", false).await;

    // An unregistered redirect URI, or an unknown client: a page, never a redirect.
    let started = shop.start(&["age_over_18"], None);
    let evil = started.url.replace("127.0.0.1%3A9", "evil.example");
    assert_ne!(evil, started.url);
    for url in [evil, started.url.replace("client_id=rp_", "client_id=rq_")] {
        let r = h.client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.headers().get("location").is_none());
        assert!(r.text().await.unwrap().contains("id=\"error\""));
    }
    // A claim the shop is not registered for: back to the shop with invalid_scope.
    let started = shop.start(&["id_number"], None);
    let r = h.client.get(&started.url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(SHOP_CB), "{to}");
    assert_eq!(query(&to, "error").as_deref(), Some("invalid_scope"));
    // A higher tier than registered: access_denied.
    let started = shop.start(&[], Some(ACR_UPGRADED));
    let r = h.client.get(&started.url).send().await.unwrap();
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(query(&to, "error").as_deref(), Some("access_denied"));

    // A wrong PKCE verifier: invalid_grant, and the code is spent.
    let b = [h.base.as_str(); 2];
    let (code, started) =
        approved_code(&h, &shop, &obama, &["age_over_18"], Tier::Lightweight, b).await;
    let wrong = shop
        .redeem(
            &code,
            openidconnect::PkceCodeVerifier::new("b".repeat(43)),
            &started.nonce,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&wrong, RpError::Token(e) if e == "invalid_grant"),
        "{wrong}"
    );
    let late = shop
        .finish(&code, &started.state.secret().clone(), started)
        .await
        .unwrap_err();
    assert!(
        matches!(&late, RpError::Token(e) if e == "invalid_grant"),
        "{late}"
    );

    // A code not redeemed within its 60 s: invalid_grant.
    let (code, started) =
        approved_code(&h, &shop, &obama, &["age_over_18"], Tier::Lightweight, b).await;
    h.clock.advance(tessera_oidc::CODE_LIFETIME_SECS + 1);
    let stale = shop
        .finish(&code, &started.state.secret().clone(), started)
        .await
        .unwrap_err();
    assert!(
        matches!(&stale, RpError::Token(e) if e == "invalid_grant"),
        "{stale}"
    );

    // The wrong number: refused, the request ends, the shop hears access_denied.
    let (page, req) = opened(&h, &shop, &["age_over_18"]).await;
    let other = *req
        .match_choices
        .iter()
        .find(|c| **c != page.match_code)
        .unwrap();
    let p = present(
        &h,
        &obama,
        Tier::Lightweight,
        AuthMethods::USER,
        bound_to(&req),
    );
    let (s, kind) = approve(&h, &h.base, &page.request_id, p.clone(), other)
        .await
        .problem();
    assert_eq!(
        (s, kind),
        (StatusCode::FORBIDDEN, ProblemType::WrongMatchCode)
    );
    let (_, kind) = approve(&h, &h.base, &page.request_id, p, page.match_code)
        .await
        .problem();
    assert_eq!(kind, ProblemType::SignInEnded, "a request is answered once");
    let st = status(&h, &h.base, &page).await;
    assert_eq!(st.state, "refused");
    assert_eq!(
        query(&st.continue_to.unwrap(), "error").as_deref(),
        Some("access_denied")
    );

    // A holder proof made for a desk (a random nonce), or for another request or relying
    // party: refused.
    for nonce in [
        [7u8; 8],
        holder_auth_nonce(
            HolderAuthPurpose::sign_in("0".repeat(32).as_str(), "rp_x"),
            &[1; 16],
        ),
    ] {
        let started = shop.start(&["age_over_18"], None);
        let page = open_page(&h, &started.url).await;
        let p = present(&h, &obama, Tier::Lightweight, AuthMethods::USER, nonce);
        let (s, kind) = approve(&h, &h.base, &page.request_id, p, page.match_code)
            .await
            .problem();
        assert_eq!(
            (s, kind),
            (StatusCode::UNAUTHORIZED, ProblemType::HolderAuthFailed)
        );
    }
    // The same proof, bound to the bank's request, does not sign in at the shop.
    let (_, bank_req) = opened(&h, &bank, &["name"]).await;
    let shop_started = shop.start(&["age_over_18"], None);
    let shop_page = open_page(&h, &shop_started.url).await;
    let p = present(
        &h,
        &obama,
        Tier::Lightweight,
        AuthMethods::USER,
        bound_to(&bank_req),
    );
    let (_, kind) = approve(&h, &h.base, &shop_page.request_id, p, shop_page.match_code)
        .await
        .problem();
    assert_eq!(kind, ProblemType::HolderAuthFailed);

    // A lightweight credential for an upgraded request: below the tier. An upgraded one not
    // unlocked by PIN and face does not even verify as an upgraded presentation.
    for (tier, auth, refused) in [
        (
            Tier::Lightweight,
            AuthMethods::USER,
            (StatusCode::FORBIDDEN, ProblemType::TierTooLow),
        ),
        (
            Tier::Upgraded,
            AuthMethods::USER,
            (StatusCode::UNAUTHORIZED, ProblemType::HolderAuthFailed),
        ),
    ] {
        let (page, req) = opened(&h, &bank, &["name"]).await;
        let p = present(&h, &obama, tier, auth, bound_to(&req));
        let answer = approve(&h, &h.base, &page.request_id, p, page.match_code).await;
        assert_eq!(answer.problem(), refused);
    }

    // An expired request: the wallet is told, the page says so and sends the shop back.
    let (page, req) = opened(&h, &shop, &["age_over_18"]).await;
    h.clock.advance(tessera_oidc::REQUEST_LIFETIME_SECS + 1);
    let p = present(
        &h,
        &obama,
        Tier::Lightweight,
        AuthMethods::USER,
        bound_to(&req),
    );
    let (s, kind) = approve(&h, &h.base, &page.request_id, p, page.match_code)
        .await
        .problem();
    assert_eq!((s, kind), (StatusCode::GONE, ProblemType::SignInEnded));
    let st = status(&h, &h.base, &page).await;
    assert_eq!(st.state, "expired");
    assert_eq!(
        query(&st.continue_to.unwrap(), "error").as_deref(),
        Some("access_denied")
    );

    // A revoked credential.
    let token = h.issuer().keys().admin_token.to_string();
    let r = h
        .client
        .post(h.url("/v1/admin/revocations"))
        .bearer_auth(token)
        .json(&serde_json::json!({"id_number": obama_id(), "reason": "test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (page, req) = opened(&h, &shop, &["age_over_18"]).await;
    let p = present(
        &h,
        &obama,
        Tier::Lightweight,
        AuthMethods::USER,
        bound_to(&req),
    );
    let (_, kind) = approve(&h, &h.base, &page.request_id, p, page.match_code)
        .await
        .problem();
    assert_eq!(kind, ProblemType::CredentialNotActive);
}

on_both_backends!(
    signs_in_with_pairwise_subjects_and_exactly_the_registered_claims,
    every_refusal_has_its_own_error,
);

/// Two issuer processes' worth of service on one PostgreSQL database and data directory (a
/// load balancer in front): every step of one sign-in goes to the other replica than the
/// step before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_database_share_every_step() {
    let h = harness(Backend::Postgres).await;
    let second = tessera_issuer::open(
        &h.dir,
        h.database_url.as_deref(),
        tessera_issuer::Config {
            public_url: h.base.clone(),
            ..Default::default()
        },
        h.clock.clone(),
        faces(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        tessera_issuer::api::serve(
            std::sync::Arc::new(second),
            listener,
            std::future::pending(),
        )
        .await
        .unwrap();
    });
    let shop = register(
        &h,
        "Ticket shop",
        SHOP_CB,
        Tier::Lightweight,
        &[Claim::AgeOver18],
    )
    .await;
    let obama = enrol(&h, &obama_id(), "obama", false).await;
    // Page at the second, request at the first, approval at the second, status at the first;
    // the library redeems the code at the first.
    let (code, started) = approved_code(
        &h,
        &shop,
        &obama,
        &["age_over_18"],
        Tier::Lightweight,
        [&other, &h.base],
    )
    .await;
    let signed_in = shop
        .finish(&code, &started.state.secret().clone(), started)
        .await
        .unwrap();
    assert_eq!(signed_in.tessera.age_over_18, Some(true));
    server.abort();
}
