//! Hostile input at the desk's endpoints: 10 000 random texts, oversized bodies, non-image
//! uploads, missing CSRF tokens — never a crash, always a clear answer. Also each verdict
//! of the seeded fixture lists, and the verify endpoint's latency on loopback.

mod common;
mod hostile {
    mod openapi;
}

use common::seed::{Codes, seed_cache};
use common::*;
use tessera_verify::desk::VenuePolicy;

const NOW: u64 = 1_800_000_000;

async fn seeded_desk(label: &str, policy: &str) -> DeskServer {
    let dir = tmp_dir(label);
    seed_cache(&dir, NOW);
    DeskServer::start(&dir, None, VenuePolicy::parse(policy).unwrap(), NOW + 5).await
}

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_verdict_from_seeded_lists() {
    let desk = seeded_desk("verdicts", "required_tier = \"upgraded\"").await;
    let t = desk.terminal().await;
    let mut codes = Codes::new(NOW + 5);
    let valid = codes.valid_upgraded();
    let cases = [
        (valid.clone(), "valid"),
        (valid, "replayed"),
        (codes.expired(), "expired"),
        (codes.revoked(), "revoked"),
        (codes.lightweight(), "tier_requirement_not_met"),
        (codes.age_only(true), "tier_requirement_not_met"),
        ("HELLO WORLD".to_owned(), "malformed"),
        ("   ".to_owned(), "empty"),
    ];
    for (text, code) in cases {
        let v = t.verify(&text).await;
        assert_eq!(v["code"], code, "{v}");
        assert_eq!(v["valid"], code == "valid");
        assert!(!v["message"].as_str().unwrap().is_empty());
    }

    // A venue taking only the age-only code: genuine codes of the other tiers are refused
    // with nothing of them in the verdict; an age-only one says over 18 and nothing else.
    let desk = seeded_desk("age-only-bar", "accepted_tiers = [\"age_only\"]").await;
    let t = desk.terminal().await;
    for text in [codes.lightweight(), codes.valid_upgraded()] {
        let v = t.verify(&text).await;
        assert_eq!(v["code"], "tier_not_accepted", "{v}");
        assert_eq!(v["valid"], false);
        assert!(v.get("claims").is_none() && v.get("tier").is_none(), "{v}");
    }
    for over in [true, false] {
        let v = t.verify(&codes.age_only(over)).await;
        assert_eq!(v["code"], "valid", "{v}");
        assert_eq!(
            v["claims"],
            serde_json::json!({"tier": "age_only", "age_over_18": over}),
            "{v}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_random_texts_each_get_a_clear_verdict() {
    let desk = seeded_desk("random", "").await;
    let t = desk.terminal().await;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let alphabet: Vec<char> = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:TS1汉字\u{0}\n"
        .chars()
        .collect();
    let mut codes = std::collections::BTreeMap::<String, u32>::new();
    let started = std::time::Instant::now();
    for i in 0..10_000u32 {
        let len = (rng.next() % 600) as usize;
        let mut text: String = (0..len)
            .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
            .collect();
        if i % 3 == 0 {
            text = format!("TS1:{text}");
        }
        let v = t.verify(&text).await;
        assert_eq!(v["valid"], false, "{text:?} → {v}");
        assert!(!v["message"].as_str().unwrap_or_default().is_empty());
        *codes
            .entry(v["code"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let per_request = started.elapsed().as_secs_f64() * 1e3 / 10_000.0;
    eprintln!("10 000 random texts: {codes:?}, {per_request:.3} ms per request (debug build)");
    assert!(
        codes.keys().all(|c| c == "malformed" || c == "empty"),
        "{codes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_non_image_and_unauthorised_requests_get_problems() {
    let desk = seeded_desk("hostile", "").await;
    let t = desk.terminal().await;
    let problem = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: serde_json::Value = r.json().await.unwrap();
        assert_eq!(p["status"], status);
        (status, p["code"].as_str().unwrap().to_owned())
    };

    // Oversized bodies are read to their end and refused, so the answer reaches the client
    // (not a reset) and the shared keep-alive client goes on working.
    let oversized = |path: &'static str, body: Vec<u8>| {
        let t = &t;
        async move {
            t.post(path)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let big = serde_json::to_vec(&serde_json::json!({"text": "A".repeat(64 * 1024)})).unwrap();
    let r = oversized("/api/verify", big).await;
    assert_eq!(problem(r).await, (413, "too_large".into()));
    let r = oversized("/api/verify-image", vec![0xffu8; 9 << 20]).await;
    assert_eq!(problem(r).await, (413, "too_large".into()));

    let r = t
        .post("/api/verify-image")
        .body(b"%PDF-1.7 not an image".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(problem(r).await, (415, "not_an_image".into()));

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(std::iter::repeat_n(7u8, 5000));
    let r = t.post("/api/verify-image").body(png).send().await.unwrap();
    assert_eq!(problem(r).await, (422, "unreadable_image".into()));

    // A real image without a QR code is a verdict, not an error.
    let mut white = Vec::new();
    image::DynamicImage::new_luma8(200, 200)
        .write_to(
            &mut std::io::Cursor::new(&mut white),
            image::ImageFormat::Png,
        )
        .unwrap();
    let r = t
        .post("/api/verify-image")
        .body(white)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], "no_qr_code");

    let r = t
        .post("/api/verify")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(r).await, (400, "bad_request".into()));

    // Without the CSRF header (a cross-site form), nothing state-changing happens.
    let r = reqwest::Client::new()
        .post(format!("{}/api/verify", desk.base))
        .header("cookie", &t.cookies)
        .json(&serde_json::json!({"text": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(r).await, (403, "csrf".into()));
    let r = reqwest::Client::new()
        .post(format!("{}/api/login", desk.base))
        .json(&serde_json::json!({"name": "a", "password": "b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(r).await, (403, "csrf".into()));

    // Wrong logins and staff-only routes.
    let r = t
        .post("/api/login")
        .json(&serde_json::json!({"name": "nobody", "password": "whatever123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(r).await, (401, "bad_login".into()));
    for path in ["/api/checkins", "/api/checkins.csv", "/api/portrait/abc"] {
        let r = t.get(path).send().await.unwrap();
        assert_eq!(problem(r).await, (401, "login_required".into()), "{path}");
    }
    let r = t
        .post("/api/checkins")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(r).await.0, 401);

    // The page's headers: a strict CSP, nothing inline, nothing from elsewhere.
    let r = t.get("/").send().await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script>") && !html.contains("style=") && !html.contains("http"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_add_cli_stores_an_argon2id_hash_and_login_works() {
    use std::io::Write;
    let dir = tmp_dir("staff");
    seed_cache(&dir, NOW);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera-verify"))
        .args(["staff", "add", "--data-dir"])
        .arg(&dir)
        .arg("alice")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let raw = std::fs::read(dir.join("desk.sqlite3")).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&raw).contains("correct horse"));

    let desk = DeskServer::start(&dir, None, VenuePolicy::default(), NOW).await;
    let phc = desk.desk.store.staff_phc("alice").await.unwrap().unwrap();
    assert!(phc.starts_with("$argon2id$"));
    let mut t = desk.terminal().await;
    t.login("alice", "correct horse battery").await;
    let r = t.get("/api/checkins").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let session: serde_json::Value = t
        .get("/api/session")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["staff"], "alice");
}

#[tokio::test]
async fn guest_records_are_deleted_after_the_retention_period() {
    use tessera_verify::desk::store::{DeskStore, Guest};
    let dir = tmp_dir("retention");
    let store = DeskStore::open(&dir).await.unwrap();
    let guest = |at: i64, room: &str| Guest {
        id: 0,
        checked_in_at: at,
        staff: "alice".into(),
        room: room.into(),
        arrival: "2026-11-25".into(),
        departure: "2026-11-26".into(),
        full_name: "王小明".into(),
        id_number: "11010119900307123X".into(),
        date_of_birth: "19900307".into(),
        sex: "M".into(),
        face_check: Some("same_person".into()),
        face_similarity: Some(0.61),
    };
    let now = NOW as i64;
    store
        .add_guest(&guest(now - 31 * 86_400, "old"))
        .await
        .unwrap();
    store
        .add_guest(&guest(now - 29 * 86_400, "recent"))
        .await
        .unwrap();
    assert_eq!(store.purge(NOW, 30).await.unwrap(), 1);
    let left: Vec<_> = store
        .guests()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.room)
        .collect();
    assert_eq!(left, ["recent"]);
}
