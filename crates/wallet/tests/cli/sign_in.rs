//! `tessera-wallet sign-in` end to end: a real issuer on loopback, the real Secret Service
//! (run under `scripts/with-keyring.sh`), the relying party played by the third-party
//! `openidconnect` library (the demo RP's client code), and a browser's part played over HTTP
//! (open the page, read its QR link or its Open Tessera link, follow the outcome).

use crate::common::{Env, obama_id, start_issuer, testdata, text};
use tessera_credential::claims::Tier;
use tessera_demo_rp::rp::{RelyingParty, Started};
use tessera_oidc::claims::{ACR_LIGHTWEIGHT, ACR_UPGRADED, Claim};
use tessera_oidc::client::Registration;
use tessera_oidc::sign_in::SignInStatus;

/// Registers a relying party in the issuer's database, as `tessera-issuer clients add` does.
fn register(
    dir: &std::path::Path,
    rt: &tokio::runtime::Runtime,
    base: &str,
    name: &str,
    redirect: &str,
    tier: Tier,
    claims: &[Claim],
) -> RelyingParty {
    rt.block_on(async {
        let url = tessera_issuer::default_database_url(&dir.join("issuer"));
        let store = tessera_issuer::store::Store::connect(&url).await.unwrap();
        let uris = [redirect.to_owned()];
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let new = tessera_issuer::service::add_client(
            &store,
            &Registration {
                name,
                name_zh: None,
                redirect_uris: &uris,
                tier,
                claims,
            },
            now,
        )
        .await
        .unwrap();
        store.close().await;
        RelyingParty::discover(base, &new.client.client_id, &new.secret, redirect)
            .await
            .unwrap()
    })
}

/// The sign-in page as a browser opens it.
struct Page {
    request_id: String,
    secret: String,
    match_code: u8,
    qr_link: String,
    same_device_link: String,
}

fn attr(html: &str, before: &str, name: &str) -> String {
    let from = html
        .find(before)
        .unwrap_or_else(|| panic!("no {before} in {html}"));
    let rest = &html[from..];
    let at = rest.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let value = &rest[at..];
    value[..value.find('"').unwrap()].replace("&amp;", "&")
}

fn open_page(rt: &tokio::runtime::Runtime, http: &reqwest::Client, started: &Started) -> Page {
    let html = rt.block_on(async {
        http.get(&started.url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let code_at = html.find("id=\"match-code\">").unwrap() + "id=\"match-code\">".len();
    Page {
        request_id: attr(&html, "<main", "data-request"),
        secret: attr(&html, "<main", "data-secret"),
        match_code: html[code_at..code_at + 2].parse().unwrap(),
        qr_link: attr(&html, "id=\"qr\"", "data-link"),
        same_device_link: attr(&html, "id=\"open-app\"", "href"),
    }
}

fn status(
    rt: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    base: &str,
    page: &Page,
) -> SignInStatus {
    rt.block_on(async {
        http.post(format!("{base}/oidc/sign-ins/{}/status", page.request_id))
            .json(&serde_json::json!({"page_secret": page.secret}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    })
}

fn query(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[test]
fn sign_in_from_a_qr_code_and_a_same_device_link_then_after_renewal() {
    let dir = std::env::temp_dir().join(format!("tessera-wallet-sign-in-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let base = start_issuer(&dir);
    let env = Env {
        issuer: base.clone(),
        data: dir.join("wallet"),
        service: format!("tessera-wallet-sign-in-test-{}", std::process::id()),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let shop = register(
        &dir,
        &rt,
        &base,
        "Ticket shop",
        "http://127.0.0.1:9/cb",
        Tier::Lightweight,
        &[Claim::AgeOver18],
    );
    let bank = register(
        &dir,
        &rt,
        &base,
        "Bank",
        "http://localhost:9/cb",
        Tier::Upgraded,
        &[Claim::Name, Claim::IdNumber],
    );
    let obama = testdata().join("liveness/obama");
    let obama = obama.to_str().unwrap();
    let out = env.run(
        &[
            "enrol",
            "--id-number",
            &obama_id(),
            "--frames",
            obama,
            "--pin-stdin",
        ],
        Some("246810\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Another device's QR code: the person types the number the page shows.
    let finish = |rp: &RelyingParty, started: Started, page: &Page| {
        let s = status(&rt, &http, &base, page);
        assert_eq!(s.state, "approved", "{s:?}");
        let to = s.continue_to.unwrap();
        let code = query(&to, "code").unwrap();
        let state = query(&to, "state").unwrap();
        rt.block_on(rp.finish(&code, &state, started)).unwrap()
    };
    let started = shop.start(&["age_over_18"], None);
    let page = open_page(&rt, &http, &started);
    assert!(
        !page.qr_link.contains("code="),
        "the QR code must not carry the number"
    );
    let wrong = (10..=99u8).find(|n| *n != page.match_code).unwrap();
    let code = page.match_code.to_string();
    let out = env.run(
        &["sign-in", &page.qr_link, "--yes", "--match-code", &code],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("Ticket shop asks you to sign in")
            && said.contains("Whether you are over 18"),
        "{said}"
    );
    let first = finish(&shop, started, &page);
    assert_eq!(first.acr.as_deref(), Some(ACR_LIGHTWEIGHT));
    assert_eq!(first.tessera.age_over_18, Some(true));

    // The wrong number stops the sign-in; the shop hears access_denied.
    let started = shop.start(&["age_over_18"], None);
    let page = open_page(&rt, &http, &started);
    let out = env.run(
        &[
            "sign-in",
            &page.qr_link,
            "--yes",
            "--match-code",
            &wrong.to_string(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not the number"),
        "{}",
        text(&out)
    );
    let s = status(&rt, &http, &base, &page);
    assert_eq!(s.state, "refused");
    assert_eq!(
        query(&s.continue_to.unwrap(), "error").as_deref(),
        Some("access_denied")
    );

    // Declining at the prompt refuses; the shop hears access_denied too.
    let started = shop.start(&["age_over_18"], None);
    let page = open_page(&rt, &http, &started);
    let out = env.run(&["sign-in", &page.same_device_link], Some("no\n"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(status(&rt, &http, &base, &page).state, "refused");

    // The bank, on this device (the link carries the number): PIN and face.
    let started = bank.start(&["name", "id_number"], None);
    let page = open_page(&rt, &http, &started);
    assert!(
        page.same_device_link
            .contains(&format!("code={}", page.match_code))
    );
    let out = env.run(
        &[
            "sign-in",
            &page.same_device_link,
            "--yes",
            "--pin-stdin",
            "--face-frames",
            obama,
        ],
        Some("246810\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let at_bank = finish(&bank, started, &page);
    assert_eq!(at_bank.acr.as_deref(), Some(ACR_UPGRADED));
    assert_eq!(at_bank.name.as_deref(), Some("李建国"));
    assert_eq!(at_bank.tessera.id_number, Some(obama_id()));
    assert_ne!(at_bank.sub, first.sub);
    // Without the PIN the upgraded sign-in is not approved.
    let started = bank.start(&["name"], None);
    let page = open_page(&rt, &http, &started);
    let out = env.run(
        &[
            "sign-in",
            &page.same_device_link,
            "--yes",
            "--face-frames",
            obama,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(status(&rt, &http, &base, &page).state, "pending");

    // A link for another issuer is refused before anything is fetched from it.
    let foreign = page.qr_link.replace(
        &url::form_urlencoded::byte_serialize(base.as_bytes()).collect::<String>(),
        "https%3A%2F%2Fid.evil.example",
    );
    assert_ne!(foreign, page.qr_link);
    let out = env.run(&["sign-in", &foreign, "--yes", "--match-code", "42"], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("id.evil.example"),
        "{}",
        text(&out)
    );

    // After a renewal (a new device key): the same sub at the shop.
    let out = env.run(&["renew", "--frames", obama], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let started = shop.start(&["age_over_18"], None);
    let page = open_page(&rt, &http, &started);
    let out = env.run(&["sign-in", &page.same_device_link, "--yes"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(finish(&shop, started, &page).sub, first.sub);

    // The history: each sign-in approved, with who and what.
    let out = env.run(&["history", "--sign-ins"], None);
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["client_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Ticket shop", "Bank", "Ticket shop"]);
    assert_eq!(
        history[1]["claims"],
        serde_json::json!(["name", "id_number"])
    );

    let out = env.run(&["reset", "--yes", "--pin-stdin"], Some("246810\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&dir);
}
